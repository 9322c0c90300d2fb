"""Two releases' distributions of one measure as overlaid empirical CDF lines, for an inline SVG.

Each line is the quantile function sampled at a fixed number of probabilities, so a
release of 100,000 runs draws as many points as one of 10. Durations, tokens and costs
are heavy-tailed (most runs take seconds, a few take minutes), so values spanning more
than LOG_RATIO are drawn on a log axis; otherwise a linear axis that ends at the higher
p99 when the slowest runs would squeeze the rest into a corner. Coordinates are in the
chart's own viewBox units; the template draws them and CSS colours them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runtime_adapter.queries.statistics import percentile

WIDTH, HEIGHT = 360, 170
LEFT, RIGHT, TOP, BOTTOM = 34, WIDTH - 12, 8, HEIGHT - 22
SAMPLES = 100
CAP_RATIO = 1.5
LOG_RATIO = 30


@dataclass(frozen=True)
class Line:
    role: str  # "base" or "head": its CSS class
    label: str  # the release
    count: int
    path: str  # SVG path data; "" without values


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class CdfChart:
    title: str
    description: str  # what a screen reader hears (the SVG's title)
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    capped: bool  # the axis stops at the higher p99; the slowest runs sit on its right edge
    log: bool  # a log axis (zeros sit on its left edge)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM

    @property
    def empty(self) -> bool:
        return not any(line.path for line in self.lines)


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _path(values: Sequence[float], x_of: Callable[[float], float]) -> str:
    if not values:
        return ""
    span = BOTTOM - TOP
    points = []
    for index in range(SAMPLES + 1):
        share = index / SAMPLES
        quantile = percentile(values, share)
        assert quantile is not None
        points.append(f"{_number(x_of(quantile))},{_number(BOTTOM - share * span)}")
    return "M" + " L".join(points)


def _axis(base: Sequence[float], head: Sequence[float]) -> tuple[float, float, bool, bool]:
    """(low, high, log, capped) of the x axis over both sides' ascending values."""
    ends = [*base[:1], *base[-1:], *head[:1], *head[-1:]]
    low, high = min(ends, default=0.0), max(ends, default=0.0)
    smallest = min((value for side in (base, head) for value in _first_positive(side)), default=None)
    if low >= 0 and smallest is not None and high / smallest >= LOG_RATIO:
        return smallest, high, True, False
    p99 = max((q for q in (percentile(base, 0.99), percentile(head, 0.99)) if q is not None), default=high)
    capped = p99 > low and high - low > CAP_RATIO * (p99 - low)
    if capped:
        high = p99
    if high <= low:
        high = low + 1  # one value everywhere: a vertical line at the left
    return low, high, False, capped


def _first_positive(values: Sequence[float]) -> list[float]:
    """The smallest positive value of ascending values, if any (as a list of at most one)."""
    return [values[index]] if (index := bisect.bisect_right(values, 0.0)) < len(values) else []


def cdf_chart(title: str, base: tuple[str, Sequence[float]], head: tuple[str, Sequence[float]],
              fmt: Callable[[Any], str]) -> CdfChart:
    """`base` and `head` are (release, ascending values), as `Distribution.values` holds them."""
    (base_label, base_values), (head_label, head_values) = base, head
    low, high, log, capped = _axis(base_values, head_values)
    if log:
        low_log, span = math.log10(low), math.log10(high) - math.log10(low)

        def x_of(value: float) -> float:
            return LEFT + (math.log10(max(value, low)) - low_log) / span * (RIGHT - LEFT)

        middle = 10 ** (low_log + span / 2)
    else:
        def x_of(value: float) -> float:
            return LEFT + (min(value, high) - low) / (high - low) * (RIGHT - LEFT)

        middle = (low + high) / 2
    lines = (Line("base", base_label, len(base_values), _path(base_values, x_of)),
             Line("head", head_label, len(head_values), _path(head_values, x_of)))
    # On a log axis, runs at zero are drawn at its left end.
    below = log and any(values[0] < low for values in (base_values, head_values) if values)
    x_ticks = (Tick(LEFT, ("≤ " if below else "") + fmt(low), "start"),
               Tick((LEFT + RIGHT) / 2, fmt(middle)), Tick(RIGHT, ("≥ " if capped else "") + fmt(high), "end"))
    y_ticks = tuple(Tick(BOTTOM - share * (BOTTOM - TOP), f"{share * 100:.0f}%", "end") for share in (0.0, 0.5, 0.9, 1.0))
    medians = [f"{label}: {len(values)} run{'s' if len(values) != 1 else ''}"
               + (f", median {fmt(percentile(values, 0.5))}" if values else "")
               for label, values in ((base_label, base_values), (head_label, head_values))]
    axis = "; log scale" if log else "; the axis ends at the higher 99th percentile" if capped else ""
    description = (f"{title}: share of runs at or below each value (empirical cumulative distribution), "
                   f"base {medians[0]}; head {medians[1]}{axis}.")
    return CdfChart(title=title, description=description, lines=lines, x_ticks=x_ticks, y_ticks=y_ticks,
                    capped=capped, log=log)
