"""Runs in PostgreSQL (schema: postgres_schema.sql, linked from docs/postgres-schema.sql).

Every query runs in a read-only transaction on a pooled connection, so the
store's role needs SELECT only. `source` orders rows as the runtime's file store
lists them, so every inspector sees the runs in the same order; `document` holds
the run as the runtime wrote it and is parsed exactly like a run file.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import conninfo, errors
from psycopg_pool import ConnectionPool

from runtime_adapter.js.dates import iso_ms
from runtime_adapter.js.jsjson import MAX_NESTING, JSONParseError, loads
from runtime_adapter.queries.fleet import TIMELINE_BUCKETS
from runtime_adapter.queries.run_digest import made_from
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import (
    CorruptRun,
    InvalidRunId,
    Run,
    RunNotFound,
    StoreEntry,
    StoreUnavailable,
    check_run_id,
)
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores import fleet_sql
from runtime_adapter.stores.file import parse_run_record
from runtime_adapter.stores.memo import GenerationMemo
from runtime_adapter.stores.rowsql import Clause, created_us, where_clause
from runtime_adapter.stores.rowtable import SELECT_ROW, RowTableQueries

if TYPE_CHECKING:
    from runtime_adapter.rows import ClusterReport, LatestRun, ReleaseSummary, RunRow, StepTotals

logger = logging.getLogger(__name__)
T = TypeVar("T")

_ENTRIES_SQL = (
    "SELECT source, document, error FROM (SELECT source, document::text AS document, NULL AS error FROM runs"
    " UNION ALL SELECT source, NULL, error FROM store_errors) AS entries"
    ' ORDER BY source COLLATE "C"'
)
_FAMILY_SQL = (
    "WITH RECURSIVE family(id) AS (SELECT id FROM runs WHERE id = %s"
    " UNION SELECT runs.id FROM runs JOIN family ON runs.parent_run_id = family.id)"
    ' SELECT source, document::text FROM runs WHERE id IN (SELECT id FROM family) ORDER BY source COLLATE "C"'
)


def safe_url(url: str) -> str:
    """The URL without its password, for pages, logs and cache keys."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(invalid URL)"
    host, port, dbname, user = (params.get(key) for key in ("host", "port", "dbname", "user"))
    credentials = f"{user}@" if user else ""
    return f"postgresql://{credentials}{host or ''}{f':{port}' if port else ''}/{dbname or ''}"


# The per-release rollups' version (store_meta key 'rollups'; postgres_schema.sql): load_runs rebuilds
# rollups of another version, and until it has, every comparison aggregates `runs` directly.
ROLLUP_VERSION = 3
COUNTS_VERSION = 1  # run_counts (postgres_schema.sql)
USAGE_VERSION = 1  # usage_hours
MEASURES_VERSION = 2  # release_measure_totals, _buckets and _values
_WHOLE_RELEASE = RunQuery(release="").selection()


def whole_release(query: RunQuery) -> str | None:
    """The release whose every run `query` selects (its paging and sort aside), or None for any other scope."""
    if not query.release:
        return None
    return query.release if replace(query, release="").selection() == _WHOLE_RELEASE else None


_EVERY_RUN = RunQuery().selection()
_ATTENTION = RunQuery(attention_only=True).selection()
REDACTION_PROBE = {flag: f"SELECT EXISTS (SELECT 1 FROM runs WHERE redacted = {'true' if flag else 'false'})"
                   for flag in (True, False)}


_PLAN_SETTINGS = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
# The bitmap of a term's candidates stays exact (one entry per row, not per page) with enough memory: with the 4 MB
# default, `summary` among failed runs at a million runs went lossy and rechecked 160,000 rows' text (360 ms, 109 ms
# exact). Raised for the statement's transaction only, never lowered.
_BITMAP_MEMORY = "32MB"
_NARROWED = "; ".join([*(f"SET LOCAL {setting} = off" for setting in _PLAN_SETTINGS),  # one round trip each way
                       "SELECT set_config('work_mem', CASE WHEN pg_size_bytes(current_setting('work_mem'))"
                       f" < pg_size_bytes('{_BITMAP_MEMORY}') THEN '{_BITMAP_MEMORY}'"
                       " ELSE current_setting('work_mem') END, true)"])
