from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from controlplane.stores import store_for
from runtime_adapter.listing import RunQuery


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    page = store_for(request).query_runs(RunQuery(attention_only=True, limit=50))
    return render(request, "runs/list.html", {"page": page, "nav": "incidents"})


@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    return render(request, "runs/list.html", {"page": None, "nav": "compare"})
