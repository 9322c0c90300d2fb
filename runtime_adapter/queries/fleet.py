"""Views over many runs: failure clusters, releases and a release-to-release comparison.

Everything here is computed from `FleetRow`s (a few columns per run) that a store returns
for a `RunQuery` (`RunStore.fleet_rows`): the scanning reference derives them from every
run, indexed stores select them from their `runs` table, and both go through the same
functions below, so a cluster or a comparison cannot differ between stores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from runtime_adapter.js.dates import iso_ms, parse_iso
from runtime_adapter.port import RunQueries
from runtime_adapter.queries.statistics import (
    ProportionTest,
    mean,
    percentile,
    two_proportion_test,
    wilson_interval,
)
from runtime_adapter.rows import (
    Cluster,
    ClusterReport,
    Distribution,
    FleetRow,
    LatestRun,
    ReleaseSummary,
    RunPage,
    RunQuery,
    StepTotal,
    StepTotals,
)

SAMPLES = 3  # sample runs shown per cluster
_DECODE = json.JSONDecoder().decode
TIMELINE_BUCKETS = 24
PAIR_EXAMPLES = 10  # pairs listed per kind of change
SHAPE_POINTS = 1001
SHAPE_FRACTIONS = tuple(index / (SHAPE_POINTS - 1) for index in range(SHAPE_POINTS))


def _newest_first(row: FleetRow) -> tuple[str, str]:
    return (row.created_at or "", row.id)


def _window(rows: Sequence[FleetRow], start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    moments = [moment for row in rows if (moment := parse_iso(row.created_at)) is not None]
    return timeline_window(min(moments, default=None), max(moments, default=None), start, end)


def timeline_window(first: datetime | None, last: datetime | None, start: str | None,
                    end: str | None) -> tuple[datetime, datetime] | None:
    """The timeline's span: the query's time range, else from the first to the last run in scope."""
    low = parse_iso(start) if start else first
    high = parse_iso(end) if end else last
    if low is None or high is None or high < low:
        return None
    return low, high


def _timeline(rows: Iterable[FleetRow], window: tuple[datetime, datetime] | None, buckets: int) -> list[int]:
    counts = [0] * buckets
    if window is None:
        return counts
    low, high = window
    span = (high - low).total_seconds()
    for row in rows:
        moment = parse_iso(row.created_at)
        if moment is None or moment < low or moment > high:
            continue
        index = int((moment - low).total_seconds() / span * buckets) if span > 0 else buckets - 1
        counts[min(index, buckets - 1)] += 1
    return counts


def failure_clusters(rows: Sequence[FleetRow], *, start: str | None = None, end: str | None = None,
                     buckets: int = TIMELINE_BUCKETS, in_scope: int | None = None) -> ClusterReport:
    """Runs grouped by failure signature, most runs first (then most recent, then id).

    `in_scope` is how many runs the shares are of (default: `rows`, when they are every run
    in scope); the timeline spans `start`..`end`, or else the first to the last of `rows`.
    With `buckets` 0 there is no timeline (and no window).
    """
    members: dict[str, list[FleetRow]] = {}
    for row in rows:
        if row.cluster_id:
            members.setdefault(row.cluster_id, []).append(row)
    window = _window(rows, start, end) if buckets else None
    total = len(rows) if in_scope is None else in_scope
    clusters = [_cluster(cluster_id, found, total, window, buckets) for cluster_id, found in members.items()]
    return clusters_report(clusters, total, window)


def clusters_report(clusters: list[Cluster], in_scope: int, window: tuple[datetime, datetime] | None) -> ClusterReport:
    """Clusters most runs first (then most recent, then id), with the timeline's span as text."""
    clusters.sort(key=lambda cluster: cluster.id)
    clusters.sort(key=lambda cluster: (cluster.count, cluster.last_seen or ""), reverse=True)
    span = (iso_ms(window[0]), iso_ms(window[1])) if window else None
    return ClusterReport(clusters=clusters, runs=in_scope, window=span)


def cluster_of(cluster_id: str, count: int, newest: FleetRow, samples: list[str], *, first_seen: str | None,
               last_seen: str | None, releases: dict[str, int], in_scope: int, timeline: list[int]) -> Cluster:
    """A cluster from its counts, its newest run (whose signature it shows) and its sample run ids."""
    return Cluster(
        id=cluster_id, count=count, incident_type=newest.incident_type or "",
        step_type=newest.failure_step_type or "", tool_name=newest.failure_tool or "",
        error_name=newest.error_name or "", message_template=newest.message_template or "",
        first_seen=first_seen, last_seen=last_seen,
        releases=dict(sorted(releases.items(), key=lambda item: (-item[1], item[0]))),
        sample_run_ids=samples, recommended_action=newest.recommended_action, newest_run_id=newest.id,
        share=count / in_scope if in_scope else 0.0, timeline=timeline)


