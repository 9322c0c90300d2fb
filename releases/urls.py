from django.urls import path

from releases import api, views

app_name = "releases"
urlpatterns = [
    path("releases/", views.release_list, name="list"),
    path("releases/compare/", views.compare, name="compare"),
    path("releases/compare/summary.md", views.compare_markdown, name="compare_md"),
    path("api/releases/", api.release_list, name="api_list"),
    path("api/releases/compare/", api.compare, name="api_compare"),
]
