"""What the run pages show beyond the runtime's own payloads: ancestry, tool pairs,
pending callouts, tab slices and the tree as a flat list a template can nest.

Pure functions over run records; stores are only reached through the `get_run`
callable passed in, so the caller decides which runs are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import js_or, nullish, prop, to_js_string, truthy
from runtime_adapter.records import CorruptRun, InvalidRunId, Run, RunNotFound

BREADCRUMB_LIMIT = 50


def pretty(value: Any) -> str:
    """JSON as the runtime would print it (`JSON.stringify(value, null, 2)`); strings as they are."""
    if isinstance(value, str):
        return value
    return dumps(value, 2)


def _text(value: Any) -> str | None:
    if nullish(value) or isinstance(value, (dict, list)):
        return None
    text = to_js_string(value)
    return text or None


# Ancestry -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Crumb:
    id: str
    status: str | None  # None: named by a run in the store, but not itself in it


@dataclass
class Breadcrumb:
    """Root → … → parent. `broken` says why the walk stopped early, if it did."""

    ancestors: list[Crumb] = field(default_factory=list)
    broken: str | None = None


def ancestry(run: Run, get_run: Callable[[str], Run], limit: int = BREADCRUMB_LIMIT) -> Breadcrumb:
    """Walk `parentRunId` upwards with `get_run`, stopping on a cycle, a missing run or `limit`."""
    crumbs: list[Crumb] = []
    seen = {run["id"]}
    parent = _text(run["metadata"]["lineage"].get("parentRunId"))
    broken = None
    while parent is not None:
        if parent in seen:
            broken = "cycle"
            break
        if len(crumbs) >= limit:
            broken = "limit"
            break
        seen.add(parent)
        try:
            ancestor = get_run(parent)
        except (RunNotFound, InvalidRunId, CorruptRun):
            crumbs.append(Crumb(parent, None))
            broken = "missing"
            break
        crumbs.append(Crumb(parent, to_js_string(ancestor["status"])))
        parent = _text(ancestor["metadata"]["lineage"].get("parentRunId"))
    crumbs.reverse()
    return Breadcrumb(ancestors=crumbs, broken=broken)


# Pending approval / pause -------------------------------------------------------------------

@dataclass(frozen=True)
class Callout:
    kind: str  # approval | pause
    title: str
    tool_name: str | None
    reason: str | None
    stage: str | None
    arguments: str | None
    details: str


def pending_callouts(run: Run) -> list[Callout]:
    """What a run is waiting for: an approval (tool, arguments) and/or a pause (reason, stage)."""
    callouts = []
    approval = run["pendingApproval"]
    if truthy(approval):
        tool = _text(js_or(prop(approval, "toolName"), prop(prop(approval, "toolCall"), "name"), None))
        arguments = js_or(prop(approval, "arguments"), prop(prop(approval, "toolCall"), "arguments"), None)
        callouts.append(Callout(
            kind="approval",
            title=f"Waiting for approval to run {tool}" if tool else "Waiting for approval",
            tool_name=tool,
            reason=_text(js_or(prop(approval, "reason"), prop(prop(approval, "decision"), "reason"), None)),
            stage=_text(js_or(prop(approval, "stage"), None)),
            arguments=None if arguments is None else pretty(arguments),
            details=pretty(approval),
        ))
    pause = run["pendingPause"]
    if truthy(pause):
        stage = _text(js_or(prop(pause, "stage"), None))
        callouts.append(Callout(
            kind="pause",
            title=f"Paused at {stage}" if stage else "Paused",
            tool_name=_text(js_or(prop(pause, "toolName"), prop(prop(prop(pause, "payload"), "toolCall"), "name"), None)),
            reason=_text(js_or(prop(pause, "reason"), None)) if not isinstance(pause, str) else pause,
            stage=stage,
            arguments=None,
            details=pretty(pause),
        ))
    return callouts


# Tool calls paired with results ---------------------------------------------------------------

@dataclass(frozen=True)
class ToolPair:
    index: int
    name: str
    call_id: str | None
    arguments: str
    call: str
    result: str | None
    has_result: bool
    matched_by: str | None  # "id" or "order"


def _call_id(item: Any) -> str | None:
    return _text(js_or(prop(item, "toolCallId"), prop(prop(item, "toolCall"), "id"), prop(item, "id"), None))


def _tool_name(item: Any) -> str:
    return _text(js_or(prop(item, "toolName"), prop(item, "name"), prop(prop(item, "toolCall"), "name"), None)) or "(unnamed tool)"


def pair_tool_calls(run: Run) -> list[ToolPair]:
    """Each tool call with its result: by tool-call id when the result carries one,
    otherwise the n-th unmatched result of the same tool name (the runtime appends both in order)."""
    calls, results = run["toolCalls"], run["toolResults"]
    used: set[int] = set()
    by_id = {}
    for position, result in enumerate(results):
        result_id = _call_id(result)
        if result_id is not None and result_id not in by_id:
            by_id[result_id] = position
    pairs = []
    for index, call in enumerate(calls):
        name = _tool_name(call)
        call_id = _call_id(call)
        match, how = None, None
        if call_id is not None and call_id in by_id and by_id[call_id] not in used:
            match, how = by_id[call_id], "id"
        else:
            for position, result in enumerate(results):
                if position not in used and _call_id(result) is None and _tool_name(result) == name:
                    match, how = position, "order"
                    break
        if match is not None:
            used.add(match)
        arguments = js_or(prop(call, "arguments"), prop(call, "args"), prop(prop(call, "toolCall"), "arguments"), None)
        result_value = None
        if match is not None:
            raw = results[match]
            result_value = pretty(prop(raw, "result") if isinstance(raw, dict) and "result" in raw else raw)
        pairs.append(ToolPair(
            index=index, name=name, call_id=call_id, arguments=pretty(arguments), call=pretty(call),
            result=result_value, has_result=match is not None, matched_by=how,
        ))
    return pairs


def unmatched_results(run: Run, pairs: Sequence[ToolPair]) -> int:
    return max(0, len(run["toolResults"]) - sum(1 for pair in pairs if pair.has_result))


# Slices of long lists ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Slice:
    items: list[tuple[int, Any]]  # (position in the full list, item)
    offset: int
    size: int
    total: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.size if self.offset + self.size < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.size) if self.offset > 0 else None

    @property
    def end(self) -> int:
        return min(self.offset + self.size, self.total)


def page_slice(items: Sequence[Any], offset: int, size: int) -> Slice:
    offset = max(0, min(offset, max(len(items) - 1, 0)))
    return Slice(items=list(enumerate(items))[offset : offset + size], offset=offset, size=size, total=len(items))


def event_type(event: Any) -> str:
    return _text(prop(event, "type")) or "(no type)"


def event_types(run: Run) -> list[str]:
    return sorted({event_type(event) for event in run["events"]})


def filter_events(run: Run, wanted: str | None) -> list[Any]:
    """The run's events in time order (stable: ties keep the recorded order), optionally of one type."""
    events = [event for event in run["events"] if not wanted or event_type(event) == wanted]
    return sorted(events, key=lambda event: _text(prop(event, "timestamp")) or "")


