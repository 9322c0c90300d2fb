from django.urls import path

from memory import api, views

app_name = "memory"
urlpatterns = [
    path("memory/", views.index, name="list"),
    path("api/memory/", api.memory_list, name="api_list"),
]
