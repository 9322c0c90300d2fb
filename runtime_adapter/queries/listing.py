"""Run listing: one flat row per run, and the filters, sorts and pages the UI offers.

`run_row` is the single definition of what a list, an index or a database table
holds about a run. Stores without an index answer `RunQuery` by scanning
(`scan_query`); indexed stores answer the same query from SQL and must agree.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from runtime_adapter.inspectors.incident import failed_steps, recommendations_for
from runtime_adapter.inspectors.recovery import classify_incident, plan_steps, recovery_policy
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import js_or, last, prop, to_js_string, truthy
from runtime_adapter.queries.failure_signature import FailureSignature, failure_signature
from runtime_adapter.queries.search_syntax import text_matches
from runtime_adapter.records import Run, StoreEntry
from runtime_adapter.redaction import clean_already, redact_run, scrub, unscrubbed
from runtime_adapter.rows import ATTENTION_STATUSES, FLEET_COLUMNS, STEP_SAMPLE, FleetRow, RunPage, RunQuery, RunRow

TEXT_LIMIT = 2000


def text_of(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A run value as display/search text: strings as they are, the rest as JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def release_of(metadata: dict[str, Any]) -> str | None:
    """`metadata.release` as a label: a string, or `release.version`/`.label`/`.name`."""
    release = metadata.get("release")
    if isinstance(release, dict):
        release = js_or(release.get("version"), release.get("label"), release.get("name"), None)
    if not truthy(release):
        release = metadata.get("releaseLabel")
    if not truthy(release) or isinstance(release, (dict, list)):
        return None
    return to_js_string(release)[:TEXT_LIMIT]  # as long as a filter accepts (controlplane.filters)


def correlation_ids_of(run: Run) -> list[str]:
    """Every correlation id an operator might paste: metadata.correlation values and trace ids."""
    ids: list[str] = []
    correlation = run["metadata"].get("correlation")
    if isinstance(correlation, dict):
        ids.extend(to_js_string(value) for value in correlation.values() if isinstance(value, (str, int, float)) and truthy(value))
    for key in ("correlationId", "traceId", "requestId"):
        value = run["metadata"].get(key)
        if isinstance(value, (str, int, float)) and truthy(value):
            ids.append(to_js_string(value))
    return list(dict.fromkeys(ids))  # first occurrence of each, in order


def _epoch_ms(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return None


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def needs_attention(run: Run) -> bool:
    return (
        run["status"] in ATTENTION_STATUSES
        or truthy(run["pendingApproval"])
        or truthy(run["pendingPause"])
        or bool(run["errors"])
    )


def _incident_fields(run: Run) -> tuple[str | None, str | None, str | None]:
    """Incident type, recommended action and first recommendation, from the run alone.

    These are the report's and plan's values without a comparison run, which is
    what the triage queue shows before an operator picks one.
    """
    failure = js_or(last(run["errors"]), None)
    failed = failed_steps(run)
    checkpoint = js_or(last(run["checkpoints"]), None)
    report = {
        "runId": run["id"], "status": run["status"], "failure": failure, "failedSteps": failed,
        "lastCheckpoint": checkpoint, "pendingApproval": js_or(run["pendingApproval"], None),
        "pendingPause": js_or(run["pendingPause"], None), "comparison": None,
    }
    incident_type = classify_incident(report)
    steps = plan_steps(report, recovery_policy(report, incident_type), None)
    advice = recommendations_for(run, failure, failed, checkpoint, None)
    return incident_type, (steps[0]["action"] if steps else "inspect_report"), advice[0]


def _failed_step(run: Run) -> Any:
    failed = failed_steps(run)
    return failed[-1] if failed else None


def _signature(run: Run, incident_type: str, failure: Any) -> FailureSignature:
    """What makes two runs that need attention the same failure (see `failure_signature`).

    Runs waiting for approval are the same when they wait on the same tool; paused runs
    when they paused for the same reason (as a template); the rest by the failing step's
    type and tool, and the last error's name and message template.
    """
    if truthy(run["pendingApproval"]):
        return failure_signature(incident_type=incident_type, step_type="approval",
                                 tool_name=_text(prop(run["pendingApproval"], "toolName")), error_name=None,
                                 message="waiting for approval")
    if truthy(run["pendingPause"]) and not truthy(failure):
        return failure_signature(incident_type=incident_type, step_type="pause", tool_name=None, error_name=None,
                                 message=_text(js_or(prop(run["pendingPause"], "reason"), "paused")))
    step = _failed_step(run)
    payload = prop(step, "payload")
    return failure_signature(
        incident_type=incident_type,
        step_type=_text(prop(step, "type")),
        tool_name=_text(js_or(prop(payload, "toolName"), prop(step, "toolName"), None)),
        error_name=_text(prop(failure, "name")),
        message=_text(js_or(prop(failure, "message"), None)),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def input_key(run: Run) -> str:
    """Equal for runs given the same input (the whole input, not the listed text); "" for a run without one."""
    if run["input"] is None or run["input"] == "":
        return ""
    return hashlib.sha256(dumps(run["input"]).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _ended(timestamps: dict[str, Any]) -> Any:
    return js_or(timestamps.get("completedAt"), timestamps.get("failedAt"), timestamps.get("cancelledAt"), None)


def run_measures(run: Run) -> dict[str, Any]:
    """A row's release, duration, total tokens and cost, without the rest of it (a row's step stats walk every
    step: a fifth of the time to compare two 5,000-step runs once they are read)."""
    timestamps = run["timestamps"]
    start_ms = _epoch_ms(js_or(timestamps.get("startedAt"), timestamps.get("createdAt"), None))
    end_ms = _epoch_ms(_ended(timestamps))
    return {"release": release_of(run["metadata"]),
            "duration_ms": (end_ms - start_ms) if start_ms is not None and end_ms is not None else None,
            "total_tokens": _number(run["metrics"]["tokenUsage"]["total"]), "cost": _number(run["metrics"]["cost"])}


def run_row(run: Run, source: str = "") -> RunRow:
    lineage = run["metadata"]["lineage"]
    timestamps = run["timestamps"]
    metrics = run["metrics"]
    usage = metrics["tokenUsage"]
    ended = _ended(timestamps)
    measures = run_measures(run)
    failure = js_or(last(run["errors"]), None)
    error_text = ""
    if truthy(failure):
        error_text = text_of(js_or(prop(failure, "message"), prop(failure, "name"), failure))
    attention = needs_attention(run)
    incident_type, action, advice = _incident_fields(run) if attention else (None, None, None)
    signature = _signature(run, incident_type, failure) if incident_type is not None else None
    return RunRow(
        id=run["id"],
        status=to_js_string(run["status"]),
        input_text=text_of(run["input"]),
        output_text=text_of(run["output"]),
        error_text=error_text,
        created_at=timestamps.get("createdAt") if isinstance(timestamps.get("createdAt"), str) else None,
        updated_at=timestamps.get("updatedAt") if isinstance(timestamps.get("updatedAt"), str) else None,
        ended_at=ended if isinstance(ended, str) else None,
        duration_ms=measures["duration_ms"],
        prompt_tokens=_number(usage["prompt"]),
        completion_tokens=_number(usage["completion"]),
        total_tokens=measures["total_tokens"],
        cost=measures["cost"],
        release=measures["release"],
        root_run_id=to_js_string(lineage["rootRunId"]),
        parent_run_id=lineage["parentRunId"] if isinstance(lineage["parentRunId"], str) else None,
        branch_origin_run_id=lineage["branchOriginRunId"] if isinstance(lineage["branchOriginRunId"], str) else None,
        branch_checkpoint_id=lineage["branchCheckpointId"] if isinstance(lineage["branchCheckpointId"], str) else None,
        correlation_ids=correlation_ids_of(run),
        step_count=len(run["steps"]),
        event_count=len(run["events"]),
        tool_call_count=len(run["toolCalls"]),
        error_count=len(run["errors"]),
        child_count=len(lineage["childRunIds"]),
        pending_approval=truthy(run["pendingApproval"]),
        pending_pause=truthy(run["pendingPause"]),
        needs_attention=attention,
        incident_type=incident_type,
        recommended_action=action,
        top_recommendation=advice,
        cluster_id=signature.cluster_id if signature else None,
        failure_step_type=signature.step_type if signature else None,
        failure_tool=signature.tool_name if signature else None,
        error_name=signature.error_name if signature else None,
        message_template=signature.message_template if signature else None,
        input_key=input_key(run),
        source=source,
        timings={key: _number(value) for key, value in metrics["timings"].items()},
        step_stats=step_stats(run),
    )


def _finite_number(value: Any) -> int | float | None:
    """A number JS reads as finite, else None (Infinity, NaN and integers past the largest double)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:
        return None


