"""Failure clusters, release summaries, step totals and the newest run per input as PostgreSQL aggregates
(and failure clusters as SQLite aggregates too, over a file store's index).

`queries.fleet` computes the same from light rows (`RunStore.release_summaries` and its
siblings); at a million runs, fetching a release's rows to do that takes seconds, so
PostgreSQL aggregates where the rows are and returns a few rows per release.
`tests/parity.py` holds both to the same answers:
- percentiles are `percentile_cont`, which interpolates between ranks exactly as
  `statistics.percentile` does (lo + (hi - lo) * fraction, in doubles);
- means are sums of doubles in the server's order, so they may differ from the reference's
  exactly rounded sum (`math.fsum`) in the last bits;
- first and last runs compare `created_at` by code point (its collation is "C").
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime_adapter.queries.fleet import (
    SAMPLES,
    SHAPE_FRACTIONS,
    SHAPE_POINTS,
    TIMELINE_BUCKETS,
    cluster_of,
    clusters_report,
    timeline_window,
)
from runtime_adapter.queries.statistics import counted_percentile, counted_percentiles
from runtime_adapter.rows import (
    FLEET_COLUMNS,
    LATEST_COLUMNS,
    ClusterReport,
    Distribution,
    FleetRow,
    LatestRun,
    ReleaseSummary,
    StepTotal,
    StepTotals,
)
from runtime_adapter.stores.rowsql import Clause

MEASURES = ("duration_ms", "total_tokens", "cost")


def tune(db: Any) -> None:
    """For this transaction: sort a release's values (percentile_cont, ranks) in memory rather than in temporary
    files. (JIT compilation is off for every connection of the store: see PostgresRunStore._configure.)"""
    db.execute("SET LOCAL work_mem = '64MB'")
_QUANTILES = (0.5, 0.9, 0.95, 0.99)


def _finite(column: str) -> str:
    return f"{column} IS NOT NULL AND {column} NOT IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8)"


_FRACTIONS = [*_QUANTILES, *SHAPE_FRACTIONS]
Measured = dict[str, tuple[int, list[float] | None, float | None]]  # release -> finite count, quantiles, sum


def release_counts(db: Any, where: Clause) -> list[tuple[Any, ...]]:
    """Per release label in scope, in release order: runs, failed, waiting, paused, first and last run."""
    return list(db.execute(
        "SELECT release, count(*), count(*) FILTER (WHERE status = 'failed'),"
        " count(*) FILTER (WHERE status = 'waiting_for_approval'), count(*) FILTER (WHERE status = 'paused'),"
        " min(created_at) FILTER (WHERE created_at <> ''), max(created_at) FILTER (WHERE created_at <> '')"
        f" FROM runs WHERE {where.sql} AND coalesce(release, '') <> '' GROUP BY release ORDER BY release",
        where.params).fetchall())


def release_measure(db: Any, where: Clause, column: str) -> Measured:
    """One measure's finite values per release: how many, the quantiles (`_QUANTILES`, then the chart's
    `SHAPE_FRACTIONS`) and their sum. Its index (runs_release_<measure>) hands each release's values over in order,
    so sorting them costs a pass: 200 ms for the durations of a million runs, against 370 ms sorted."""
    return {release: (count, quantiles, total) for release, count, quantiles, total in db.execute(
        f"SELECT release, count(*) FILTER (WHERE {_finite(column)}),"
        f" percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY {column}) FILTER (WHERE {_finite(column)}),"
        f" sum({column}) FILTER (WHERE {_finite(column)})"
        f" FROM runs WHERE {where.sql} AND coalesce(release, '') <> '' GROUP BY release",
        [_FRACTIONS, *where.params])}


def release_summaries(db: Any, where: Clause, counts: list[tuple[Any, ...]],
                      measured: dict[str, Measured], *, shapes: bool = True) -> list[ReleaseSummary]:
    """Per release label in scope, in release order: counts, first and last run, and each measure's distribution,
    from `release_counts` and each of MEASURES' `release_measure` (read at once by the store) or from the rollups
    (`rolled_up_releases`); `db` reads the values of releases with few of them (`shapes` only)."""
    empty = (0, None, None)
    # Few values: the chart draws every one of them (the reference keeps them all up to SHAPE_POINTS).
    small = [row[0] for row in counts
             if any(0 < measured[column].get(row[0], empty)[0] <= SHAPE_POINTS for column in MEASURES)] if shapes else []
    every: dict[str, list[list[float]]] = {}
    if small:
        arrays = ", ".join(f"coalesce(array_agg({column} ORDER BY {column}) FILTER (WHERE {_finite(column)}), '{{}}')"
                           for column in MEASURES)
        every = {release: list(values) for release, *values in db.execute(
            f"SELECT release, {arrays} FROM runs WHERE {where.sql} AND release = ANY(%s) GROUP BY release",
            [*where.params, small])}
    summaries = []
    for release, runs, failed, waiting, paused, first, last in counts:
        distributions = []
        for index, column in enumerate(MEASURES):
            count, quantiles, total = measured[column].get(release, empty)
            if not count or quantiles is None or total is None:
                distributions.append(Distribution(p50=None, p90=None, p95=None, p99=None, mean=None, values=[]))
                continue
            p50, p90, p95, p99, *shape = quantiles
            values = [] if not shapes else every[release][index] if count <= SHAPE_POINTS else shape
            distributions.append(Distribution(p50=p50, p90=p90, p95=p95, p99=p99, mean=total / count,
                                              values=[float(value) for value in values]))
        duration, tokens, cost = distributions
        summaries.append(ReleaseSummary(release=release, runs=runs, failed=failed, waiting=waiting, paused=paused,
                                        first_seen=first, last_seen=last, duration=duration, tokens=tokens, cost=cost))
    return summaries


class RollupRace(Exception):
    """A bucket held fewer values than its count said: a writer committed between two statements."""


def _rank_reads(buckets: list[tuple[int, int]], count: int) -> tuple[list[tuple[int, int, int]], list[int]]:
    """For one measure of one release, its (bucket, n) counts in bucket order and `count` finite values: the reads
    that find `_QUANTILES`' ranks (`percentile`'s lower and upper rank of each), as (bucket, offset, how many), and
    each rank's place in what those reads return, in order."""
    counted = sum(n for _, n in buckets)
    if counted != count:
        raise RollupRace(f"{counted} values in buckets, {count} in the totals")
    ranks = []
    for fraction in _QUANTILES:
        lower = math.floor(fraction * (count - 1))
        ranks += [lower, min(lower + 1, count - 1)]
    wanted = sorted(set(ranks))
    reads: list[tuple[int, int, int]] = []
    places: dict[int, int] = {}
    seen = position = 0
    index = 0
    for bucket, n in buckets:
        inside = []
        while index < len(wanted) and wanted[index] < seen + n:
            inside.append(wanted[index] - seen)
            index += 1
        if inside:
            for rank in inside:
                places[seen + rank] = position + rank - inside[0]
            reads.append((bucket, inside[0], inside[-1] - inside[0] + 1))
            position += inside[-1] - inside[0] + 1
        seen += n
    if index < len(wanted):
        raise RollupRace(f"{len(wanted) - index} ranks past {seen} counted values")
    return reads, [places[rank] for rank in ranks]


