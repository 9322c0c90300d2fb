"""Token and cost totals per time bucket, for the overview's small charts.

A run counts in the bucket holding its `createdAt`. `bucket_rows` is the reference
semantics behind `RunStore.usage_series`; indexed stores answer the same
question with one GROUP BY and must agree with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from runtime_adapter.js.dates import iso_ms, parse_iso
from runtime_adapter.rows import RunRow, UsageBucket

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class UsageWindow:
    name: str
    title: str
    start: str
    end: str
    bucket_ms: int


def bucket_bounds(start: str, end: str, bucket_ms: int) -> list[tuple[str, str]]:
    """Consecutive [start, end) intervals of `bucket_ms` covering [start, end)."""
    first, last = parse_iso(start), parse_iso(end)
    if first is None or last is None or bucket_ms <= 0 or last <= first:
        return []
    step = timedelta(milliseconds=bucket_ms)
    bounds = []
    moment = first
    while moment < last:
        bounds.append((iso_ms(moment), iso_ms(min(moment + step, last))))
        moment += step
    return bounds


def bucket_index(created: datetime, origin: datetime, bucket_ms: int) -> int:
    """Which bucket of `bucket_ms` from `origin` a run created at `created` falls in (may be out of range)."""
    return int((created - origin).total_seconds() * 1000 // bucket_ms)


def bucket_rows(rows: Iterable[RunRow], start: str, end: str, bucket_ms: int) -> list[UsageBucket]:
    """Sum runs created in [start, end) into buckets; empty buckets are kept (zeros)."""
    bounds = bucket_bounds(start, end, bucket_ms)
    origin = parse_iso(start)
    totals = [[0, 0.0, 0.0, 0.0, 0.0, 0] for _ in bounds]
    if origin is not None:
        for row in rows:
            created = parse_iso(row.created_at)
            if created is None or not (start <= (row.created_at or "") < end):
                continue
            index = bucket_index(created, origin, bucket_ms)
            if 0 <= index < len(totals):
                total = totals[index]
                total[0] += 1
                total[1] += row.prompt_tokens
                total[2] += row.completion_tokens
                total[3] += row.total_tokens
                total[4] += row.cost
                total[5] += row.status == "failed"
    return [
        UsageBucket(start=lo, end=hi, runs=int(t[0]), prompt_tokens=t[1], completion_tokens=t[2], total_tokens=t[3], cost=t[4],
                    failed=int(t[5]))
        for (lo, hi), t in zip(bounds, totals, strict=True)
    ]


def usage_windows(now: datetime) -> list[UsageWindow]:
    """The last 24 hours in hourly buckets and the last 7 days in 6-hour buckets, aligned to the hour."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return [
        UsageWindow("day", "Last 24 hours", iso_ms(end - timedelta(days=1)), iso_ms(end), HOUR_MS),
        UsageWindow("week", "Last 7 days", iso_ms(end - timedelta(days=7)), iso_ms(end), 6 * HOUR_MS),
    ]


def totals(buckets: Iterable[UsageBucket]) -> UsageBucket:
    items = list(buckets)
    return UsageBucket(
        start=items[0].start if items else "",
        end=items[-1].end if items else "",
        runs=sum(b.runs for b in items),
        prompt_tokens=sum(b.prompt_tokens for b in items),
        completion_tokens=sum(b.completion_tokens for b in items),
        total_tokens=sum(b.total_tokens for b in items),
        cost=sum(b.cost for b in items),
        failed=sum(b.failed for b in items),
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    start: str
    end: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    peak: float


def bar_chart(buckets: list[UsageBucket], metric: str, *, width: int = 240, height: int = 44, gap: float = 1) -> BarChart:
    """Bar geometry for one metric (`total_tokens`, `cost`, `runs`) in a width×height box."""
    return bars([float(getattr(bucket, metric)) for bucket in buckets], [(bucket.start, bucket.end) for bucket in buckets],
                width=width, height=height, gap=gap)


def bars(values: list[float], spans: list[tuple[str, str]], *, width: int = 240, height: int = 44,
         gap: float = 1) -> BarChart:
    """Bar geometry for `values` (one per [start, end) span) in a width×height box.

    A non-zero value is at least one unit tall so that activity never looks like none.
    """
    peak = max(values, default=0.0)
    slot = width / len(values) if values else 0
    found = []
    for index, (value, (start, end)) in enumerate(zip(values, spans, strict=True)):
        bar_height = 0.0 if peak <= 0 or value <= 0 else max(1.0, round(value / peak * height, 2))
        found.append(Bar(
            x=round(index * slot, 2), y=round(height - bar_height, 2), width=round(max(slot - gap, 0.5), 2),
            height=bar_height, value=value, start=start, end=end,
        ))
    return BarChart(width=width, height=height, bars=found, peak=peak)
