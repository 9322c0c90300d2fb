from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.queue, name="queue"),
    path("compare/", views.compare, name="compare"),
]
