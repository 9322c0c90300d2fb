from django.urls import path

from audit import api, views

app_name = "audit"
urlpatterns = [
    path("audit/", views.index, name="list"),
    path("api/audit/", api.entries, name="api_list"),
]
