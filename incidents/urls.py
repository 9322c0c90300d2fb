from django.urls import path

from incidents import api, bundles, clusters, compare, views

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.queue, name="queue"),
    # Ahead of incidents/<run_id>/, which would take "clusters" for a run id.
    path("incidents/clusters/", clusters.clusters, name="clusters"),
    path("incidents/clusters/<str:cluster_id>/", clusters.cluster, name="cluster"),
    path("incidents/<str:run_id>/", views.detail, name="detail"),
    path("incidents/<str:run_id>/report.md", views.report_markdown, name="report_md"),
    path("compare/", compare.compare, name="compare"),
    path("bundles/open/", bundles.open_bundle, name="open_bundle"),
    path("bundles/state/", bundles.state_bundle, name="state_bundle"),
    path("api/incidents/<str:run_id>/", api.incident, name="api_incident"),
    path("api/compare/", api.compare, name="api_compare"),
    path("api/clusters/", clusters.api_clusters, name="api_clusters"),
    path("api/clusters/<str:cluster_id>/", clusters.api_cluster, name="api_cluster"),
]
