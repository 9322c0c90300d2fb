from django.urls import path

from incidents import api, bundles, compare, views

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.queue, name="queue"),
    path("incidents/<str:run_id>/", views.detail, name="detail"),
    path("incidents/<str:run_id>/report.md", views.report_markdown, name="report_md"),
    path("compare/", compare.compare, name="compare"),
    path("bundles/open/", bundles.open_bundle, name="open_bundle"),
    path("api/incidents/<str:run_id>/", api.incident, name="api_incident"),
    path("api/compare/", api.compare, name="api_compare"),
]