def rolled_up_releases(db: Any, release: str | None, *,
                       shapes: bool = False) -> tuple[list[tuple[Any, ...]], dict[str, Measured]]:
    """`release_counts` and each measure's `release_measure` of every run, or of every run of `release`, from the
    rollups the schema's triggers keep: the totals, each measure's bucket counts, and only the values of the
    buckets that hold the percentiles' ranks (an index range each); with `shapes`, the chart's points from each
    measure's distinct values (`_with_shapes`). In one snapshot (the caller's transaction is REPEATABLE READ);
    RollupRace if the values disagree with the counts anyway."""
    only = " AND release = %s" if release is not None else ""
    params = [release] if release is not None else []
    totals = db.execute(
        "SELECT release, runs, failed, waiting, paused, duration_n, duration_sum::float8, tokens_n,"
        f" tokens_sum::float8, cost_n, cost_sum::float8 FROM release_measure_totals WHERE runs > 0{only}"
        " ORDER BY release", params).fetchall()
    releases = [row[0] for row in totals]
    ends = {name: (first, last) for name, first, last in db.execute(
        "SELECT name, (SELECT min(created_at) FROM runs WHERE release = name AND coalesce(release, '') <> ''"
        " AND created_at <> ''), (SELECT max(created_at) FROM runs WHERE release = name"
        " AND coalesce(release, '') <> '' AND created_at <> '') FROM unnest(%s::text[]) AS names(name)",
        [releases])}
    counts = [(name, runs, failed, waiting, paused, *ends.get(name, (None, None)))
              for name, runs, failed, waiting, paused, *_ in totals]
    buckets: dict[tuple[str, int], list[tuple[int, int]]] = {}
    # As two arrays per release and measure: fetched a row each, 7,000 rows took 45 ms at a million runs.
    for name, measure, numbers, counted in db.execute(
            "SELECT release, measure, array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket)"
            " FROM release_measure_buckets WHERE release = ANY(%s) AND n > 0 GROUP BY release, measure", [releases]):
        buckets[(name, measure)] = list(zip(numbers, counted, strict=True))
    measured: dict[str, Measured] = {}
    for measure, column in enumerate(MEASURES):
        plans: dict[str, tuple[int, int, list[int]]] = {}  # release -> its first read, how many, its ranks' places
        reads: list[tuple[str, int, int, int]] = []  # (release, bucket, offset, how many) of every read
        for name, *numbers in totals:
            count = numbers[4 + 2 * measure]
            if count:
                found_reads, places = _rank_reads(buckets.get((name, measure), []), count)
                plans[name] = (len(reads), len(found_reads), places)
                reads += [(name, *read) for read in found_reads]
        values: list[list[float]] = [[] for _ in reads]
        if reads:
            for index, value in db.execute(
                    "SELECT wanted.i, found.value FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[])"
                    " WITH ORDINALITY AS wanted(release, bucket, skip, take, i) CROSS JOIN LATERAL ("
                    f" SELECT {column} AS value FROM runs WHERE runs.release = wanted.release"
                    f" AND coalesce(runs.release, '') <> '' AND {column} > '-Infinity'::float8"
                    f" AND {column} < 'Infinity'::float8"
                    f" AND {column} >= coalesce((runs_measure_bounds())[wanted.bucket], '-Infinity'::float8)"
                    f" AND {column} < coalesce((runs_measure_bounds())[wanted.bucket + 1], 'Infinity'::float8)"
                    f" ORDER BY {column} OFFSET wanted.skip LIMIT wanted.take) AS found ORDER BY wanted.i, found.value",
                    [list(part) for part in zip(*reads, strict=True)]):
                values[index - 1].append(value)
        for (_, _, _, take), got in zip(reads, values, strict=True):
            if len(got) != take:
                raise RollupRace(f"{column}: {len(got)} of {take} values in a bucket")
        measured[column] = {}
        for name, *numbers in totals:
            if name not in plans:
                continue
            count, total = numbers[4 + 2 * measure], numbers[5 + 2 * measure]
            first, many, places = plans[name]
            read = [value for got in values[first:first + many] for value in got]
            quantiles = []
            for index, fraction in enumerate(_QUANTILES):
                position = fraction * (count - 1)
                low, high = read[places[2 * index]], read[places[2 * index + 1]]
                quantiles.append(low + (high - low) * (position - math.floor(position)))
            measured[column][name] = (count, quantiles, total)
    if shapes:
        _with_shapes(db, measured)
    return counts, measured


