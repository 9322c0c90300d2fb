"""Release summaries, step totals and the newest run per input as PostgreSQL aggregates.

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

from typing import Any

from runtime_adapter.queries.fleet import SHAPE_FRACTIONS, SHAPE_POINTS
from runtime_adapter.rows import FLEET_COLUMNS, Distribution, FleetRow, ReleaseSummary, StepTotal, StepTotals
from runtime_adapter.stores.rowsql import Clause

MEASURES = ("duration_ms", "total_tokens", "cost")
_QUANTILES = (0.5, 0.9, 0.95, 0.99)


def _finite(column: str) -> str:
    return f"{column} IS NOT NULL AND {column} NOT IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8)"


def release_summaries(db: Any, where: Clause) -> list[ReleaseSummary]:
    """Per release label in scope, in release order: counts, first and last run, and each measure's distribution."""
    fractions = [*_QUANTILES, *SHAPE_FRACTIONS]
    measures = ", ".join(
        f"count(*) FILTER (WHERE {_finite(column)}),"
        f" percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY {column}) FILTER (WHERE {_finite(column)}),"
        f" sum({column}) FILTER (WHERE {_finite(column)})"
        for column in MEASURES)
    found = db.execute(
        "SELECT release, count(*), count(*) FILTER (WHERE status = 'failed'),"
        " count(*) FILTER (WHERE status = 'waiting_for_approval'), count(*) FILTER (WHERE status = 'paused'),"
        f" min(created_at) FILTER (WHERE created_at <> ''), max(created_at) FILTER (WHERE created_at <> ''), {measures}"
        f" FROM runs WHERE {where.sql} AND coalesce(release, '') <> '' GROUP BY release ORDER BY release",
        [*([fractions] * len(MEASURES)), *where.params]).fetchall()
    # Few values: the chart draws every one of them (the reference keeps them all up to SHAPE_POINTS).
    small = [row[0] for row in found if any(row[7 + 3 * index] <= SHAPE_POINTS for index in range(len(MEASURES)))]
    every: dict[str, list[list[float]]] = {}
    if small:
        arrays = ", ".join(f"coalesce(array_agg({column} ORDER BY {column}) FILTER (WHERE {_finite(column)}), '{{}}')"
                           for column in MEASURES)
        every = {release: list(values) for release, *values in db.execute(
            f"SELECT release, {arrays} FROM runs WHERE {where.sql} AND release = ANY(%s) GROUP BY release",
            [*where.params, small])}
    summaries = []
    for release, runs, failed, waiting, paused, first, last, *measured in found:
        distributions = []
        for index in range(len(MEASURES)):
            count, quantiles, total = measured[3 * index: 3 * index + 3]
            if not count:
                distributions.append(Distribution(p50=None, p90=None, p95=None, p99=None, mean=None, values=[]))
                continue
            p50, p90, p95, p99, *shape = quantiles
            values = every[release][index] if count <= SHAPE_POINTS else shape
            distributions.append(Distribution(p50=p50, p90=p90, p95=p95, p99=p99, mean=total / count,
                                              values=[float(value) for value in values]))
        duration, tokens, cost = distributions
        summaries.append(ReleaseSummary(release=release, runs=runs, failed=failed, waiting=waiting, paused=paused,
                                        first_seen=first, last_seen=last, duration=duration, tokens=tokens, cost=cost))
    return summaries


# Each run's step_stats ({"tools": {name: [steps, failed, [durations]]}, "types": {...}}) as rows, once.
_STEP_ENTRIES = (
    "WITH entries AS MATERIALIZED (SELECT section, entry.key AS name, entry.value AS stats"
    " FROM (SELECT step_stats::jsonb AS stats FROM runs WHERE {where} AND step_stats <> '{{}}') AS scoped,"
    " (VALUES ('tools'), ('types')) AS sections(section),"
    " jsonb_each(coalesce(scoped.stats -> sections.section, '{{}}')) AS entry),"
    " totals AS (SELECT section, name, sum((stats ->> 0)::bigint) AS calls, sum((stats ->> 1)::bigint) AS failed"
    " FROM entries GROUP BY section, name),"
    " medians AS (SELECT section, name, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration::float8) AS p50"
    " FROM entries, jsonb_array_elements_text(stats -> 2) AS duration GROUP BY section, name)"
    " SELECT totals.section, totals.name, totals.calls, totals.failed, medians.p50"
    " FROM totals LEFT JOIN medians USING (section, name)"
)


def step_totals(db: Any, where: Clause) -> StepTotals:
    """Per section and name: steps, failed steps and the median sampled duration (rows store only finite ones)."""
    totals: StepTotals = {"tools": {}, "types": {}}
    for section, name, calls, failed, p50 in db.execute(_STEP_ENTRIES.format(where=where.sql), where.params):
        totals[section][name] = StepTotal(calls=int(calls), failed=int(failed), p50_ms=p50)
    return totals


def latest_per_input(db: Any, where: Clause) -> list[FleetRow]:
    """The newest run in scope of each input, in input-key order (ties on time: the greater id)."""
    return [FleetRow(*values) for values in db.execute(
        f"SELECT DISTINCT ON (input_key) {', '.join(FLEET_COLUMNS)} FROM runs WHERE {where.sql} AND input_key <> ''"
        " ORDER BY input_key, coalesce(created_at, '') DESC, id DESC", where.params)]