_NARROWED_END = "; ".join(f"RESET {setting}" for setting in (*_PLAN_SETTINGS, "work_mem"))


class PostgresRunStore(RowTableQueries, RunStore):
    dialect = "postgres"
    concurrent_reads = True  # a pool of connections: independent aggregates may run at once
    search_collect_limit = 5000
    search_walk_per_match = 4  # a row walked ~1 µs, a match collected and sorted ~4 µs
    search_keeps_matches = True
    listing_order = 'source COLLATE "C"'  # the runtime's file names, compared bytewise as readdir lists them
    sum_function = "coalesce(sum({}), 0)"
    # Any UPDATE writes a new row version: a new xmin and ctid.
    family_versions_sql = ('SELECT source, xmin::text, ctid::text FROM runs WHERE id IN (SELECT id FROM down)'
                           ' ORDER BY source COLLATE "C"')

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 5.0,
                 connect_timeout: int = 3, statement_timeout_ms: int = 30_000,
                 reconnect_timeout: float = 10.0, redact_rows: bool = False) -> None:
        """`redact_rows`: serve listing rows only from a table whose rows are all of redacted runs
        (`load_runs` with redaction on), so no search or filter reads unredacted text."""
        self.url = safe_url(url)
        self.row_redaction = redact_rows
        self._conninfo = url
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_lock = threading.Lock()
        # Opened on first use: a store can be configured while the database is still down.
        self._pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, timeout=timeout,
            kwargs={"connect_timeout": connect_timeout, "application_name": "agent-run-control-plane"},
            configure=self._configure, check=ConnectionPool.check_connection,
            reconnect_timeout=reconnect_timeout, name=f"runs {self.url}",
        )
        self._opened = False
        self._memo = GenerationMemo()

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        # Belt and braces: the session default and every transaction are read-only.
        connection.autocommit = True
        connection.execute("SET default_transaction_read_only = on")
        connection.execute(f"SET statement_timeout = {int(self._statement_timeout_ms)}")
        # psycopg prepares a statement run five times; PostgreSQL then plans it once for any parameters, and a
        # plan for `search_text LIKE $1` cannot tell a common word from a rare one: "summary" at a million runs
        # went from 15 ms to 600 ms on its sixth request. Every statement is planned for its parameters instead.
        connection.execute("SET plan_cache_mode = force_custom_plan")
        # No JIT compilation: these queries are built to use indexes, and the planner's row estimates over a large
        # table cross jit_above_cost, where compiling costs 250-800 ms on a query whose work takes a few.
        connection.execute("SET jit = off")
        connection.autocommit = False
        connection.read_only = True

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for listing queries, once the rows are known to be made for this store's setting."""
        with self.connection() as db:
            # An index probe: rows written by a loader (or a writer) with the other setting. The value is
            # written into the statement: bound, psycopg prepares it after five runs and PostgreSQL's
            # generic plan for `redacted = $1` scans the whole table (~80 ms at 100k runs, every request).
            if db.execute(REDACTION_PROBE[not self.row_redaction]).fetchone()[0]:  # type: ignore[index]
                wanted = "on" if self.row_redaction else "off"
                raise StoreUnavailable(
                    f"Some rows of the PostgreSQL run store {self.url} were loaded with redaction "
                    f"{'off' if self.row_redaction else 'on'}; run `manage.py load_runs` with "
                    f"CONTROLPLANE_REDACT_SECRETS={'1' if self.row_redaction else '0'} (redaction {wanted}, "
                    "as this control plane) to rewrite them.")
            yield db

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection inside one read-only transaction; database errors become StoreUnavailable."""
        if not self._opened:
            with self._pool_lock:
                if not self._opened:
                    self._pool.open(wait=False)
                    self._opened = True
        try:
            with self._pool.connection() as connection:
                yield connection
        except errors.UndefinedTable:
            raise StoreUnavailable(
                f"The PostgreSQL run store {self.url} has no runs table; create it with "
                "`manage.py load_runs` or docs/postgres-schema.sql."
            ) from None
        except errors.UndefinedColumn as error:
            raise StoreUnavailable(
                f"The PostgreSQL run store {self.url} has an older runs table ({error.diag.message_primary}); "
                "update it with `manage.py load_runs` or docs/postgres-schema.sql."
            ) from None
        except errors.InsufficientPrivilege as error:
            raise StoreUnavailable(f"The PostgreSQL run store {self.url} refused a read: {error}") from None
        except psycopg.OperationalError as error:
            # Covers a database that is down or restarting and the pool's own timeout; the
            # pool drops broken connections and reconnects once the server answers again.
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StoreUnavailable(f"The PostgreSQL run store {self.url} is unavailable: {reason}") from None

    def close(self) -> None:
        if self._opened:
            self._pool.close()
            self._opened = False

    def describe(self) -> str:
        return self.url

    # Runs ----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        source, document, _ = self._document(run_id)
        return _parse(source, document)

    def get_run_vetted(self, run_id: str) -> tuple[Run, bool]:
        """The run, and whether load_runs vetted exactly this document (`runs.vetted`: its redaction changes
        nothing); then it is neither redacted nor depth-checked again. The digest is of the text read here, so a
        document another writer changed is redacted as usual."""
        source, document, digest = self._document(run_id)
        vetted = (bool(self.row_redaction) and digest is not None
                  and hashlib.sha256(document.encode("utf-8")).digest() == bytes(digest))
        return _parse(source, document, vetted=vetted), vetted

    def comparison_source(self, run_id: str) -> tuple[str, bytes] | None:
        """The document and `runs.compared`, when load_runs vetted exactly this text and made the comparison digest
        of it (by their SHA-256)."""
        if not self.row_redaction:
            return None
        try:
            check_run_id(run_id)
        except InvalidRunId:
            return None  # get_run says why
        with self.connection() as db:
            found = db.execute("SELECT document::text, vetted, compared FROM runs WHERE id = %s AND compared IS NOT NULL",
                               (run_id,)).fetchone()
        if found is None or found[1] is None:
            return None
        version, compared = hashlib.sha256(found[0].encode("utf-8")).digest(), bytes(found[2])
        # A writer may change the document and its `vetted` without writing a new digest: the digest names its text.
        if version != bytes(found[1]) or not made_from(compared, version):
            return None
        return found[0], compared

    def _document(self, run_id: str) -> tuple[str, str, bytes | None]:
        check_run_id(run_id)
        with self.connection() as db:
            found = db.execute("SELECT source, document::text, vetted FROM runs WHERE id = %s", (run_id,)).fetchone()
            if found is None:
                error = db.execute("SELECT source, error FROM store_errors WHERE source = %s",
                                   (f"{run_id}.json",)).fetchone()
                if error is not None:
                    raise CorruptRun(error[0], error[1])
                raise RunNotFound(run_id)
        return found[0], found[1], found[2]

    def has_run(self, run_id: str) -> bool:
        try:
            check_run_id(run_id)
        except InvalidRunId:
            return False
        with self.connection() as db:
            return db.execute("SELECT 1 FROM runs WHERE id = %s", (run_id,)).fetchone() is not None

    def iter_entries(self) -> Iterator[StoreEntry]:
        with self.connection() as db:
            # A server-side cursor streams the store instead of holding it in memory.
            with db.cursor(name="run_entries") as cursor:
                cursor.itersize = 200
                cursor.execute(_ENTRIES_SQL)
                for source, document, error in cursor:
                    if document is None:
                        yield StoreEntry(source=source, error=error)
                        continue
                    try:
                        yield StoreEntry(source=source, run=_parse(source, document))
                    except CorruptRun as corrupt:
                        yield StoreEntry(source=source, error=corrupt.reason)

    def iter_family(self, root_run_id: str) -> Iterator[Run]:
        with self.connection() as db:
            found = db.execute(_FAMILY_SQL, (root_run_id,)).fetchall()
        for source, document in found:
            try:
                yield _parse(source, document)
            except CorruptRun:
                continue

    # Listing queries -------------------------------------------------------------------

    @staticmethod
    def _generation(db: psycopg.Connection[Any]) -> int:
        found = db.execute("SELECT value FROM store_meta WHERE key = 'generation'").fetchone()
        return int(found[0]) if found else 0

    def _error_entries(self, db: psycopg.Connection[Any]) -> list[StoreEntry]:
        cursor = db.execute('SELECT source, error FROM store_errors ORDER BY source COLLATE "C"')
        return [StoreEntry(source=source, error=error) for source, error in cursor]

    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]:
        wanted = list(dict.fromkeys(run_id for run_id in run_ids if isinstance(run_id, str)))
        if not wanted:
            return {}
        with self._read() as db:
            rows = self._rows(db.execute(
                f'{SELECT_ROW} WHERE id = ANY(%s) ORDER BY source COLLATE "C"', (wanted,)))
        return {row.id: row for row in rows}

    # Fleet aggregates (stores.fleet_sql) --------------------------------------------------

    def _aggregate(self, compute: Callable[..., T], query: RunQuery, *args: Any) -> T:
        """`compute(db, where, *args)` over the rows `query` selects, in one tuned read transaction."""
        where = where_clause(query, self.dialect)
        with self._read() as db:
            fleet_sql.tune(db)
            return compute(db, where, *args)

    def _among(self, run_ids: tuple[str, ...]) -> Clause:
        """As one array literal: psycopg quotes a list's strings one by one in Python (3,433 ids: 8.5 ms a query)."""
        literal = ",".join('"' + run_id.replace("\\", "\\\\").replace('"', '\\"') + '"' for run_id in run_ids)
        return Clause(self._sql("id = ANY(?::text[])"), ["{" + literal + "}"])

    @contextmanager
    def _narrowed_plans(self, db: psycopg.Connection[Any], narrowed: bool) -> Iterator[None]:
        """The planner estimates a search term's matches from a sample and takes them as spread evenly; runs that
        match a term and a filter together can be clustered (a failing release's runs), where a scan it expected to
        stop early reads most of the table (~1 s at a million runs). With a term the trigram index answers, these
        statements use it, so what they cost follows the matches."""
        if not narrowed:
            yield
            return
        db.execute(_NARROWED, prepare=False)
        yield  # a failed statement aborts the transaction, which ends these settings with it
        # Back to what the session had (RESET: its value before any SET, a role's or database's setting included).
        db.execute(_NARROWED_END, prepare=False)

    def release_summaries(self, query: RunQuery, *, shapes: bool = True) -> list[ReleaseSummary]:
        """The counts and each measure's distribution at once, on connections of their own (each measure walks its
        own index: the releases page at a million runs 650-740 ms as one statement). Every run, or every run of one
        release, from the rollups (`fleet_sql.rolled_up_releases`)."""
        where = where_clause(query, self.dialect)

        def read(compute: Callable[..., T], *args: Any, **options: Any) -> T:
            with self._read() as db:
                fleet_sql.tune(db)
                return compute(db, where, *args, **options)

        rolled = self._rolled_up_releases(query, shapes)
        if rolled is not None:
            return read(fleet_sql.release_summaries, *rolled, shapes=shapes)
        with ThreadPoolExecutor(max_workers=1 + len(fleet_sql.MEASURES), thread_name_prefix="release-summaries") as pool:
            counts_read = pool.submit(read, fleet_sql.release_counts)
            measures_read = {column: pool.submit(read, fleet_sql.release_measure, column)
                             for column in fleet_sql.MEASURES}
            found = counts_read.result(), {column: future.result() for column, future in measures_read.items()}
        return read(fleet_sql.release_summaries, *found, shapes=shapes)

    def _rolled_up_releases(self, query: RunQuery,
                            shapes: bool) -> tuple[list[tuple[Any, ...]], dict[str, fleet_sql.Measured]] | None:
        """`fleet_sql.rolled_up_releases` where `query` selects every run or every run of one release and the
        rollups are complete; None otherwise (and where a writer raced the reads)."""
        if replace(query, release=None).selection() != _EVERY_RUN:
            return None
        with self._read() as db:
            if not self._kept(db, "measures", MEASURES_VERSION):
                return None
            db.commit()  # the probes' transaction; the reads share one snapshot
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            try:
                return fleet_sql.rolled_up_releases(db, query.release or None, shapes=shapes)
            except fleet_sql.RollupRace as race:
                logger.info("release summaries aggregate the runs (%s)", race)
                return None

    def _status_counts(self, db: psycopg.Connection[Any]) -> dict[str, int]:
        """From `run_counts`, which the schema's triggers keep; each status's first run in listing order (the dict's
        order, as the scanning default builds it) is one probe of runs_status_source."""
        if not self._kept(db, "counts", COUNTS_VERSION):
            return super()._status_counts(db)
        return dict(db.execute(
            "SELECT kept.status, kept.n FROM (SELECT status, sum(n) AS n FROM run_counts GROUP BY status"
            " HAVING sum(n) > 0) AS kept ORDER BY (SELECT min(source) FROM runs WHERE runs.status = kept.status)"
        ).fetchall())

    def _count(self, db: psycopg.Connection[Any], query: RunQuery | None, where: Clause) -> int:
        """Every run, or the runs of some statuses and/or those needing attention, from `run_counts`; the runs
        created in a window of whole hours from `usage_hours` and the runs it leaves out."""
        selection = None if query is None else query.selection()
        if selection is None:
            return super()._count(db, query, where)
        after, before = selection.created_after, selection.created_before
        if after and before and replace(selection, created_after=None, created_before=None) == _EVERY_RUN:
            origin = created_us(after)
            hours = None if origin is None else _whole_hours(after, before, 3_600_000, origin)
            if hours is None or not self._kept(db, "usage", USAGE_VERSION):
                return super()._count(db, query, where)
            kept = db.execute("SELECT coalesce(sum(runs), 0) FROM usage_hours WHERE hour >= %s AND hour < %s",
                              hours[:2]).fetchone()[0]  # type: ignore[index]
            return int(kept) + super()._count(db, query, Clause(
                f"{where.sql} AND NOT runs_hourly(created_at, created_us, prompt_tokens, completion_tokens,"
                " total_tokens, cost)", where.params))
        if replace(selection, statuses=(), attention_only=False) != _EVERY_RUN \
                or not self._kept(db, "counts", COUNTS_VERSION):
            return super()._count(db, query, where)
        sql = "SELECT coalesce(sum(n), 0) FROM run_counts WHERE TRUE"
        params: list[Any] = []
        if selection.statuses:
            sql += " AND status = ANY(%s)"
            params.append(list(selection.statuses))
        if selection.attention_only:
            sql += " AND needs_attention"
        return int(db.execute(sql, params).fetchone()[0])  # type: ignore[index]

    def _usage_totals(self, db: psycopg.Connection[Any], start: str, end: str, bucket_ms: int, origin: int, *,
                      rest: str = "") -> dict[int, tuple[Any, ...]]:
        """Windows of whole hours, in the runtime's timestamp shape, add up `usage_hours` (kept by the schema's
        triggers) and the few runs it leaves out (runs_usage_rest); any other window sums the rows."""
        hours = _whole_hours(start, end, bucket_ms, origin)
        if hours is None or rest or not self._kept(db, "usage", USAGE_VERSION):
            return super()._usage_totals(db, start, end, bucket_ms, origin, rest=rest)
        first, last, per_bucket = hours
        totals: dict[int, list[float]] = {}
        for bucket, *values in db.execute(
                "SELECT (hour - %s) / %s, sum(runs), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),"
                " sum(cost), sum(failed) FROM usage_hours WHERE hour >= %s AND hour < %s GROUP BY 1"
                " HAVING sum(runs) <> 0", (first, per_bucket, first, last)):
            totals[int(bucket)] = [float(value) for value in values]
        others = super()._usage_totals(db, start, end, bucket_ms, origin, rest=(
            " AND NOT runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost)"))
        for bucket, values in others.items():
            kept = totals.setdefault(bucket, [0.0] * len(values))
            for index, value in enumerate(values):
                kept[index] += float(value)
        return {bucket: (int(values[0]), *values[1:5], int(values[5])) for bucket, values in totals.items()}

    def _kept(self, db: psycopg.Connection[Any], key: str, version: int) -> bool:
        """Whether the table the schema's triggers keep under `key` is complete (built by load_runs)."""
        found = db.execute("SELECT value FROM store_meta WHERE key = %s", (key,)).fetchone()
        return found is not None and found[0] == version

    def _rolled_up(self, db: psycopg.Connection[Any]) -> bool:
        return self._kept(db, "rollups", ROLLUP_VERSION)

    def step_totals(self, query: RunQuery) -> StepTotals:
        release = whole_release(query)
        if release is not None:
            with self._read() as db:
                totals = fleet_sql.step_totals_rolled_up(db, release) if self._rolled_up(db) else None
            if totals is not None:
                return totals
        try:
            return self._aggregate(fleet_sql.step_totals, query)
        except psycopg.DataError as error:
            # A row loaded by older code whose step_stats jsonb refuses: the reference reads the rows instead.
            logger.warning("step totals fall back to reading rows (%s)", error)
            return RunStore.step_totals(self, query)

    def cluster_summaries(self, query: RunQuery, in_scope: int, *, timeline: bool = True) -> ClusterReport:
        scope = replace(query, attention_only=True)
        return self._aggregate(partial(fleet_sql.cluster_summaries, every_attention_run=scope.selection() == _ATTENTION),
                               scope, query.created_after, query.created_before, in_scope,
                               TIMELINE_BUCKETS if timeline else 0, query.release)

    def root_counts(self, query: RunQuery) -> dict[str, int]:
        return self._aggregate(fleet_sql.root_counts, query)

    def latest_pairs(self, base: RunQuery, head: RunQuery) -> list[tuple[LatestRun, LatestRun]]:
        base_release, head_release = whole_release(base), whole_release(head)
        with self._read() as db:
            fleet_sql.tune(db)
            if base_release is not None and head_release is not None and self._rolled_up(db):
                return fleet_sql.latest_pairs_rolled_up(db, base_release, head_release)
            return fleet_sql.latest_pairs(db, where_clause(base, self.dialect), where_clause(head, self.dialect))

    def keep_connections(self, count: int) -> None:
        """Keep at least `count` connections open from now on (a served worker's warm-up: a release comparison's
        first request read on four at once, and opening each took 5-30 ms of it, its SETs included)."""
        with self.connection():
            pass  # opens the pool
        self._pool.resize(min_size=min(max(count, self._pool.min_size), self._pool.max_size),
                          max_size=self._pool.max_size)

    def change_marker(self) -> str:
        with self.connection() as db:
            return f"pg:{self._generation(db)}"

    def run_marker(self, run_id: str) -> str | None:
        # Any UPDATE writes a new row version: a new xmin and ctid, whichever writer made it.
        check_run_id(run_id)
        with self.connection() as db:
            found = db.execute("SELECT xmin::text, ctid::text FROM runs WHERE id = %s", (run_id,)).fetchone()
        return None if found is None else f"pg:{found[0]}:{found[1]}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000
_YEAR_10000_US = 253_402_300_800_000_000


def _whole_hours(start: str, end: str, bucket_ms: int, origin: int) -> tuple[int, int, int] | None:
    """The first and the end hour of [start, end) and the hours per bucket, when both bounds are whole hours in the
    runtime's timestamp shape (as runs_hourly's runs are: text and instant then compare alike) and buckets are
    whole hours."""
    end_us = created_us(end)
    if end_us is None or bucket_ms % 3_600_000 or origin % _HOUR_US or end_us % _HOUR_US \
            or not 0 <= origin <= end_us <= _YEAR_10000_US:
        return None
    if any(iso_ms(_EPOCH + timedelta(microseconds=us)) != text for us, text in ((origin, start), (end_us, end))):
        return None
    return origin // _HOUR_US, end_us // _HOUR_US, bucket_ms // 3_600_000


def _parse(source: str, document: str, *, vetted: bool = False) -> Run:
    try:
        record = loads(document, max_nesting=None if vetted else MAX_NESTING)
    except JSONParseError as error:
        raise CorruptRun(source, f"invalid JSON ({error})") from None
    if not isinstance(record, dict):
        raise CorruptRun(source, "JSON is not a run object")
    return parse_run_record(record, source)