def _with_shapes(db: Any, measured: dict[str, Measured]) -> None:
    """After each measure's percentiles, its `SHAPE_FRACTIONS` quantiles, where a release has more values than the
    chart draws (`release_summaries` reads the others' values whole): from the distinct values and their counts,
    a pass over 44,000 of them for 222,000 runs' durations, where `release_measure` read and sorted every run's."""
    wanted = sorted({release for kept in measured.values() for release, (count, _, _) in kept.items()
                     if count > SHAPE_POINTS})
    if not wanted:
        return
    with db.cursor(binary=True) as cursor:  # arrays of doubles, as binary: no text to parse
        found = cursor.execute(
            "SELECT release, measure, array_agg(value ORDER BY value), array_agg(n ORDER BY value)"
            " FROM release_measure_values WHERE release = ANY(%s) AND n > 0 GROUP BY release, measure",
            [wanted]).fetchall()
    distinct = {(release, MEASURES[measure]): (values, counts) for release, measure, values, counts in found}
    for column, kept in measured.items():
        for release, (count, quantiles, total) in kept.items():
            if count <= SHAPE_POINTS:
                continue
            values, counts = distinct.get((release, column), ([], []))
            if sum(counts) != count or quantiles is None:
                raise RollupRace(f"{column}: {sum(counts)} runs over its distinct values, {count} in the totals")
            kept[release] = (count, [*quantiles, *counted_percentiles(values, counts, SHAPE_FRACTIONS)], total)


