"""The overview's failure panels: the share of runs that failed per bucket of the last day and week, drawn as
bar charts like the usage charts, and the day's top failure clusters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime_adapter.port import RunQueries
from runtime_adapter.present.formatting import duration
from runtime_adapter.queries.fleet import cluster_report
from runtime_adapter.queries.usage import UsageWindow, bars, usage_windows
from runtime_adapter.rows import RunQuery

TOP_CLUSTERS = 5
FAILURE_CHART = (240, 44)  # the failure-rate chart's viewBox, as the usage charts'


def _rate(store: RunQueries, window: UsageWindow) -> dict[str, Any]:
    buckets = store.usage_series(window.start, window.end, window.bucket_ms)
    failed = [bucket.failed for bucket in buckets]
    shares = [min(1.0, lost / bucket.runs) if bucket.runs else 0.0 for lost, bucket in zip(failed, buckets, strict=True)]
    chart = bars(shares, [(bucket.start, bucket.end) for bucket in buckets], width=FAILURE_CHART[0],
                 height=FAILURE_CHART[1])
    peak = chart.peak
    shown = [{"x": bar.x, "y": bar.y, "height": bar.height, "width": bar.width, "start": bar.start, "end": bar.end,
              "failed": lost, "runs": bucket.runs, "share": f"{bar.value:.0%}"}
             for bar, bucket, lost in zip(chart.bars, buckets, failed, strict=True)]
    runs, lost = sum(bucket.runs for bucket in buckets), sum(failed)
    return {"window": window, "runs": runs, "failed": lost, "bars": shown, "peak": f"{peak:.0%}",
            "rate": f"{lost / runs:.1%}" if runs else "—", "bucket": duration(window.bucket_ms)}


def failure_overview(store: RunQueries, now: datetime) -> dict[str, Any]:
    """The failure panels, and when the newest run arrived: a store whose runs are all older than a window
    says so rather than drawing an empty chart."""
    windows = usage_windows(now)
    day = windows[0]
    report = cluster_report(store, RunQuery(created_after=day.start, created_before=day.end))
    newest = store.query_runs(RunQuery(sort="created", descending=True, limit=1)).rows
    newest_at = newest[0].created_at if newest and newest[0].created_at else None
    rates = [_rate(store, window) for window in windows]
    for rate in rates:
        rate["older_store"] = bool(newest_at) and not rate["runs"] and (newest_at or "") < rate["window"].start
    return {"failure_rates": rates, "top_clusters": report.clusters[:TOP_CLUSTERS],
            "clusters_in_day": len(report.clusters), "failure_chart": FAILURE_CHART, "newest_run_at": newest_at}
