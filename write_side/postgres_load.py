"""Copy a run store into PostgreSQL: the only code that writes to a database.

Rows are COPYed in batches into a temporary staging table, then upserted by id, so
a load can be repeated (or interrupted and resumed) and only changed runs are
rewritten. The source store is only read.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from runtime_adapter.js.jsjson import dumps
from runtime_adapter.queries.run_digest import comparison_digest
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, Run
from runtime_adapter.stores import postgres
from runtime_adapter.stores.file import FileRunStore, parse_run_record, read_run_file, worth_vetting
from runtime_adapter.stores.postgres import safe_url
from runtime_adapter.stores.rowsql import EXTRA_COLUMNS, ROW_COLUMNS, row_values, row_version

SCHEMA_SQL = Path(postgres.__file__).with_name("postgres_schema.sql").read_text(encoding="utf-8")
COLUMNS = (*ROW_COLUMNS, *EXTRA_COLUMNS, "document", "row_version", "vetted", "compared")
_UPDATABLE = [column for column in COLUMNS if column != "id"]
# Staged, `vetted` only marks a run worth vetting; the table keeps the digest of document::text (`json` keeps the
# text as loaded), which is exactly what a reader gets and checks.
_SELECTED = {"vetted": "CASE WHEN vetted IS NULL THEN NULL ELSE sha256(convert_to(document::text, 'UTF8')) END"}
# Ids are unique within a load (file names are, and other sources are de-duplicated first).
_UPSERT = (
    f"INSERT INTO runs ({', '.join(COLUMNS)}) SELECT {', '.join(_SELECTED.get(c, c) for c in COLUMNS)} FROM runs_staging"
    f" ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _UPDATABLE)}, loaded_at = now()"
    " WHERE runs.row_version IS DISTINCT FROM excluded.row_version OR runs.redacted IS DISTINCT FROM excluded.redacted"
    " OR runs.source IS DISTINCT FROM excluded.source OR runs.vetted IS DISTINCT FROM excluded.vetted"
    " OR runs.document::text IS DISTINCT FROM excluded.document::text"
)
ProgressCallback = Callable[[int, int], None]
_VET_MARK = b"\x01"
ANALYZE_FRACTION = 0.1
# The tables the schema's triggers keep beside `runs`: a load rewrites their rows as it writes runs (a million runs
# left 487,817 dead rows in release_latest_input, 182 MB for 118,868 live ones). Vacuumed with `runs` after a large
# load, not left to autovacuum, which may be off (it is on these machines' PostgreSQL) or far behind.
TRIGGER_TABLES = ("release_step_totals", "release_step_durations", "release_step_duration_buckets",
                  "release_rollup_gaps", "release_latest_input", "run_counts", "usage_hours", "release_measure_totals",
                  "release_measure_buckets", "release_measure_values")
PARALLEL_MIN_BATCH = 100  # below this, shipping a batch to a worker costs more than parsing it


@dataclass
class LoadResult:
    runs: int = 0       # runs read from the source
    errors: int = 0     # records that could not be read (kept in store_errors)
    written: int = 0    # rows inserted or changed in the target
    pruned: int = 0     # target rows whose run is no longer in the source (--prune)
    seconds: float = 0.0
    sources: set[str] = field(default_factory=set, repr=False)


@dataclass(frozen=True)
class _Item:
    source: str
    values: dict[str, Any] | None
    error: str | None


def _raw_text(path: Path, stat: os.stat_result) -> str | None:
    """The file's text if it is still the version that was parsed (same size and mtime)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(stat.st_size + 1)
            after = os.fstat(handle.fileno())
    except OSError:
        return None
    if len(data) != stat.st_size or (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        return None
    return data.decode("utf-8")


def _file_item(directory: str, name: str, max_bytes: int, redact: bool) -> _Item | None:
    path = Path(directory) / name
    try:
        record, stat = read_run_file(path, max_bytes=max_bytes)
        run = parse_run_record(record, name, expected_id=name[: -len(".json")])
    except FileNotFoundError:
        return None
    except CorruptRun as error:
        return _Item(name, None, error.reason)
    values = row_values(run, name, dialect="postgres", redact=redact)
    # The record exactly as the runtime wrote it; re-serialised (as JSON.stringify would)
    # only if the file was rewritten since it was parsed.
    values["document"] = _raw_text(path, stat) or dumps(record)
    _vet(values, run, worth_vetting(run, stat.st_size, redact))
    return _Item(name, values, None)


def _vet(values: dict[str, Any], run: Run, worth: bool) -> None:
    """Mark a run worth vetting, with the comparison digest of the very document written."""
    values["vetted"] = _VET_MARK if worth else None
    # Named by the SHA-256 of the document, which the table's `vetted` is and a reader checks.
    document = values["document"]
    values["compared"] = (comparison_digest(document, run, version=hashlib.sha256(document.encode("utf-8")).digest())
                          if worth else None)


def _file_batch(directory: str, names: list[str], max_bytes: int, redact: bool) -> list[_Item]:
    return [item for name in names if (item := _file_item(directory, name, max_bytes, redact)) is not None]


def _items(store: RunStore, workers: int, batch_size: int, redact: bool) -> tuple[int, Iterator[list[_Item]]]:
    """How many records the source holds, and its items in batches, in listing order."""
    if isinstance(store, FileRunStore):
        names = store.file_names()
        directory, limit = str(store.directory), store.max_file_bytes
        # Read in inode order, roughly the order the files lie on disk: on a cold page cache, a million small
        # files read in name order are a million random reads (measured: 2.5x slower on this machine's disk).
        # The order of the upserts does not matter; the listing order is the `source` column's.
        inodes = {entry.name: entry.inode() for entry in os.scandir(directory)}
        names.sort(key=lambda name: inodes.get(name, 0))
        if workers > 1:
            # Enough batches for every worker even when a thousand files changed, not only
            # for a first load.
            batch_size = max(PARALLEL_MIN_BATCH, min(batch_size, -(-len(names) // (workers * 2))))
        batches = [names[start : start + batch_size] for start in range(0, len(names), batch_size)]

        def from_files() -> Iterator[list[_Item]]:
            if workers <= 1 or len(batches) < 2:
                for batch in batches:
                    yield _file_batch(directory, batch, limit, redact)
                return
            with ProcessPoolExecutor(max_workers=workers) as pool:
                yield from pool.map(_file_batch, [directory] * len(batches), batches, [limit] * len(batches),
                                    [redact] * len(batches))

        return len(names), from_files()

    entries = list(store.iter_entries())

    def from_entries() -> Iterator[list[_Item]]:
        batch: list[_Item] = []
        seen: set[str] = set()
        for entry in entries:
            if entry.run is None:
                batch.append(_Item(entry.source, None, entry.error or "unreadable"))
            elif entry.run["id"] not in seen:  # the first of duplicate ids wins, as the stores do
                seen.add(entry.run["id"])
                # Named like the file the runtime would write, so the listing order is the same.
                source = f"{entry.run['id']}.json"
                values = row_values(entry.run, source, dialect="postgres", redact=redact)
                values["document"] = dumps(entry.run)
                _vet(values, entry.run, worth_vetting(entry.run, len(values["document"]), redact))
                batch.append(_Item(source, values, None))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    return len(entries), from_entries()


ROLLUP_CHUNK = 20_000


def build_usage(connection: psycopg.Connection[Any]) -> None:
    """Fill `usage_hours` from the rows already in `runs`, once (as the counts): the triggers keep it exact."""
    connection.execute("TRUNCATE usage_hours")
    connection.execute(
        "INSERT INTO usage_hours (hour, runs, failed, prompt_tokens, completion_tokens, total_tokens, cost)"
        " SELECT created_us / 3600000000, count(*), count(*) FILTER (WHERE status = 'failed'),"
        " coalesce(sum(prompt_tokens::numeric), 0), coalesce(sum(completion_tokens::numeric), 0),"
        " coalesce(sum(total_tokens::numeric), 0), coalesce(sum(cost::numeric), 0) FROM runs"
        " WHERE runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost) GROUP BY 1")
    _mark_built(connection, "usage", postgres.USAGE_VERSION)


def build_counts(connection: psycopg.Connection[Any]) -> None:
    """Fill `run_counts` from the rows already in `runs`, once (inside the schema's transaction, as the rollups):
    the schema's triggers keep it exact from then on."""
    connection.execute("TRUNCATE run_counts")
    connection.execute("INSERT INTO run_counts (status, needs_attention, n)"
                       " SELECT status, needs_attention, count(*) FROM runs GROUP BY status, needs_attention")
    _mark_built(connection, "counts", postgres.COUNTS_VERSION)


def build_measures(connection: psycopg.Connection[Any]) -> None:
    """Fill the per-release measure totals and buckets from the rows already in `runs`, once, through the function
    the schema's triggers call (one statement: a release's sums are numeric, so any order adds up alike)."""
    connection.execute("TRUNCATE release_measure_totals, release_measure_buckets, release_measure_values")
    connection.execute(
        "SELECT runs_measure_apply(ARRAY(SELECT ROW(release, status, duration_ms, total_tokens, cost,"
        " 1)::runs_measure_change FROM runs WHERE coalesce(release, '') <> ''))")
    _mark_built(connection, "measures", postgres.MEASURES_VERSION)


def build_rollups(connection: psycopg.Connection[Any]) -> None:
    """Fill the per-release rollups (see postgres_schema.sql) from the rows already in `runs`, once: the
    schema's triggers keep them exact from then on. Inside the schema's transaction, so no writer
    changes `runs` in between (creating the triggers locks it against writes until commit)."""
    connection.execute("TRUNCATE release_step_totals, release_step_durations, release_step_duration_buckets,"
                       " release_rollup_gaps, release_latest_input")
    last = ""
    while True:
        found = connection.execute(
            "WITH chunk AS (SELECT id, release, input_key, step_stats FROM runs WHERE id > %s ORDER BY id LIMIT %s)"
            " SELECT runs_rollup_apply(ARRAY(SELECT ROW(release, input_key, step_stats, 1)::runs_rollup_change"
            " FROM chunk WHERE coalesce(release, '') <> ''), false), (SELECT max(id) FROM chunk)",
            (last, ROLLUP_CHUNK)).fetchone()
        if found is None or found[1] is None:
            break
        last = found[1]
    connection.execute(
        "INSERT INTO release_latest_input (release, input_key, id, status, duration_ms, cost)"
        " SELECT DISTINCT ON (release, input_key) release, input_key, id, status, duration_ms, cost"
        " FROM runs WHERE coalesce(release, '') <> '' AND input_key <> ''"
        " ORDER BY release, input_key, coalesce(created_at, '') DESC, id DESC")
    _mark_built(connection, "rollups", postgres.ROLLUP_VERSION)


def _mark_built(connection: psycopg.Connection[Any], key: str, version: int) -> None:
    """Mark a table the schema's triggers keep as complete (readers use it only then)."""
    connection.execute("INSERT INTO store_meta (key, value) VALUES (%s, %s)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, version))


def create_schema(connection: psycopg.Connection[Any]) -> None:
    with connection.transaction():
        # One loader at a time creates the schema; concurrent CREATE ... IF NOT EXISTS can race.
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('agent-run-control-plane schema'))")
        connection.execute(SCHEMA_SQL)
        # Tables the triggers keep, built once over the rows already there (the triggers, just created, lock
        # `runs` against writers until this transaction commits).
        for key, version, build in (("rollups", postgres.ROLLUP_VERSION, build_rollups),
                                    ("counts", postgres.COUNTS_VERSION, build_counts),
                                    ("usage", postgres.USAGE_VERSION, build_usage),
                                    ("measures", postgres.MEASURES_VERSION, build_measures)):
            if connection.execute("SELECT 1 FROM store_meta WHERE key = %s AND value = %s",
                                  (key, version)).fetchone() is None:
                build(connection)
    try:
        with connection.transaction():
            # lz4 compresses documents several times faster than the default pglz; servers
            # built without lz4 keep the default.
            connection.execute("ALTER TABLE runs ALTER COLUMN document SET COMPRESSION lz4")
    except psycopg.Error:
        pass


def load_store(store: RunStore, target_url: str, *, batch_size: int = 1000, workers: int = 1,
               prune: bool = False, progress: ProgressCallback | None = None, redact_rows: bool = False) -> LoadResult:
    """Copy `store` into the database at `target_url`.

    `redact_rows` writes the rows of redacted runs (listing text, correlation ids, search text),
    as a control plane with redaction on needs them (see PostgresRunStore); the documents are
    always the runs as written. Rows made with the other setting are rewritten.
    """
    started = time.monotonic()
    result = LoadResult()
    with psycopg.connect(target_url, autocommit=True, application_name="load_runs") as connection:
        # The upserts need no JIT compilation (the rollup triggers' functions say so themselves, for any writer).
        connection.execute("SET jit = off")
        create_schema(connection)
        connection.execute("CREATE TEMPORARY TABLE runs_staging (LIKE runs INCLUDING DEFAULTS)")
        # Staged documents are read once and dropped: compressing them would be wasted work.
        connection.execute("ALTER TABLE runs_staging ALTER COLUMN document SET STORAGE EXTERNAL")
        connection.execute("CREATE TEMPORARY TABLE loaded_sources (source text COLLATE \"C\" PRIMARY KEY)")
        # The planner's estimate: free, and close enough to decide whether to ANALYZE.
        rows_before = int(connection.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'runs'::regclass").fetchone()[0])  # type: ignore[index]
        total, batches = _items(store, workers, batch_size, redact_rows)
        if progress is not None:
            progress(0, total)
        done = 0
        for batch in batches:
            result.written += _write_batch(connection, batch, row_version(redact_rows))
            result.runs += sum(1 for item in batch if item.values is not None)
            result.errors += sum(1 for item in batch if item.values is None)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        if prune:
            with connection.transaction():
                result.pruned = connection.execute(
                    "DELETE FROM runs WHERE NOT EXISTS"
                    " (SELECT 1 FROM loaded_sources WHERE loaded_sources.source = runs.source)").rowcount
                connection.execute(
                    "DELETE FROM store_errors WHERE NOT EXISTS"
                    " (SELECT 1 FROM loaded_sources WHERE loaded_sources.source = store_errors.source)")
        # Fresh statistics matter after a first or large load (plans pick their indexes from
        # them), and so does the visibility map (the fleet views' index-only scans read the table
        # for every page not marked all-visible); for a small update this would cost more than the
        # load, and autovacuum, where it runs, catches up once a tenth of the table has changed anyway. The tables
        # the triggers keep changed with it.
        if result.written + result.pruned > ANALYZE_FRACTION * max(rows_before, 0):
            connection.execute(f"VACUUM (ANALYZE) runs, {', '.join(TRIGGER_TABLES)}")
    result.seconds = time.monotonic() - started
    return result


def _write_batch(connection: psycopg.Connection[Any], batch: list[_Item], version: str) -> int:
    runs = [item for item in batch if item.values is not None]
    broken = [item for item in batch if item.values is None]
    with connection.transaction():
        connection.execute("TRUNCATE runs_staging")
        with connection.cursor().copy(f"COPY runs_staging ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for item in runs:
                values = item.values or {}
                values["row_version"] = version
                copy.write_row([values[column] for column in COLUMNS])
        written = connection.execute(_UPSERT).rowcount
        with connection.cursor().copy("COPY loaded_sources (source) FROM STDIN") as copy:
            for item in batch:
                copy.write_row([item.source])
        # The target mirrors the source: a record that is now a run is no longer an error, and
        # one that is now unreadable is no longer a run.
        connection.execute("DELETE FROM store_errors WHERE source = ANY(%s)", ([item.source for item in runs],))
        if broken:
            connection.execute("DELETE FROM runs WHERE source = ANY(%s)", ([item.source for item in broken],))
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO store_errors (source, error) VALUES (%s, %s)"
                    " ON CONFLICT (source) DO UPDATE SET error = excluded.error, loaded_at = now()"
                    " WHERE store_errors.error IS DISTINCT FROM excluded.error",
                    [(item.source, item.error) for item in broken],
                )
    return written


def describe_target(url: str) -> str:
    return safe_url(url)


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))
