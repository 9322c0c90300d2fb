"""A failure cluster as the clusters and cluster pages show it: its labelled timeline chart and its share."""

from __future__ import annotations

from typing import Any

from runtime_adapter.js.dates import iso_ms, parse_iso
from runtime_adapter.present.formatting import absolute_time
from runtime_adapter.queries.usage import bar_chart
from runtime_adapter.rows import Cluster, UsageBucket


def timeline_chart(counts: list[int], window: tuple[str, str] | None) -> dict[str, Any] | None:
    """The bars of a cluster's timeline (equal slices of `window`, one per count), labelled for the page.

    Labels are made here rather than with a filter per bar: a page of 100 clusters has 2,400 bars.
    """
    if window is None or not counts:
        return None
    low, high = parse_iso(window[0]), parse_iso(window[1])
    if low is None or high is None:
        return None
    step = (high - low) / len(counts)
    buckets = [UsageBucket(start=iso_ms(low + step * index), end=iso_ms(low + step * (index + 1)), runs=count)
               for index, count in enumerate(counts)]
    chart = bar_chart(buckets, "runs", height=32)
    bars = [{"x": bar.x, "y": bar.y, "width": bar.width, "height": bar.height,
             "label": f"{absolute_time(bar.start)} – {absolute_time(bar.end)}: {bar.value:.0f} run{'' if bar.value == 1 else 's'}"}
            for bar in chart.bars if bar.height]
    return {"width": chart.width, "height": chart.height, "bars": bars, "count": len(chart.bars),
            "peak": f"{chart.peak:.0f}", "start": absolute_time(window[0]), "end": absolute_time(window[1])}


def shown_cluster(cluster: Cluster, report_window: tuple[str, str] | None) -> dict[str, Any]:
    """A cluster as its card shows it: the timeline chart, the share, and how many runs the share is of."""
    return {"cluster": cluster, "chart": timeline_chart(cluster.timeline, report_window),
            "share": f"{cluster.share:.1%}", "runs": round(cluster.count / cluster.share) if cluster.share else 0}