def _cluster(cluster_id: str, found: list[FleetRow], in_scope: int, window: tuple[datetime, datetime] | None,
             buckets: int) -> Cluster:
    found.sort(key=_newest_first, reverse=True)
    newest = found[0]
    times = [row.created_at for row in found if row.created_at]
    releases: dict[str, int] = {}
    for row in found:
        if row.release:
            releases[row.release] = releases.get(row.release, 0) + 1
    return cluster_of(cluster_id, len(found), newest, [row.id for row in found[:SAMPLES]],
                      first_seen=min(times) if times else None, last_seen=max(times) if times else None,
                      releases=releases, in_scope=in_scope, timeline=_timeline(found, window, buckets))


# Releases ------------------------------------------------------------------------------


def distribution(values: Iterable[float | None], *, shapes: bool = True) -> Distribution:
    """Percentiles (interpolated between ranks) and mean of the finite values; the chart's shape points (none
    without `shapes`: a page that draws no chart need not have a store compute them)."""
    ordered = sorted(value for value in values if value is not None and math.isfinite(value))
    shape = [] if not shapes else ordered if len(ordered) <= SHAPE_POINTS else [
        percentile(ordered, fraction) or 0.0 for fraction in SHAPE_FRACTIONS]
    return Distribution(p50=percentile(ordered, 0.5), p90=percentile(ordered, 0.9), p95=percentile(ordered, 0.95),
                        p99=percentile(ordered, 0.99), mean=mean(ordered), values=shape)


def failure_rate_interval(summary: ReleaseSummary) -> tuple[float, float] | None:
    """The 95 % Wilson interval of a release's failure rate; None without runs."""
    return wilson_interval(summary.failed, summary.runs)


def release_summary(release: str, rows: Sequence[FleetRow], *, shapes: bool = True) -> ReleaseSummary:
    return release_summary_of(release, [row.status for row in rows], [row.created_at for row in rows],
                              [row.duration_ms for row in rows], [row.total_tokens for row in rows],
                              [row.cost for row in rows], shapes=shapes)


def release_summary_of(release: str, statuses: Sequence[str], created: Sequence[str | None],
                       durations: Sequence[float | None], tokens: Sequence[float | None],
                       costs: Sequence[float | None], *, shapes: bool = True) -> ReleaseSummary:
    """`release_summary` from its runs' columns, one value per run in each (a store that reads columns need not
    make a row per run: 90,000 of them were a third of the releases page's first request at 100k runs)."""
    times = [time for time in created if time]
    return ReleaseSummary(
        release=release, runs=len(statuses), failed=statuses.count("failed"),
        waiting=statuses.count("waiting_for_approval"), paused=statuses.count("paused"),
        first_seen=min(times) if times else None, last_seen=max(times) if times else None,
        duration=distribution(durations, shapes=shapes), tokens=distribution(tokens, shapes=shapes),
        cost=distribution(costs, shapes=shapes),
    )


def by_release(rows: Iterable[FleetRow]) -> dict[str, list[FleetRow]]:
    grouped: dict[str, list[FleetRow]] = {}
    for row in rows:
        if row.release:
            grouped.setdefault(row.release, []).append(row)
    return grouped


def release_summaries(rows: Iterable[FleetRow], *, shapes: bool = True) -> list[ReleaseSummary]:
    """One summary per `metadata.release` label, in release order (runs without one are left out)."""
    return sorted((release_summary(release, found, shapes=shapes) for release, found in by_release(rows).items()),
                  key=lambda summary: summary.release)


def newest_release_first(summaries: Iterable[ReleaseSummary]) -> list[ReleaseSummary]:
    """The most recently seen release first; ties in release order."""
    found = sorted(summaries, key=lambda summary: summary.release)
    found.sort(key=lambda summary: summary.last_seen or "", reverse=True)
    return found


@dataclass
class StepTotalsDelta:
    name: str
    base: dict[str, Any]
    head: dict[str, Any]

    def as_api(self, key: str) -> dict[str, Any]:
        return {key: self.name, "base": self.base, "head": self.head}


@dataclass
class Pair:
    input_key: str
    input_text: str
    base_run_id: str
    head_run_id: str
    base_status: str
    head_status: str
    duration_delta: float | None
    cost_delta: float

    def as_api(self) -> dict[str, Any]:
        return {"input": self.input_text, "baseRunId": self.base_run_id, "headRunId": self.head_run_id,
                "baseStatus": self.base_status, "headStatus": self.head_status}


