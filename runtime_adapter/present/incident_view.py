"""How pages word the runtime's incident report, recovery plan and trace diff.

Those payloads are the JS runtime's, byte for byte (the conformance corpus checks them), so
nothing here changes them: these functions pick what a page counts, how it numbers and
groups, and which sentence it adds where a payload alone would read as a contradiction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from runtime_adapter.inspectors.tree import build_tree
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import to_js_string
from runtime_adapter.present.formatting import one_full_stop
from runtime_adapter.queries.listing import release_of
from runtime_adapter.records import Run
from runtime_adapter.rows import RunPage, RunRow

NO_CHECKPOINT = "This run recorded no checkpoint, so there is no failure checkpoint to branch from: the step names the failed step only."


def _node(tree: Any, run_id: str) -> dict[str, Any] | None:
    stack = list(tree) if isinstance(tree, list) else [tree] if isinstance(tree, dict) else []
    while stack:
        node = stack.pop()
        if node.get("id") == run_id and "summary" in node:  # not the stub that closes a lineage cycle
            return node
        stack.extend(node.get("children") or [])
    return None


def run_metrics(report: dict[str, Any], subtree: Callable[[], Iterable[Run]]) -> dict[str, Any] | None:
    """Metrics of the report's run and its descendants, as `RunTreeInspector.build(runs, runId)` sums them.

    The report's `aggregatedMetrics` are its root's: the whole tree. The run's own node is in the
    report's tree unless the root's parent links do not reach it (a branch has no parent, or the
    root is not in the store); then its subtree is built from `subtree()`, the run and its descendants.
    """
    node = _node(report.get("runTree"), report["runId"])
    if node is None:
        built = build_tree(subtree(), report["runId"])
        node = built if isinstance(built, dict) else None
    metrics = node.get("subtreeMetrics") if node is not None else None
    return metrics if isinstance(metrics, dict) else None


def step_note(step: Any) -> str | None:
    """What a plan step needs said beside it: a branch "from the failure checkpoint" of a run without one."""
    payload = step.get("payload") if isinstance(step, dict) else None
    if isinstance(payload, dict) and "checkpointId" in payload and payload["checkpointId"] is None:
        return NO_CHECKPOINT
    return None


def plan_steps(plan: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """Each step of the plan as the runtime wrote it, with the note the page shows under it."""
    return [(step, step_note(step)) for step in plan.get("steps") or []]


def recommendations(report: dict[str, Any]) -> list[str]:
    return [one_full_stop(text) for text in report.get("recommendations") or []]


# A type of event that reports something going wrong: added, it is never shown as an improvement.
_FAILURE_TYPE = re.compile(r"fail|error|denied|reject|timeout|timed_out", re.IGNORECASE)


@dataclass(frozen=True)
class TypeCount:
    name: str
    count: int
    failure: bool


def type_counts(values: Iterable[Any]) -> list[TypeCount]:
    """Event types once each with how often they occur, in order of first occurrence."""
    counts: dict[str, int] = {}
    for value in values:
        name = "(no type)" if value is None else value if isinstance(value, str) else (
            dumps(value) if isinstance(value, (dict, list)) else to_js_string(value))
        counts[name] = counts.get(name, 0) + 1
    return [TypeCount(name, count, bool(_FAILURE_TYPE.search(name))) for name, count in counts.items()]


def event_type_changes(diff: Any) -> dict[str, list[TypeCount]] | None:
    """TraceDiffer's `eventTypesAdded` / `eventTypesRemoved` (one entry per event) grouped by type."""
    if not isinstance(diff, dict):
        return None
    return {"added": type_counts(diff.get("eventTypesAdded") or []),
            "removed": type_counts(diff.get("eventTypesRemoved") or [])}


def readable_row(row: RunRow) -> RunRow:
    """The row with its top recommendation as pages show it (the stored column keeps the runtime's text)."""
    advice = one_full_stop(row.top_recommendation)
    return row if advice == row.top_recommendation else replace(row, top_recommendation=advice)


def readable_page(page: RunPage) -> RunPage:
    return replace(page, rows=[readable_row(row) for row in page.rows])


@dataclass(frozen=True)
class FailedStep:
    step: Any     # the report's failed step, as the runtime wrote it
    number: int | None  # its position in the run's steps, from 1 as the run page numbers them


def failed_steps(report: dict[str, Any]) -> list[FailedStep]:
    """The report's `failedSteps` with their numbers on the run page (found in `summary.steps`, which
    lists every step of the run in order); None if the two lists do not line up."""
    summary = report.get("summary")
    steps = summary.get("steps") if isinstance(summary, dict) else None
    positions = [number for number, step in enumerate(steps if isinstance(steps, list) else [], 1)
                 if isinstance(step, dict) and step.get("status") == "failed"]
    failed = report.get("failedSteps") or []
    if len(positions) != len(failed):
        return [FailedStep(step, None) for step in failed]
    return [FailedStep(step, number) for step, number in zip(failed, positions, strict=True)]


@dataclass(frozen=True)
class RunFacts:
    """What a note says about the run beyond the report: when it was created and its release."""

    created_at: str | None
    release: str | None


def run_facts(run: Run) -> RunFacts:
    created = run["timestamps"].get("createdAt")
    return RunFacts(created_at=created if isinstance(created, str) and created else None,
                    release=release_of(run["metadata"]))
