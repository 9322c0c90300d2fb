"""The SQLite sidecar index of a run directory: schema, incremental refresh, writer lock.

A refresh lists the directory (names and stat only), compares size and mtime_ns with
what the index saw, reads only new and changed files and forgets deleted ones. One
writer at a time across threads and processes (an flock on a lock file beside the
index); readers never wait for it (WAL). Each committed batch bumps a generation
counter, which is the store's change marker.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime_adapter.queries.run_digest import comparison_digest
from runtime_adapter.records import CorruptRun
from runtime_adapter.rows import RunRow
from runtime_adapter.stores.file import (
    content_digest,
    parse_run_record,
    read_run_file,
    store_directory,
    worth_vetting,
)
from runtime_adapter.stores.rowsql import EXTRA_COLUMNS, ROW_COLUMNS, row_from_db, row_values, row_version

SCHEMA_SQL = (Path(__file__).with_name("index_schema.sql")).read_text(encoding="utf-8")


def schema_version(redact: bool) -> str:
    """The schema, the row code and the redaction setting: a change of any rebuilds the index."""
    return hashlib.sha256(f"{SCHEMA_SQL}\x00{row_version(redact)}".encode()).hexdigest()[:16]


SCHEMA_VERSION = schema_version(False)  # an index of unredacted rows (row_redaction False)

_RUN_COLUMNS = ("name", *ROW_COLUMNS, *EXTRA_COLUMNS)
# A stored row as (rowid, id, every other column…, search_text last), to diff against new values.
_STORED_COLUMNS = tuple(column for column in _RUN_COLUMNS[1:] if column != "search_text") + ("search_text",)
_SELECT_STORED = f"SELECT rowid, {', '.join(_STORED_COLUMNS)} FROM runs WHERE name = ?"
_INSERT_RUN = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in _RUN_COLUMNS)})"
BATCH_FILES = 1000
PARALLEL_MIN_BATCH = 100  # below this, shipping a batch to a worker costs more than parsing it
# A quick refresh stats only the files likely to change: runs still in progress, unreadable
# files (often caught mid-write) and files written in the last few minutes (the newest
# RECENT_FILES of them), plus new names when the directory itself changed. The runtime
# rewrites files in place, so only a full scan sees every change; quick refreshes keep live
# runs current between full scans. The cap bounds a quick refresh after a bulk copy: with
# 100k files written in the last minutes, each one (every second) stated all of them, 0.3 s
# of the interpreter's lock that a page's first request waited for.
LIVE_STATUSES = ("pending", "running", "waiting_for_approval", "paused")
RECENT_SECONDS = 600
RECENT_FILES = 1000
# A refresh with more new files than this (and than the index holds) builds in bulk:
# secondary indexes and the search index are dropped, filled rows-first, then rebuilt,
# which is several times faster than maintaining a dozen B-trees row by row.
BULK_MIN_FILES = 2000
_INDEX_SQL = re.findall(r"CREATE INDEX IF NOT EXISTS [^;]+;", SCHEMA_SQL)
_INDEX_NAMES = [re.match(r"CREATE INDEX IF NOT EXISTS (\w+)", sql).group(1) for sql in _INDEX_SQL]  # type: ignore[union-attr]
_RACED = "file changed while it was read"
ProgressCallback = Callable[[int, int], None]


def index_path_for(data_dir: str | os.PathLike[str], directory: str | os.PathLike[str]) -> Path:
    """Where the index of `directory` lives: one file per store path under `<data_dir>/index/`."""
    resolved = str(Path(directory).resolve())
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return Path(data_dir) / "index" / f"{digest}.sqlite3"


@dataclass
class RefreshResult:
    files: int = 0      # *.json files in the directory
    read: int = 0       # files read and parsed by this refresh
    removed: int = 0    # index entries whose file is gone
    pending: int = 0    # changed files left for the next refresh (the time budget ran out)
    seconds: float = 0.0
    skipped: bool = False  # another thread or process was refreshing

    @property
    def complete(self) -> bool:
        return not self.skipped and self.pending == 0


@dataclass(frozen=True)
class IndexStatus:
    generation: int
    runs: int
    errors: int
    complete: bool          # the last refresh saw every file
    scanned_at: float | None     # the last full scan
    quick_at: float | None       # the last quick refresh
    scan_seconds: float | None
    directory_stamp: str | None


@dataclass(frozen=True)
class _Parsed:
    name: bytes
    size: int
    mtime_ns: int
    values: dict[str, Any] | None
    error: str | None
    gone: bool = False
    vetted: bytes | None = None  # files.vetted
    compared: bytes | None = None  # files.compared


def parse_file(directory: str, name: bytes, max_bytes: int, size: int, mtime_ns: int, redact: bool) -> _Parsed:
    """Read one run file into index values or an error (module-level so worker processes can run it)."""
    text_name = os.fsdecode(name)
    read: list[bytes] = []

    def keep(data: bytes) -> bool:  # the bytes parsed, for their digest; their depth is checked as always
        read.append(data)
        return False

    try:
        record, stat = read_run_file(Path(directory) / text_name, max_bytes=max_bytes, vet=keep)
        run = parse_run_record(record, text_name, expected_id=text_name[: -len(".json")])
    except FileNotFoundError:
        return _Parsed(name, size, mtime_ns, None, None, gone=True)
    except CorruptRun as error:
        # A read that raced a rewrite is marked so the next refresh reads the file again.
        return _Parsed(name, size, -1 if error.reason == _RACED else mtime_ns, None, error.reason)
    data = read[-1]
    vetted = compared = None
    if worth_vetting(run, len(data), redact):
        vetted = content_digest(data)
        compared = comparison_digest(data.decode("utf-8"), run, version=vetted)
    return _Parsed(name, stat.st_size, stat.st_mtime_ns, row_values(run, text_name, dialect="sqlite", redact=redact),
                   None, vetted=vetted, compared=compared)


def _parse_batch(directory: str, items: list[tuple[bytes, int, int]], max_bytes: int, redact: bool) -> list[_Parsed]:
    return [parse_file(directory, name, max_bytes, size, mtime, redact) for name, size, mtime in items]


def private_database(path: Path) -> None:
    """Create the index owner-only (0600 in a 0700 folder) before SQLite does, which gives its -wal
    and -shm files the database's mode: the index holds every run's searchable text."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for existing, mode in ((path.parent, 0o700), (path, 0o600), (Path(f"{path}-wal"), 0o600),
                           (Path(f"{path}-shm"), 0o600)):
        try:
            os.chmod(existing, mode)  # made by an earlier version, before indexes were private
        except (FileNotFoundError, PermissionError):
            continue


