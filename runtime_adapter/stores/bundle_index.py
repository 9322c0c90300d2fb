"""A trace bundle converted once into an SQLite file, then read like an indexed file store.

`BundleRunStore` parses the whole bundle into every process that opens it (a 100k-run
bundle held ~630 MB per worker and took half a minute per page). Here the bundle's
entries are written once, in bundle order, into the file-index schema (`index_schema.sql`)
plus each run's record and the broken traces; pages are index queries and only the runs
a page shows are parsed. The file is written under a temporary name and renamed into
place, never changed afterwards, and opened read-only (`immutable`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime_adapter.records import (
    CorruptRun,
    Run,
    RunNotFound,
    StoreEntry,
    StoreUnavailable,
    check_run_id,
    normalize_run,
)
from runtime_adapter.stores.memo import GenerationMemo
from runtime_adapter.stores.rowsql import EXTRA_COLUMNS, ROW_COLUMNS, row_values
from runtime_adapter.stores.rowtable import RowTableQueries
from runtime_adapter.stores.sqlite_index import SCHEMA_SQL, select_rows_by_id
from runtime_adapter.stores.state_bundle import StateParts, write_state_tables

if TYPE_CHECKING:
    from runtime_adapter.rows import RunRow

_INDEX_SQL = re.findall(r"CREATE INDEX IF NOT EXISTS [^;]+;", SCHEMA_SQL)
_TABLES_SQL = re.sub(r"CREATE INDEX IF NOT EXISTS [^;]+;", "", SCHEMA_SQL)
_EXTRA_TABLES_SQL = """
CREATE TABLE documents (run INTEGER PRIMARY KEY, record TEXT NOT NULL);  -- runs.rowid -> the run as JSON
CREATE TABLE errors (position INTEGER PRIMARY KEY, source TEXT NOT NULL, error TEXT NOT NULL);
"""
_RUN_COLUMNS = ("name", *ROW_COLUMNS, *EXTRA_COLUMNS)
_INSERT_RUN = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in _RUN_COLUMNS)})"
_COLUMNS = ", ".join(ROW_COLUMNS)


BATCH = 500  # runs per batch handed to a worker process


def upload_schema(redact_rows: bool) -> str:
    """The tables an uploaded bundle's index holds: a deploy that only changes how rows are computed keeps
    uploads open (with the rows they were converted with, for the rest of their TTL); a new table shape does not."""
    return hashlib.sha256(f"{SCHEMA_SQL}\x00{_EXTRA_TABLES_SQL}\x00{int(redact_rows)}".encode()).hexdigest()[:16]


def _row_batch(batch: list[tuple[int, StoreEntry]], redact_rows: bool) -> list[tuple[int, dict[str, Any], str]]:
    """Index values and record text of a batch of runs (module level, so worker processes can run it)."""
    # Python's encoder, not jsjson's JS formatting: the text is only read back by this store,
    # and floats, big integers and lone surrogates (escaped as ASCII) round-trip exactly.
    return [(position, row_values(entry.run, entry.source, dialect="sqlite", redact=redact_rows),
             json.dumps(entry.run)) for position, entry in batch if entry.run is not None]


def write_bundle_index(entries: Iterable[StoreEntry], path: str | os.PathLike[str], *, redact_rows: bool,
                       metadata: dict[str, Any] | None = None, workers: int = 1, kind: str = "bundle",
                       state: StateParts | None = None) -> int:
    """Write a bundle's entries (bundle order) as an index file at `path`; return its size in bytes.

    `runs.name` holds the trace's position, so `ORDER BY name` is bundle order. A run
    whose id an earlier trace already used becomes an error row: a store has one run
    per id, and the bundle store also answers the first. `redact_rows` as for the file
    index: the listing rows are those of the redacted runs. Rows are computed in
    `workers` processes (redacting a run costs far more than writing it). `kind` says what the upload
    was (`bundle`, `run`, `partial` or `state`); a state bundle's other parts go with `state`.
    """
    target = Path(path)
    partial = target.with_name(f".partial-{target.name}")
    partial.unlink(missing_ok=True)
    # Private like every file in the data directory: it holds the runs' text. SQLite keeps the mode.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    runs: list[tuple[int, StoreEntry]] = []
    errors: list[tuple[int, str, str]] = []
    first_use: dict[str, str] = {}
    for position, entry in enumerate(entries):
        if entry.run is None:
            errors.append((position, entry.source, entry.error or ""))
        elif entry.run["id"] in first_use:
            # Quoted as JSON: an id may hold a lone surrogate, which SQLite cannot store.
            errors.append((position, entry.source, f'run id {json.dumps(entry.run["id"])} is also '
                           f'{first_use[entry.run["id"]]}; only that one is shown'))
        else:
            first_use[entry.run["id"]] = entry.source
            runs.append((position, entry))
    batches = [runs[start : start + BATCH] for start in range(0, len(runs), BATCH)]
    connection = sqlite3.connect(partial, isolation_level=None)
    try:
        # A fresh file nobody reads until it is renamed into place: no journal needed.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.executescript(_TABLES_SQL + _EXTRA_TABLES_SQL)
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO errors VALUES (?, ?, ?)", errors)
        with ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(batches) > 1 else nullcontext() as pool:
            computed = (pool.map(_row_batch, batches, [redact_rows] * len(batches)) if pool is not None
                        else (_row_batch(batch, redact_rows) for batch in batches))
            for rows in computed:
                for position, values, record in rows:
                    cursor = connection.execute(_INSERT_RUN, (position, *(values[c] for c in _RUN_COLUMNS[1:])))
                    rowid = int(cursor.lastrowid or 0)
                    connection.execute("INSERT INTO documents VALUES (?, ?)", (rowid, record))
                    if values["correlation_ids"] != "[]":
                        connection.executemany("INSERT INTO run_correlations (value, run) VALUES (?, ?)",
                                               [(value, rowid) for value in json.loads(values["correlation_ids"])])
        for key, value in (("generation", 1), ("redact_rows", int(redact_rows)), ("schema", upload_schema(redact_rows)),
                           ("bundle_metadata", json.dumps(metadata or {})), ("upload_kind", kind)):
            connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        if state is not None:
            write_state_tables(connection, state)
        connection.execute("COMMIT")
        # Indexes and the search index built once over all rows: several times faster than row by row.
        for sql in _INDEX_SQL:
            connection.execute(sql)
        connection.execute("INSERT INTO runs_fts (runs_fts) VALUES ('rebuild')")
        connection.execute("INSERT INTO runs_fts (runs_fts) VALUES ('optimize')")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    os.replace(partial, target)
    return target.stat().st_size


class IndexedBundleRunStore(RowTableQueries):
    dialect = "sqlite"
    listing_order = "name"  # the trace's position in the bundle
    sum_function = "total({})"

    def __init__(self, path: str | os.PathLike[str], *, redact_rows: bool = False) -> None:
        self.path = Path(path)
        self.url = f"bundle-index://{self.path.resolve()}"
        try:
            stat = self.path.stat()
        except OSError:
            raise StoreUnavailable(f"Uploaded bundle index {self.path} does not exist.") from None
        self._marker = f"upload:{self.path.stem}:{stat.st_mtime_ns}:{stat.st_size}"
        self._local = threading.local()
        self._memo = GenerationMemo()
        found = self._db().execute("SELECT value FROM meta WHERE key = 'redact_rows'").fetchone()
        if found is None or bool(int(found[0])) != redact_rows:
            raise StoreUnavailable(
                f"This bundle was indexed with secret redaction {'off' if redact_rows else 'on'}, and redaction is "
                f"now {'on' if redact_rows else 'off'}: upload it again.")
        schema = self._db().execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if schema is None or schema[0] != upload_schema(redact_rows):
            raise StoreUnavailable("This bundle was converted by an earlier version of the control plane: upload it again.")
        self.row_redaction = redact_rows

    # Connections -------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # immutable: the file never changes once renamed into place, so SQLite takes no locks.
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            try:
                connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
                connection.execute("SELECT 1 FROM documents LIMIT 1")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"Uploaded bundle index {self.path.name} cannot be read: {error}") from None
            self._local.connection = connection
        return connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        yield self._db()

    def close(self) -> None:
        # As in IndexedFileRunStore: drop references only, never close a connection another thread may use.
        self._local = threading.local()

    @staticmethod
    def _generation(db: sqlite3.Connection) -> int:
        return 1  # never changes

    def _error_entries(self, db: sqlite3.Connection) -> list[StoreEntry]:
        return [StoreEntry(source=source, error=error)
                for source, error in db.execute("SELECT source, error FROM errors ORDER BY position")]

    # Runs ----------------------------------------------------------------------------

    @property
    def metadata(self) -> Any:
        found = self._db().execute("SELECT value FROM meta WHERE key = 'bundle_metadata'").fetchone()
        return json.loads(found[0]) if found else {}

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        found = self._db().execute("SELECT runs.source, documents.record FROM runs JOIN documents"
                                   " ON documents.run = runs.rowid WHERE runs.id = ?", (run_id,)).fetchone()
        if found is None:
            raise RunNotFound(run_id)
        return _parse(*found)

    def has_run(self, run_id: str) -> bool:
        return isinstance(run_id, str) and self._db().execute(
            "SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def iter_entries(self) -> Iterator[StoreEntry]:
        db = self._db()
        errors = iter(db.execute("SELECT position, source, error FROM errors ORDER BY position").fetchall())
        pending = next(errors, None)
        cursor = db.execute("SELECT runs.name, runs.source, documents.record FROM runs JOIN documents"
                            " ON documents.run = runs.rowid ORDER BY runs.name")
        for position, source, record in cursor:
            while pending is not None and pending[0] < position:
                yield StoreEntry(source=pending[1], error=pending[2])
                pending = next(errors, None)
            yield StoreEntry(source=source, run=_parse(source, record))
        while pending is not None:
            yield StoreEntry(source=pending[1], error=pending[2])
            pending = next(errors, None)

    def iter_family(self, root_run_id: str) -> Iterator[Run]:
        found = self._db().execute(
            "WITH RECURSIVE family(id) AS (SELECT id FROM runs WHERE id = ?"
            " UNION SELECT runs.id FROM runs JOIN family ON runs.parent_run_id = family.id)"
            " SELECT runs.source, documents.record FROM runs JOIN documents ON documents.run = runs.rowid"
            " WHERE runs.id IN family ORDER BY runs.name", (root_run_id,)).fetchall()
        for source, record in found:
            yield _parse(source, record)

    # Listing queries the mixin leaves to each store ----------------------------------

    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]:
        return select_rows_by_id(self._db(), run_ids)

    # Markers: the file never changes, so one marker covers every run and family ------

    def change_marker(self) -> str:
        return self._marker

    def run_marker(self, run_id: str) -> str | None:
        return self._marker

    def family_marker(self, run_id: str) -> str:
        return self._marker

    def describe(self) -> str:
        return f"uploaded bundle {self.path.stem}"


def _parse(source: str, record: str) -> Run:
    # Python's decoder reads back what Python's encoder wrote (_row_batch), a number JSON.parse made
    # Infinity (`1e400`) included, which JSON text cannot hold and jsjson.loads would refuse.
    try:
        return normalize_run(json.loads(record))
    except ValueError as error:  # only if the file was damaged after it was written
        raise CorruptRun(source, f"invalid JSON ({error})") from None
