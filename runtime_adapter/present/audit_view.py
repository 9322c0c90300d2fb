"""What the audit pages and the audit API show of a page of the audit log.

The rows of `runtime_adapter.durable.audit.read_audit_page` (already redacted), each with whether its
run is in the run store (a link when it is, the id as text when not) and a one-line summary of what
the payload says, in the runtime's words: the tool, its side-effect level, the policy's decision,
the approval's outcome, the failure's message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from runtime_adapter.durable.audit import AuditItem, AuditLogUnavailable, AuditPage, AuditQuery, read_audit_page
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import to_js_string
from runtime_adapter.present.formatting import clip
from runtime_adapter.records import InvalidRunId, RunStoreError, check_run_id
from runtime_adapter.rows import STATUSES

SUMMARY_CHARS = 160


@dataclass(frozen=True)
class AuditRow:
    line: int | None
    offset: int | None
    error: str | None = None  # set: the line is not an entry, `text` is its start (redacted)
    text: str = ""
    timestamp: str | None = None
    event_type: str | None = None
    run_id: str | None = None
    run_known: bool = False
    status: str | None = None  # a run status (a badge); any other value is `status_text`
    status_text: str | None = None
    tool: str | None = None
    side_effect: str | None = None
    summary: str = ""
    entry: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """`line 12`, or `byte 1,234` when the line is not numbered (yet)."""
        if self.line is not None:
            return f"line {self.line:,}"
        return f"byte {self.offset:,}" if self.offset is not None else "—"


@dataclass(frozen=True)
class AuditView:
    path: str
    rows: list[AuditRow]
    page: AuditPage | None
    # Set when the log cannot be read at all: why (a missing file, a directory, binary data).
    unavailable: str | None = None
    # Whether the run store holds the run the page is filtered by (None: not filtered by a run).
    run_known: bool | None = None
    # The log is not there at all (no file, no setting), rather than there and unreadable.
    missing: bool = False

    @property
    def next_cursor(self) -> str | None:
        return self.page.next_cursor if self.page else None

    @property
    def stopped(self) -> bool:
        """The scan spent its budget before the page was full: there may be more matches further back."""
        return bool(self.page and self.page.stopped)

    def as_api(self) -> dict[str, Any]:
        page = self.page
        assert page is not None
        return {"entries": [item.as_api() for item in page.items], "nextCursor": page.next_cursor,
                "scannedLines": page.scanned_lines, "scanStopped": page.stopped}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else to_js_string(value) if not isinstance(value, (dict, list)) else dumps(value)


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def _compact(value: Any) -> str:
    if value is None:
        return ""
    return clip(value if isinstance(value, str) else dumps(value), SUMMARY_CHARS)


def payload_summary(event_type: Any, payload: Any) -> str:
    """One line of what the payload says, by the runtime's event shapes (src/agent/Agent.js `_emitEvent` calls)."""
    if not isinstance(payload, dict):
        return _compact(payload)
    if event_type == "policy_decision":
        decision = payload.get("decision")
        action = _get(decision, "action")
        reason = _get(decision, "reason")
        parts = [str(payload.get("stage") or "decision"), f"→ {_text(action) or 'no action'}"]
        return _compact(" ".join(parts) + (f": {_text(reason)}" if reason else ""))
    if event_type == "approval_resolved":
        verdict = "approved" if payload.get("approved") is True else "rejected"
        reason = payload.get("reason")
        return _compact(verdict + (f": {_text(reason)}" if reason else ""))
    if event_type == "approval_requested":
        return _compact(payload.get("reason") or payload.get("arguments"))
    if event_type in ("tool_failed", "run_failed"):
        name = payload.get("name") if event_type == "run_failed" else None
        message = _text(payload.get("message")) or ""
        return _compact(f"{_text(name)}: {message}" if name else message)
    if event_type == "tool_completed":
        return _compact(payload.get("result"))
    if event_type == "run_completed":
        return _compact(payload.get("output"))
    if event_type in ("tool_requested", "tool_started"):
        return _compact(payload.get("arguments"))
    return _compact(payload)


def _row(item: AuditItem, known: set[str]) -> AuditRow:
    entry = item.entry
    if entry is None:
        return AuditRow(line=item.line, offset=item.offset, error=item.error, text=item.text)
    payload = entry.get("payload")
    event_type = entry.get("eventType")
    run_id = entry.get("runId") if isinstance(entry.get("runId"), str) else None
    status = entry.get("status")
    tool = _first(_get(payload, "toolName"), _get(payload, "toolCall", "name"), _get(payload, "request", "toolName"))
    side_effect = _first(_get(payload, "metadata", "sideEffectLevel"),
                         _get(payload, "toolCall", "metadata", "sideEffectLevel"),
                         _get(payload, "request", "metadata", "sideEffectLevel"))
    return AuditRow(
        line=item.line, offset=item.offset, entry=entry,
        timestamp=entry.get("timestamp") if isinstance(entry.get("timestamp"), str) else None,
        event_type=_text(event_type), run_id=run_id, run_known=run_id in known,
        status=status if status in STATUSES else None,
        status_text=None if status in STATUSES else _text(status),
        tool=tool, side_effect=side_effect, summary=payload_summary(event_type, payload),
    )


def _plain_id(value: Any) -> bool:
    try:
        check_run_id(value)
    except InvalidRunId:
        return False
    return True


def _known_runs(store: Any, items: list[AuditItem], also: str | None) -> set[str]:
    """The entries' run ids (and `also`) the run store holds; ids no run can have are never looked up, nor linked."""
    named = [item.entry.get("runId") for item in items if item.entry is not None] + [also]
    ids = list(dict.fromkeys(run_id for run_id in named if _plain_id(run_id)))
    if not ids or store is None:
        return set()
    try:
        return set(store.rows_by_id(ids))
    except RunStoreError:
        # The run store being down hides the links, not the audit log.
        return set()


def audit_view(path: str | os.PathLike[str] | None, query: AuditQuery, *, secrets: bool,
               store: Any = None) -> AuditView:
    """A page of the audit log as rows, each run marked known when `store` holds it. Raises BadCursor."""
    shown = "" if path is None else str(path)
    try:
        page = read_audit_page(path, query, secrets=secrets)
    except AuditLogUnavailable as error:
        return AuditView(path=shown, rows=[], page=None, unavailable=error.reason, missing=error.missing)
    known = _known_runs(store, page.items, query.run_id)
    return AuditView(path=shown, rows=[_row(item, known) for item in page.items], page=page,
                     run_known=None if query.run_id is None else query.run_id in known)