@dataclass
class ReleaseComparison:
    base: ReleaseSummary
    head: ReleaseSummary
    failure_test: ProportionTest
    tools: list[StepTotalsDelta]
    step_types: list[StepTotalsDelta]
    new_clusters: list[Cluster]
    resolved_clusters: list[Cluster]
    grown_clusters: list[Cluster]
    matched_pairs: int
    outcome_changed: list[Pair]
    cost_changes: list[Pair]
    duration_changes: list[Pair]
    grown_base_counts: dict[str, int] = field(default_factory=dict)  # each grown cluster's runs in base

    @property
    def failure_rate_delta(self) -> float:
        return self.head.failure_rate - self.base.failure_rate

    def as_api(self) -> dict[str, Any]:
        def side(summary: ReleaseSummary) -> dict[str, Any]:
            interval = failure_rate_interval(summary)
            return {**summary.as_api(), "failureRateInterval": list(interval) if interval else None,
                    "duration": {"p50": summary.duration.p50, "p90": summary.duration.p90,
                                 "p95": summary.duration.p95, "p99": summary.duration.p99},
                    "tokens": {"mean": summary.tokens.mean, "p50": summary.tokens.p50, "p90": summary.tokens.p90,
                               "p99": summary.tokens.p99},
                    "cost": {"mean": summary.cost.mean, "p50": summary.cost.p50, "p90": summary.cost.p90,
                             "p99": summary.cost.p99}}

        return {
            "base": side(self.base), "head": side(self.head), "failureRateDelta": self.failure_rate_delta,
            "significant": self.failure_test.significant,
            "test": {"name": self.failure_test.test, "pValue": self.failure_test.p_value},
            "tools": [delta.as_api("toolName") for delta in self.tools],
            "stepTypes": [delta.as_api("stepType") for delta in self.step_types],
            "clusters": {"new": [c.as_api() for c in self.new_clusters],
                         "resolved": [c.as_api() for c in self.resolved_clusters],
                         "grown": [c.as_api() for c in self.grown_clusters]},
            "pairs": {"matched": self.matched_pairs, "outcomeChanged": [p.as_api() for p in self.outcome_changed]},
        }


def step_totals(rows: Iterable[FleetRow]) -> StepTotals:
    """Per section (`tools`, `types`) and name: steps, failed steps and the median of the finite sampled
    durations, over rows read `with_steps`."""
    totals: dict[str, dict[str, list[Any]]] = {"tools": {}, "types": {}}
    decode = _DECODE
    # The loop runs once per tool and step type of every run in scope (a release comparison at 100k: 30,000
    # runs), so it makes nothing it does not keep; durations are filtered once per name, at the end.
    for row in rows:
        text = row.step_stats
        if not text or text == "{}":
            continue
        stats = decode(text)
        for section, found in totals.items():
            entries = stats.get(section)
            if not entries:
                continue
            for name, (steps, failed, durations) in entries.items():
                total = found.get(name)
                if total is None:
                    found[name] = [steps, failed, list(durations)]
                else:
                    total[0] += steps
                    total[1] += failed
                    total[2] += durations
    return {section: {name: StepTotal(calls=steps, failed=failed, p50_ms=percentile(
        sorted(duration for duration in durations if math.isfinite(duration)), 0.5))
                      for name, (steps, failed, durations) in found.items()}
            for section, found in totals.items()}


def _step_api(totals: dict[str, StepTotal], runs: int) -> dict[str, dict[str, Any]]:
    return {name: {"calls": total.calls, "callsPerRun": total.calls / runs if runs else 0.0,
                   "errorRate": total.failed / total.calls if total.calls else 0.0, "p50Ms": total.p50_ms}
            for name, total in totals.items()}


