"""A run directory answered from a sidecar SQLite index (see `sqlite_index`).

Listing, filters, search, counts, lineage lookups and usage charts are index
queries; only the runs a page shows are read from their files, and `get_run` /
`iter_entries` always read the files themselves, so a run's detail is never stale.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime_adapter.queries.fleet import TIMELINE_BUCKETS
from runtime_adapter.queries.run_digest import made_from
from runtime_adapter.records import CorruptRun, InvalidRunId, Run, StoreEntry, check_run_id
from runtime_adapter.rows import ClusterReport, RunQuery
from runtime_adapter.stores import fleet_sql
from runtime_adapter.stores.dirwatch import DirectoryWatch
from runtime_adapter.stores.file import (
    DEFAULT_MAX_FILE_BYTES,
    VET_MIN_BYTES,
    FileRunStore,
    content_digest,
    read_file_bytes,
)
from runtime_adapter.stores.memo import GenerationMemo
from runtime_adapter.stores.rowsql import Clause, where_clause
from runtime_adapter.stores.rowtable import RowTableQueries
from runtime_adapter.stores.sqlite_index import (
    FileIndex,
    IndexStatus,
    ProgressCallback,
    RefreshResult,
    directory_stamp,
    select_rows_by_id,
)

if TYPE_CHECKING:
    from runtime_adapter.rows import RunRow

log = logging.getLogger(__name__)

# A store with at most this many files (a scan takes a few milliseconds) is rescanned on
# every query, so what a page shows is exactly what is on disk. Counted, not timed: on a
# busy machine a timed small store would turn "large" and be refreshed behind the page.
SMALL_STORE_FILES = 1500
# One thread rescans a small store at most this often unless a file was added or removed.
SMALL_RECHECK_SECONDS = 0.05
# A large store is refreshed in the background: live and recent files (a quick refresh)
# when the last look is a second old or a file was added or removed, and every file (a
# full scan) every FULL_SCAN_SECONDS, or FULL_SCAN_FACTOR times what a scan takes, so
# scanning 100k files (half a second) costs a few percent of a core, not a fifth.
QUICK_SECONDS = 1.0
FULL_SCAN_SECONDS = 30.0
FULL_SCAN_FACTOR = 20.0


@dataclass(frozen=True)
class IndexLag:
    """How far an index is behind its directory (readiness checks and metrics).

    `seconds`: since the index last saw every change it knows of; 0 while nothing is known
    to be waiting; None while its first full scan has not completed. `pending`: files known
    to be waiting (at least 1 while a refresh was cut short).
    """

    seconds: float | None
    pending: int


class IndexedFileRunStore(RowTableQueries, FileRunStore):
    dialect = "sqlite"
    listing_order = "name"  # file names as bytes: Node's readdir (strcmp) order
    sum_function = "total({})"
    # A member's file size and mtime, as the refresh compares them.
    family_versions_sql = ("SELECT runs.name, files.size, files.mtime_ns FROM runs JOIN files ON files.name = runs.name"
                           " WHERE runs.id IN (SELECT id FROM down) ORDER BY runs.name")
    search_keeps_slow_orders = True

    def __init__(self, directory: str | Path, *, index_path: str | Path, refresh_seconds: float = 0.5,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, background: bool = True,
                 redact_rows: bool = False) -> None:
        """`redact_rows`: the index keeps rows of redacted runs (what a `RedactingStore` with
        secrets on shows), so its text search never reads unredacted text."""
        super().__init__(directory, max_file_bytes=max_file_bytes)
        index_path = Path(index_path).resolve()
        if index_path.is_relative_to(self.directory.resolve()):
            raise ValueError(f"The index {index_path} must not be inside the run directory {self.directory}.")
        self.index = FileIndex(self.directory, index_path, max_file_bytes=max_file_bytes, redact_rows=redact_rows)
        self.row_redaction = redact_rows
        self.refresh_seconds = refresh_seconds
        self.background = background
        self._local = threading.local()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._memo = GenerationMemo()
        # Files the directory watch saw change and no refresh of ours has looked at yet.
        self._watch: DirectoryWatch | None = None
        self._watch_unavailable = False
        self._watch_lock = threading.Lock()
        self._dirty: set[bytes] = set()

    # Index maintenance ---------------------------------------------------------------

    def refresh(self, *, budget: float | None = None, wait: bool = True, workers: int = 1,
                progress: ProgressCallback | None = None, quick: bool = False) -> RefreshResult:
        """Bring the index up to date now (the `index_runs` command, tests)."""
        return self.index.refresh(budget=budget, wait=wait, workers=workers, progress=progress, quick=quick)

    def index_status(self) -> IndexStatus:
        return self.index.status(self._db())

    def index_lag(self) -> IndexLag:
        """Read without refreshing: call after a query (or `change_marker`) has had its chance to.

        Known waiting: files the directory watch reported and no refresh has read, files added or
        removed since the last look (the directory's stamp moved), a refresh cut short by its time
        budget. Rewrites in place without a watch (no inotify) wait for the next full scan unseen.
        """
        meta = self._meta()
        with self._lock:
            dirty = len(self._dirty)
        scanned_at = float(meta["scanned_at"]) if meta.get("scanned_at") is not None else None
        if not meta.get("complete"):
            indexed = int(self._db().execute("SELECT count(*) FROM files").fetchone()[0])
            try:
                with os.scandir(self.directory) as entries:
                    listed = sum(1 for entry in entries if entry.name.endswith(".json"))
            except OSError:
                listed = indexed
            pending = max(1, listed - indexed, dirty)
            return IndexLag(None if scanned_at is None else max(0.0, time.time() - scanned_at), pending)
        moved = directory_stamp(self.directory) != meta.get("directory_stamp")
        if not dirty and not moved:
            return IndexLag(0.0, 0)
        last_look = max(scanned_at or 0.0, float(meta.get("quick_at") or 0.0))
        return IndexLag(max(0.0, time.time() - last_look), max(1, dirty))

    def ensure_fresh(self) -> None:
        """Called by every index query: refresh inline when that is cheap, else in the background."""
        meta = self._meta()
        small = meta.get("files") is not None and int(meta["files"]) <= SMALL_STORE_FILES
        if meta.get("complete") and small:
            stamp = directory_stamp(self.directory)
            last = getattr(self._local, "checked", None)
            if last is not None and last[1] == stamp and time.monotonic() - last[0] < SMALL_RECHECK_SECONDS:
                return
            # Only a refresh that read everything counts as a look: one skipped because another process held the
            # index (or cut short) is tried again on the next query, not SMALL_RECHECK_SECONDS later.
            if self.index.refresh(budget=self.refresh_seconds).complete:
                self._local.checked = (time.monotonic(), stamp)
            return
        if not meta.get("complete"):
            if self._worker_running():
                return  # pages serve the partial index while the build continues
            result = self.index.refresh(budget=self.refresh_seconds)
            if result.pending and self.background:
                self._start_worker()
            return
        now = time.time()
        scanned_at = float(meta.get("scanned_at") or 0)
        lost = self._watched_changes()
        if lost or now - scanned_at >= max(FULL_SCAN_SECONDS, FULL_SCAN_FACTOR * float(meta["scan_seconds"] or 0)):
            quick = False
        elif self._dirty or now - max(scanned_at, float(meta.get("quick_at") or 0)) >= QUICK_SECONDS or (
                directory_stamp(self.directory) != meta.get("directory_stamp")):
            quick = True
        else:
            return
        if self.background:
            self._start_worker(quick)
        else:
            self._refresh_dirty(quick, budget=self.refresh_seconds)

    def _watched_changes(self) -> bool:
        """Move what the directory watch saw into `_dirty`; True when changes may have been missed."""
        with self._watch_lock:
            return self._drain_watch()

    def _drain_watch(self) -> bool:
        if self._watch is None:
            if self._watch_unavailable:
                return False  # no inotify here: the periodic full scan is all there is
            self._watch = DirectoryWatch.open(self.directory)
            if self._watch is None:
                self._watch_unavailable = True
            # What changed before the watch existed is the periodic full scan's to find.
            return False
        names = self._watch.changes()
        if names is None:  # the queue overflowed, or the directory was moved or replaced
            self._watch.close()
            self._watch = None
            return True
        if names:
            with self._lock:
                self._dirty |= names
        return False

    def _refresh_dirty(self, quick: bool, budget: float | None) -> None:
        with self._lock:
            names = frozenset(self._dirty)
        result = self.index.refresh(budget=budget, quick=quick, names=names)
        if not result.skipped and not result.pending:
            with self._lock:
                self._dirty -= names

    def _meta(self) -> dict[str, Any]:
        return dict(self._db().execute("SELECT key, value FROM meta").fetchall())

    def _worker_running(self) -> bool:
        worker = self._worker
        return worker is not None and worker.is_alive()

    def _start_worker(self, quick: bool = False) -> None:
        with self._lock:
            if self._worker_running():
                return
            self._worker = threading.Thread(target=self._work, args=(quick,), name=f"index {self.directory.name}",
                                            daemon=True)
            self._worker.start()

    def _work(self, quick: bool) -> None:
        try:
            self._refresh_dirty(quick, budget=None)
        except Exception:  # a background refresh must never take the process down
            log.exception("Refreshing the index of %s failed", self.directory)

    # Connections -------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self.index.connect(readonly=True)
            self._local.connection = connection
        return connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so a count and its page agree even while a refresh commits."""
        self.ensure_fresh()
        connection = self._db()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        # Only references are dropped: closing a connection another thread is using makes
        # CPython's sqlite3 crash (seen: a live-server thread mid-query while a test reset
        # the stores). Each connection is freed once no thread holds it any more.
        self._local = threading.local()

    # Queries -----------------------------------------------------------------------

    @staticmethod
    def _generation(connection: sqlite3.Connection) -> int:
        found = connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(found[0]) if found else 0

    def _among(self, run_ids: tuple[str, ...]) -> Clause:
        return Clause("id IN (SELECT value FROM json_each(?))", [json.dumps(run_ids)])

    def _collect_order(self, db: sqlite3.Connection, narrow: str | None, where: Clause, order: str,
                       limit: int) -> list[str]:
        """Through the full-text index's matches, not a walk of the order (`where` holds only the search's own
        conditions, which the index narrows to)."""
        if narrow is None:
            return super()._collect_order(db, narrow, where, order, limit)
        sql = ("SELECT id FROM (SELECT rowid AS found FROM runs_fts WHERE runs_fts MATCH ?) AS matched"
               f" JOIN runs ON runs.rowid = matched.found WHERE {where.sql} ORDER BY {order} LIMIT ?")
        return [row[0] for row in db.execute(sql, [narrow, *where.params, limit])]

    def cluster_summaries(self, query: RunQuery, in_scope: int, *, timeline: bool = True) -> ClusterReport:
        """As aggregates over the index's covering `runs_cluster` (the reference's rows of 22,000 clustered runs at
        100k took 350 ms to read and group); `tests/parity.py` holds it to the reference."""
        where = where_clause(replace(query, attention_only=True), self.dialect)
        with self._read() as db:
            return fleet_sql.cluster_summaries(db, where, query.created_after, query.created_before, in_scope,
                                               TIMELINE_BUCKETS if timeline else 0, query.release, dialect="sqlite")

    def _error_entries(self, db: sqlite3.Connection) -> list[StoreEntry]:
        cursor = db.execute("SELECT name, error FROM files WHERE error IS NOT NULL ORDER BY name")
        return [StoreEntry(source=_name(name), error=error) for name, error in cursor]

    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]:
        with self._read() as db:
            return select_rows_by_id(db, run_ids)

    def get_run_vetted(self, run_id: str) -> tuple[Run, bool]:
        """The run's file, and whether the index vetted exactly these bytes (`files.vetted`: their redaction
        changes nothing). Bytes are compared by digest, not by size and mtime: a rewrite the index has not seen
        yet, even one keeping both, is redacted as usual."""
        if not self.row_redaction:
            return self.get_run(run_id), False
        verdicts: list[bool] = []

        def vet(data: bytes) -> bool:  # asked once read_run has checked the id
            if len(data) < VET_MIN_BYTES:
                verdicts.append(False)
            else:
                found = self._db().execute("SELECT 1 FROM files WHERE name = ? AND vetted = ?",
                                           (os.fsencode(f"{run_id}.json"), content_digest(data))).fetchone()
                verdicts.append(found is not None)
            return verdicts[-1]

        run = self.read_run(run_id, vet)
        return run, bool(verdicts) and verdicts[-1]

    def comparison_source(self, run_id: str) -> tuple[str, bytes] | None:
        """The file's text and `files.compared`, when the index vetted exactly these bytes (by their digest). The
        index is asked first: most runs have no digest, and their files are not read for nothing."""
        if not self.row_redaction:
            return None
        try:
            name = f"{check_run_id(run_id)}.json"
        except InvalidRunId:
            return None  # get_run says why
        found = self._db().execute("SELECT vetted, compared FROM files WHERE name = ? AND compared IS NOT NULL",
                                   (os.fsencode(name),)).fetchone()
        if found is None:
            return None
        try:
            data, _, changed = read_file_bytes(self.directory / name, self.max_file_bytes)
        except (FileNotFoundError, CorruptRun):
            return None
        version = content_digest(data)
        if changed or version != found[0] or not made_from(found[1], version):
            return None
        return data.decode("utf-8"), found[1]

    def has_run(self, run_id: str) -> bool:
        """From the index; a run it has not seen yet (written since its last refresh) is looked for as the file
        store does. The port's default reads and parses the whole file: a comparison of two 5,000-step runs spent
        0.45 s of every request asking whether they exist."""
        if isinstance(run_id, str):
            with self._read() as db:
                if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None:
                    return True
        return super().has_run(run_id)

    def _with_input_sql(self, columns: tuple[str, ...], statuses: int) -> str:
        # Without statistics SQLite walked the status index in date order to skip a sort,
        # reading every completed run when the input was unique: the runs sharing the
        # input's prefix come first (CROSS JOIN keeps that order), then the few are sorted.
        status_sql = f" AND runs.status IN ({', '.join('?' for _ in range(statuses))})" if statuses else ""
        return ("WITH same_prefix AS MATERIALIZED (SELECT rowid AS run FROM runs"
                " WHERE substr(input_text, 1, 64) = substr(?, 1, 64))"
                f" SELECT {', '.join(f'runs.{column}' for column in columns)}"
                " FROM same_prefix CROSS JOIN runs ON runs.rowid = same_prefix.run"
                f" WHERE runs.input_text = ?{status_sql}"
                " ORDER BY coalesce(runs.created_at, '') DESC, runs.id DESC LIMIT ?")

    def iter_family(self, root_run_id: str) -> Iterator[Run]:
        """The root and its descendants by parentRunId, read from their files in listRuns order."""
        with self._read() as db:
            names = [name for (name,) in db.execute(
                "WITH RECURSIVE family(id) AS (SELECT id FROM runs WHERE id = ?"
                " UNION SELECT runs.id FROM runs JOIN family ON runs.parent_run_id = family.id)"
                " SELECT name FROM runs WHERE id IN family ORDER BY name",
                (root_run_id,),
            )]
        if not names and isinstance(root_run_id, str):
            # Not indexed yet (a run written since the last refresh): its own file still answers.
            try:
                check_run_id(root_run_id)
            except ValueError:
                return
            names = [f"{root_run_id}.json".encode("utf-8", "surrogateescape")]
        for name in names:
            entry = self.read_entry(_name(name))
            if entry.run is not None:
                yield entry.run

    def change_marker(self) -> str:
        self.ensure_fresh()
        return f"index:{self.index.path.stem}:{self._meta().get('generation', 0)}"


def _name(raw: bytes) -> str:
    return os.fsdecode(raw)
