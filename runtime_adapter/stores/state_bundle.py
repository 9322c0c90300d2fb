"""An uploaded state bundle (`agnostic-agents-state-bundle`, schema 1.0): what its index file keeps beside the run.

`StateBundle.toJSON()` holds one run (kept as the index's only run, so every run page
shows it), the memory layers, the memory governance record (an audit trail, a summary,
access contracts), free metadata and the summary the writer computed. The runtime's
integrity and consistency checks run once, when the file is uploaded
(`runtime_adapter.inspectors.state`); their answers and the small parts are one JSON
document in the index's `meta` table, and the memory entries and audit records are rows
of `state_entries`, so a page reads the first few of a layer of any size. A part nested
deeper than a run may be, or larger than `MAX_PART_BYTES`, is kept out with the reason.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime_adapter.inspectors.state import check_state_consistency, check_state_integrity
from runtime_adapter.js.jsjson import MAX_NESTING, nests_deeper_than
from runtime_adapter.records import StoreUnavailable

STATE_META_KEY = "state_bundle"
STATE_SCHEMA = "state-1"
MAX_PART_BYTES = 1024 * 1024  # metadata, summary, governance: shown whole, so kept small
MAX_VALUE_BYTES = 256 * 1024  # one memory entry or audit record
_DEPTH = MAX_NESTING - 4  # a part sits a few levels down in the stored document

STATE_TABLES_SQL = """
CREATE TABLE state_entries (
  position INTEGER PRIMARY KEY,
  part TEXT NOT NULL,        -- 'memory' or 'audit'
  layer TEXT NOT NULL,       -- the memory layer's name as JSON ('""' for audit records)
  key TEXT,                  -- the entry's key in an object layer as JSON, NULL in a list
  value TEXT,                -- the value as JSON, NULL when kept out
  problem TEXT               -- why the value was kept out
);
CREATE INDEX state_entries_layer ON state_entries (part, layer, position);
"""


@dataclass
class StateParts:
    """A state bundle split into the document and the rows its index file holds."""

    document: dict[str, Any]
    rows: list[tuple[str, str, str | None, str | None, str | None]] = field(default_factory=list)


def _as_json(value: Any, limit: int) -> tuple[str | None, str | None]:
    # Python's encoder, as for the index's run records: lone surrogates are escaped, floats round-trip.
    if nests_deeper_than(value, _DEPTH):
        return None, f"nested more than {_DEPTH} levels deep; not shown"
    text = json.dumps(value)
    if len(text) > limit:
        return None, f"{len(text):,} bytes of JSON; not shown (at most {limit:,} here)"
    return text, None


def _part(value: Any, name: str, problems: list[str]) -> Any:
    text, problem = _as_json(value, MAX_PART_BYTES)
    if problem is not None:
        problems.append(f"{name}: {problem}")
        return None
    return value


def _shape(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "value"


def state_parts(bundle: dict[str, Any]) -> StateParts:
    """Check a parsed state bundle and split it for its index file (the run is stored as the index's run)."""
    problems: list[str] = []
    integrity = check_state_integrity(bundle)
    consistency = check_state_consistency(bundle)
    # The summaries repeat the bundle's own metadata and job ids: held to the same limits as the parts.
    integrity = {**integrity, "summary": _part(integrity["summary"], "integrity summary", problems)} \
        if "summary" in integrity else integrity
    consistency = {**consistency, "summary": _part(consistency["summary"], "consistency summary", problems)}
    memory = bundle.get("memory")
    governance = bundle.get("memoryGovernance")
    rows: list[tuple[str, str, str | None, str | None, str | None]] = []
    layers: list[dict[str, Any]] = []
    if isinstance(memory, dict):
        for name, layer in memory.items():
            shape = _shape(layer)
            items = layer.items() if isinstance(layer, dict) else enumerate(layer) if isinstance(layer, list) \
                else [(None, layer)]
            count = 0
            for key, value in items:
                text, problem = _as_json(value, MAX_VALUE_BYTES)
                # Names as JSON text: a key may hold a lone surrogate, which SQLite cannot store.
                rows.append(("memory", json.dumps(name), json.dumps(key) if isinstance(key, str) else None, text,
                             problem))
                count += 1
            layers.append({"name": name, "shape": shape, "count": count})
    audit = governance.get("audit") if isinstance(governance, dict) else None
    if isinstance(audit, list):
        for record in audit:
            text, problem = _as_json(record, MAX_VALUE_BYTES)
            rows.append(("audit", '""', None, text, problem))
    governance_rest = {key: value for key, value in governance.items() if key != "audit"} \
        if isinstance(governance, dict) else governance
    document = {
        "schema": STATE_SCHEMA,
        "format": _part(bundle.get("format"), "format", problems),
        "schemaVersion": _part(bundle.get("schemaVersion"), "schemaVersion", problems),
        "exportedAt": _part(bundle.get("exportedAt"), "exportedAt", problems),
        "hasRun": "run" in bundle and bundle["run"] is not None,
        "metadata": _part(bundle.get("metadata"), "metadata", problems),
        "summary": _part(bundle.get("summary"), "summary", problems),
        # Memory that is not an object of layers is shown as it is.
        "memory": None if isinstance(memory, dict) else _part(memory, "memory", problems),
        "memoryShape": None if memory is None else _shape(memory),
        "memoryLayers": layers,
        "governance": _part(governance_rest, "memoryGovernance", problems),
        "auditShape": None if audit is None else _shape(audit),
        "auditCount": len(audit) if isinstance(audit, list) else 0,
        "integrity": integrity,
        "consistency": consistency,
        "problems": problems,
    }
    return StateParts(document, rows)


def write_state_tables(connection: sqlite3.Connection, parts: StateParts) -> None:
    """Inside the index writer's transaction."""
    # Statement by statement: executescript would commit the writer's open transaction.
    for statement in STATE_TABLES_SQL.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.executemany("INSERT INTO state_entries (part, layer, key, value, problem) VALUES (?, ?, ?, ?, ?)",
                           parts.rows)
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (STATE_META_KEY, json.dumps(parts.document)))