def directory_stamp(directory: Path) -> str | None:
    """Directory mtime and size: they move when a file is added, removed or renamed."""
    try:
        stat = os.stat(directory)
    except OSError:
        return None
    return f"{stat.st_mtime_ns}:{stat.st_size}:{stat.st_nlink}"


class FileIndex:
    """`redact_rows`: rows are those of the redacted runs (see rowsql.row_values), all of them."""

    def __init__(self, directory: Path, path: Path, *, max_file_bytes: int, redact_rows: bool = False) -> None:
        self.directory = directory
        self.path = path
        self.redact_rows = redact_rows
        self.schema_version = schema_version(redact_rows)
        self.lock_path = path.with_suffix(".lock")
        self.max_file_bytes = max_file_bytes
        self._thread_lock = threading.Lock()
        self._known: dict[bytes, tuple[int, int]] | None = None
        self._known_generation = -1
        self._ready = False

    # Connections ---------------------------------------------------------------------

    def connect(self, *, readonly: bool) -> sqlite3.Connection:
        self.ensure_schema()
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout = 30000")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA cache_size = -16384")  # 16 MiB: a refresh touches many index pages
        if readonly:
            connection.execute("PRAGMA query_only = ON")
        return connection

    def ensure_schema(self) -> None:
        if self._ready:
            return
        private_database(self.path)
        if self.path.exists():
            # The common case needs no lock: a reader must not wait for a long build.
            probe = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                probe.execute("PRAGMA busy_timeout = 30000")
                if self._meta(probe, "schema") == self.schema_version:
                    self._ready = True
                    return
            finally:
                probe.close()
        with self._writer_lock(wait=True):
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                connection.execute("PRAGMA busy_timeout = 30000")
                connection.execute("PRAGMA journal_mode = WAL")
                version = self._meta(connection, "schema")
                if version != self.schema_version:
                    # Generations keep counting across a rebuild, so no cache mistakes old answers for new.
                    generation = int(self._meta(connection, "generation") or 0) + 1
                    self._drop_all(connection)
                    connection.executescript(SCHEMA_SQL)
                    connection.execute("BEGIN IMMEDIATE")
                    for key, value in (("schema", self.schema_version), ("generation", generation), ("complete", 0),
                                       ("directory", str(self.directory.resolve()))):
                        connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
                    connection.execute("COMMIT")
            finally:
                connection.close()
        self._ready = True

    @staticmethod
    def _meta(connection: sqlite3.Connection, key: str) -> Any:
        """A meta value, None when the index has no meta table yet. Any other error (a database another
        process holds locked past the busy timeout) is raised: taken for "no schema", it would make this
        process drop and rebuild the tables another worker is serving from."""
        try:
            found = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return None
            raise
        return found[0] if found else None

    @staticmethod
    def _drop_all(connection: sqlite3.Connection) -> None:
        names = connection.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'runs_fts_%'"
        ).fetchall()
        for kind, name in names:
            connection.execute(f'DROP {"TRIGGER" if kind == "trigger" else "TABLE"} IF EXISTS "{name}"')

    def status(self, connection: sqlite3.Connection) -> IndexStatus:
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM files WHERE error IS NOT NULL)"
        ).fetchone()
        return IndexStatus(
            generation=int(meta.get("generation") or 0), runs=counts[0], errors=counts[1],
            complete=bool(meta.get("complete")), scanned_at=meta.get("scanned_at"), quick_at=meta.get("quick_at"),
            scan_seconds=meta.get("scan_seconds"), directory_stamp=meta.get("directory_stamp"),
        )

    # The writer lock ---------------------------------------------------------------

    class _Lock:
        def __init__(self, index: FileIndex, wait: bool) -> None:
            self.index, self.wait, self.acquired = index, wait, False
            self._fd: int | None = None

        def __enter__(self) -> FileIndex._Lock:
            # The thread lock keeps two threads of one process apart cheaply; the flock
            # does the same across gunicorn workers and `manage.py index_runs`.
            if not self.index._thread_lock.acquire(blocking=self.wait):
                return self
            try:
                self.index.lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._fd = os.open(self.index.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
            except BlockingIOError:
                self._release()
                return self
            except BaseException:
                self._release()
                raise
            self.acquired = True
            return self

        def _release(self) -> None:
            if self._fd is not None:
                os.close(self._fd)  # closing the descriptor drops the flock
                self._fd = None
            self.index._thread_lock.release()

        def __exit__(self, *exc: object) -> None:
            if self.acquired or self._fd is not None:
                self._release()
            self.acquired = False

    def _writer_lock(self, *, wait: bool) -> FileIndex._Lock:
        return FileIndex._Lock(self, wait)

    # Refresh -----------------------------------------------------------------------

    def scan(self) -> dict[bytes, tuple[int, int]]:
        """Name → (size, mtime_ns) of every *.json entry, from stat calls only."""
        found: dict[bytes, tuple[int, int]] = {}
        with store_directory(self.directory), os.scandir(os.fsencode(self.directory)) as entries:
            for entry in entries:
                if not entry.name.endswith(b".json"):
                    continue
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found[entry.name] = (stat.st_size, stat.st_mtime_ns)
        return found

    def _load_known(self, connection: sqlite3.Connection) -> dict[bytes, tuple[int, int]]:
        generation = int(self._meta(connection, "generation") or 0)
        if self._known is None or self._known_generation != generation:
            # Another process wrote since we last looked: start from what the index holds.
            self._known = {name: (size, mtime) for name, size, mtime in
                           connection.execute("SELECT name, size, mtime_ns FROM files")}
            self._known_generation = generation
        return self._known

    def refresh(self, *, budget: float | None = None, wait: bool = False, workers: int = 1,
                progress: ProgressCallback | None = None, quick: bool = False,
                names: Collection[bytes] = ()) -> RefreshResult:
        """Bring the index up to date, stopping after `budget` seconds (the rest stays pending).

        `quick` looks only at live and recent files (see LIVE_STATUSES) and at `names`
        (files a directory watch saw change); the default scans all.
        """
        started = time.monotonic()
        self.ensure_schema()
        with self._writer_lock(wait=wait) as lock:
            if not lock.acquired:
                return RefreshResult(skipped=True)
            connection = self.connect(readonly=False)
            try:
                return self._refresh_locked(connection, started, budget, workers, progress, quick, names)
            finally:
                connection.close()

    def _quick_scan(self, connection: sqlite3.Connection, known: dict[bytes, tuple[int, int]],
                    list_names: bool, changed: Collection[bytes] = ()) -> tuple[dict[bytes, tuple[int, int]], list[bytes]]:
        """Stats of the likely-changed files, and known files found gone."""
        marks = ", ".join("?" for _ in LIVE_STATUSES)
        names = {name for (name,) in connection.execute(f"SELECT name FROM runs WHERE status IN ({marks})",
                                                         LIVE_STATUSES)}
        names.update(changed)
        recent = time.time_ns() - RECENT_SECONDS * 1_000_000_000
        # Two statements, each walking its own index: as one OR, SQLite read every file's row (15 ms at 100k).
        names.update(name for (name,) in connection.execute("SELECT name FROM files WHERE error IS NOT NULL"))
        names.update(name for (name,) in connection.execute("SELECT name FROM files WHERE mtime_ns < 0"))
        names.update(name for (name,) in connection.execute(
            "SELECT name FROM files WHERE mtime_ns >= ? ORDER BY mtime_ns DESC LIMIT ?", (recent, RECENT_FILES)))
        removed: list[bytes] = []
        if list_names:
            try:
                listed = {name for name in os.listdir(os.fsencode(self.directory)) if name.endswith(b".json")}
            except OSError:
                listed = set(self.scan())  # the full scan raises StoreUnavailable with the reason
            names.update(listed.difference(known))
            removed = [name for name in known if name not in listed]
        found: dict[bytes, tuple[int, int]] = {}
        directory = os.fsencode(self.directory)
        for name in names:
            try:
                stat = os.stat(os.path.join(directory, name), follow_symlinks=False)
            except FileNotFoundError:
                if name in known:
                    removed.append(name)
                continue
            found[name] = (stat.st_size, stat.st_mtime_ns)
        return found, sorted(set(removed))

    def _refresh_locked(self, connection: sqlite3.Connection, started: float, budget: float | None,
                        workers: int, progress: ProgressCallback | None, quick: bool = False,
                        names: Collection[bytes] = ()) -> RefreshResult:
        stamp = directory_stamp(self.directory)
        scanned_at = time.time()
        if self._meta(connection, "bulk"):
            self._restore_secondary(connection)  # a bulk build was interrupted before it finished
        known = self._load_known(connection)
        if quick:
            current, removed = self._quick_scan(connection, known, stamp != self._meta(connection, "directory_stamp"),
                                                names)
        else:
            current = self.scan()
            removed = [name for name in known if name not in current]
        changed = sorted(name for name, _ in current.items() - known.items())  # set difference, in C
        scan_seconds = time.monotonic() - started
        result = RefreshResult(files=len(current), pending=len(changed))
        if removed:
            self._write(connection, known, [], removed)
            result.removed = len(removed)
        if progress is not None:
            progress(0, len(changed))
        bulk = len(changed) > max(BULK_MIN_FILES, len(known))
        if bulk:
            self._drop_secondary(connection)
        try:
            self._apply(connection, known, changed, current, workers, result, started, budget, progress, bulk)
        finally:
            if bulk:
                self._restore_secondary(connection)
        result.seconds = time.monotonic() - started
        connection.execute("BEGIN IMMEDIATE")
        if quick:
            self._set_meta(connection, quick_at=scanned_at, directory_stamp=stamp)
        else:
            self._set_meta(connection, complete=int(result.pending == 0))
            if result.pending == 0:
                self._set_meta(connection, scanned_at=scanned_at, scan_seconds=round(scan_seconds, 4),
                               directory_stamp=stamp, files=len(current))
        connection.execute("COMMIT")
        return result

    def _apply(self, connection: sqlite3.Connection, known: dict[bytes, tuple[int, int]], changed: list[bytes],
               current: dict[bytes, tuple[int, int]], workers: int, result: RefreshResult, started: float,
               budget: float | None, progress: ProgressCallback | None, bulk: bool) -> None:
        done = 0
        for batch in self._parsed_batches(changed, current, workers):
            gone = [parsed.name for parsed in batch if parsed.gone]
            self._write(connection, known, [parsed for parsed in batch if not parsed.gone], gone, search=not bulk)
            result.removed += len(gone)
            done += len(batch)
            result.read += len(batch)
            result.pending = len(changed) - done
            if progress is not None:
                progress(done, len(changed))
            if budget is not None and result.pending and time.monotonic() - started > budget:
                break

    @classmethod
    def _drop_secondary(cls, connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        for name in _INDEX_NAMES:
            connection.execute(f"DROP INDEX IF EXISTS {name}")
        cls._set_meta(connection, bulk=1)  # until the rebuild below, the search index lags
        connection.execute("COMMIT")

    @classmethod
    def _restore_secondary(cls, connection: sqlite3.Connection) -> None:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.execute("BEGIN IMMEDIATE")
        for sql in _INDEX_SQL:
            connection.execute(sql)
        # Rows written in bulk were not added to the search index one by one.
        connection.execute("INSERT INTO runs_fts (runs_fts) VALUES ('rebuild')")
        cls._set_meta(connection, bulk=0)
        connection.execute("COMMIT")

    def _parsed_batches(self, changed: list[bytes], current: dict[bytes, tuple[int, int]],
                        workers: int) -> Iterator[list[_Parsed]]:
        directory = str(self.directory)
        size = BATCH_FILES
        if workers > 1:
            # Enough batches to keep every worker busy while this process writes, so a
            # refresh of a thousand files is parallel too, not only a cold build.
            size = max(PARALLEL_MIN_BATCH, min(BATCH_FILES, -(-len(changed) // (workers * 2))))
        batches = [[(name, *current[name]) for name in changed[start : start + size]]
                   for start in range(0, len(changed), size)]
        if workers <= 1 or len(batches) < 2:
            for items in batches:
                yield _parse_batch(directory, items, self.max_file_bytes, self.redact_rows)
            return
        # A cold build parses in worker processes; this process only writes, in file order.
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(_parse_batch, [directory] * len(batches), batches,
                                [self.max_file_bytes] * len(batches), [self.redact_rows] * len(batches))

    def _write(self, connection: sqlite3.Connection, known: dict[bytes, tuple[int, int]],
               parsed: list[_Parsed], removed: list[bytes], *, search: bool = True) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            # A run that is rewritten keeps its row and only the columns that changed are
            # written: deleting and re-inserting it touched all fourteen indexes (a refresh
            # of 1,000 rewritten runs spent most of its time there).
            stored: dict[bytes, tuple[Any, ...]] = {}
            for name in [*removed, *(item.name for item in parsed)]:
                found = connection.execute(_SELECT_STORED, (name,)).fetchone()
                if found is not None:
                    stored[name] = found
            updates = [item for item in parsed if item.values is not None and item.name in stored
                       and stored[item.name][1] == item.values["id"]]
            updated = {item.name for item in updates}
            gone = sorted((stored[name][0], stored[name][-1]) for name in stored if name not in updated)
            # FTS5 writes its buffer out whenever a rowid goes backwards, so all deletions go
            # first in rowid order, then all additions in rowid order: a few segments per
            # batch instead of one per run.
            search_out: list[tuple[int, str]] = list(gone)
            search_in: list[tuple[int, str]] = []
            for item in updates:
                rowid, *old = stored[item.name]
                values = item.values or {}
                changed = [column for column, before in zip(_STORED_COLUMNS, old, strict=True)
                           if before != values[column] or type(before) is not type(values[column])]
                if not changed:
                    continue
                connection.execute(f"UPDATE runs SET {', '.join(f'{c} = ?' for c in changed)} WHERE rowid = ?",
                                   (*(values[c] for c in changed), rowid))
                if "search_text" in changed:
                    search_out.append((rowid, old[-1]))
                    search_in.append((rowid, values["search_text"]))
                if "correlation_ids" in changed:
                    connection.execute("DELETE FROM run_correlations WHERE run = ?", (rowid,))
                    self._add_correlations(connection, rowid, values["correlation_ids"])
            for rowid, _ in gone:
                connection.execute("DELETE FROM run_correlations WHERE run = ?", (rowid,))
                connection.execute("DELETE FROM runs WHERE rowid = ?", (rowid,))
            if search:
                connection.executemany("INSERT INTO runs_fts (runs_fts, rowid, search_text) VALUES ('delete', ?, ?)",
                                       sorted(search_out))
            for name in removed:
                connection.execute("DELETE FROM files WHERE name = ?", (name,))
                known.pop(name, None)
            for item in parsed:
                if item.values is not None and item.name not in updated:
                    cursor = connection.execute(_INSERT_RUN, (item.name, *(item.values[c] for c in _RUN_COLUMNS[1:])))
                    rowid = int(cursor.lastrowid or 0)
                    search_in.append((rowid, item.values["search_text"]))
                    self._add_correlations(connection, rowid, item.values["correlation_ids"])
                connection.execute(
                    "INSERT INTO files (name, size, mtime_ns, error, vetted, compared) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
                    " error = excluded.error, vetted = excluded.vetted, compared = excluded.compared",
                    (item.name, item.size, item.mtime_ns, item.error, item.vetted, item.compared),
                )
                known[item.name] = (item.size, item.mtime_ns)
            if search:
                connection.executemany("INSERT INTO runs_fts (rowid, search_text) VALUES (?, ?)", sorted(search_in))
            connection.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            self._known = None  # what we cached no longer matches the index
            raise
        self._known_generation = int(self._meta(connection, "generation") or 0)

    @staticmethod
    def _add_correlations(connection: sqlite3.Connection, rowid: int, correlations: str) -> None:
        if correlations != "[]":
            connection.executemany("INSERT INTO run_correlations (value, run) VALUES (?, ?)",
                                   [(value, rowid) for value in json.loads(correlations)])

    @staticmethod
    def _set_meta(connection: sqlite3.Connection, **values: Any) -> None:
        for key, value in values.items():
            connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def select_rows_by_id(db: sqlite3.Connection, run_ids: list[str]) -> dict[str, RunRow]:
    """Rows of the given ids from a SQLite `runs` table, in the store's listing order (by name)."""
    wanted = list(dict.fromkeys(run_id for run_id in run_ids if isinstance(run_id, str)))
    found: list[tuple[Any, RunRow]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        cursor = db.execute(
            f"SELECT name, {', '.join(ROW_COLUMNS)} FROM runs WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
        found.extend((values[0], row_from_db(values[1:], dialect="sqlite")) for values in cursor)
    found.sort(key=lambda item: item[0])
    return {row.id: row for _, row in found}
