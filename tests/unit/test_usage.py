from __future__ import annotations

from datetime import UTC, datetime

from runtime_adapter.queries.listing import run_row
from runtime_adapter.queries.usage import HOUR_MS, bar_chart, bucket_bounds, bucket_rows, totals, usage_windows
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.factories import run_record


def run(run_id: str, created: str, tokens: int, cost: float) -> dict:
    return run_record(run_id, created=created, metrics={"tokenUsage": {"prompt": tokens, "completion": 0, "total": tokens}, "cost": cost})


RUNS = [
    run("a", "2026-01-01T00:10:00.000Z", 100, 0.5),
    run("b", "2026-01-01T00:50:00.000Z", 50, 0.25),
    run("c", "2026-01-01T02:00:00.000Z", 10, 0.1),
    run("d", "2026-01-01T03:00:00.000Z", 999, 9.0),  # at the end bound: excluded
    run("e", "2025-12-31T23:59:59.999Z", 999, 9.0),  # before the start: excluded
]


def test_bucket_bounds_cover_the_window_and_clip_the_last_bucket():
    assert bucket_bounds("2026-01-01T00:00:00.000Z", "2026-01-01T02:30:00.000Z", HOUR_MS) == [
        ("2026-01-01T00:00:00.000Z", "2026-01-01T01:00:00.000Z"),
        ("2026-01-01T01:00:00.000Z", "2026-01-01T02:00:00.000Z"),
        ("2026-01-01T02:00:00.000Z", "2026-01-01T02:30:00.000Z"),
    ]
    assert bucket_bounds("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", HOUR_MS) == []


def test_runs_are_summed_in_the_bucket_of_their_creation_time():
    buckets = bucket_rows([run_row(r) for r in RUNS], "2026-01-01T00:00:00.000Z", "2026-01-01T03:00:00.000Z", HOUR_MS)
    assert [(b.runs, b.total_tokens, b.cost) for b in buckets] == [(2, 150, 0.75), (0, 0, 0), (1, 10, 0.1)]


def test_store_usage_series_default_agrees_with_bucket_rows():
    store = InMemoryRunStore(RUNS)
    args = ("2026-01-01T00:00:00.000Z", "2026-01-01T03:00:00.000Z", HOUR_MS)
    assert store.usage_series(*args) == bucket_rows(store.rows(), *args)


def test_totals_add_up_the_buckets():
    buckets = bucket_rows([run_row(r) for r in RUNS], "2026-01-01T00:00:00.000Z", "2026-01-01T03:00:00.000Z", HOUR_MS)
    total = totals(buckets)
    assert (total.runs, total.total_tokens, total.cost) == (3, 160, 0.85)
    assert totals([]).runs == 0


def test_windows_are_the_last_day_hourly_and_the_last_week_in_six_hours():
    day, week = usage_windows(datetime(2026, 11, 24, 12, 34, tzinfo=UTC))
    assert (day.start, day.end, day.bucket_ms) == ("2026-11-23T13:00:00.000Z", "2026-11-24T13:00:00.000Z", HOUR_MS)
    assert len(bucket_bounds(day.start, day.end, day.bucket_ms)) == 24
    assert len(bucket_bounds(week.start, week.end, week.bucket_ms)) == 28


def test_bar_chart_scales_to_the_peak_and_keeps_small_values_visible():
    buckets = bucket_rows([run_row(r) for r in RUNS], "2026-01-01T00:00:00.000Z", "2026-01-01T03:00:00.000Z", HOUR_MS)
    chart = bar_chart(buckets, "total_tokens", width=300, height=40)
    assert [bar.height for bar in chart.bars] == [40, 0, 2.67]
    assert chart.bars[0].y == 0 and chart.bars[2].x == 200
    tiny = bar_chart(bucket_rows([run_row(run("x", "2026-01-01T00:00:00.000Z", 1, 0)), run_row(run("y", "2026-01-01T01:00:00.000Z", 100000, 0))],
                                 "2026-01-01T00:00:00.000Z", "2026-01-01T02:00:00.000Z", HOUR_MS), "total_tokens")
    assert tiny.bars[0].height == 1.0


def test_bar_chart_of_no_activity_is_flat():
    chart = bar_chart(bucket_rows([], "2026-01-01T00:00:00.000Z", "2026-01-01T02:00:00.000Z", HOUR_MS), "cost")
    assert chart.peak == 0 and all(bar.height == 0 for bar in chart.bars)