@dataclass
class StoredEntry:
    key: str | None
    value: Any
    problem: str | None


@dataclass
class StoredLayer:
    name: str
    shape: str
    count: int
    entries: list[StoredEntry]


@dataclass
class StoredState:
    document: dict[str, Any]
    layers: list[StoredLayer]
    audit: list[StoredEntry]
    run_id: str | None  # the bundle's run, when it could be read
    run_error: str | None  # why it could not


def _entry(key: str | None, value: str | None, problem: str | None) -> StoredEntry:
    try:
        name = None if key is None else json.loads(key)
        return StoredEntry(name, None if value is None else json.loads(value), problem)
    except ValueError as error:  # only if the file was damaged after it was written
        return StoredEntry(None, None, f"unreadable ({error})")


def read_state(index_path: str | Path, *, limit: int) -> StoredState | None:
    """The state bundle an upload's index file holds (None when the upload is not a state bundle).

    At most `limit` entries of each memory layer and of the audit trail are read; the counts say how many there are.
    """
    uri = f"{Path(index_path).resolve().as_uri()}?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreUnavailable(f"Uploaded file index {Path(index_path).name} cannot be read: {error}") from None
    try:
        found = connection.execute("SELECT value FROM meta WHERE key = ?", (STATE_META_KEY,)).fetchone()
        if found is None:
            return None
        # Python's decoder for what Python's encoder wrote: a number JSON.parse made Infinity round-trips.
        document = json.loads(found[0])
        if not isinstance(document, dict) or document.get("schema") != STATE_SCHEMA:
            raise StoreUnavailable("This state bundle was converted by another version of the control plane: "
                                   "upload it again.")
        layers = []
        for layer in document.get("memoryLayers") or []:
            rows = connection.execute(
                "SELECT key, value, problem FROM state_entries WHERE part = 'memory' AND layer = ?"
                " ORDER BY position LIMIT ?", (json.dumps(layer["name"]), limit)).fetchall()
            layers.append(StoredLayer(layer["name"], layer["shape"], layer["count"], [_entry(*row) for row in rows]))
        audit = [_entry(*row) for row in connection.execute(
            "SELECT key, value, problem FROM state_entries WHERE part = 'audit' ORDER BY position LIMIT ?", (limit,))]
        found_run = connection.execute("SELECT id FROM runs LIMIT 1").fetchone()
        found_error = connection.execute("SELECT error FROM errors ORDER BY position LIMIT 1").fetchone()
        return StoredState(document, layers, audit, found_run[0] if found_run else None,
                           found_error[0] if found_error else None)
    except (sqlite3.Error, ValueError) as error:
        raise StoreUnavailable(f"Uploaded file index {Path(index_path).name} cannot be read: {error}") from None
    finally:
        connection.close()
