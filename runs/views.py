from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from controlplane.stores import store_for
from runtime_adapter.listing import RunQuery


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    page = store_for(request).query_runs(RunQuery(limit=50))
    return render(request, "runs/overview.html", {"page": page, "nav": "overview"})


@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    page = store_for(request).query_runs(RunQuery(limit=50))
    return render(request, "runs/list.html", {"page": page, "nav": "runs"})