# Each run's step_stats ({"tools": {name: [steps, failed, [durations]]}, "types": {...}}) unnested in one pass
# that PostgreSQL can run in parallel: a name's steps and failures counted on its first duration's row (or its
# only row when it has none), the median over every duration.
_STEP_TOTALS = (
    "SELECT sections.section, entry.key,"
    " sum(CASE WHEN sample.position IS NULL OR sample.position = 1 THEN (entry.value ->> 0)::bigint END),"
    " sum(CASE WHEN sample.position IS NULL OR sample.position = 1 THEN (entry.value ->> 1)::bigint END),"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY sample.duration::float8)"
    " FROM (SELECT step_stats::jsonb AS stats FROM runs WHERE {where} AND step_stats <> '{{}}') AS scoped"
    " CROSS JOIN (VALUES ('tools'), ('types')) AS sections(section)"
    " CROSS JOIN LATERAL jsonb_each(coalesce(scoped.stats -> sections.section, '{{}}')) AS entry"
    " LEFT JOIN LATERAL jsonb_array_elements_text(entry.value -> 2) WITH ORDINALITY AS sample(duration, position) ON true"
    " GROUP BY sections.section, entry.key"
)


def step_totals(db: Any, where: Clause) -> StepTotals:
    """Per section and name: steps, failed steps and the median sampled duration (rows store only finite ones)."""
    totals: StepTotals = {"tools": {}, "types": {}}
    for section, name, calls, failed, p50 in db.execute(_STEP_TOTALS.format(where=where.sql), where.params):
        totals[section][name] = StepTotal(calls=int(calls), failed=int(failed), p50_ms=p50)
    return totals


# Per name, the buckets of durations (release_step_duration_buckets) that hold the median's ranks, found by a
# running count over a few hundred bucket rows: `counted_percentile`'s lower and upper rank (0-based) of
# `total` values. Then only those buckets' (value, count) rows, each with how many values come before it.
_ROLLED_UP_MEDIAN = (
    "WITH counted AS (SELECT section, name, bucket, n, sum(n) OVER (PARTITION BY section, name ORDER BY bucket) AS upto,"
    " sum(n) OVER (PARTITION BY section, name) AS total"
    " FROM release_step_duration_buckets WHERE release = %(release)s AND n > 0),"
    " wanted AS (SELECT * FROM counted"
    " WHERE upto - n <= floor((total - 1) * 0.5) + 1 AND upto > floor((total - 1) * 0.5))"
    " SELECT wanted.section, wanted.name, wanted.total, wanted.upto - wanted.n AS before, wanted.upto,"
    " sample.duration, sample.n FROM wanted CROSS JOIN LATERAL ("
    " SELECT duration, n FROM release_step_durations AS durations WHERE durations.release = %(release)s"
    " AND durations.section = wanted.section AND durations.name = wanted.name AND durations.n > 0"
    " AND durations.duration >= coalesce((runs_duration_bounds())[wanted.bucket], '-Infinity'::float8)"
    " AND durations.duration < coalesce((runs_duration_bounds())[wanted.bucket + 1], 'Infinity'::float8)) AS sample"
    " ORDER BY wanted.section, wanted.name, sample.duration"
)


