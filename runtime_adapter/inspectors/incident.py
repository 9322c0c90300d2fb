"""`IncidentDebugger.createReport(runId, {compareToRunId})`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime_adapter.inspectors.diff import diff_traces
from runtime_adapter.inspectors.summary import summarize
from runtime_adapter.inspectors.tree import build_tree, render_tree
from runtime_adapter.js.jsvalues import js_or, last, prop, to_js_string, truthy
from runtime_adapter.records import Run, RunNotFound

if TYPE_CHECKING:
    from runtime_adapter.port import BaseRunStore


def failed_steps(run: Run) -> list[Any]:
    return [step for step in run["steps"] if isinstance(step, dict) and step.get("status") == "failed"]


def recommendations_for(
    run: Run, failure: Any, failed: list[Any], last_checkpoint: Any, comparison: dict[str, Any] | None
) -> list[str]:
    advice: list[str] = []
    if truthy(run["pendingApproval"]):
        advice.append("Resolve the pending approval before attempting replay or resume.")
    if truthy(run["pendingPause"]):
        advice.append("Resume the paused run or branch from the last checkpoint for investigation.")
    if truthy(failure):
        message = js_or(prop(failure, "message"), prop(failure, "name"), "Unknown error")
        advice.append(f"Inspect the last error: {to_js_string(message)}.")
    if failed:
        advice.append(f"Replay or branch near the failed step: {to_js_string(prop(failed[-1], 'id'))}.")
    checkpoint_id = prop(last_checkpoint, "id")
    if truthy(checkpoint_id):
        advice.append(f'Use checkpoint "{to_js_string(checkpoint_id)}" for partial replay or branching.')
    if comparison and (truthy(comparison.get("statusChanged")) or truthy(comparison.get("outputChanged"))):
        advice.append("Review the trace diff to understand where this run diverged from the comparison run.")
    if not advice:
        advice.append(
            "No active incident state detected; compare this run against another trace if deeper analysis is needed."
        )
    return advice


def create_incident_report(store: BaseRunStore, run_id: str, compare_to_run_id: str | None = None) -> dict[str, Any]:
    run = store.get_run(run_id)
    summary = summarize(run)
    root_run_id = js_or(prop(run["metadata"].get("lineage"), "rootRunId"), run["id"])
    run_tree = build_tree(store.iter_family(root_run_id), root_run_id) if isinstance(root_run_id, str) else None

    comparison = None
    if compare_to_run_id:
        try:
            comparison_run = store.get_run(compare_to_run_id)
        except RunNotFound:
            raise RunNotFound(compare_to_run_id, f'Comparison run "{compare_to_run_id}" not found.') from None
        comparison = diff_traces(comparison_run, run)

    failure = js_or(last(run["errors"]), None)
    failed = failed_steps(run)
    last_checkpoint = js_or(last(run["checkpoints"]), None)
    return {
        "runId": run["id"],
        "rootRunId": root_run_id,
        "status": run["status"],
        "summary": summary,
        "aggregatedMetrics": run_tree["subtreeMetrics"] if isinstance(run_tree, dict) else None,
        "failure": failure,
        "failedSteps": failed,
        "lastCheckpoint": last_checkpoint,
        "pendingApproval": js_or(run["pendingApproval"], None),
        "pendingPause": js_or(run["pendingPause"], None),
        "runTree": run_tree,
        "renderedRunTree": render_tree(run_tree) if run_tree else None,
        "comparison": comparison,
        "recommendations": recommendations_for(run, failure, failed, last_checkpoint, comparison),
    }
