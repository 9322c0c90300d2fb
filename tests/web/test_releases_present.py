"""What the release pages show of a comparison, without Django: rates, deltas, significance wording and the CDF chart.

Pure functions of runtime_adapter.present.release_view and .release_charts (kept beside the release page tests).
"""

from __future__ import annotations

import re

import pytest

from runtime_adapter.present.formatting import cost, duration, token_count
from runtime_adapter.present.release_charts import BOTTOM, LEFT, RIGHT, SAMPLES, TOP, cdf_chart
from runtime_adapter.present.release_view import (
    interval_text,
    p_value_text,
    percent,
    points,
    scope_text,
    signed,
    significance,
)
from runtime_adapter.queries.fleet import distribution
from runtime_adapter.queries.statistics import FISHER, NO_TEST, Z_TEST, ProportionTest
from runtime_adapter.rows import ReleaseSummary, RunQuery


def summary(release: str, runs: int, failed: int) -> ReleaseSummary:
    empty = distribution([])
    return ReleaseSummary(release=release, runs=runs, failed=failed, waiting=0, paused=0, first_seen=None,
                          last_seen=None, duration=empty, tokens=empty, cost=empty)


@pytest.mark.parametrize(("rate", "text"), [(None, "—"), (0, "0%"), (1, "100%"), (0.125, "12.5%"), (0.0004, "0.0%")])
def test_percent(rate, text):
    assert percent(rate) == text


def test_interval_and_points():
    assert interval_text((0.0812, 0.179)) == "8.1–17.9%"
    assert interval_text(None) == "—"
    assert points(0.04) == "+4.0 pp" and points(-0.025) == "−2.5 pp" and points(0.00001) == "±0 pp"


def test_signed_deltas_take_the_measures_format_and_call_too_small_no_change():
    assert signed(1200, duration) == "+1.20 s"
    assert signed(-0.02, cost) == "−$0.02"
    assert signed(0, token_count) == "±0"
    assert signed(0.2, duration) == "±0 ms"  # rounds to 0 ms
    assert signed(None, cost) == "—"


@pytest.mark.parametrize(("p", "text"), [(0.00001, "p < 0.0001"), (0.0022, "p = 0.0022"), (0.34, "p = 0.34"),
                                         (1.0, "p = 1.00")])
def test_p_values(p, text):
    assert p_value_text(p) == text


def test_significance_names_the_direction_the_verdict_and_the_test():
    base, head = summary("a", 20, 2), summary("b", 20, 8)
    assert significance(ProportionTest(Z_TEST, 2.19, 0.028, True), base, head) == (
        "The failure rate rose by 30.0 pp: statistically significant at the 5% level (two-proportion z-test, p = 0.03).")
    assert significance(ProportionTest(FISHER, None, 0.5, False), head, base) == (
        "The failure rate fell by 30.0 pp: not statistically significant at the 5% level (Fisher's exact test, p = 0.50).")
    assert significance(ProportionTest(NO_TEST, None, 1.0, False), summary("a", 0, 0), head) == (
        "Not tested: the base release has no runs in scope.")


def test_scope_text_says_which_runs_count():
    assert scope_text(RunQuery()) == ""
    query = RunQuery(statuses=("failed", "waiting_for_approval"), text="refund", created_after="2026-11-01T00:00:00.000Z",
                     roots_only=True)
    assert scope_text(query) == ("status failed or waiting for approval; text “refund”; "
                                 "created after 2026-11-01 00:00:00 UTC; root runs only")


def path_points(path: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"([-\d.]+),([-\d.]+)", path)]


def test_chart_lines_span_the_plot_from_0_to_100_percent():
    chart = cdf_chart("Duration", ("a", [1000.0, 2000.0, 3000.0]), ("b", [2000.0, 4000.0]), duration)
    assert not chart.log and not chart.capped and not chart.empty
    base, head = (path_points(line.path) for line in chart.lines)
    assert len(base) == len(head) == SAMPLES + 1
    assert base[0] == (LEFT, BOTTOM) and head[-1] == (RIGHT, TOP)
    assert [tick.label for tick in chart.x_ticks] == ["1.00 s", "2.50 s", "4.00 s"]
    assert chart.description == ("Duration: share of runs at or below each value (empirical cumulative distribution), "
                                 "base a: 3 runs, median 2.00 s; head b: 2 runs, median 3.00 s.")


def test_chart_of_heavy_tailed_values_uses_a_log_axis_with_zeros_on_its_left_edge():
    values = [0.0, 0.001, 0.002, 0.01, 0.5]
    chart = cdf_chart("Cost", ("a", values), ("b", values[1:]), cost)
    assert chart.log
    assert [tick.label for tick in chart.x_ticks] == ["≤ $0.001", "$0.02", "$0.50"]
    assert path_points(chart.lines[0].path)[0][0] == LEFT
    assert chart.description.endswith("; log scale.")


def test_chart_axis_ends_at_the_higher_p99_when_one_outlier_would_squeeze_the_rest():
    values = [-5.0, *[float(v) for v in range(100)], 10_000.0]  # a negative value rules out a log axis
    chart = cdf_chart("Tokens", ("a", values), ("b", values), token_count)
    assert chart.capped and not chart.log
    assert chart.x_ticks[-1].label.startswith("≥ ")
    assert max(x for x, _ in path_points(chart.lines[0].path)) == RIGHT


def test_chart_without_values_is_empty_and_one_value_is_a_vertical_line():
    assert cdf_chart("Cost", ("a", []), ("b", []), cost).empty
    chart = cdf_chart("Cost", ("a", [0.5]), ("b", []), cost)
    assert chart.lines[1].path == "" and {x for x, _ in path_points(chart.lines[0].path)} == {LEFT}
