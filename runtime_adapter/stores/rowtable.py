"""The listing queries both indexed stores answer from their `runs` table.

The SQLite sidecar index and PostgreSQL hold the same columns (rowsql); only the
connection, the placeholder, the listing order and a few functions differ, so one
implementation serves both and their answers cannot drift apart.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Hashable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import StoreEntry
from runtime_adapter.rows import INPUT_MATCH_COLUMNS, InputMatch
from runtime_adapter.stores.memo import GenerationMemo
from runtime_adapter.stores.rowsql import (
    ROW_COLUMNS,
    Clause,
    Dialect,
    created_us,
    exact_input,
    order_clause,
    row_from_db,
    search_clauses,
    sort_expression,
    where_clause,
)

if TYPE_CHECKING:
    from runtime_adapter.rows import FleetRow, ReleaseSummary, RunPage, RunQuery, RunRow, UsageBucket

ROW_LIST = ", ".join(ROW_COLUMNS)
SELECT_ROW = f"SELECT {ROW_LIST} FROM runs"
# The run's parent chain, then every descendant of every run in it: a superset of what
# its run tree reads (the tree's root is on the chain), cycles included (UNION stops them).
FAMILY_CTE = (
    "WITH RECURSIVE up(id, parent) AS (SELECT id, parent_run_id FROM runs WHERE id = ?"
    " UNION SELECT runs.id, runs.parent_run_id FROM runs JOIN up ON runs.id = up.parent),"
    " down(id) AS (SELECT id FROM up UNION SELECT runs.id FROM runs JOIN down ON runs.parent_run_id = down.id)"
)


# A search's count that took longer collected many candidates through the search index (see `_page`).
QUICK_COUNT_SECONDS = 0.03
# A search keeps this many of its matches' ids in a sort order, for the store generation (see `_select`).
KEPT_ORDER_LIMIT = 50_000
# A broad search's page that took longer was found by a long walk of the sort order (see `_select`).
SLOW_PAGE_SECONDS = 0.01


class RowTableQueries(RunStore):
    """Mixin: what a page lists, counts and charts, as queries over `runs`.

    A store sets `dialect`, `listing_order` (its runs in the runtime's listRuns
    order) and `sum_function`, and provides `_read()` (one read transaction), `_generation(db)` (bumped by
    every change) and `_error_entries(db)`.
    """

    dialect: Dialect
    # A search with up to this many matches collects them through the search index and sorts them; one with more
    # walks the sort order. SQLite's full-text index hands over matches at little cost each; PostgreSQL's trigram
    # bitmap does too, up to a few thousand, where a walk to find a page of them at a million runs reads ~25,000.
    search_collect_limit = 0
    # Before collecting a search's matches through the search index, look for its page among the first runs of the
    # sort order (with the other filters), this many per match counted: about what collecting costs, so a search never
    # costs more than twice its collection, and a common term's page is found in a few milliseconds. 0: never (SQLite's
    # full-text index collects at little cost).
    search_walk_per_match = 0
    # Whether a search keeps the ids its count found (see `_timed_count`). SQLite's full-text index finds them again
    # at little cost (and its `IN` of a thousand parameters would cost what it saves).
    search_keeps_matches = False
    # Whether a broad search whose page the planner found slowly keeps its matches' order (see `_select`).
    search_keeps_slow_orders = False
    listing_order: str
    sum_function: str  # a SUM that is 0 over no rows and cannot overflow
    _memo: GenerationMemo

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _generation(self, db: Any) -> int:
        raise NotImplementedError

    def _error_entries(self, db: Any) -> list[StoreEntry]:
        raise NotImplementedError

    # The family's members with what moves when a row is rewritten, selected from `down`
    # (the family marker hashes them).
    family_versions_sql: str

    def family_marker(self, run_id: str) -> str:
        with self._read() as db:
            # Remembered per store generation: a page view in a quiet store walks no family.
            found = self._memo.get(self._generation(db), ("family", run_id), lambda: [tuple(values) for values in
                                   db.execute(self._sql(f"{FAMILY_CTE} {self.family_versions_sql}"), (run_id,))])
        if not found:
            return self.change_marker()  # not indexed yet: only the whole store's marker is safe
        digest = hashlib.sha256()
        for values in found:
            digest.update(repr(values).encode("utf-8", "surrogatepass"))
        return f"family:{len(found)}:{digest.hexdigest()[:32]}"

    def _sql(self, sql: str) -> str:
        # Shared statements are written with `?`; psycopg's placeholder is `%s`.
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def _rows(self, cursor: Any) -> list[RunRow]:
        return [row_from_db(values, dialect=self.dialect) for values in cursor]

    def _errors(self, db: Any, generation: int | None = None) -> list[StoreEntry]:
        """The unreadable files' rows, remembered per generation (`generation`: the one already read, if any)."""
        return self._memo.get(self._generation(db) if generation is None else generation, ("errors",),
                              lambda: self._error_entries(db))

    def query_runs(self, query: RunQuery) -> RunPage:
        return self._page(query)

    def query_incidents(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage:
        return self._page(replace(query, attention_only=True), incident_types)

    def _page(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage:
        """A page of the runs `query` selects and how many there are.

        A search counts its matches only up to SEARCH_COUNT_CAP (a page says "more than" that): counting every
        match of a common word would cost in proportion to the matches, while a page of 50 does not have to.
        With more matches than `search_collect_limit` (or the cap), a search is broad, so its page walks the sort
        order and tests each row (a few hundred rows to fill a page) instead of collecting every match from the
        search index and sorting them.
        """
        from runtime_adapter.rows import SEARCH_COUNT_CAP, RunPage, RunQuery

        narrow, rest = search_clauses(query, self.dialect, incident_types)
        where = where_clause(query, self.dialect, incident_types)
        cap = max(SEARCH_COUNT_CAP, self.search_collect_limit)
        bounded = bool(query.text) and not query.count_all
        key = ("count", where.sql, tuple(tuple(p) if isinstance(p, list) else p for p in where.params),
               cap if bounded else None)
        with self._read() as db:
            generation = self._generation(db)
            few = True  # matches few enough to collect through the search index
            quick = False  # ... and the search index found them quickly
            matches: tuple[str, ...] | None = None  # their ids, where the count kept them
            if bounded:
                counted, quick, matches = self._memo.get(generation, key,
                                                         lambda: self._timed_count(db, narrow, rest, cap),
                                                         items=lambda counts: len(counts[2] or ()))
                total, exact = min(counted, SEARCH_COUNT_CAP), counted <= SEARCH_COUNT_CAP
                few = counted <= cap
            else:
                total, exact = self._memo.get(generation, key, lambda: self._count(
                    db, query if not incident_types else None, where)), True
            alone = replace(query, text=None).selection() == RunQuery().selection()  # no filter besides the search
            one_more = replace(query, limit=max(0, query.limit) + 1)  # a row past the page says whether there are more
            if query.limit <= 0:
                rows = []  # only the count was asked for
            elif matches is not None:
                # Looked up by id, sorted, and kept in that order for the generation (`_select`): each page of any
                # order then reads its own rows. The planner, left to choose, walked a sort order's index for ids spread
                # through it: ~25,000 rows for `a-72`'s 2,012 of a million (148 ms); a walk of the order for matches
                # dense among the runs found `churn metrics`' page (3,433 of 100k runs) in 9-13 ms by creation but
                # 20-40 ms by duration, on every request.
                rows = self._ordered_rows(db, generation, one_more, self._among(matches), narrowed=True,
                                          keep=(key, None))
            elif few:
                # Few matches: collect them through the search index and sort them. With another filter, only if
                # the count (which collected them that way) was quick; else the store's planner may rather walk the
                # sort order or that filter's index. `summary` among failed runs by cost: 38 ms collected against
                # 100 ms walked at 100k runs, but 365 ms collected against 115 ms walked at a million (240,000
                # trigram candidates to recheck). Either way the rows are the same.
                narrowed = bool(query.text) and narrow is not None and (alone and not incident_types or quick)
                # The walk first only for a search alone: with a filter, the planner may read and sort every run the
                # filter keeps to begin the walk (`summary`, failed, by cost at 100k runs: 39 -> 117 ms).
                walk = self.search_walk_per_match * counted if bounded and narrowed and alone else 0
                filters = where_clause(replace(query, text=None), self.dialect, incident_types) if walk else None
                rows = self._ordered_rows(db, generation, one_more, where, filters=filters, walk=walk,
                                          narrowed=narrowed)
            else:
                # More matches than the cap: a search alone first looks for its page among the first runs of the sort
                # order, `search_walk_per_match` per match the cap stands for (as with fewer matches), so any term in
                # more than 1 run in 400 finds it there, unless its matches lie elsewhere in that order. At a million
                # runs `churn metrics` (34,000 matches): 110-160 -> 7-16 ms by creation, update and cost; the planner,
                # misled by the trigram index's estimate (1,000 matches), collected and sorted all 34,000. Where the
                # walk fails (that term by duration: its matches are rare among the longest runs), it costs ~140 ms
                # more; so `_select` then keeps the search's matches in that order for the generation (34,000 ids).
                # With a filter, the planner chooses: the filter may keep few runs. A store that walks no order first
                # (SQLite) keeps the order of a search whose page the planner's walk found slowly.
                pages = 1 + max(0, query.offset) // max(1, query.limit)
                walk = self.search_walk_per_match * cap * pages if bounded and alone and not incident_types else 0
                filters = where_clause(replace(query, text=None), self.dialect, incident_types) if walk else None
                keeps = (walk and self.search_keeps_matches) or (bounded and self.search_keeps_slow_orders)
                keep = (key, narrow) if keeps and narrow is not None else None
                rows = self._ordered_rows(db, generation, one_more, rest, filters=filters, walk=walk, keep=keep)
            if exact:
                more: bool | None = None
            elif query.limit <= 0:
                more = max(0, query.offset) < counted or None  # past the counted matches: not known
            else:
                more = len(rows) > query.limit
            rows = rows[:max(0, query.limit)]
            errors = self._errors(db, generation)
        return RunPage(rows=rows, total=total, query=query, errors=errors, total_exact=exact, more=more)

    def rows_with_input(self, input_text: str, *, statuses: tuple[str, ...] = ("completed",),
                        limit: int = 5) -> list[RunRow]:
        return self._rows(self._with_input(ROW_COLUMNS, input_text, statuses, limit))

    def input_matches(self, input_text: str, *, limit: int) -> list[InputMatch]:
        """`rows_with_input` of any status with four columns: a run page at a million runs read 500 whole rows of
        an input the synthetic agents repeat (25 ms of its 28)."""
        return [InputMatch(*values) for values in self._with_input(INPUT_MATCH_COLUMNS, input_text, (), limit)]

    def _with_input(self, columns: tuple[str, ...], input_text: str, statuses: tuple[str, ...],
                    limit: int) -> list[tuple[Any, ...]]:
        """`columns` of the newest runs (of `statuses`, any when empty) whose listed input is `input_text`, found
        through the input prefix index."""
        if not input_text.strip():
            return []
        with self._read() as db:
            return list(db.execute(self._sql(self._with_input_sql(columns, len(statuses))),
                                   [input_text, input_text, *statuses, max(0, limit)]))

    def _with_input_sql(self, columns: tuple[str, ...], statuses: int) -> str:
        status_sql = f" AND status IN ({', '.join('?' for _ in range(statuses))})" if statuses else ""
        return (f"SELECT {', '.join(columns)} FROM runs WHERE substr(input_text, 1, 64) = substr(?, 1, 64)"
                f" AND input_text = ?{status_sql} ORDER BY coalesce(created_at, '') DESC, id DESC LIMIT ?")

    def input_texts(self, run_ids: list[str]) -> dict[str, str]:
        """Only the one column (a comparison of two releases lists ~1,500 runs by id: 150 ms as whole rows)."""
        wanted = list(dict.fromkeys(run_id for run_id in run_ids if isinstance(run_id, str)))
        found: dict[str, str] = {}
        with self._read() as db:
            if self.dialect == "postgres":
                found.update(db.execute("SELECT id, input_text FROM runs WHERE id = ANY(%s)", (wanted,)))
                return found
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                found.update(db.execute(f"SELECT id, input_text FROM runs WHERE id IN ({marks})", chunk))
        return found

    def _count(self, db: Any, query: RunQuery | None, where: Clause) -> int:
        """How many runs `where` (made from `query`, when given) selects. A store that keeps counts answers from
        them where it can."""
        return int(db.execute(f"SELECT count(*) FROM runs WHERE {where.sql}", where.params).fetchone()[0])

    def _usage_totals(self, db: Any, start: str, end: str, bucket_ms: int, origin: int, *,
                      rest: str = "") -> dict[int, tuple[Any, ...]]:
        """Per bucket index from `origin`: runs, prompt, completion and total tokens, cost and failed runs, of the
        runs created in [start, end) (and matching `rest`, a condition a store adds)."""
        sums = ", ".join(self.sum_function.format(column)
                         for column in ("prompt_tokens", "completion_tokens", "total_tokens", "cost"))
        sql = self._sql(f"SELECT (created_us - ?) / ? AS bucket, count(*), {sums},"
                        " sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) FROM runs"
                        f" WHERE created_at >= ? AND created_at < ? AND created_us >= ?{rest} GROUP BY bucket")
        return {int(values[0]): values[1:]
                for values in db.execute(sql, (origin, bucket_ms * 1000, start, end, origin))}

    def _among(self, run_ids: tuple[str, ...]) -> Clause:
        """The runs whose id is one of `run_ids` (a store that keeps a search's matches)."""
        return Clause(self._sql("id = ANY(?)"), [list(run_ids)])

    def _narrowed_plans(self, db: Any, narrowed: bool) -> AbstractContextManager[None]:
        """While open, `db` finds a search's rows through its search index (where the store has to insist)."""
        return nullcontext()

    def _timed_count(self, db: Any, narrow: str | None, rest: Clause,
                     cap: int) -> tuple[int, bool, tuple[str, ...] | None]:
        """`_bounded_count`, whether it took at most QUICK_COUNT_SECONDS, and the ids of the matches where the store
        keeps them (`search_keeps_matches`)."""
        started = time.monotonic()
        if self.search_keeps_matches:
            # Counting finds every match (up to the cap) anyway: keep them when it found them all (up to the cap, not
            # only the SEARCH_COUNT_CAP a page counts exactly: `a-72` has 2,012 matches at a million runs), and every
            # page and sort order of this search reads only those runs. At 100k runs, a term no trigram narrows (`a-72`,
            # 0.2% of runs) walked ~25,000 rows for each page (37 -> 9 ms), and one with a filter was collected
            # through the trigram index or walked, as the time of its count suggested (39-117 ms).
            with self._narrowed_plans(db, narrow is not None):
                found = [row[0] for row in db.execute(self._sql(f"SELECT id FROM runs WHERE {rest.sql} LIMIT ?"),
                                                      [*rest.params, cap + 1])]
            return (len(found), time.monotonic() - started <= QUICK_COUNT_SECONDS,
                    tuple(found) if len(found) <= cap else None)
        counted = self._bounded_count(db, narrow, rest, cap)
        return counted, time.monotonic() - started <= QUICK_COUNT_SECONDS, None

    def _bounded_count(self, db: Any, narrow: str | None, rest: Clause, cap: int) -> int:
        """How many rows match, counted up to cap + 1. With the search index, its matches drive the count (found one
        by one, so it stops at the cap), rather than being collected first."""
        if narrow is None or self.dialect != "sqlite":
            with self._narrowed_plans(db, narrow is not None):
                return int(db.execute(self._sql(f"SELECT count(*) FROM (SELECT 1 FROM runs WHERE {rest.sql} LIMIT ?)"
                                                " AS counted"), [*rest.params, cap + 1]).fetchone()[0])
        sql = ("SELECT count(*) FROM (SELECT 1 FROM (SELECT rowid AS found FROM runs_fts WHERE runs_fts MATCH ?)"
               f" AS matched JOIN runs ON runs.rowid = matched.found WHERE {rest.sql} LIMIT ?) AS counted")
        return int(db.execute(sql, [narrow, *rest.params, cap + 1]).fetchone()[0])

    def _ordered_rows(self, db: Any, generation: int, query: RunQuery, where: Clause, *, filters: Clause | None = None,
                      walk: int = 0, narrowed: bool = False,
                      keep: tuple[Hashable, str | None] | None = None) -> list[RunRow]:
        """The page of `query` (at the store's `generation`): with a search, first the runs whose input is exactly the
        search text, then the rest. `filters` (`where` without the search), `walk` and `keep`: see `_select`;
        `narrowed`: find rows through the search index."""
        limit, offset = max(0, query.limit), max(0, query.offset)
        exact = exact_input(query, self.dialect)
        if exact is None:
            return self._select(db, generation, query, where, limit, offset, filters, walk, narrowed, keep)
        first = f"{where.sql} AND {exact.sql}"
        key = ("exact", first, tuple(tuple(p) if isinstance(p, list) else p for p in (*where.params, *exact.params)))
        exact_total = self._memo.get(generation, key, lambda: int(db.execute(
            self._sql(f"SELECT count(*) FROM runs WHERE {first}"), [*where.params, *exact.params]).fetchone()[0]))
        rows = []
        if offset < exact_total:
            rows = self._select(db, generation, query, Clause(first, [*where.params, *exact.params]), limit, offset,
                                None, 0, narrowed)
        rest = limit - len(rows)
        if rest > 0:
            rows += self._select(db, generation, query,
                                 Clause(f"{where.sql} AND NOT ({exact.sql})", [*where.params, *exact.params]),
                                 rest, max(0, offset - exact_total), filters, walk, narrowed, keep)
        return rows

    def _select(self, db: Any, generation: int, query: RunQuery, where: Clause, limit: int, offset: int,
                filters: Clause | None, walk: int, narrowed: bool,
                keep: tuple[Hashable, str | None] | None = None) -> list[RunRow]:
        """Rows `offset`.. `offset + limit` of `where` in `query`'s order. With `filters` (`where` without its search),
        first among the first `walk` runs of that order that pass `filters`: the matches there, in order, begin the
        matches of the whole table, so a full page found there is the page (at 100k runs PostgreSQL collected and
        sorted the 3,400 matches of `churn metrics` in 15 ms; its page lies in the first ~1,500 runs). Otherwise the
        rows are found through the search index when `narrowed`, else as the store's planner chooses.

        With `keep` (what identifies the search, and its search-index expression), a page the walk did not find is
        served from the ids of the search's first KEPT_ORDER_LIMIT matches in this order, collected through the search
        index once and kept for the store's `generation`. The store passes it where the matches are known
        to be few (the ids its count kept: 3,433 rows looked up and sorted for each page of `churn metrics` at 100k
        runs, 24 ms) or where the walk failed because they are rare at the head of the order, which stays so until
        the store changes (`churn metrics` by duration at a million runs: walked and collected again on every
        request, ~200 ms). With no walk, a store that `search_keeps_slow_orders` keeps the order when the planner's
        page took more than SLOW_PAGE_SECONDS (SQLite, that term by duration at 100k runs: 21-27 ms walked along the
        duration index on every request; its 3,433 matches collected through the search index in 14 ms once)."""
        order = order_clause(query)
        keeping = keep is not None and limit > 0
        kept_key = ("order", keep[0] if keep is not None else None, order)
        if keeping:
            kept = self._memo.peek(generation, kept_key)
            if kept is not None and (served := self._kept_page(db, kept, limit, offset)) is not None:
                return served
        if filters is not None and walk > 0 and limit > 0:
            # The sort value is a column of the walk, so the planner sees its rows arrive in order and stops at the
            # page (sorting by the expression again read all `walk` rows: 30 ms against 2.6 ms).
            keep_columns = "rowid, *" if self.dialect == "sqlite" else "*"  # SQLite's `where` names the rowid
            head = (f"SELECT {ROW_LIST} FROM (SELECT {keep_columns}, {sort_expression(query)} AS sort_value FROM runs"
                    f" WHERE {filters.sql} ORDER BY {order} LIMIT ?) AS runs"
                    f" WHERE {where.sql} ORDER BY {order_clause(query, 'sort_value')} LIMIT ? OFFSET ?")
            rows = self._rows(db.execute(self._sql(head), [*filters.params, walk, *where.params, limit, offset]))
            if len(rows) == limit:
                return rows

        def kept_order() -> tuple[tuple[str, ...], bool]:
            def collect() -> tuple[tuple[str, ...], bool]:
                found = self._collect_order(db, keep[1] if keep is not None else None, where, order,
                                            KEPT_ORDER_LIMIT + 1)
                return tuple(found[:KEPT_ORDER_LIMIT]), len(found) <= KEPT_ORDER_LIMIT

            return self._memo.get(generation, kept_key, collect, items=lambda value: len(value[0]))

        if keeping and (walk > 0 or not self.search_keeps_slow_orders):
            if (served := self._kept_page(db, kept_order(), limit, offset)) is not None:
                return served
        started = time.monotonic()
        with self._narrowed_plans(db, narrowed):
            rows = self._rows(db.execute(self._sql(f"{SELECT_ROW} WHERE {where.sql} ORDER BY {order} LIMIT ? OFFSET ?"),
                                         [*where.params, limit, offset]))
        if keeping and walk <= 0 and self.search_keeps_slow_orders and time.monotonic() - started > SLOW_PAGE_SECONDS:
            kept_order()  # for the next pages
        return rows

    def _collect_order(self, db: Any, narrow: str | None, where: Clause, order: str, limit: int) -> list[str]:
        """The ids of the first `limit` rows of `where` in `order`, found through the search index (`narrow`: its
        expression, where the store's where clause does not use it itself)."""
        with self._narrowed_plans(db, True):
            return [row[0] for row in db.execute(self._sql(f"SELECT id FROM runs WHERE {where.sql} ORDER BY {order}"
                                                           " LIMIT ?"), [*where.params, limit])]

    def _kept_page(self, db: Any, kept: tuple[tuple[str, ...], bool], limit: int, offset: int) -> list[RunRow] | None:
        """Rows `offset`.. `offset + limit` of a search's kept ids (in their order, whether all its matches or the
        first of them), None when the page lies past the ids kept."""
        ids, complete = kept
        if not complete and offset + limit > len(ids):
            return None
        wanted = ids[offset:offset + limit]
        if not wanted:
            return []
        among = self._among(wanted)
        found = {row.id: row for row in self._rows(db.execute(self._sql(f"{SELECT_ROW} WHERE {among.sql}"),
                                                                 among.params))}
        # A kept id whose row is gone was removed since (a new generation, which a later request sees).
        return [found[run_id] for run_id in wanted if run_id in found]

    def fleet_rows(self, query: RunQuery, *, with_steps: bool = False) -> list[FleetRow]:
        from runtime_adapter.rows import FLEET_COLUMNS, FleetRow

        where = where_clause(query, self.dialect)
        columns = ", ".join((*FLEET_COLUMNS, "step_stats") if with_steps else FLEET_COLUMNS)
        with self._read() as db:
            return [FleetRow(*values) for values in db.execute(f"SELECT {columns} FROM runs WHERE {where.sql}",
                                                               where.params)]

    def release_summaries(self, query: RunQuery, *, shapes: bool = True) -> list[ReleaseSummary]:
        """The scanning reference's summaries, read from only the six columns they use (SQLite: a covering
        index holds them, in release order), a release's columns at a time."""
        from runtime_adapter.queries.fleet import release_summary_of

        where = where_clause(query, self.dialect)
        sql = ("SELECT release, status, created_at, duration_ms, total_tokens, cost FROM runs"
               f" WHERE release IS NOT NULL AND release <> '' AND {where.sql} ORDER BY release")
        with self._read() as db:
            return [release_summary_of(release, *list(zip(*(values[1:] for values in found), strict=True)),
                                       shapes=shapes)
                    for release, found in itertools.groupby(db.execute(sql, where.params), key=itemgetter(0))]

    def list_errors(self) -> list[StoreEntry]:
        with self._read() as db:
            return self._errors(db)

    def rows(self) -> list[RunRow]:
        with self._read() as db:
            return self._rows(db.execute(f"{SELECT_ROW} ORDER BY {self.listing_order}"))

    def status_counts(self) -> dict[str, int]:
        with self._read() as db:
            # First-seen order in listRuns order, as the scanning default builds its dict.
            return self._memo.get(self._generation(db), ("status_counts",), lambda: self._status_counts(db))

    def _status_counts(self, db: Any) -> dict[str, int]:
        return dict(db.execute(
            f"SELECT status, count(*) FROM runs GROUP BY status ORDER BY min({self.listing_order})").fetchall())

    def releases(self) -> list[str]:
        # One probe of the release index per release (a loose index scan): DISTINCT read all of the index, 180 ms
        # at a million runs on every first page with a release filter. Release labels compare bytewise (C).
        sql = ("WITH RECURSIVE found(release) AS (SELECT min(release) FROM runs WHERE release > ''"
               " UNION ALL SELECT (SELECT min(release) FROM runs WHERE release > found.release) FROM found"
               " WHERE found.release IS NOT NULL) SELECT release FROM found WHERE release IS NOT NULL ORDER BY release")
        with self._read() as db:
            return self._memo.get(self._generation(db), ("releases",),
                                  lambda: [release for (release,) in db.execute(sql)])

    def _rows_where(self, condition: str, params: tuple[Any, ...]) -> list[RunRow]:
        with self._read() as db:
            return self._rows(db.execute(self._sql(f"{SELECT_ROW} WHERE {condition} ORDER BY {self.listing_order}"),
                                         params))

    def related_rows(self, run_id: str) -> dict[str, list[RunRow]]:
        return {"children": self._rows_where("parent_run_id = ?", (run_id,)),
                "branches": self._rows_where("branch_origin_run_id = ?", (run_id,))}

    def family_rows(self, root_run_id: str) -> list[RunRow]:
        # The same walk as iter_family: UNION ends it on a lineage cycle.
        return self._rows_where(
            "id IN (WITH RECURSIVE family(id) AS (SELECT id FROM runs WHERE id = ?"
            " UNION SELECT runs.id FROM runs JOIN family ON runs.parent_run_id = family.id) SELECT id FROM family)",
            (root_run_id,))

    def replay_rows(self, run_id: str) -> list[RunRow]:
        return self._rows_where("replay_source_run_id = ? AND id != ?", (run_id, run_id))

    def usage_series(self, start: str, end: str, bucket_ms: int) -> list[UsageBucket]:
        from runtime_adapter.queries.usage import bucket_bounds
        from runtime_adapter.rows import UsageBucket

        bounds = bucket_bounds(start, end, bucket_ms)
        origin = created_us(start)
        totals: dict[int, tuple[Any, ...]] = {}
        if bounds and origin is not None:
            with self._read() as db:
                totals = self._memo.get(self._generation(db), ("usage", start, end, bucket_ms),
                                        lambda: self._usage_totals(db, start, end, bucket_ms, origin))
        return [
            UsageBucket(start=lo, end=hi, runs=int(found[0]), prompt_tokens=float(found[1]),
                        completion_tokens=float(found[2]), total_tokens=float(found[3]), cost=float(found[4]),
                        failed=int(found[5]))
            if (found := totals.get(index)) else UsageBucket(start=lo, end=hi)
            for index, (lo, hi) in enumerate(bounds)
        ]
