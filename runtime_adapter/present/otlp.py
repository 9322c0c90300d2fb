"""Runs as OpenTelemetry traces: OTLP/JSON `ExportTraceServiceRequest` bodies, pure Python.

A run is a span, its steps are child spans, its events are span events and its errors
`exception` events; tool steps carry the GenAI semantic-convention attributes
(`gen_ai.operation.name`, `gen_ai.tool.name`…). A run's span depends on that run and,
for a child run, on its parent's record (to find the parent step and the parent's
trace), never on which export it is part of: exporting a run alone, in its family or
again later gives the same ids, so receivers that key spans by id see one span.

The README's "OpenTelemetry export" table is the contract; `to_protobuf_json` turns a
body into protobuf's JSON mapping (base64 ids) for `json_format.ParseDict`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from runtime_adapter.inspectors import build_tree
from runtime_adapter.js.dates import parse_iso
from runtime_adapter.js.jsvalues import UNDEFINED, js_or, prop, to_js_string, truthy
from runtime_adapter.present.detail import tree_ids
from runtime_adapter.queries.listing import release_of, text_of
from runtime_adapter.records import CorruptRun, InvalidRunId, Run, RunNotFound, replay_source

if TYPE_CHECKING:
    from runtime_adapter.queries.scanning import RunStore

SCOPE_NAME = "agent-run-control-plane"
SERVICE_NAME = "agnostic-agents"
# Receivers cap attribute sizes (and a run's input or a tool result can be megabytes): the whole
# value stays in the run's own trace export.
MAX_TEXT = 16_384

SPAN_KIND_INTERNAL = 1
SPAN_KIND_CLIENT = 3
STATUS_OK = 1
STATUS_ERROR = 2

_HEX32 = re.compile(r"[0-9a-f]{32}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_INT64 = 2**63 - 1

Span = dict[str, Any]


# Ids

def _digest(*parts: str, size: int) -> str:
    raw = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).digest()[:size]
    if not any(raw):  # an all-zero id is invalid in OTLP
        raw = raw[:-1] + b"\x01"
    return raw.hex()


def _as_trace_id(value: object) -> str | None:
    """A W3C trace id (32 lower-case hex, not all zero) written as one, or as a UUID, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if _UUID.fullmatch(text):
        text = text.replace("-", "")
    return text if _HEX32.fullmatch(text) and text.strip("0") else None


def trace_id_of(run: Run) -> str:
    """`metadata.correlation.traceId` when it is a trace id (32 hex, or a UUID), else one derived from the root run id.

    The runtime writes the root run id as the correlation trace id, and root run ids are
    UUIDs: both give the same trace id, so a family is one trace whichever runs carry it.
    """
    recorded = _as_trace_id(prop(run["metadata"].get("correlation"), "traceId"))
    if recorded:
        return recorded
    root = to_js_string(js_or(prop(run["metadata"].get("lineage"), "rootRunId"), run["id"]))
    return _as_trace_id(root) or _digest("trace", root, size=16)


def run_span_id(run_id: str) -> str:
    return _digest("run", run_id, size=8)


def step_span_id(run_id: str, index: int, step: object) -> str:
    # The position keeps ids unique when a damaged record repeats a step id; steps are only appended.
    return _digest("step", run_id, str(index), to_js_string(prop(step, "id")), size=8)


# Values

def _present(value: object) -> bool:
    return value is not None and value is not UNDEFINED