def step_stats(run: Run) -> dict[str, dict[str, list[Any]]]:
    """Steps, failed steps and sample durations per tool and per step type (see `RunRow.step_stats`).

    Only finite durations are sampled: their median is what a comparison shows.
    """
    tools: dict[str, list[Any]] = {}
    types: dict[str, list[Any]] = {}
    for step in run["steps"]:
        if not isinstance(step, dict):
            continue
        kind = step.get("type")
        if not isinstance(kind, str):
            continue
        failed = step.get("status") == "failed"
        duration = _finite_number(step.get("durationMs"))
        targets = [types.setdefault(kind, [0, 0, []])]
        tool = prop(prop(step, "payload"), "toolName") if kind == "tool" else None
        if isinstance(tool, str) and tool:
            targets.append(tools.setdefault(tool, [0, 0, []]))
        for target in targets:
            target[0] += 1
            target[1] += failed
            if duration is not None and len(target[2]) < STEP_SAMPLE:
                target[2].append(duration)
    return {"tools": tools, "types": types} if tools or types else {}


def fleet_row(row: RunRow, *, with_steps: bool = False) -> FleetRow:
    values = {name: getattr(row, name) for name in FLEET_COLUMNS}
    return FleetRow(**values, step_stats=json.dumps(row.step_stats) if with_steps else "")


