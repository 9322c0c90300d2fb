"""Downloads: a run's trace, a partial trace from a checkpoint, and trace bundles.

Each says `"redacted": true` in its metadata when the store's runs were redacted (CONTROLPLANE_REDACT_SECRETS).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.filters import RunFilterForm
from controlplane.http import error_response, file_stem, invalid_parameters
from controlplane.stores import store_for
from runtime_adapter.inspectors import export_bundle, export_partial_run, export_run
from runtime_adapter.present.detail import tree_ids
from runtime_adapter.present.provenance import export_metadata

from .common import EXPORTED_FOR, PageRun, cached_family, download, run_tree
from .forms import PartialExportForm


def _metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return export_metadata(metadata, redacted=settings.CONTROLPLANE_REDACT_SECRETS)


@require_safe
def trace(request: HttpRequest, run_id: str) -> HttpResponse:
    run = store_for(request).get_run(run_id)
    return download(export_run(run, _metadata({"exportedFor": EXPORTED_FOR})), f"{file_stem(run_id)}.trace.json")


@require_safe
def partial_trace(request: HttpRequest, run_id: str) -> HttpResponse:
    form = PartialExportForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    run = store_for(request).get_run(run_id)
    checkpoint = form.cleaned_data["checkpoint"] or None
    try:
        payload = export_partial_run(run, checkpoint, _metadata({"exportedFor": EXPORTED_FOR}))
    except LookupError as error:
        return error_response(request, 404, str(error))
    return download(payload, f"{file_stem(run_id)}.partial.json")


@require_safe
def run_bundle(request: HttpRequest, run_id: str) -> HttpResponse:
    """Every run of the run's tree, then the rest of its lineage family (branches, replays)."""
    store = store_for(request)
    run = PageRun(store, run_id)
    root_id, tree = run_tree(store, run)
    nodes, _ = cached_family(store, run)
    ids = list(dict.fromkeys([*tree_ids(tree), *(node.id for node in nodes)]))
    runs = [store.get_run(member) for member in ids]
    metadata = {"exportedFor": EXPORTED_FOR, "rootRunId": root_id, "runId": run_id, "runCount": len(runs)}
    return download(export_bundle(runs, _metadata(metadata)), f"{file_stem(root_id)}.bundle.json")


@require_safe
def list_bundle(request: HttpRequest) -> HttpResponse:
    """The runs of a filtered list, newest first, capped at CONTROLPLANE_EXPORT_MAX_RUNS."""
    form = RunFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    cap = settings.CONTROLPLANE_EXPORT_MAX_RUNS
    page = store.query_runs(form.query(cap, offset=0))
    runs = [store.get_run(row.id) for row in page.rows]
    metadata = {
        "exportedFor": EXPORTED_FOR, "filters": request.GET.urlencode(), "matchingRuns": page.total,
        "matchingRunsExact": page.total_exact, "exportedRuns": len(runs), "truncated": page.has_next,
    }
    if metadata["truncated"]:
        matching = page.total if page.total_exact else f"more than {page.total}"
        metadata["note"] = f"Only the first {len(runs)} of {matching} matching runs are in this bundle (export cap {cap}); narrow the filters to export the rest."
    return download(export_bundle(runs, _metadata(metadata)), "runs.bundle.json")