# Checkpoints -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointView:
    index: int
    id: str | None
    label: str | None
    status: str | None
    timestamp: str | None
    branch_call: str | None
    export_call: str | None
    snapshot: str
    replay_call: str | None = None


def operator_call(method: str, run_id: str, checkpoint_id: str, *, workflow: bool = False) -> str:
    """`agent.branchRun("run", { checkpointId: "cp" })`: the runtime's maintained operator path over its run
    store (`workflowRunner.…` for a workflow's run), not `Run.branchFromCheckpoint`, which saves nothing."""
    receiver = "workflowRunner" if workflow else "agent"
    return f"{receiver}.{method}({dumps(run_id)}, {{ checkpointId: {dumps(checkpoint_id)} }})"


def checkpoint_views(run: Run) -> list[CheckpointView]:
    """Checkpoints with the runtime calls that branch from, replay from or export them (shown, never run)."""
    views = []
    workflow = truthy(run["metadata"].get("workflowId"))
    for index, checkpoint in enumerate(run["checkpoints"]):
        checkpoint_id = _text(prop(checkpoint, "id"))
        literal = dumps(checkpoint_id) if checkpoint_id is not None else None
        views.append(CheckpointView(
            index=index,
            id=checkpoint_id,
            label=_text(prop(checkpoint, "label")),
            status=_text(prop(checkpoint, "status")),
            timestamp=_text(prop(checkpoint, "timestamp")),
            branch_call=operator_call("branchRun", run["id"], checkpoint_id, workflow=workflow) if checkpoint_id is not None else None,
            export_call=f"TraceSerializer.exportPartialRun(run, {{ checkpointId: {literal} }})" if literal else None,
            snapshot=pretty(prop(checkpoint, "snapshot")) if isinstance(checkpoint, dict) and "snapshot" in checkpoint else "",
            replay_call=operator_call("replayRun", run["id"], checkpoint_id, workflow=workflow) if checkpoint_id is not None else None,
        ))
    return views


# Tree ------------------------------------------------------------------------------------------