def _nanos(value: object) -> int | None:
    """Unix nanoseconds of a runtime ISO time (millisecond precision), None when it is not one."""
    moment = parse_iso(value)
    if moment is None:
        return None
    return max(0, (moment - _EPOCH) // timedelta(microseconds=1) * 1000)


def _first_nanos(*values: object) -> int | None:
    for value in values:
        nanos = _nanos(value)
        if nanos is not None:
            return nanos
    return None


def _text(value: object) -> str:
    return text_of(value, MAX_TEXT)


def _count(value: object) -> int | None:
    """A token count as the runtime records it (a number), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    number = int(value)
    return number if -_MAX_INT64 <= number <= _MAX_INT64 else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _any_value(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int) and -_MAX_INT64 <= value <= _MAX_INT64:
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value if isinstance(value, str) else _text(value)}


def _attributes(pairs: Iterable[tuple[str, object]]) -> list[dict[str, Any]]:
    """OTLP key-values, leaving out absent (None) values."""
    return [{"key": key, "value": _any_value(value)} for key, value in pairs if value is not None]


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _error_message(error: object, fallback: str) -> str:
    message = prop(error, "message")
    if truthy(message):
        return _text(message)
    return _text(error) if isinstance(error, str) and error else fallback


# Runs

def _is_workflow(run: Run) -> bool:
    return isinstance(run["state"].get("workflow"), dict) or truthy(run["metadata"].get("workflowId"))


def _run_name(run: Run) -> tuple[str, str]:
    """(span name, gen_ai.operation.name) of a run span."""
    metadata = run["metadata"]
    if _is_workflow(run):
        label = _string(metadata.get("workflowName")) or _string(metadata.get("workflowId"))
        return (f"invoke_workflow {label}" if label else "invoke_workflow"), "invoke_workflow"
    agent = _string(metadata.get("assignee"))
    return (f"invoke_agent {agent}" if agent else "invoke_agent"), "invoke_agent"


def _own_usage(run: Run) -> tuple[int | None, int | None]:
    """The run's own prompt and completion tokens: its recorded totals less what it took over from child runs.

    The runtime adds each child's usage into its parent's (`Run.aggregateChildRun`), so
    a receiver summing a trace would count it twice.
    """
    metrics = run["metrics"]
    items = prop(metrics.get("childRuns"), "items")
    items = items if isinstance(items, list) else []
    own: list[int | None] = []
    for key in ("prompt", "completion"):
        total = _count(prop(metrics.get("tokenUsage"), key))
        taken = sum(_count(prop(prop(item, "tokenUsage"), key)) or 0 for item in items)
        own.append(None if total is None else max(0, total - taken))
    return own[0], own[1]


def _run_times(run: Run) -> tuple[int, int]:
    stamps = run["timestamps"]
    start = _first_nanos(stamps.get("startedAt"), stamps.get("createdAt"), stamps.get("updatedAt")) or 0
    end = _first_nanos(stamps.get("completedAt"), stamps.get("failedAt"), stamps.get("cancelledAt"),
                       stamps.get("updatedAt")) or start
    return start, max(start, end)


def _run_status(run: Run) -> dict[str, Any]:
    if run["status"] == "failed":
        errors = run["errors"]
        message = _error_message(errors[-1], "Run failed.") if errors else "Run failed."
        return {"code": STATUS_ERROR, "message": message}
    if run["status"] == "completed":
        return {"code": STATUS_OK}
    return {}


def _run_events(run: Run, start: int, end: int) -> list[dict[str, Any]]:
    events = []
    for event in run["events"]:
        payload = prop(event, "payload")
        events.append({
            "timeUnixNano": str(_first_nanos(prop(event, "timestamp")) or start),
            "name": _text(js_or(prop(event, "type"), "event")),
            "attributes": _attributes([
                ("agnostic_agents.event.id", _string(prop(event, "id"))),
                ("agnostic_agents.event.payload", _text(payload) if _present(payload) else None),
            ]),
        })
    failed_at = _first_nanos(run["timestamps"].get("failedAt")) or end
    for error in run["errors"]:
        events.append({
            "timeUnixNano": str(failed_at),
            "name": "exception",
            "attributes": _attributes([
                ("exception.type", _string(prop(error, "name")) or "Error"),
                ("exception.message", _error_message(error, "")),
            ]),
        })
    return events


def _parent_step(parent: Run, child: Run) -> tuple[int, Any] | None:
    """The step of `parent` that started `child`, when the runtime recorded it (workflow agent steps).

    `state.parentStepId` names the workflow step's key; of the steps with that key (a
    retried step has several), the last one started no later than the child.
    """
    key = _string(child["state"].get("parentStepId"))
    if key is None:
        return None
    started = _first_nanos(child["timestamps"].get("createdAt"))
    found = None
    for index, step in enumerate(parent["steps"]):
        if prop(step, "key") == key or prop(prop(step, "payload"), "stepId") == key:
            step_start = _first_nanos(prop(step, "createdAt"))
            if found is None or started is None or step_start is None or step_start <= started:
                found = (index, step)
    return found


def _on_parent_chain(run: Run, related: Mapping[str, Run]) -> bool:
    """Whether `run` is its own ancestor (a damaged record): such a run gets links, never a parent."""
    seen = {run["id"]}
    current = run
    while True:
        parent_id = prop(current["metadata"].get("lineage"), "parentRunId")
        if not isinstance(parent_id, str) or not parent_id:
            return False
        if parent_id in seen:
            return bool(parent_id == run["id"])
        seen.add(parent_id)
        found = related.get(parent_id)
        if found is None:
            return False
        current = found


def _link(trace_id: str, run_id: str, kind: str, **extra: object) -> dict[str, Any]:
    return {"traceId": trace_id, "spanId": run_span_id(run_id),
            "attributes": _attributes([("agnostic_agents.link.type", kind), ("agnostic_agents.run.id", run_id),
                                       *extra.items()])}


def _placement(run: Run, trace_id: str, related: Mapping[str, Run]) -> tuple[str | None, list[dict[str, Any]]]:
    """(parent span id, links) of a run span."""
    lineage = run["metadata"].get("lineage")
    parent_id = prop(lineage, "parentRunId")
    parent_span: str | None = None
    links = []
    if isinstance(parent_id, str) and parent_id and not _on_parent_chain(run, related):
        parent = related.get(parent_id)
        if parent is None:
            links.append(_link(trace_id, parent_id, "parent_run"))
        elif trace_id_of(parent) != trace_id:
            links.append(_link(trace_id_of(parent), parent_id, "parent_run"))
        else:
            step = _parent_step(parent, run)
            parent_span = step_span_id(parent_id, *step) if step else run_span_id(parent_id)
    elif isinstance(parent_id, str) and parent_id:
        links.append(_link(trace_id, parent_id, "parent_run"))
    origin = prop(lineage, "branchOriginRunId")
    if isinstance(origin, str) and origin and origin != run["id"]:
        origin_run = related.get(origin)
        checkpoint = _string(prop(lineage, "branchCheckpointId"))
        links.append(_link(trace_id_of(origin_run) if origin_run else trace_id, origin, "branch_origin",
                           **{"agnostic_agents.checkpoint.id": checkpoint}))
    source = replay_source(run)
    if source and source != run["id"]:
        source_run = related.get(source)
        links.append(_link(trace_id_of(source_run) if source_run else trace_id, source, "replay_source"))
    return parent_span, links


def _run_span(run: Run, trace_id: str, related: Mapping[str, Run]) -> Span:
    name, operation = _run_name(run)
    start, end = _run_times(run)
    parent_span, links = _placement(run, trace_id, related)
    metrics, metadata, lineage = run["metrics"], run["metadata"], run["metadata"].get("lineage")
    usage = metrics.get("tokenUsage")
    input_tokens, output_tokens = _own_usage(run)
    span: Span = {
        "traceId": trace_id,
        "spanId": run_span_id(run["id"]),
        "name": name,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": _attributes([
            ("gen_ai.operation.name", operation),
            ("gen_ai.agent.name", _string(metadata.get("assignee"))),
            ("gen_ai.request.model", _string(metadata.get("model"))),
            ("gen_ai.usage.input_tokens", input_tokens),
            ("gen_ai.usage.output_tokens", output_tokens),
            ("openinference.span.kind", "CHAIN" if operation == "invoke_workflow" else "AGENT"),
            ("input.value", _text(run["input"])),
            ("output.value", None if run["output"] is None else _text(run["output"])),
            ("agnostic_agents.run.id", run["id"]),
            ("agnostic_agents.run.status", _text(run["status"])),
            ("agnostic_agents.run.root_run_id", _string(prop(lineage, "rootRunId"))),
            ("agnostic_agents.run.parent_run_id", _string(prop(lineage, "parentRunId"))),
            ("agnostic_agents.run.release", release_of(metadata)),
            ("agnostic_agents.run.cost", _number(metrics.get("cost"))),
            ("agnostic_agents.run.token_usage.prompt", _count(prop(usage, "prompt"))),
            ("agnostic_agents.run.token_usage.completion", _count(prop(usage, "completion"))),
            ("agnostic_agents.run.token_usage.total", _count(prop(usage, "total"))),
            ("agnostic_agents.run.child_run_count", len(lineage["childRunIds"]) if isinstance(
                prop(lineage, "childRunIds"), list) else None),
            ("agnostic_agents.workflow.id", _string(metadata.get("workflowId"))),
        ]),
        "events": _run_events(run, start, end),
        "status": _run_status(run),
    }
    if parent_span:
        span["parentSpanId"] = parent_span
    if links:
        span["links"] = links
    return span


# Steps

def _step_name(step: object) -> tuple[str, str | None, int]:
    """(span name, gen_ai.operation.name, span kind) of a step span."""
    kind = to_js_string(js_or(prop(step, "type"), "step"))
    payload = prop(step, "payload")
    if kind == "tool":
        tool = _string(prop(payload, "toolName"))
        return (f"execute_tool {tool}" if tool else "execute_tool"), "execute_tool", SPAN_KIND_INTERNAL
    if kind == "model":
        model = _string(prop(payload, "model"))
        return (f"chat {model}" if model else "chat"), "chat", SPAN_KIND_CLIENT
    if kind == "retrieval":
        return "retrieval", "retrieval", SPAN_KIND_INTERNAL
    if kind == "workflow_step":
        key = _string(prop(step, "key")) or _string(prop(payload, "stepId"))
        return (f"workflow_step {key}" if key else kind), None, SPAN_KIND_INTERNAL
    tool = _string(prop(payload, "toolName"))
    return (f"{kind} {tool}" if tool else kind), None, SPAN_KIND_INTERNAL


_OPENINFERENCE_KIND = {"execute_tool": "TOOL", "chat": "LLM", "retrieval": "RETRIEVER"}


def _step_span(run: Run, trace_id: str, index: int, step: object, run_start: int, run_end: int) -> Span:
    name, operation, kind = _step_name(step)
    payload, output, error = prop(step, "payload"), prop(step, "output"), prop(step, "error")
    start = _first_nanos(prop(step, "createdAt")) or run_start
    end = _first_nanos(prop(step, "updatedAt")) or start
    status_text = prop(step, "status")
    if status_text == "failed" or truthy(error):
        status = {"code": STATUS_ERROR, "message": _error_message(error, "Step failed.")}
    elif status_text == "completed":
        status = {"code": STATUS_OK}
    else:
        status = {}
    tool = operation == "execute_tool"
    attributes = _attributes([
        ("gen_ai.operation.name", operation),
        ("gen_ai.tool.name", _string(prop(payload, "toolName")) if tool else None),
        ("gen_ai.tool.type", "function" if tool else None),
        ("gen_ai.tool.call.arguments", _text(prop(payload, "arguments")) if tool and _present(prop(payload, "arguments"))
         else None),
        ("gen_ai.tool.call.result", _text(output) if tool and _present(output) else None),
        ("gen_ai.request.model", _string(prop(payload, "model")) if operation == "chat" else None),
        ("gen_ai.response.model", _string(prop(output, "model")) if operation == "chat" else None),
        ("openinference.span.kind", _OPENINFERENCE_KIND.get(operation or "", "CHAIN")),
        ("output.value", _text(prop(output, "message")) if operation == "chat" and truthy(prop(output, "message"))
         else None),
        ("agnostic_agents.run.id", run["id"]),
        ("agnostic_agents.step.id", _string(prop(step, "id"))),
        ("agnostic_agents.step.type", _string(prop(step, "type"))),
        ("agnostic_agents.step.status", _string(status_text)),
        ("agnostic_agents.step.duration_ms", _count(prop(step, "durationMs"))),
    ])
    return {
        "traceId": trace_id,
        "spanId": step_span_id(run["id"], index, step),
        "parentSpanId": run_span_id(run["id"]),
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(max(start, end)),
        "attributes": attributes,
        "status": status,
    }


def run_spans(run: Run, related: Mapping[str, Run] | None = None) -> list[Span]:
    """The run's span, then one span per step.

    `related` holds runs this one refers to (its parent, branch origin, replay source), by
    id: a parent found there places the run under its span (or under the parent step that
    started it) in the same trace; one missing, or in another trace, becomes a link.
    """
    related = related or {}
    trace_id = trace_id_of(run)
    span = _run_span(run, trace_id, related)
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    return [span, *(_step_span(run, trace_id, index, step, start, end) for index, step in enumerate(run["steps"]))]


def related_ids(run: Run) -> list[str]:
    """The ids of the runs `run_spans` looks up for `run`: parent, branch origin and replay source."""
    lineage = run["metadata"].get("lineage")
    ids = [prop(lineage, "parentRunId"), prop(lineage, "branchOriginRunId"), replay_source(run)]
    return list(dict.fromkeys(value for value in ids if isinstance(value, str) and value and value != run["id"]))


def related_runs(runs: Sequence[Run], get_run: Callable[[str], Run]) -> dict[str, Run]:
    """The runs that `runs` refer to (`related_ids`) and that are not among them, those `get_run` finds."""
    inside = {run["id"] for run in runs}
    related: dict[str, Run] = {}
    for run_id in dict.fromkeys(run_id for run in runs for run_id in related_ids(run) if run_id not in inside):
        try:
            related[run_id] = get_run(run_id)
        except (RunNotFound, InvalidRunId, CorruptRun):
            pass  # a link, then
    return related


def family_ids(store: RunStore, root_id: str) -> list[str]:
    """`root_id` and every run under it in the runtime's run tree (`parentRunId` links), each once."""
    tree = build_tree(store.iter_family(root_id), root_id)
    return list(dict.fromkeys(tree_ids(tree if isinstance(tree, dict) else None))) or [root_id]


