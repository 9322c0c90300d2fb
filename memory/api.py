"""JSON for scripts: `/api/memory/` → {"layers": [{"name", "entries": [...], …, "error"?}]}; errors are {"error": …}."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane import clock
from controlplane.http import invalid_parameters, json_response
from runtime_adapter.durable.memory import memory_pages

from .forms import MemoryFilterForm


@require_safe
def memory_list(request: HttpRequest) -> HttpResponse:
    layers = settings.CONTROLPLANE_MEMORY_LAYERS
    form = MemoryFilterForm(request.GET, layers=layers)
    if not form.is_valid():
        return invalid_parameters(request, form)
    pages = memory_pages(layers, form.query(), now=clock.now(), secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    return json_response({"layers": [page.as_api() for page in pages]})
