"""What the release pages and the release note show of a `ReleaseComparison`: rates with
their intervals, the significance sentence, percentiles side by side and signed deltas.

Pure formatting over the core's values (runtime_adapter.queries.fleet); the page, the
Markdown note and the tests read the same strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime_adapter.present.formatting import DASH, MINUS, absolute_time, cost, duration, token_count
from runtime_adapter.present.release_charts import CdfChart, cdf_chart
from runtime_adapter.queries.fleet import Pair, ReleaseComparison, StepTotalsDelta, failure_rate_interval
from runtime_adapter.queries.statistics import ALPHA, NO_TEST, ProportionTest, wilson_interval
from runtime_adapter.rows import Cluster, Distribution, ReleaseSummary, RunQuery


def percent(rate: float | None, digits: int = 1) -> str:
    """`12.5%`; `0%` and `100%` without decimals."""
    if rate is None:
        return DASH
    if rate in (0, 1):
        return f"{rate * 100:.0f}%"
    return f"{rate * 100:.{digits}f}%"


def interval_text(interval: tuple[float, float] | None) -> str:
    """A 95% interval as `8.1–17.9%`."""
    if interval is None:
        return DASH
    low, high = interval
    return f"{percent(low).removesuffix('%')}–{percent(high)}"


def points(delta: float | None) -> str:
    """A difference of two rates in percentage points: `+4.0 pp`, `−2.5 pp`, `±0 pp`."""
    if delta is None:
        return DASH
    amount = round(abs(delta) * 100, 1)
    if amount == 0:
        return "±0 pp"
    return f"{'+' if delta > 0 else MINUS}{amount:.1f} pp"


def signed(delta: float | None, fmt: Callable[[Any], str]) -> str:
    """A difference formatted like its measure, with its sign: `+1.20 s`, `−$0.02`."""
    if delta is None:
        return DASH
    text = fmt(abs(delta))
    if delta == 0 or text == fmt(0):  # too small to show is no change
        return f"±{fmt(0)}"
    return f"{'+' if delta > 0 else MINUS}{text}"


def change(base: float | None, head: float | None, fmt: Callable[[Any], str]) -> str:
    return signed(head - base if base is not None and head is not None else None, fmt)


def p_value_text(p_value: float) -> str:
    if p_value < 0.0001:
        return "p < 0.0001"
    return f"p = {p_value:.2g}" if p_value < 0.01 else f"p = {p_value:.2f}"


def significance(test: ProportionTest, base: ReleaseSummary, head: ReleaseSummary) -> str:
    """One sentence: how the failure rate moved, whether that is significant, and by which test."""
    if test.test == NO_TEST:
        side = "base" if base.runs == 0 else "head"
        return f"Not tested: the {side} release has no runs in scope."
    delta = head.failure_rate - base.failure_rate
    moved = "did not change" if delta == 0 else f"{'rose' if delta > 0 else 'fell'} by {points(delta).lstrip('+' + MINUS)}"
    verdict = "statistically significant" if test.significant else "not statistically significant"
    return (f"The failure rate {moved}: {verdict} at the {percent(ALPHA, 0)} level "
            f"({test.test}, {p_value_text(test.p_value)}).")


@dataclass(frozen=True)
class OutcomeRow:
    label: str
    base_count: int
    head_count: int
    base_rate: str
    head_rate: str
    base_interval: str
    head_interval: str
    delta: str
    worse: bool  # the head's rate is higher


def outcome_rows(base: ReleaseSummary, head: ReleaseSummary) -> list[OutcomeRow]:
    rows = []
    for label, attribute in (("Failed", "failed"), ("Waiting for approval", "waiting"), ("Paused", "paused")):
        before, after = getattr(base, attribute), getattr(head, attribute)
        base_rate = before / base.runs if base.runs else None
        head_rate = after / head.runs if head.runs else None
        delta = head_rate - base_rate if base_rate is not None and head_rate is not None else None
        rows.append(OutcomeRow(
            label=label, base_count=before, head_count=after, base_rate=percent(base_rate),
            head_rate=percent(head_rate), base_interval=interval_text(wilson_interval(before, base.runs)),
            head_interval=interval_text(wilson_interval(after, head.runs)), delta=points(delta),
            worse=delta is not None and delta > 0,
        ))
    return rows


@dataclass(frozen=True)
class Measure:
    key: str  # duration, tokens, cost
    title: str
    fmt: Callable[[Any], str]


MEASURES = (Measure("duration", "Duration", duration), Measure("tokens", "Tokens", token_count),
            Measure("cost", "Cost", cost))


@dataclass(frozen=True)
class PercentileRow:
    label: str  # p50, p90, p99
    base: str
    head: str
    delta: str


def percentile_rows(base: Distribution, head: Distribution, fmt: Callable[[Any], str]) -> list[PercentileRow]:
    return [PercentileRow(label, fmt(getattr(base, label)), fmt(getattr(head, label)),
                          change(getattr(base, label), getattr(head, label), fmt))
            for label in ("p50", "p90", "p99")]


@dataclass(frozen=True)
class StepRow:
    name: str
    base_calls: str  # per run
    head_calls: str
    calls_delta: str
    base_errors: str  # error rate
    head_errors: str
    errors_delta: str
    errors_worse: bool
    base_p50: str
    head_p50: str
    p50_delta: str


def _per_run(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def step_rows(deltas: list[StepTotalsDelta]) -> list[StepRow]:
    rows = []
    for delta in deltas:
        base, head = delta.base, delta.head
        # A side without calls has no error rate to compare.
        base_errors = base["errorRate"] if base["calls"] else None
        head_errors = head["errorRate"] if head["calls"] else None
        error_delta = head_errors - base_errors if base_errors is not None and head_errors is not None else None
        calls_delta = head["callsPerRun"] - base["callsPerRun"]
        rows.append(StepRow(
            name=delta.name, base_calls=_per_run(base["callsPerRun"]), head_calls=_per_run(head["callsPerRun"]),
            calls_delta=signed(calls_delta, _per_run), base_errors=percent(base_errors),
            head_errors=percent(head_errors), errors_delta=points(error_delta),
            errors_worse=error_delta is not None and error_delta > 0, base_p50=duration(base["p50Ms"]),
            head_p50=duration(head["p50Ms"]), p50_delta=change(base["p50Ms"], head["p50Ms"], duration),
        ))
    return rows


@dataclass(frozen=True)
class PairChange:
    pair: Pair
    change: str  # head minus base, signed


@dataclass(frozen=True)
class MeasurePanel:
    measure: Measure
    percentiles: list[PercentileRow]
    chart: CdfChart


@dataclass(frozen=True)
class ComparisonView:
    outcomes: list[OutcomeRow]
    significance: str
    failure_delta: str
    measures: list[MeasurePanel]
    tools: list[StepRow]
    step_types: list[StepRow]
    cost_changes: list[PairChange]
    duration_changes: list[PairChange]


def comparison_view(comparison: ReleaseComparison) -> ComparisonView:
    base, head = comparison.base, comparison.head
    measures = []
    for measure in MEASURES:
        before, after = getattr(base, measure.key), getattr(head, measure.key)
        chart = cdf_chart(measure.title, (base.release, before.values), (head.release, after.values), measure.fmt)
        measures.append(MeasurePanel(measure, percentile_rows(before, after, measure.fmt), chart))
    return ComparisonView(
        outcomes=outcome_rows(base, head),
        significance=significance(comparison.failure_test, base, head),
        failure_delta=points(comparison.failure_rate_delta if base.runs and head.runs else None),
        measures=measures,
        tools=step_rows(comparison.tools),
        step_types=step_rows(comparison.step_types),
        cost_changes=[PairChange(pair, signed(pair.cost_delta, cost)) for pair in comparison.cost_changes],
        duration_changes=[PairChange(pair, signed(pair.duration_delta, duration)) for pair in comparison.duration_changes],
    )


def scope_text(query: RunQuery) -> str:
    """The list filters of a comparison, in words; "" when every run counts."""
    parts = []
    if query.statuses:
        parts.append("status " + " or ".join(status.replace("_", " ") for status in query.statuses))
    if query.text:
        parts.append(f"text “{query.text}”")
    if query.correlation_id:
        parts.append(f"correlation id “{query.correlation_id}”")
    if query.created_after:
        parts.append(f"created after {absolute_time(query.created_after)}")
    if query.created_before:
        parts.append(f"created before {absolute_time(query.created_before)}")
    if query.roots_only:
        parts.append("root runs only")
    if query.attention_only:
        parts.append("runs that need attention only")
    return "; ".join(parts)


@dataclass(frozen=True)
class ReleaseRow:
    summary: ReleaseSummary
    failure_rate: str
    failure_interval: str
    waiting_rate: str
    paused_rate: str
    previous: str | None  # the release seen just before this one: what "compare" compares it with


def release_rows(summaries: list[ReleaseSummary]) -> list[ReleaseRow]:
    """Summaries as the releases page lists them, most recently seen first."""
    return [ReleaseRow(summary=summary, failure_rate=percent(summary.failure_rate if summary.runs else None),
                       failure_interval=interval_text(failure_rate_interval(summary)),
                       waiting_rate=percent(summary.waiting_rate if summary.runs else None),
                       paused_rate=percent(summary.paused_rate if summary.runs else None),
                       previous=summaries[index + 1].release if index + 1 < len(summaries) else None)
            for index, summary in enumerate(summaries)]


@dataclass(frozen=True)
class ClusterLine:
    cluster: Cluster
    detail: str  # how many runs, and what share of the release's runs


@dataclass(frozen=True)
class ClusterGroup:
    kind: str  # new, resolved, grown
    title: str
    explanation: str
    lines: list[ClusterLine]


def _runs(count: int, total: int) -> str:
    share = f" ({percent(count / total)})" if total else ""
    return f"{count} run{'s' if count != 1 else ''}{share}"


def cluster_groups(comparison: ReleaseComparison, base_counts: dict[str, int]) -> list[ClusterGroup]:
    """New, resolved and grown clusters, each with its runs in the release(s) it is about."""
    base, head = comparison.base.runs, comparison.head.runs
    return [
        ClusterGroup("new", "New in head", "failing this way in head, never in base",
                     [ClusterLine(c, f"{_runs(c.count, head)} in head") for c in comparison.new_clusters]),
        ClusterGroup("resolved", "Resolved in head", "seen in base, absent from head",
                     [ClusterLine(c, f"{_runs(c.count, base)} in base") for c in comparison.resolved_clusters]),
        ClusterGroup("grown", "Grown", "a significantly larger share of runs in head",
                     [ClusterLine(c, f"{_runs(base_counts.get(c.id, 0), base)} → {_runs(c.count, head)}")
                      for c in comparison.grown_clusters]),
    ]
