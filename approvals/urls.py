from django.urls import path

from approvals import api, views

app_name = "approvals"
urlpatterns = [
    path("approvals/", views.index, name="list"),
    path("approvals/history/", views.history, name="history"),
    path("api/approvals/", api.approval_list, name="api_list"),
    path("api/approvals/history/", api.approval_history_list, name="api_history"),
]