def tree_root(run: Run, breadcrumb: Breadcrumb) -> str:
    """The run whose tree holds `run`: its topmost ancestor in the store (itself if none).

    build_tree links runs by parentRunId only, so a branch or replay of a root (which
    has no parent) heads its own tree even though its rootRunId names the source.
    """
    present = [crumb.id for crumb in breadcrumb.ancestors if crumb.status is not None]
    return present[0] if present else run["id"]


@dataclass(frozen=True)
class TreeItem:
    kind: str  # "open" (a node with children follows), "leaf", "close"
    node: dict[str, Any] | None = None
    depth: int = 0


def tree_items(tree: dict[str, Any] | None) -> list[TreeItem]:
    """A `build_tree` node as a flat open/leaf/close sequence, so deep trees render without recursion."""
    if not tree:
        return []
    items: list[TreeItem] = []
    stack: list[tuple[dict[str, Any] | None, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node is None:
            items.append(TreeItem("close", depth=depth))
            continue
        children = node.get("children") or []
        if not children:
            items.append(TreeItem("leaf", node, depth))
            continue
        items.append(TreeItem("open", node, depth))
        stack.append((None, depth))
        stack.extend((child, depth + 1) for child in reversed(children))
    return items


@dataclass(frozen=True)
class TreeEntry:
    """One `tree_items` entry with its text already formatted: a 500-run tree renders
    in one template loop instead of a partial and a dozen filters per node."""

    kind: str
    depth: int = 0
    id: str = ""
    short_id: str = ""
    status: str = ""
    status_label: str = ""
    cycle: bool = False
    metrics: str = ""       # "3 runs · 1.2k tok · $0.01", empty without subtree metrics
    time_total: str = ""
    time_title: str = ""
    input_short: str = ""
    input_title: str = ""
    failed_below: int = 0   # failed runs among this run's descendants


def failed_below(items: list[TreeItem]) -> dict[int, int]:
    """Index of each "open" item -> how many failed runs its subtree holds below it."""
    counts: dict[int, int] = {}
    stack: list[tuple[int, int]] = []  # (index of the open item, failures seen below it so far)
    for index, item in enumerate(items):
        if item.kind == "close":
            opened, found = stack.pop()
            counts[opened] = found
            if stack:
                head = items[opened].node
                own = 1 if head is not None and head.get("status") == "failed" else 0
                stack[-1] = (stack[-1][0], stack[-1][1] + found + own)
        elif item.kind == "open":
            stack.append((index, 0))
        elif stack and item.node and item.node.get("status") == "failed" and "summary" in item.node:
            # (a lineage-cycle stub, without a summary, repeats a run already counted)
            stack[-1] = (stack[-1][0], stack[-1][1] + 1)
    return counts


def tree_entries(tree: dict[str, Any] | None) -> list[TreeEntry]:
    from runtime_adapter.present.formatting import clip, cost, duration, short_id, status_label, token_count, total_ms

    entries: list[TreeEntry] = []
    items = tree_items(tree)
    failures = failed_below(items)
    for index, item in enumerate(items):
        node = item.node
        if node is None:
            entries.append(TreeEntry(item.kind, item.depth))
            continue
        metrics = node.get("subtreeMetrics")
        summary = total = title = ""
        if isinstance(metrics, dict) and metrics:
            runs = metrics.get("runCount")
            usage = metrics.get("tokenUsage")
            timings = metrics.get("timings")
            timings = timings if isinstance(timings, dict) else {}
            summary = (f"{'' if runs is None else to_js_string(runs)} run{'' if runs == 1 else 's'}"
                       f" · {token_count(usage.get('total') if isinstance(usage, dict) else None)} tok"
                       f" · {cost(metrics.get('cost'))}")
            total = duration(total_ms(timings))
            title = ", ".join(f"{name} {duration(timings.get(key))}" for name, key in (
                ("model", "modelMs"), ("tool", "toolMs"), ("retrieval", "retrievalMs"), ("workflow", "workflowMs"),
                ("verifier", "verifierMs")))
        given = node.get("input")
        shown = pretty(given) if given else ""  # as the template's {% if node.input %} did
        run_id, status = node.get("id"), node.get("status")
        entries.append(TreeEntry(
            item.kind, item.depth, id=to_js_string(run_id), short_id=short_id(run_id), status=to_js_string(status),
            status_label=status_label(status),
            cycle=bool(node.get("lineageCycle")), metrics=summary, time_total=total, time_title=title,
            input_short=clip(shown, 80), input_title=clip(shown, 500), failed_below=failures.get(index, 0),
        ))
    return entries


def tree_ids(tree: dict[str, Any] | None) -> list[str]:
    return [to_js_string(item.node["id"]) for item in tree_items(tree) if item.node is not None]
