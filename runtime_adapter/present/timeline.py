"""Geometry for the steps timeline: one row per step on the run's time axis.

A step starts at `createdAt` and lasts `durationMs` (else until `updatedAt`); a step
still running with neither stretches to the end of the axis and is marked open.
The axis spans the whole run so every page of a long run shares one scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runtime_adapter.js.dates import parse_iso
from runtime_adapter.js.jsvalues import to_js_string
from runtime_adapter.present.formatting import duration


@dataclass(frozen=True)
class TimelineBar:
    index: int
    step_id: str
    kind: str
    status: str
    x: float
    y: float
    width: float
    height: float
    offset_ms: float | None
    duration_ms: float | None
    open: bool

    @property
    def title(self) -> str:
        when = "start unknown" if self.offset_ms is None else f"+{duration(self.offset_ms)}"
        length = "still open" if self.open else duration(self.duration_ms)
        return f"#{self.index + 1} {self.kind} · {self.status} · {when} · {length}"


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    axis_y: float
    total_ms: float
    bars: list[TimelineBar]
    ticks: list[Tick]


def _ms(value: Any) -> float | None:
    moment = parse_iso(value)
    return moment.timestamp() * 1000 if moment else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def _text(value: Any, fallback: str) -> str:
    return to_js_string(value) if value not in (None, "") else fallback


def step_timeline(
    steps: Sequence[Any],
    run_start: Any = None,
    run_end: Any = None,
    *,
    first_index: int = 0,
    width: int = 800,
    row_height: int = 10,
    gap: int = 3,
    axis_height: int = 16,
    ticks: int = 5,
) -> Timeline:
    """Bars for `steps` (a page of a run's steps, the first being number `first_index`)."""
    spans: list[tuple[float | None, float | None, bool]] = []
    for step in steps:
        item = step if isinstance(step, dict) else {}
        start = _ms(item.get("createdAt"))
        length = _number(item.get("durationMs"))
        end = start + length if start is not None and length is not None else None
        running = item.get("status") in ("running", "pending")
        if end is None and start is not None and not running:
            updated = _ms(item.get("updatedAt"))
            end = updated if updated is not None and updated >= start else None
        spans.append((start, end, end is None and start is not None and running))

    known = [value for span in spans for value in span[:2] if value is not None]
    origin = _ms(run_start)
    if origin is None:
        origin = min(known, default=0.0)
    finish = max([value for value in (_ms(run_end), *known) if value is not None], default=origin)
    total = max(finish - origin, 1.0)
    scale = width / total

    bars = []
    for offset, (step, (start, end, is_open)) in enumerate(zip(steps, spans, strict=True)):
        item = step if isinstance(step, dict) else {}
        y = axis_height + offset * (row_height + gap)
        if start is None:
            x, bar_width = 0.0, 0.0
        else:
            x = max(0.0, (start - origin) * scale)
            stop = finish if is_open else (end if end is not None else start)
            bar_width = max(2.0, (stop - start) * scale)
            x = min(x, width - bar_width)
        bars.append(TimelineBar(
            index=first_index + offset,
            step_id=_text(item.get("id"), f"step {first_index + offset + 1}"),
            kind=_text(item.get("type"), "step"),
            status=_text(item.get("status"), "unknown"),
            x=round(x, 2), y=float(y), width=round(bar_width, 2), height=float(row_height),
            offset_ms=None if start is None else start - origin,
            duration_ms=None if start is None or end is None else end - start,
            open=is_open,
        ))

    marks = [Tick(x=round(width * i / ticks, 2), label=duration(total * i / ticks)) for i in range(ticks + 1)]
    height = axis_height + len(bars) * (row_height + gap)
    return Timeline(width=width, height=height, axis_y=axis_height - 4, total_ms=total, bars=bars, ticks=marks)
