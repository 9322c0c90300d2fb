"""JSON API over the same inspectors as the pages. Errors are `{"error": …}` with 400/404."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.filters import ApiRunFilterForm
from controlplane.http import api_error, invalid_parameters, json_response
from controlplane.stores import store_for
from runtime_adapter.inspectors import build_tree, correlation_for_run, export_bundle, export_run, summarize
from runtime_adapter.present.detail import tree_ids
from runtime_adapter.present.provenance import export_metadata
from runtime_adapter.rows import RunRow

from .common import EXPORTED_FOR, root_of
from .forms import ApiTreeForm, BundleForm

MAX_BUNDLE_IDS = 500


def row_payload(row: RunRow) -> dict[str, object]:
    return {
        "id": row.id, "status": row.status, "input": row.input_text, "output": row.output_text, "error": row.error_text or None,
        "createdAt": row.created_at, "updatedAt": row.updated_at, "endedAt": row.ended_at, "durationMs": row.duration_ms,
        "tokenUsage": {"prompt": row.prompt_tokens, "completion": row.completion_tokens, "total": row.total_tokens},
        "cost": row.cost, "release": row.release,
        "lineage": {"rootRunId": row.root_run_id, "parentRunId": row.parent_run_id,
                    "branchOriginRunId": row.branch_origin_run_id, "branchCheckpointId": row.branch_checkpoint_id},
        "correlationIds": row.correlation_ids,
        "counts": {"steps": row.step_count, "events": row.event_count, "toolCalls": row.tool_call_count,
                   "errors": row.error_count, "children": row.child_count},
        "pendingApproval": row.pending_approval, "pendingPause": row.pending_pause, "needsAttention": row.needs_attention,
        "incidentType": row.incident_type, "recommendedAction": row.recommended_action,
        "topRecommendation": row.top_recommendation,
    }


@require_safe
def run_list(request: HttpRequest) -> HttpResponse:
    form = ApiRunFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    limit = form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE
    page = store_for(request).query_runs(form.query(limit, offset=form.cleaned_data["cursor"] or 0))
    return json_response({
        "runs": [row_payload(row) for row in page.rows],
        "total": page.total,
        "totalExact": page.total_exact,
        "nextCursor": page.next_cursor,
        "errors": [{"source": entry.source, "error": entry.error} for entry in page.errors],
    })


@require_safe
def run_summary(request: HttpRequest, run_id: str) -> HttpResponse:
    return json_response(summarize(store_for(request).get_run(run_id)))


@require_safe
def run_tree(request: HttpRequest, run_id: str) -> HttpResponse:
    form = ApiTreeForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    run = store.get_run(run_id)
    tree_root = root_of(run) if form.cleaned_data["root"] else run["id"]
    return json_response(build_tree(store.iter_family(tree_root), tree_root))


@require_safe
def run_trace(request: HttpRequest, run_id: str) -> HttpResponse:
    metadata = export_metadata({"exportedFor": EXPORTED_FOR}, redacted=settings.CONTROLPLANE_REDACT_SECRETS)
    return json_response(export_run(store_for(request).get_run(run_id), metadata))


@require_safe
def run_correlation(request: HttpRequest, run_id: str) -> HttpResponse:
    return json_response(correlation_for_run(store_for(request).get_run(run_id)))


@require_safe
def bundle(request: HttpRequest) -> HttpResponse:
    form = BundleForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    if form.cleaned_data["root"]:
        root = store.get_run(form.cleaned_data["root"])
        tree = build_tree(store.iter_family(root["id"]), root["id"])
        ids = tree_ids(tree if isinstance(tree, dict) else None)
    else:
        ids = form.run_ids
        if len(ids) > MAX_BUNDLE_IDS:
            return api_error(400, f"At most {MAX_BUNDLE_IDS} run ids per bundle.")
    runs = [store.get_run(run_id) for run_id in ids]
    return json_response(export_bundle(runs, export_metadata({"exportedFor": EXPORTED_FOR},
                                                             redacted=settings.CONTROLPLANE_REDACT_SECRETS)))