def matches(row: RunRow, query: RunQuery) -> bool:
    if query.statuses and row.status not in query.statuses:
        return False
    if query.release and row.release != query.release:
        return False
    if query.roots_only and row.parent_run_id:
        return False
    if query.attention_only and not row.needs_attention:
        return False
    if query.cluster_id and row.cluster_id != query.cluster_id:
        return False
    if query.correlation_id and query.correlation_id not in row.correlation_ids and query.correlation_id not in (
        row.id, row.root_run_id
    ):
        return False
    if query.created_after and (row.created_at or "") < query.created_after:
        return False
    if query.created_before and (row.created_at or "") >= query.created_before:
        return False
    return not query.text or text_matches(row, query.text)


def sort_value(row: RunRow, sort: str) -> Any:
    if sort == "updated":
        return row.updated_at or ""
    if sort == "duration":
        return row.duration_ms if row.duration_ms is not None else -1
    if sort == "cost":
        return row.cost
    return row.created_at or ""


def scan_query(entries: Iterable[StoreEntry], query: RunQuery,
               row_of: Callable[[Run, str], RunRow] = run_row) -> RunPage:
    """Answer a query by reading every run: the reference semantics, fine for small stores.

    `row_of` makes each run's row (`listing.redacted_row` when what is shown is redacted).
    """
    rows: list[RunRow] = []
    errors: list[StoreEntry] = []
    for entry in entries:
        if entry.run is None:
            errors.append(entry)
            continue
        row = row_of(entry.run, entry.source)
        if matches(row, query):
            rows.append(row)
    # Ties break on id so pages never overlap.
    rows.sort(key=lambda row: row.id, reverse=query.descending)
    rows.sort(key=lambda row: sort_value(row, query.sort), reverse=query.descending)
    if query.text:
        rows.sort(key=lambda row: row.input_text != query.text)  # a run whose input is the search comes first
    page = rows[query.offset : query.offset + query.limit]
    return RunPage(rows=page, total=len(rows), query=query, errors=errors)


# `listing.run_row` reads these parts of a run whole; of the rest it reads the last error,
# the last checkpoint's id, each step's id, status, type, duration and tool (payload.toolName), a few metadata keys and metrics,
# whether an approval or pause is pending (and the pause's stage), and only how many events
# and tool calls there are.
_ROW_SECTIONS = ("id", "status", "input", "output", "timestamps")
_ROW_METADATA = ("lineage", "release", "releaseLabel", "correlation", "correlationId", "traceId", "requestId")
_ROW_METRICS = ("tokenUsage", "cost", "timings")
_ROW_STEP_KEYS = ("id", "type", "status", "toolName", "durationMs")


def _only(value: Any, keys: tuple[str, ...]) -> Any:
    return {key: value[key] for key in keys if key in value} if isinstance(value, dict) else value


def _step_view(step: dict[str, Any]) -> dict[str, Any]:
    view = _only(step, _ROW_STEP_KEYS)
    if "payload" in step:
        view["payload"] = _only(step["payload"], ("toolName",))
    return view  # type: ignore[no-any-return]


def _row_view(run: Run) -> Run:
    """The parts of `run` its listing row is made of. The rest (often megabytes of checkpoint
    snapshots and events) is left out: redacting it would change nothing in the row."""
    view = {key: run[key] for key in _ROW_SECTIONS}
    view["metadata"] = _only(run["metadata"], _ROW_METADATA)
    view["metrics"] = _only(run["metrics"], _ROW_METRICS)
    view["pendingApproval"] = _only(run["pendingApproval"], ("toolName",))  # an object is truthy whatever it holds
    view["pendingPause"] = _only(run["pendingPause"], ("stage", "reason"))
    view["steps"] = [_step_view(step) if isinstance(step, dict) else None for step in run["steps"]]
    for key in ("events", "toolCalls"):
        view[key] = [None] * len(run[key])
    errors, checkpoints = run["errors"], run["checkpoints"]
    view["errors"] = [*([None] * (len(errors) - 1)), errors[-1]] if errors else []
    view["checkpoints"] = [*([None] * (len(checkpoints) - 1)), _only(checkpoints[-1], ("id",))] if checkpoints else []
    return view


def redacted_row(run: Run, source: str = "", *, secrets: bool = True) -> RunRow:
    """The listing row of `run` as it is shown: `run_row(redact_run(run))`, made from the parts a row reads.

    Lists show it, text searches and correlation filters match it, and indexes store it, so
    nothing a viewer can query holds text that redaction hides.
    """
    view = _row_view(run)
    # Token counts are numbers either way (a row reads nothing else there): the rest decides.
    checked = {**view, "metrics": {key: value for key, value in view["metrics"].items() if key != "tokenUsage"}}
    if (clean_already(checked) if secrets else not unscrubbed(checked)) and scrub(source) == source:
        return run_row(view, source)  # what redaction would return unchanged
    return run_row(redact_run(view, secrets=secrets), scrub(source))
