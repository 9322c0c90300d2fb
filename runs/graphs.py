"""The lineage graph of a run's family: an HTML panel, and SVG / PNG / DOT files."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.caching import cached
from controlplane.http import file_stem, partial_or_page
from controlplane.stores import store_for
from runtime_adapter.present import graphviz_render
from runtime_adapter.present.graphviz_render import GraphvizUnavailable
from runtime_adapter.present.lineage import LineageGraph, lineage_graph, place, to_dot
from runtime_adapter.queries.scanning import RunStore

from .common import cached_family, prefix_key

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png", "dot": "text/vnd.graphviz; charset=utf-8"}
# A Graphviz SVG opened on its own may not run anything, whatever its labels say.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; sandbox"


def _graph(store: RunStore, run_id: str) -> tuple[LineageGraph, str, int]:
    def compute() -> tuple[LineageGraph, str, int]:
        nodes, left_out = cached_family(store, store.get_run(run_id))
        graph = lineage_graph(nodes, run_id, settings.CONTROLPLANE_LINEAGE_MAX_NODES)
        dot = to_dot(graph, href=lambda node_id: reverse("runs:detail", args=[node_id]),
                     more_href=reverse("runs:tree", args=[run_id]))
        return graph, dot, left_out

    # Cached whole: reading (and redacting) the run and writing a 300-node DOT with a
    # reverse() per node cost more than drawing the cached SVG.
    return cached(store, "lineage-graph", (run_id, prefix_key(), str(settings.CONTROLPLANE_LINEAGE_MAX_NODES)),
                  compute)


def _render(dot: str, fmt: str) -> bytes:
    return graphviz_render.render(dot, fmt, binary=settings.CONTROLPLANE_GRAPHVIZ_DOT,
                                  timeout=settings.CONTROLPLANE_GRAPHVIZ_TIMEOUT)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def lineage_panel(request: HttpRequest, run_id: str) -> HttpResponse:
    store = store_for(request)
    graph, dot, left_out = _graph(store, run_id)
    context = {"nav": "runs", "run_id": run_id, "graph": graph, "dot": dot, "left_out": left_out,
               "layout": None, "problem": None}
    try:
        context["layout"] = cached(store, "lineage-layout", (run_id, prefix_key(), dot), lambda: place(
            graphviz_render.layout(dot, binary=settings.CONTROLPLANE_GRAPHVIZ_DOT,
                                   timeout=settings.CONTROLPLANE_GRAPHVIZ_TIMEOUT), graph))
    except GraphvizUnavailable as error:
        context["problem"] = str(error)
    return partial_or_page(request, "runs/_lineage_graph.html", "runs/lineage.html", context)


@require_safe
def lineage_file(request: HttpRequest, run_id: str, fmt: str) -> HttpResponse:
    store = store_for(request)
    _, dot, _ = _graph(store, run_id)
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