def export_request(runs: Sequence[Run], related: Mapping[str, Run] | None = None, *,
                   service_name: str = SERVICE_NAME) -> dict[str, Any]:
    """An OTLP/JSON `ExportTraceServiceRequest` with the spans of `runs` (see `run_spans`).

    The runs themselves count as related: a family exported together nests without lookups.
    """
    known = {**(related or {}), **{run["id"]: run for run in runs}}
    spans = [span for run in runs for span in run_spans(run, known)]
    return {"resourceSpans": [{
        "resource": {"attributes": _attributes([("service.name", service_name)])},
        "scopeSpans": [{"scope": {"name": SCOPE_NAME}, "spans": spans}],
    }]}


def span_count(request: Mapping[str, Any]) -> int:
    return sum(len(scope["spans"]) for resource in request["resourceSpans"] for scope in resource["scopeSpans"])


def to_protobuf_json(request: Mapping[str, Any]) -> dict[str, Any]:
    """The body in protobuf's JSON mapping: OTLP/JSON writes trace and span ids in hex, protobuf in base64."""

    def b64(hex_id: str) -> str:
        return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")

    def span(item: Mapping[str, Any]) -> dict[str, Any]:
        converted = dict(item)
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in converted:
                converted[key] = b64(converted[key])
        if "links" in converted:
            converted["links"] = [{**link, "traceId": b64(link["traceId"]), "spanId": b64(link["spanId"])}
                                  for link in converted["links"]]
        return converted

    return {"resourceSpans": [
        {**resource, "scopeSpans": [{**scope, "spans": [span(item) for item in scope["spans"]]}
                                    for scope in resource["scopeSpans"]]}
        for resource in request["resourceSpans"]
    ]}
