from django.urls import path

from jobs import api, views

app_name = "jobs"
urlpatterns = [
    path("jobs/", views.job_list, name="list"),
    path("jobs/<str:job_id>/", views.job_detail, name="detail"),
    path("api/jobs/", api.job_list, name="api_list"),
    path("api/jobs/<str:job_id>/", api.job_detail, name="api_detail"),
]
