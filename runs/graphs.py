"""The lineage graph of a run's family: an HTML panel, and SVG / PNG / DOT files."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.caching import cached
from controlplane.http import file_stem, invalid_parameters, partial_or_page
from controlplane.stores import store_for
from runtime_adapter.present import graphviz_render
from runtime_adapter.present.graphviz_render import GraphvizUnavailable
from runtime_adapter.present.lineage import LineageGraph, MoreNode, lineage_graph, open_value, place, to_dot
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import MAX_RUN_ID_BYTES

from .common import PageRun, cached_family, prefix_key

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png", "dot": "text/vnd.graphviz; charset=utf-8"}
# A Graphviz SVG opened on its own may not run anything, whatever its labels say.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; sandbox"
MAX_OPEN = 200


class LineageForm(forms.Form):
    """`?open=<run id>` (repeated): the folds hanging from these runs are drawn open; `open=` opens the tops' fold."""

    def clean(self) -> dict[str, object]:
        values = self.data.getlist("open") if hasattr(self.data, "getlist") else []
        if len(values) > MAX_OPEN:
            raise forms.ValidationError(f"open: at most {MAX_OPEN} folds can be opened.")
        if any(len(value.encode("utf-8", "surrogatepass")) > MAX_RUN_ID_BYTES for value in values):
            raise forms.ValidationError("open: a run id is too long.")
        return {"open": tuple(sorted(set(values)))}


def _open_href(run_id: str, opened: tuple[str, ...]) -> Callable[[MoreNode], str]:
    base = reverse("runs:lineage", args=[run_id])

    def href(item: MoreNode) -> str:
        values = sorted({*opened, open_value(item.anchor_id)})
        return f"{base}?{urlencode([('open', value) for value in values])}#lineage-graph"

    return href


def _graph(store: RunStore, run_id: str, opened: tuple[str, ...]) -> tuple[LineageGraph, str, int]:
    def compute() -> tuple[LineageGraph, str, int]:
        nodes, left_out = cached_family(store, PageRun(store, run_id))
        graph = lineage_graph(nodes, run_id, settings.CONTROLPLANE_LINEAGE_MAX_NODES,
                              opened=[value or None for value in opened])
        dot = to_dot(graph, href=lambda node_id: reverse("runs:detail", args=[node_id]),
                     more_href=_open_href(run_id, opened))
        return graph, dot, left_out

    # Cached whole: reading (and redacting) the run and writing a 300-node DOT with a
    # reverse() per node cost more than drawing the cached SVG.
    return cached(store, "lineage-graph",
                  (run_id, prefix_key(), str(settings.CONTROLPLANE_LINEAGE_MAX_NODES), *opened), compute)


def _render(dot: str, fmt: str) -> bytes:
    return graphviz_render.render(dot, fmt, binary=settings.CONTROLPLANE_GRAPHVIZ_DOT,
                                  timeout=settings.CONTROLPLANE_GRAPHVIZ_TIMEOUT)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def lineage_panel(request: HttpRequest, run_id: str) -> HttpResponse:
    form = LineageForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    opened = form.cleaned_data["open"]
    store = store_for(request)
    graph, dot, left_out = _graph(store, run_id, opened)
    open_href = _open_href(run_id, opened)
    context = {"nav": "runs", "run_id": run_id, "graph": graph, "dot": dot, "left_out": left_out,
               "layout": None, "problem": None, "folds": [(item, open_href(item)) for item in graph.more],
               "query": f"?{urlencode([('open', value) for value in opened])}" if opened else ""}
    try:
        context["layout"] = cached(store, "lineage-layout", (run_id, prefix_key(), dot), lambda: place(
            graphviz_render.layout(dot, binary=settings.CONTROLPLANE_GRAPHVIZ_DOT,
                                   timeout=settings.CONTROLPLANE_GRAPHVIZ_TIMEOUT), graph, open_href))
    except GraphvizUnavailable as error:
        context["problem"] = str(error)
    return partial_or_page(request, "runs/_lineage_graph.html", "runs/lineage.html", context)


@require_safe
def lineage_file(request: HttpRequest, run_id: str, fmt: str) -> HttpResponse:
    form = LineageForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    _, dot, _ = _graph(store, run_id, form.cleaned_data["open"])
    if fmt == "dot":
        body: bytes = dot.encode("utf-8")
    else:
        try:
            body = cached(store, f"lineage-{fmt}", (run_id, prefix_key(), dot), lambda: _render(dot, fmt))
        except GraphvizUnavailable as error:
            text = f"{error}\nThe DOT source of this graph follows.\n\n{dot}"
            return HttpResponse(text, content_type="text/plain; charset=utf-8", status=503)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'inline; filename="{file_stem(run_id)}-lineage.{fmt}"'
    if fmt == "svg":
        response["Content-Security-Policy"] = SVG_POLICY
    return response