def step_totals_rolled_up(db: Any, release: str) -> StepTotals | None:
    """`step_totals` of every run of `release`, from the rollups the schema's triggers keep (None where a row's
    step_stats could not be rolled up). The median is `counted_percentile` over the (duration, count) runs,
    read only in the buckets where its two ranks fall."""
    gap = db.execute("SELECT unreadable FROM release_rollup_gaps WHERE release = %s", (release,)).fetchone()
    if gap is not None and gap[0]:
        return None
    near: dict[tuple[str, str], list[tuple[float, int]]] = {}
    after: dict[tuple[str, str], tuple[float, int]] = {}
    for section, name, total, before, upto, value, count in db.execute(_ROLLED_UP_MEDIAN, {"release": release}):
        # The values before the first bucket read, and after the last, stand in as one placeholder each:
        # only their count matters, since the median's ranks fall in between.
        found = near.setdefault((section, name), [])
        if not found and before:
            found.append((value, int(before)))
        found.append((value, int(count)))
        after[(section, name)] = (value, int(total - upto))
    for key, (value, rest) in after.items():
        if rest:
            near[key].append((value, rest))
    totals: StepTotals = {"tools": {}, "types": {}}
    for section, name, calls, failed in db.execute(
            "SELECT section, name, calls, failed FROM release_step_totals WHERE release = %s AND runs > 0",
            (release,)):
        counted = near.get((section, name), [])
        totals.setdefault(section, {})[name] = StepTotal(
            calls=int(calls), failed=int(failed), p50_ms=counted_percentile(counted, 0.5) if counted else None)
    return totals


_NEWEST_PER_INPUT = ("SELECT DISTINCT ON (input_key) input_key, id FROM runs WHERE {where} AND input_key <> ''"
                     " ORDER BY input_key, coalesce(created_at, '') DESC, id DESC")
_LATEST = ", ".join(f"runs.{column}" for column in LATEST_COLUMNS)


def latest_pairs(db: Any, base: Clause, head: Clause) -> list[tuple[LatestRun, LatestRun]]:
    """The newest run of each input in `base` with the newest of the same input in `head`, in input-key order:
    both found over the narrow index (runs_release_inputs) and joined there, then only the pairs' rows read."""
    pairs = db.execute(
        f"SELECT base.id, head.id FROM ({_NEWEST_PER_INPUT.format(where=base.sql)}) AS base"
        f" JOIN ({_NEWEST_PER_INPUT.format(where=head.sql)}) AS head USING (input_key) ORDER BY input_key",
        [*base.params, *head.params]).fetchall()
    wanted = sorted({run_id for pair in pairs for run_id in pair})
    rows = {row.id: row for row in (LatestRun(*values) for values in db.execute(
        f"SELECT {_LATEST} FROM runs WHERE id = ANY(%s)", (wanted,)))}
    # A run deleted between the two statements (each reads its own snapshot) leaves its pair out.
    return [(rows[left], rows[right]) for left, right in pairs if left in rows and right in rows]


def latest_pairs_rolled_up(db: Any, base: str, head: str) -> list[tuple[LatestRun, LatestRun]]:
    """`latest_pairs` of every run of two releases, from release_latest_input alone: a merge of two index-only
    scans in input order. The planner's estimates chose a hash join over a scan of the whole table instead, which
    the triggers' deletes and inserts leave sparse: 88 ms against 44 at a million runs (36,000 pairs of one
    release against 16,000 of another)."""
    db.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off",
               prepare=False)
    return [(LatestRun(base_id, key, base_status, base_duration, base_cost),
             LatestRun(head_id, key, head_status, head_duration, head_cost))
            for key, base_id, base_status, base_duration, base_cost, head_id, head_status, head_duration, head_cost
            in db.execute(
                "SELECT input_key, base.id, base.status, base.duration_ms, base.cost, head.id, head.status,"
                " head.duration_ms, head.cost FROM release_latest_input AS base JOIN release_latest_input AS head"
                " USING (input_key) WHERE base.release = %s AND head.release = %s ORDER BY input_key", (base, head))]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLUSTERED = "coalesce(cluster_id, '') <> ''"


