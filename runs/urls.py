from django.urls import path, register_converter

from runs import api, exports, graphs, otlp, views
from runs.tabs import TAB_NAMES


class TabConverter:
    regex = "|".join(name for name in TAB_NAMES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class GraphFormatConverter(TabConverter):
    regex = "svg|png|dot"


register_converter(TabConverter, "tab")
register_converter(GraphFormatConverter, "graphfmt")

app_name = "runs"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("runs/", views.run_list, name="list"),
    path("runs/export/bundle.json", exports.list_bundle, name="list_bundle"),
    path("runs/<str:run_id>/", views.run_detail, name="detail"),
    path("runs/<str:run_id>/tree/", views.run_tree_page, name="tree"),
    path("runs/<str:run_id>/lineage/", graphs.lineage_panel, name="lineage"),
    path("runs/<str:run_id>/lineage.<graphfmt:fmt>", graphs.lineage_file, name="lineage_file"),
    path("runs/<str:run_id>/export/trace.json", exports.trace, name="export_trace"),
    path("runs/<str:run_id>/export/partial.json", exports.partial_trace, name="export_partial"),
    path("runs/<str:run_id>/export/bundle.json", exports.run_bundle, name="export_bundle"),
    path("runs/<str:run_id>/<tab:tab>/", views.run_detail, name="tab"),
    path("api/runs/", api.run_list, name="api_list"),
    path("api/runs/<str:run_id>/", api.run_summary, name="api_detail"),
    path("api/runs/<str:run_id>/tree/", api.run_tree, name="api_tree"),
    path("api/runs/<str:run_id>/trace/", api.run_trace, name="api_trace"),
    path("api/runs/<str:run_id>/correlation/", api.run_correlation, name="api_correlation"),
    path("api/runs/<str:run_id>/otlp.json", otlp.run_otlp, name="api_otlp"),
    path("api/otlp/", otlp.family_otlp, name="api_otlp_family"),
    path("api/bundle/", api.bundle, name="api_bundle"),
]
