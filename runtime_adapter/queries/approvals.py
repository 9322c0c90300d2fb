"""The approvals inbox, derived from runs: the tool calls waiting for an operator, and those resolved.

The runtime keeps no approval store (its `ApprovalInbox` lives in memory): a request lives on its run.
`Agent._gateToolCall` sets `pendingApproval` to `{runId, toolName, toolCall, arguments, metadata, reason}`
(plus `confidence` when the confidence policy asked, `verification` when the verifier did), with the
tool's metadata (`sideEffectLevel`, `executionPolicy`, …), records the policy's verdicts in
`state.policyDecisions` and emits an `approval_requested` event carrying the same object. `resumeRun`
emits `approval_resolved` `{request, approved, reason}`.

Reads are bounded: the listing rows (cheap, from an index where the store has one) choose and order the
candidates, and a page reads at most `limit` runs. Filters the rows cannot answer (the side-effect level
is in the run's file) narrow the runs a page read; `total` counts what the rows can tell.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from runtime_adapter.js.dates import parse_iso
from runtime_adapter.js.jsvalues import js_or, prop, truthy
from runtime_adapter.records import CorruptRun, InvalidRunId, Run, RunNotFound
from runtime_adapter.redaction import clean_text, redact_value
from runtime_adapter.rows import RunPage, RunQuery, RunRow, encode_cursor

WAITING = "waiting_for_approval"
ROW_CHUNK = 1000
# Runs a history page reads at most, per approval it lists: the history is found by reading runs.
HISTORY_READS_PER_ITEM = 4
# The side-effect levels the runtime names (Tool's default, and those `_shouldVerifyTool` verifies).
SIDE_EFFECT_LEVELS = ("none", "external_write", "system_write", "destructive")
# What followed a request: the tool ran, the run failed (denied, by the handler or the policy), nothing yet,
# or no approval_resolved event answers it (the run was cancelled, paused or replayed instead).
OUTCOMES = ("executed", "denied", "no_outcome", "unresolved")


class ApprovalSource(Protocol):
    """What the inbox asks of a store: its listing and its runs (every `RunStore` answers both)."""

    def query_runs(self, query: RunQuery) -> RunPage: ...
    def get_run(self, run_id: str) -> Run: ...


@dataclass(frozen=True)
class Decision:
    """One of `state.policyDecisions` (or the confidence or verifier verdict) that asked for approval."""

    stage: str | None
    action: str | None
    source: str | None
    rule_id: str | None
    reason: str | None


@dataclass(frozen=True)
class ToolRequest:
    """What an approval request holds, whichever record it was read from (pendingApproval, an event)."""

    tool_name: str | None
    arguments: Any
    side_effect_level: str | None
    execution_policy: str | None
    verification_policy: str | None
    reason: str | None
    confidence: Any  # the tool-confidence assessment when the confidence policy asked, else None
    verification: Any  # the verifier's verdict when it asked, else None


@dataclass(frozen=True)
class Approval:
    """A run waiting for approval, as the inbox lists it (content redacted)."""

    run_id: str
    status: str
    request: ToolRequest | None  # None: the run waits, but no pendingApproval is recorded on it
    decisions: tuple[Decision, ...]
    requested_at: str | None
    waiting_seconds: float | None
    release: str | None
    root_run_id: str

    @property
    def tool_name(self) -> str | None:
        return self.request.tool_name if self.request else None

    def as_api(self) -> dict[str, Any]:
        request = self.request
        return {
            "runId": self.run_id, "toolName": self.tool_name,
            "arguments": request.arguments if request else None,
            "sideEffectLevel": request.side_effect_level if request else None,
            "reason": request.reason if request else None,
            "requestedAt": self.requested_at, "waitingSeconds": self.waiting_seconds,
            "executionPolicy": request.execution_policy if request else None,
            "confidence": request.confidence if request else None,
            "verification": request.verification if request else None,
            "release": self.release, "rootRunId": self.root_run_id,
        }


@dataclass(frozen=True)
class Resolution:
    """An approval that was asked for in a run that no longer waits on it: resolved, or never."""

    run_id: str
    status: str  # the run's status now
    request: ToolRequest
    decisions: tuple[Decision, ...]
    requested_at: str | None
    resolved_at: str | None  # None: no approval_resolved event answers the request
    approved: bool | None  # what resumeRun passed: True only for `approved: true`
    resolution_reason: str | None
    outcome: str  # one of OUTCOMES
    outcome_detail: str | None  # the run's failure message when it was denied
    waited_seconds: float | None
    release: str | None
    root_run_id: str

    @property
    def when(self) -> str | None:
        return self.resolved_at or self.requested_at

    def as_api(self) -> dict[str, Any]:
        return {
            "runId": self.run_id, "status": self.status, "toolName": self.request.tool_name,
            "arguments": self.request.arguments, "sideEffectLevel": self.request.side_effect_level,
            "requestReason": self.request.reason, "requestedAt": self.requested_at, "resolvedAt": self.resolved_at,
            "approved": self.approved, "reason": self.resolution_reason, "outcome": self.outcome,
            "outcomeDetail": self.outcome_detail, "waitedSeconds": self.waited_seconds,
            "policyDecisions": [{"stage": d.stage, "action": d.action, "source": d.source, "ruleId": d.rule_id,
                                 "reason": d.reason} for d in self.decisions],
            "release": self.release, "rootRunId": self.root_run_id,
        }


@dataclass(frozen=True)
class ApprovalFilters:
    tool: str | None = None
    side_effect_level: str | None = None
    release: str | None = None
    waited_seconds: int | None = None  # waiting at least this long

    @property
    def reads_runs(self) -> bool:
        """A filter only the run's file can answer (the listing rows do not hold the tool's metadata)."""
        return self.side_effect_level is not None


@dataclass
class ApprovalPage:
    approvals: list[Approval]
    total: int  # runs waiting for approval that the listing rows say match (see ApprovalFilters.reads_runs)
    offset: int
    limit: int
    read: int  # candidate runs this page read
    unreadable: int  # run files the store could not read, and candidates that failed to read
    tools: list[str] = field(default_factory=list)  # of every run waiting, for the filter's suggestions
    releases: list[str] = field(default_factory=list)

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.offset + self.limit) if self.offset + self.limit < self.total else None

    @property
    def previous_cursor(self) -> str | None:
        return encode_cursor(max(0, self.offset - self.limit)) if self.offset > 0 else None


@dataclass
class HistoryPage:
    resolutions: list[Resolution]
    offset: int  # into the store's runs, most recently updated first
    next_offset: int | None
    runs_total: int  # runs in scope (the release filter)
    read: int  # runs this page read
    unreadable: int

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.next_offset) if self.next_offset is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _clean(value: Any, secrets: bool) -> str | None:
    return clean_text(value, secrets=secrets) if isinstance(value, str) else None


def tool_request(record: Any, *, secrets: bool = True) -> ToolRequest:
    """The parts of a pendingApproval (or an event's copy of it) an operator reads, redacted."""
    call = prop(record, "toolCall")
    metadata = prop(record, "metadata")
    arguments = js_or(prop(record, "arguments"), prop(call, "arguments"), None)
    confidence, verification = prop(record, "confidence"), prop(record, "verification")
    return ToolRequest(
        tool_name=_clean(js_or(prop(record, "toolName"), prop(call, "name"), None), secrets),
        arguments=redact_value(arguments, secrets=secrets) if arguments is not None else None,
        side_effect_level=_clean(prop(metadata, "sideEffectLevel"), secrets),
        execution_policy=_clean(prop(metadata, "executionPolicy"), secrets),
        verification_policy=_clean(prop(metadata, "verificationPolicy"), secrets),
        reason=_clean(prop(record, "reason"), secrets),
        confidence=redact_value(confidence, secrets=secrets) if truthy(confidence) else None,
        verification=redact_value(verification, secrets=secrets) if truthy(verification) else None,
    )


def _decision(stage: Any, verdict: Any, secrets: bool) -> Decision:
    return Decision(stage=_clean(stage, secrets), action=_clean(prop(verdict, "action"), secrets),
                    source=_clean(prop(verdict, "source"), secrets), rule_id=_clean(prop(verdict, "ruleId"), secrets),
                    reason=_clean(prop(verdict, "reason"), secrets))


def asking_decisions(run: Run, request: ToolRequest, *, secrets: bool = True) -> tuple[Decision, ...]:
    """The verdicts that asked for approval of this tool: its `state.policyDecisions` whose action is
    `require_approval` (the confidence policy's and the tool policy's), then the verifier's, which the
    runtime keeps on the request only."""
    found = []
    decisions = prop(run["state"], "policyDecisions")
    for entry in decisions if isinstance(decisions, list) else []:
        verdict = prop(entry, "decision")
        if prop(verdict, "action") != "require_approval":
            continue
        if request.tool_name is not None and _clean(prop(entry, "toolName"), secrets) != request.tool_name:
            continue
        found.append(_decision(prop(entry, "stage"), verdict, secrets))
    if isinstance(request.verification, dict):
        found.append(_decision("verifier", request.verification, secrets))
    return tuple(dict.fromkeys(found))  # a tool asked twice holds the same verdict twice


def _events(run: Run) -> Iterator[tuple[str, Any, str | None]]:
    for event in run["events"]:
        kind = prop(event, "type")
        if kind in ("approval_requested", "approval_resolved"):
            yield kind, prop(event, "payload"), _text(prop(event, "timestamp"))


def requested_at(run: Run) -> str | None:
    """When the run asked for the approval it waits on: its last `approval_requested` event, else its last
    `waiting_for_approval` checkpoint, else when the run was last written (the runtime writes nothing to a
    waiting run until it is resumed)."""
    last = None
    for kind, _, timestamp in _events(run):
        if kind == "approval_requested":
            last = timestamp
    if last is None:
        for checkpoint in reversed(run["checkpoints"]):
            if prop(checkpoint, "label") == WAITING and _text(prop(checkpoint, "timestamp")):
                last = _text(prop(checkpoint, "timestamp"))
                break
    return last or _text(run["timestamps"].get("updatedAt"))


def _seconds(start: str | None, end: datetime | str | None) -> float | None:
    begin, finish = parse_iso(start), parse_iso(end)
    if begin is None or finish is None:
        return None
    return round((finish - begin).total_seconds(), 3)


def approval_of(run: Run, row: RunRow, now: datetime, *, secrets: bool = True) -> Approval:
    """The inbox entry of a run waiting for approval (`row` is its listing row: release and root)."""
    pending = run["pendingApproval"]
    request = tool_request(pending, secrets=secrets) if truthy(pending) and isinstance(pending, dict) else None
    asked = requested_at(run)
    return Approval(
        run_id=run["id"], status=row.status, request=request,
        decisions=asking_decisions(run, request, secrets=secrets) if request else (),
        requested_at=asked, waiting_seconds=_seconds(asked, now),
        release=row.release, root_run_id=row.root_run_id,
    )


def _row_matches(row: RunRow, filters: ApprovalFilters, cutoff: datetime | None) -> bool:
    # The row's failure_tool is pendingApproval.toolName; without one ("") the run's file decides.
    if filters.tool is not None and row.failure_tool and row.failure_tool != filters.tool:
        return False
    # A waiting run's updatedAt is at or after its approval_requested event (the runtime writes nothing to
    # it until it is resumed), so a row written before the cutoff asked before it too.
    return _not_after(row.updated_at, cutoff)


def _matches(approval: Approval, filters: ApprovalFilters, cutoff: datetime | None) -> bool:
    request = approval.request
    if filters.tool is not None and (request is None or request.tool_name != filters.tool):
        return False
    if filters.side_effect_level is not None and (request is None
                                                   or request.side_effect_level != filters.side_effect_level):
        return False
    return _not_after(approval.requested_at, cutoff)


class _Rows:
    """Every listing row of `query` from its offset on, read `ROW_CHUNK` at a time as they are consumed."""

    def __init__(self, store: ApprovalSource, query: RunQuery) -> None:
        self.store, self.query = store, query
        self.first = store.query_runs(replace(query, limit=ROW_CHUNK))
        self.total = self.first.total
        self.unreadable = len(self.first.errors)  # files the store could not read at all

    def __iter__(self) -> Iterator[RunRow]:
        page, offset = self.first, self.query.offset
        while True:
            yield from page.rows
            offset += ROW_CHUNK
            if not page.rows or offset >= page.total:
                return
            page = self.store.query_runs(replace(self.query, offset=offset, limit=ROW_CHUNK))


def _not_after(value: str | None, cutoff: datetime | None) -> bool:
    if cutoff is None:
        return True
    moment = parse_iso(value)
    return moment is not None and moment <= cutoff


def pending_approvals(store: ApprovalSource, filters: ApprovalFilters, now: datetime, *, offset: int = 0,
                      limit: int = 50, secrets: bool = True) -> ApprovalPage:
    """Runs waiting for approval, longest waiting first; reads at most `limit` runs."""
    cutoff = now - timedelta(seconds=filters.waited_seconds) if filters.waited_seconds is not None else None
    rows = _Rows(store, RunQuery(statuses=(WAITING,), release=filters.release, sort="updated", descending=False))
    candidates: list[RunRow] = []
    tools: set[str] = set()
    releases: set[str] = set()
    unreadable = rows.unreadable
    for row in rows:
        if row.failure_tool:
            tools.add(row.failure_tool)
        if row.release:
            releases.add(row.release)
        if _row_matches(row, filters, cutoff):
            candidates.append(row)
    window = candidates[offset:offset + limit]
    approvals = []
    for row in window:
        try:
            run = store.get_run(row.id)
        except (RunNotFound, InvalidRunId):
            continue  # removed since it was listed
        except CorruptRun:
            unreadable += 1
            continue
        if run["status"] != WAITING:
            continue  # resumed since it was listed
        approval = approval_of(run, row, now, secrets=secrets)
        if _matches(approval, filters, cutoff):
            approvals.append(approval)
    return ApprovalPage(approvals=approvals, total=len(candidates), offset=offset, limit=limit, read=len(window),
                        unreadable=unreadable, tools=sorted(tools), releases=sorted(releases))


def _all_events(run: Run) -> Iterator[tuple[Any, Any, str | None]]:
    for event in run["events"]:
        yield prop(event, "type"), prop(event, "payload"), _text(prop(event, "timestamp"))


def resolutions_of(run: Run, row: RunRow, *, secrets: bool = True) -> list[Resolution]:
    """Each approval the run asked for and no longer waits on, paired with the `approval_resolved` event that
    answered it (the runtime resolves the one pending request), with what followed; a request never answered
    is listed too.

    `approved` is what the `resumeRun` call passed (`approved: true`, or not): without it the runtime asks
    the agent's approval handler, so the outcome is read from the events that follow: the tool starting,
    or the run failing.
    """
    entries: list[dict[str, Any]] = []
    open_requests: list[tuple[Any, str | None]] = []
    settling: dict[str, Any] | None = None  # the resolution whose outcome the next events tell
    for kind, payload, timestamp in _all_events(run):
        if settling is not None:
            if kind == "tool_started" and _clean(prop(payload, "toolName"), secrets) == settling["tool"]:
                settling["outcome"], settling = "executed", None
            elif kind == "run_failed":
                settling["outcome"] = "denied"
                settling["detail"] = _clean(prop(payload, "message"), secrets)
                settling = None
            elif kind == "approval_requested":
                settling = None
        if kind == "approval_requested":
            open_requests.append((payload, timestamp))
        elif kind == "approval_resolved":
            record, asked = open_requests.pop() if open_requests else (None, None)
            request = tool_request(js_or(prop(payload, "request"), record), secrets=secrets)
            approved = prop(payload, "approved")
            settling = {"request": request, "tool": request.tool_name, "asked": asked, "resolved": timestamp,
                        "approved": approved if isinstance(approved, bool) else None,
                        "reason": _clean(prop(payload, "reason"), secrets), "outcome": "no_outcome", "detail": None}
            entries.append(settling)
    if row.status == WAITING and open_requests:
        open_requests.pop()  # the request it waits on: the inbox lists it
    for record, asked in open_requests:
        entries.append({"request": tool_request(record, secrets=secrets), "asked": asked, "resolved": None,
                        "approved": None, "reason": None, "outcome": "unresolved", "detail": None})
    return [Resolution(
        run_id=run["id"], status=row.status, request=entry["request"],
        decisions=asking_decisions(run, entry["request"], secrets=secrets), requested_at=entry["asked"],
        resolved_at=entry["resolved"], approved=entry["approved"], resolution_reason=entry["reason"],
        outcome=entry["outcome"], outcome_detail=entry["detail"], waited_seconds=_seconds(entry["asked"], entry["resolved"]),
        release=row.release, root_run_id=row.root_run_id,
    ) for entry in entries]


def _history_matches(resolution: Resolution, filters: ApprovalFilters) -> bool:
    if filters.tool is not None and resolution.request.tool_name != filters.tool:
        return False
    return filters.side_effect_level is None or resolution.request.side_effect_level == filters.side_effect_level


def approval_history(store: ApprovalSource, filters: ApprovalFilters, *, offset: int = 0, limit: int = 50,
                     reads: int | None = None, secrets: bool = True) -> HistoryPage:
    """Approvals resolved (or abandoned) in the runs most recently updated first, from `offset` in that order:
    runs are read until `limit` approvals are found or `reads` runs were read; newest first within the page.

    Nothing in a listing row tells that a run asked for approval, but a run that made no tool call never did
    (the runtime records the call before it asks), so its file is not read. `reads` is HISTORY_READS_PER_ITEM
    runs per approval listed unless given.
    """
    reads = limit * HISTORY_READS_PER_ITEM if reads is None else reads
    rows = _Rows(store, RunQuery(release=filters.release, sort="updated", descending=True, offset=offset))
    found: list[Resolution] = []
    read, unreadable = 0, rows.unreadable
    position = offset
    next_offset: int | None = None
    for row in rows:
        if read >= reads or len(found) >= limit:
            next_offset = position
            break
        position += 1
        if row.tool_call_count == 0:
            continue
        read += 1
        try:
            run = store.get_run(row.id)
        except (RunNotFound, InvalidRunId):
            continue
        except CorruptRun:
            unreadable += 1
            continue
        found.extend(item for item in resolutions_of(run, row, secrets=secrets) if _history_matches(item, filters))
    found.sort(key=lambda item: item.when or "", reverse=True)
    return HistoryPage(resolutions=found, offset=offset, next_offset=next_offset, runs_total=rows.total, read=read,
                       unreadable=unreadable)