def _moment(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def cluster_summaries(db: Any, where: Clause, start: str | None, end: str | None, in_scope: int,
                      buckets: int = TIMELINE_BUCKETS, release: str | None = None, *,
                      dialect: str = "postgres", every_attention_run: bool = False) -> ClusterReport:
    """`queries.fleet.failure_clusters` over the rows `where` selects (those that need attention), as aggregates,
    in PostgreSQL or in a SQLite index (`dialect`; its covering index `runs_cluster` answers each statement).

    `created_us` is the row's createdAt as `parse_iso` reads it, so the window and each timeline
    bucket are computed from the same instants, with the same double arithmetic, as the reference.
    """
    sqlite = dialect == "sqlite"
    mark = "?" if sqlite else "%s"
    # SQLite uses its partial index on clustered runs only where the statement names that index's condition.
    clustered = f"{where.sql} AND " + ("cluster_id IS NOT NULL AND cluster_id <> ''" if sqlite else _CLUSTERED)
    window = None  # without buckets (a release comparison's sides), no timeline and no window
    if buckets and every_attention_run and not sqlite:
        # Every run that needs attention (no other filter): the two ends of runs_attention_created, two probes
        # (the scan below read all 222,000 of them at a million runs: 90-120 ms).
        first, last = db.execute(f"SELECT (SELECT min(created_us) FROM runs WHERE {where.sql}),"
                                 f" (SELECT max(created_us) FROM runs WHERE {where.sql})",
                                 [*where.params, *where.params]).fetchone()
        window = timeline_window(_moment(first), _moment(last), start, end)
    elif buckets:
        # With count(*) beside them, min and max are not planned as walks of the created_us index, which take
        # seconds when a filter (a release) skips most of it; the narrow index covers the scan instead.
        first, last, _ = db.execute(
            f"SELECT min(created_us), max(created_us), count(*) FROM runs WHERE {where.sql}", where.params).fetchone()
        window = timeline_window(_moment(first), _moment(last), start, end)
    # A run's timeline bucket (NULL outside the window): its offset in seconds (a double, as
    # timedelta.total_seconds makes it), scaled and truncated, as the reference's int() does for the offsets at
    # or after the window's start that are counted.
    bucket, bucket_params = "NULL", []
    if window is not None:
        low, high = window
        span = (high - low).total_seconds()
        offset = (f"CAST(CAST(created_us - {mark} AS REAL) / 1000000 / {mark} * {mark} AS INTEGER)" if sqlite
                  else f"floor((created_us - {mark})::float8 / 1000000 / {mark} * {mark})")
        bucket = f"CASE WHEN created_us BETWEEN {mark} AND {mark} THEN CASE WHEN {mark} > 0 THEN {offset} ELSE {mark} END END"
        bucket_params = [_us(low), _us(high), span, _us(low), span or 1.0, buckets, buckets - 1]
    counts: list[tuple[str, int, str | None, str | None]] = []
    releases: dict[str, dict[str, int]] = {}
    timelines: dict[str, list[int]] = {}

    def add_to_timeline(cluster_id: str, index: Any, count: int) -> None:
        if index is not None:
            timeline = timelines.setdefault(cluster_id, [0] * buckets)
            timeline[min(int(index), buckets - 1)] += count

    if sqlite:
        # Three reads of the covering index runs_cluster, each a few milliseconds at 100k runs.
        counts = db.execute(
            "SELECT cluster_id, count(*), min(created_at) FILTER (WHERE created_at <> ''),"
            f" max(created_at) FILTER (WHERE created_at <> '') FROM runs WHERE {clustered} GROUP BY cluster_id",
            where.params).fetchall()
        for cluster_id, label, count in db.execute(
                f"SELECT cluster_id, release, count(*) FROM runs WHERE {clustered} AND coalesce(release, '') <> ''"
                " GROUP BY cluster_id, release", where.params):
            releases.setdefault(cluster_id, {})[label] = count
        if window is not None:
            for cluster_id, index, count in db.execute(
                    f"SELECT cluster_id, {bucket} AS bucket, count(*) FROM runs WHERE {clustered}"
                    " GROUP BY cluster_id, bucket", [*bucket_params, *where.params]):
                add_to_timeline(cluster_id, index, count)
    else:
        # One pass over the clustered runs for the counts, the releases and the timeline (GROUPING tells the sets
        # apart): three passes of 222,000 runs took 240 ms at a million, this one ~100.
        for cluster_id, label, index, sets, count, first_seen, last_seen in db.execute(
                "SELECT cluster_id, release, bucket, GROUPING(release, bucket), count(*),"
                " min(created_at) FILTER (WHERE created_at <> ''), max(created_at) FILTER (WHERE created_at <> '')"
                f" FROM (SELECT cluster_id, release, created_at, {bucket} AS bucket FROM runs WHERE {clustered})"
                " AS clustered_runs GROUP BY GROUPING SETS ((cluster_id), (cluster_id, release), (cluster_id, bucket))",
                [*bucket_params, *where.params]):
            if sets == 3:
                counts.append((cluster_id, count, first_seen, last_seen))
            elif sets == 1:
                if label:
                    releases.setdefault(cluster_id, {})[label] = count
            else:
                add_to_timeline(cluster_id, index, count)
    if release:  # every run in scope is of that release
        releases = {cluster_id: {release: count} for cluster_id, count, _, _ in counts}
    newest = f"ORDER BY coalesce(created_at, '') DESC, id DESC LIMIT {mark}"
    if sqlite:
        # Each cluster's newest runs, walking the index backwards: a few rows per cluster.
        ranked = [(cluster_id, run_id) for cluster_id, _, _, _ in counts for (run_id,) in db.execute(
            f"SELECT id FROM runs WHERE cluster_id = ? AND {clustered} {newest}", [cluster_id, *where.params, SAMPLES])]
        among = "id IN (SELECT value FROM json_each(?))"
        ranked_ids: Any = json.dumps([run_id for _, run_id in ranked])
    else:
        # The newest runs of each cluster, walking each cluster's runs newest first (runs_cluster) until SAMPLES
        # are in scope; then the few winners' signature fields from the table, by id. Ranking every clustered run
        # in one window sorted all of them: 654 ms for 222,000 runs at a million.
        ranked = db.execute(
            "SELECT clusters.cluster_id, newest.id FROM unnest(%s::text[]) AS clusters(cluster_id)"
            " CROSS JOIN LATERAL (SELECT id, coalesce(created_at, '') AS created FROM runs"
            f" WHERE runs.cluster_id = clusters.cluster_id AND {clustered} {newest}) AS newest"
            " ORDER BY clusters.cluster_id, newest.created DESC, newest.id DESC",
            [[cluster_id for cluster_id, _, _, _ in counts], *where.params, SAMPLES]).fetchall()
        among = "id = ANY(%s)"
        ranked_ids = [run_id for _, run_id in ranked]
    ranked_rows = {row.id: row for row in (FleetRow(*values) for values in db.execute(
        f"SELECT {', '.join(FLEET_COLUMNS)} FROM runs WHERE {among}", [ranked_ids]))}
    samples: dict[str, list[str]] = {}
    for cluster_id, run_id in ranked:
        samples.setdefault(cluster_id, []).append(run_id)
    clusters = [cluster_of(cluster_id, count, ranked_rows[samples[cluster_id][0]], samples[cluster_id],
                           first_seen=first_seen, last_seen=last_seen, releases=releases.get(cluster_id, {}),
                           in_scope=in_scope, timeline=timelines.get(cluster_id, [0] * buckets))
                for cluster_id, count, first_seen, last_seen in counts]
    return clusters_report(clusters, in_scope, window)


def root_counts(db: Any, where: Clause) -> dict[str, int]:
    return dict(db.execute(f"SELECT root_run_id, count(*) FROM runs WHERE {where.sql} GROUP BY root_run_id"
                           " ORDER BY count(*) DESC, root_run_id", where.params).fetchall())
