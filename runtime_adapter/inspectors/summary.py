"""`RunInspector.summarize(run)`."""

from __future__ import annotations

from typing import Any

from runtime_adapter.js.jsvalues import UNDEFINED, coalesce, js_or, plus, prop, truthy
from runtime_adapter.records import Run


def _omit_undefined(**fields: Any) -> dict[str, Any]:
    # JSON.stringify drops undefined properties (a step without `type` has no "type" key).
    return {key: value for key, value in fields.items() if value is not UNDEFINED}


def _field(item: Any, key: str) -> Any:
    return prop(item, key) if isinstance(item, dict) else UNDEFINED


def _evidence(state: dict[str, Any]) -> Any:
    graph = state.get("evidenceGraph")
    if not truthy(graph):
        return None
    return {
        "nodes": js_or(prop(prop(graph, "nodes"), "length"), 0),
        "edges": js_or(prop(prop(graph, "edges"), "length"), 0),
    }


def summarize_child_runs(child_runs: Any) -> dict[str, Any]:
    """`RunInspector._summarizeChildRunMetrics`: totals over `metrics.childRuns.items`."""
    items = prop(child_runs, "items")
    items = items if isinstance(items, list) else []
    usage: dict[str, Any] = {"prompt": 0, "completion": 0, "total": 0}
    cost: Any = 0
    timings: dict[str, Any] = {}
    for item in items:
        item_usage = prop(item, "tokenUsage")
        for key in ("prompt", "completion", "total"):
            usage[key] = plus(usage[key], js_or(prop(item_usage, key), 0))
        cost = plus(cost, js_or(prop(item, "cost"), 0))
        item_timings = js_or(prop(item, "timings"), {})
        if isinstance(item_timings, dict):
            for key, value in item_timings.items():
                timings[key] = plus(js_or(timings.get(key, UNDEFINED), 0), js_or(value, 0))
    return {"count": len(items), "tokenUsage": usage, "cost": cost, "timings": timings}


def summarize(run: Run) -> dict[str, Any]:
    state = run["state"]
    return {
        "id": run["id"],
        "status": run["status"],
        "input": run["input"],
        "output": run["output"],
        "events": len(run["events"]),
        "steps": [
            _omit_undefined(
                id=_field(step, "id"),
                type=_field(step, "type"),
                status=_field(step, "status"),
                durationMs=coalesce(_field(step, "durationMs"), None),
            )
            for step in run["steps"]
        ],
        "checkpoints": [
            _omit_undefined(
                id=_field(checkpoint, "id"),
                label=_field(checkpoint, "label"),
                status=_field(checkpoint, "status"),
            )
            for checkpoint in run["checkpoints"]
        ],
        "metrics": run["metrics"],
        "childRunAggregate": summarize_child_runs(run["metrics"].get("childRuns")),
        "lineage": js_or(run["metadata"].get("lineage", UNDEFINED), None),
        "assessment": js_or(state.get("assessment", UNDEFINED), None),
        "evidence": _evidence(state),
        "pendingApproval": run["pendingApproval"],
        "pendingPause": run["pendingPause"],
        "errors": run["errors"],
    }
