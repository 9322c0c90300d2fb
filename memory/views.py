"""Memory: the runtime's FileLayerStore layers, each entry with its value (redacted), times and expiry."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane import clock
from controlplane.http import invalid_parameters, partial_or_page
from runtime_adapter.durable.memory import memory_pages
from runtime_adapter.present.memory_view import layer_views

from .forms import MemoryFilterForm


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def index(request: HttpRequest) -> HttpResponse:
    layers = settings.CONTROLPLANE_MEMORY_LAYERS
    form = MemoryFilterForm(request.GET, layers=layers)
    if not form.is_valid():
        return invalid_parameters(request, form)
    pages = memory_pages(layers, form.query(), now=clock.now(), secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    context = {"nav": "memory", "form": form, "layers": layer_views(pages), "names": list(layers),
               "one_layer": form.cleaned_data["layer"]}
    return partial_or_page(request, "memory/_list_layers.html", "memory/list.html", context)