def _step_deltas(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> list[StepTotalsDelta]:
    empty = {"calls": 0, "callsPerRun": 0.0, "errorRate": 0.0, "p50Ms": None}
    names = sorted(set(base) | set(head))
    deltas = [StepTotalsDelta(name, base.get(name, empty), head.get(name, empty)) for name in names]
    deltas.sort(key=lambda delta: -(delta.base["calls"] + delta.head["calls"]))
    return deltas


def latest_per_input(rows: Iterable[FleetRow]) -> dict[str, FleetRow]:
    """Per input (its `input_key`), the newest run: what release comparisons pair."""
    latest: dict[str, FleetRow] = {}
    for row in rows:
        if not row.input_key:
            continue  # runs without an input are not "the same input"
        held = latest.get(row.input_key)
        if held is None or _newest_first(row) > _newest_first(held):
            latest[row.input_key] = row
    return latest


def latest_pairs(base_rows: Iterable[FleetRow], head_rows: Iterable[FleetRow]) -> list[tuple[LatestRun, LatestRun]]:
    """The newest run of each input in `base_rows` with the newest of the same input in `head_rows`, in
    input-key order; inputs in only one of them are not pairs."""
    base, head = latest_per_input(base_rows), latest_per_input(head_rows)
    return [(LatestRun.of(base[key]), LatestRun.of(head[key])) for key in sorted(base.keys() & head.keys())]


@dataclass
class ReleaseSide:
    """What a comparison reads of one release in scope; a store computes it where its rows are."""

    summary: ReleaseSummary
    steps: StepTotals
    clusters: list[Cluster]  # its failure clusters, shares of its runs (no timeline window of its own)

    @classmethod
    def of_rows(cls, release: str, rows: Sequence[FleetRow]) -> ReleaseSide:
        """From every row of the release in scope (read `with_steps`)."""
        attention = [row for row in rows if row.cluster_id]
        return cls(summary=release_summary(release, rows), steps=step_totals(rows),
                   clusters=failure_clusters(attention, in_scope=len(rows)).clusters)

    @classmethod
    def of_store(cls, store: RunQueries, side: RunQuery, release: str) -> ReleaseSide:
        found = store.release_summaries(side)
        summary = found[0] if found else release_summary(release, [])
        return cls(summary=summary, steps=store.step_totals(side),
                   clusters=store.cluster_summaries(side, summary.runs, timeline=False).clusters)


def compare_releases(base: ReleaseSide, head: ReleaseSide,
                     latest: Sequence[tuple[LatestRun, LatestRun]]) -> ReleaseComparison:
    """`head` against `base`.

    `latest` pairs the latest run per input in each release (`latest_pairs`); the pairs' `input_text`
    is left for the caller to fill in (`release_comparison` reads it for the pairs it lists).
    """
    base_summary, head_summary = base.summary, head.summary
    test = two_proportion_test(head_summary.failed, head_summary.runs, base_summary.failed, base_summary.runs)
    tools = _step_deltas(_step_api(base.steps.get("tools", {}), base_summary.runs),
                         _step_api(head.steps.get("tools", {}), head_summary.runs))
    types = _step_deltas(_step_api(base.steps.get("types", {}), base_summary.runs),
                         _step_api(head.steps.get("types", {}), head_summary.runs))
    base_clusters = {cluster.id: cluster for cluster in base.clusters}
    head_clusters = {cluster.id: cluster for cluster in head.clusters}
    # With no run on one side, nothing is new or resolved: there is nothing to compare with.
    both = bool(base_summary.runs) and bool(head_summary.runs)
    new = [cluster for cluster_id, cluster in head_clusters.items() if both and cluster_id not in base_clusters]
    resolved = [cluster for cluster_id, cluster in base_clusters.items() if both and cluster_id not in head_clusters]
    grown = []
    grown_base: dict[str, int] = {}
    for cluster_id, cluster in head_clusters.items():
        before = base_clusters.get(cluster_id)
        if before is None or cluster.share <= before.share:
            continue
        if two_proportion_test(cluster.count, head_summary.runs, before.count, base_summary.runs).significant:
            grown.append(cluster)
            grown_base[cluster_id] = before.count
    pairs = [_pair(before.input_key, before, after) for before, after in latest]
    changed = [pair for pair in pairs if pair.base_status != pair.head_status]
    changed.sort(key=lambda pair: (pair.head_status != "failed", pair.input_key))
    by_cost = sorted((pair for pair in pairs if pair.cost_delta),
                     key=lambda pair: (-abs(pair.cost_delta), pair.input_key))
    by_duration = sorted((pair for pair in pairs if pair.duration_delta),
                         key=lambda pair: (-abs(pair.duration_delta or 0), pair.input_key))
    return ReleaseComparison(
        base=base_summary, head=head_summary, failure_test=test, tools=tools, step_types=types,
        new_clusters=new, resolved_clusters=resolved, grown_clusters=grown, matched_pairs=len(pairs),
        outcome_changed=changed, cost_changes=by_cost[:PAIR_EXAMPLES], duration_changes=by_duration[:PAIR_EXAMPLES],
        grown_base_counts=grown_base,
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _pair(key: str, before: LatestRun, after: LatestRun) -> Pair:
    start, end = _finite(before.duration_ms), _finite(after.duration_ms)
    cost = (_finite(after.cost) or 0.0) - (_finite(before.cost) or 0.0)
    return Pair(input_key=key, input_text="", base_run_id=before.id, head_run_id=after.id,
                base_status=before.status, head_status=after.status,
                duration_delta=end - start if start is not None and end is not None else None, cost_delta=cost)


# Entry points over a store -----------------------------------------------------------


class UnknownCluster(LookupError):
    pass


class UnknownRelease(LookupError):
    pass


def _scope(query: RunQuery) -> RunQuery:
    return replace(query, offset=0, limit=0)


def _count(store: RunQueries, scope: RunQuery) -> int:
    return store.query_runs(replace(scope, offset=0, limit=0, count_all=True)).total


def cluster_report(store: RunQueries, query: RunQuery) -> ClusterReport:
    """The failure clusters among the runs `query` selects (its paging aside).

    Only runs that need attention are read (they are the ones with a signature); the
    shares are of every run in scope, counted by the store.
    """
    scope = _scope(query)
    return store.cluster_summaries(scope, _count(store, scope))


@dataclass
class ClusterDetail:
    cluster: Cluster
    members: RunPage  # newest first
    by_release: dict[str, int]
    by_root: dict[str, int]
    window: tuple[str, str] | None


def cluster_detail(store: RunQueries, cluster_id: str, query: RunQuery) -> ClusterDetail:
    """One cluster in the scope of `query`, and the page of its members `query` asks for (newest first).

    Raises UnknownCluster when no run of the store has this signature, whatever the scope.
    """
    scope = _scope(query)
    members = replace(scope, cluster_id=cluster_id)
    report = store.cluster_summaries(members, _count(store, scope))
    if report.clusters:
        found = report.clusters[0]
    else:
        # Known but with no run in this scope: its signature from any one member, with nothing counted.
        probe = store.query_runs(RunQuery(cluster_id=cluster_id, limit=1)).rows
        if not probe:
            raise UnknownCluster(cluster_id)
        member = probe[0]
        found = Cluster(
            id=cluster_id, count=0, incident_type=member.incident_type or "", step_type=member.failure_step_type or "",
            tool_name=member.failure_tool or "", error_name=member.error_name or "",
            message_template=member.message_template or "", first_seen=None, last_seen=None, releases={},
            sample_run_ids=[], recommended_action=None, newest_run_id="", share=0.0, timeline=[0] * TIMELINE_BUCKETS)
    page = store.query_runs(replace(query, cluster_id=cluster_id, sort="created", descending=True))
    return ClusterDetail(cluster=found, members=page, by_release=found.releases, by_root=store.root_counts(members),
                         window=report.window)


def release_report(store: RunQueries, query: RunQuery) -> list[ReleaseSummary]:
    return newest_release_first(store.release_summaries(_scope(query), shapes=False))  # the page draws no chart


def release_comparison(store: RunQueries, query: RunQuery, base: str, head: str) -> ReleaseComparison:
    """`head` against `base` among the runs `query` selects; UnknownRelease names a release no run carries."""
    known = set(store.releases())
    for release in (base, head):
        if release not in known:
            raise UnknownRelease(release)
    scope = _scope(query)
    base_scope, head_scope = replace(scope, release=base), replace(scope, release=head)
    if getattr(store, "concurrent_reads", False):
        # A database answers the two sides and the pairs at once, on connections of their own.
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="release-comparison") as pool:
            base_side = pool.submit(ReleaseSide.of_store, store, base_scope, base)
            head_side = pool.submit(ReleaseSide.of_store, store, head_scope, head)
            pairs = pool.submit(store.latest_pairs, base_scope, head_scope)
            comparison = compare_releases(base_side.result(), head_side.result(), pairs.result())
    else:
        # One read of each side's rows serves its summary, step totals, clusters and the pairs (a store that
        # computes them from rows would otherwise read them four times: 2 s at 100k runs in SQLite).
        base_rows = store.fleet_rows(base_scope, with_steps=True)
        head_rows = store.fleet_rows(head_scope, with_steps=True)
        comparison = compare_releases(ReleaseSide.of_rows(base, base_rows), ReleaseSide.of_rows(head, head_rows),
                                      latest_pairs(base_rows, head_rows))
    listed = [*comparison.outcome_changed, *comparison.cost_changes, *comparison.duration_changes]
    texts = store.input_texts(sorted({pair.head_run_id for pair in listed}))
    for pair in listed:
        pair.input_text = texts.get(pair.head_run_id, "")
    return comparison
