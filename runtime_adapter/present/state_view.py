"""What the page of an uploaded state bundle shows: the runtime's integrity and consistency checks as
results, the recorded summary beside the one the checks recompute, the run, the memory layers and the
memory governance record, every piece of content redacted like run content."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime_adapter.js.dates import iso_ms
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import UNDEFINED, prop, same_value_zero
from runtime_adapter.present.formatting import clip, visible_id
from runtime_adapter.redaction import clean_text, is_sensitive_key, redact_value
from runtime_adapter.stores.state_bundle import StoredEntry, read_state

ENTRIES_SHOWN = 200  # per memory layer and of the audit trail
VALUE_LIMIT = 2000  # characters of one value on the page
DOCUMENT_LIMIT = 20_000  # characters of metadata or governance
# The fields StateIntegrityChecker compares, in its order, then those it only reports.
_COMPARED = ("runId", "status", "checkpointCount", "messageCount", "toolCallCount")
_REPORTED = ("memoryLayers", "memoryGovernanceEvents", "memoryContractSurfaces")
_MEMORY_RECORD = frozenset(("value", "createdAt", "updatedAt"))


@dataclass(frozen=True)
class CheckView:
    name: str
    runtime_call: str
    valid: bool
    errors: list[str]
    warnings: list[str]


@dataclass(frozen=True)
class SummaryRow:
    field: str
    recorded: str
    recomputed: str
    compared: bool  # StateIntegrityChecker compares this field
    matches: bool


@dataclass(frozen=True)
class EntryView:
    key: str | None
    value_text: str
    clipped: int
    updated: str | None  # updatedAt of Memory's record, createdAt of a conversation turn
    expires: str | None
    problem: str | None


@dataclass(frozen=True)
class AuditView:
    at: str | None
    type: str | None
    layer: str | None
    key: str | None
    outcome: str | None
    actor: str | None
    text: str  # the record as JSON when it has not this shape
    problem: str | None


@dataclass(frozen=True)
class LayerView:
    name: str
    shape: str
    count: int
    entries: list[EntryView]

    @property
    def more(self) -> int:
        return self.count - len(self.entries)


@dataclass(frozen=True)
class StatePage:
    format: str
    schema_version: str
    exported_at: str | None
    checks: list[CheckView]
    summary_rows: list[SummaryRow]
    has_summary: bool
    run_id: str | None
    run_error: str | None
    has_run: bool
    layers: list[LayerView]
    memory_text: str | None  # memory that is not an object of layers
    audit: list[AuditView]
    audit_count: int
    audit_note: str | None
    governance_text: str | None
    metadata_text: str | None
    contract: dict[str, list[str]]
    problems: list[str]

    @property
    def valid(self) -> bool:
        return all(check.valid for check in self.checks)

    @property
    def audit_more(self) -> int:
        return self.audit_count - len(self.audit)


def _text(value: Any, secrets: bool) -> str:
    """A short value as the page shows it: strings as they are, anything else as JSON."""
    if value is None or value is UNDEFINED:
        return "—" if value is UNDEFINED else "null"
    cleaned = redact_value(value, secrets=secrets)
    return visible_id(cleaned if isinstance(cleaned, str) else dumps(cleaned))


def _json(value: Any, secrets: bool, *, sensitive: bool = False, limit: int = VALUE_LIMIT) -> tuple[str, int]:
    text = "\n".join(visible_id(line) for line in
                     dumps(redact_value(value, secrets=secrets, sensitive=sensitive), 2).split("\n"))
    return (text, 0) if len(text) <= limit else (text[:limit], len(text) - limit)


def _time(value: Any, secrets: bool) -> str | None:
    """Memory stamps times in epoch milliseconds; anything else is shown as it is."""
    if value is None or value is UNDEFINED:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return iso_ms(datetime.fromtimestamp(value / 1000, UTC))
        except (OverflowError, ValueError, OSError):
            pass
    return clip(_text(value, secrets), 60)


def _entry(stored: StoredEntry, secrets: bool) -> EntryView:
    key = clean_text(stored.key, secrets=secrets) if stored.key is not None else None
    sensitive = stored.key is not None and is_sensitive_key(stored.key)
    if stored.problem is not None:
        return EntryView(key, "", 0, None, None, clean_text(stored.problem, secrets=secrets))
    value = stored.value
    if isinstance(value, dict) and _MEMORY_RECORD <= value.keys():
        # Memory's own record: the value, with its times beside it.
        text, clipped = _json(value["value"], secrets, sensitive=sensitive)
        return EntryView(key, text, clipped, _time(value.get("updatedAt"), secrets),
                         _time(value.get("expiresAt"), secrets), None)
    text, clipped = _json(value, secrets, sensitive=sensitive)
    # A conversation turn ({user, agent, createdAt, metadata}) says when it was written too.
    written = _time(value.get("createdAt"), secrets) if isinstance(value, dict) else None
    return EntryView(key, text, clipped, written, None, None)


def _audit(stored: StoredEntry, secrets: bool) -> AuditView:
    if stored.problem is not None:
        return AuditView(None, None, None, None, None, None, "", clean_text(stored.problem, secrets=secrets))
    record = stored.value
    if not isinstance(record, dict):
        return AuditView(None, None, None, None, None, None, _json(record, secrets)[0], None)

    def field(name: str) -> str | None:
        value = record.get(name, UNDEFINED)
        return None if value is UNDEFINED or value is None else clip(_text(value, secrets), 120)

    return AuditView(_time(record.get("timestamp"), secrets), field("type"), field("layer"), field("key"),
                     field("outcome"), field("actor"), "", None)


def _summary_rows(recorded: Any, recomputed: Any, secrets: bool) -> list[SummaryRow]:
    rows = []
    for name in (*_COMPARED, *_REPORTED):
        mine, theirs = prop(recorded, name), prop(recomputed, name)
        compared = name in _COMPARED
        rows.append(SummaryRow(name, _text(mine, secrets), _text(theirs, secrets), compared,
                               same_value_zero(mine, theirs) if compared else _text(mine, secrets) == _text(theirs, secrets)))
    return rows


def _check(name: str, call: str, answer: Any, secrets: bool) -> CheckView:
    answer = answer if isinstance(answer, dict) else {}
    return CheckView(name, call, answer.get("valid") is True,
                     [clean_text(str(message), secrets=secrets) for message in answer.get("errors") or []],
                     [clean_text(str(message), secrets=secrets) for message in answer.get("warnings") or []])


def _document_text(value: Any, secrets: bool) -> str | None:
    if value is None:
        return None
    text, clipped = _json(value, secrets, limit=DOCUMENT_LIMIT)
    return text + (f"\n… {clipped:,} more characters" if clipped else "")


def state_bundle_page(index_path: str | Path, *, secrets: bool) -> StatePage | None:
    """The page of the state bundle an upload's index file holds, or None when it holds something else."""
    stored = read_state(index_path, limit=ENTRIES_SHOWN)
    if stored is None:
        return None
    document = stored.document
    integrity = document.get("integrity") or {}
    recomputed = integrity.get("summary") if isinstance(integrity, dict) else None
    recorded = document.get("summary")
    governance = document.get("governance")
    audit_shape = document.get("auditShape")
    return StatePage(
        format=_text(document.get("format"), secrets),
        schema_version=_text(document.get("schemaVersion"), secrets),
        exported_at=_text(document["exportedAt"], secrets) if document.get("exportedAt") is not None else None,
        checks=[
            _check("Integrity", "new StateIntegrityChecker().check(bundle)", integrity, secrets),
            _check("Consistency", "new StateConsistencyChecker().check(bundle)", document.get("consistency"), secrets),
        ],
        summary_rows=_summary_rows(recorded, recomputed, secrets) if isinstance(recomputed, dict) else [],
        has_summary=recorded is not None,
        run_id=stored.run_id,
        run_error=clean_text(stored.run_error, secrets=secrets) if stored.run_error is not None else None,
        has_run=bool(document.get("hasRun")),
        layers=[LayerView(clean_text(layer.name, secrets=secrets), layer.shape, layer.count,
                          [_entry(entry, secrets) for entry in layer.entries]) for layer in stored.layers],
        memory_text=_document_text(document.get("memory"), secrets),
        audit=[_audit(entry, secrets) for entry in stored.audit],
        audit_count=int(document.get("auditCount") or 0),
        audit_note=None if audit_shape in (None, "array") else "memoryGovernance.audit is not an array",
        governance_text=_document_text(governance, secrets) if governance not in (None, {}) else None,
        metadata_text=_document_text(document.get("metadata"), secrets),
        contract={key: [str(item) for item in value] for key, value in (integrity.get("contract") or {}).items()}
        if isinstance(integrity, dict) else {},
        problems=[clean_text(str(problem), secrets=secrets) for problem in document.get("problems") or []],
    )
