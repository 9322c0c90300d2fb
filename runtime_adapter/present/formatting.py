"""Display formatting for times, durations, token counts and costs.

Pure functions behind the one-line template filters in runs.templatetags; every
function accepts whatever a run record holds (None, strings, numbers) and never raises.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from runtime_adapter.js.dates import parse_iso

DASH = "—"
MINUS = "\u2212"  # the minus sign of a signed change


def absolute_time(value: Any) -> str:
    """`2026-11-24 02:24:16 UTC`; text that is not a timestamp comes back as it is."""
    moment = parse_iso(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(amount: int, unit: str, future: bool) -> str:
    return f"in {amount} {unit}" if future else f"{amount} {unit} ago"


def relative_time(value: Any, now: datetime) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago`, `in 4 min`; beyond 30 days the date."""
    moment = parse_iso(value)
    if moment is None:
        return DASH if value in (None, "") else str(value)
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return _ago(max(1, round(seconds / 60)), "min", future)
    if seconds < 86400:
        return _ago(int(seconds // 3600), "h", future)
    if seconds < 30 * 86400:
        return _ago(int(seconds // 86400), "d", future)
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def finite_number(value: Any) -> float | None:
    """A run value as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def duration(ms: Any) -> str:
    """`0 ms`, `340 ms`, `1.25 s`, `12.3 s`, `2 min 5 s`, `3 h 12 min`, `2 d 4 h`."""
    value = finite_number(ms)
    if value is None or value < 0:
        return DASH
    if value < 1000:
        return f"{round(value)} ms"
    seconds = value / 1000
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def offset(value: Any, start: Any) -> str:
    """How long after `start` a timestamp is, as a step or event time reads: `+0.76 s`, `+2 min 5 s`, `+0 ms`
    (before it: `−120 ms`); the dash when either is not a timestamp."""
    moment, origin = parse_iso(value), parse_iso(start)
    if moment is None or origin is None:
        return DASH
    ms = (moment - origin).total_seconds() * 1000
    return f"{MINUS if ms < 0 else '+'}{duration(abs(ms))}"


def token_count(value: Any) -> str:
    """Exact below 10,000 (`1,234`), then `12.3k`, `4.5M`, `1.2B`."""
    number = finite_number(value)
    if number is None:
        return DASH
    sign = "-" if number < 0 else ""
    number = abs(number)
    if number < 10_000:
        return f"{sign}{number:,.0f}"
    for limit, suffix in ((1e6, "k"), (1e9, "M"), (1e12, "B")):
        if number < limit:
            scaled = number / (limit / 1000)
            text = f"{scaled:.1f}" if scaled < 100 else f"{scaled:.0f}"
            if text == "1000":
                continue
            return f"{sign}{text.removesuffix('.0')}{suffix}"
    return f"{sign}{number / 1e12:.1f}T".replace(".0T", "T")


def cost(value: Any) -> str:
    """`$0`, `$1.23`, `$1,234.50`; below a cent two significant digits (`$0.0051`, `$0.00000025`)."""
    number = finite_number(value)
    if number is None:
        return DASH
    if number == 0:
        return "$0"
    sign = "-" if number < 0 else ""
    number = abs(number)
    if number >= 0.01:
        return f"{sign}${number:,.2f}"
    rounded = Decimal(f"{number:.2g}")
    return f"{sign}${format(rounded, 'f')}"


def total_ms(timings: Any) -> float:
    """The sum of a timings mapping's numeric values (`metrics.timings`, subtree timings)."""
    if not isinstance(timings, dict):
        return 0.0
    return sum(number for number in map(finite_number, timings.values()) if number is not None)




def status_label(status: Any) -> str:
    """`waiting_for_approval` → `waiting for approval` (the CSS class keeps the raw value)."""
    return "" if status is None else str(status).replace("_", " ")


def one_full_stop(text: Any) -> Any:
    """`… over the limit..` → `… over the limit.`: the runtime ends its advice with a full stop after
    a quoted message that may already have one (its payloads keep both; only what is shown loses one).
    An ellipsis stays as it is."""
    if isinstance(text, str) and text.endswith("..") and not text.endswith("..."):
        return text[:-1]
    return text


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, the last an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Control, format (bidi overrides and isolates, zero-width characters) and line/paragraph
# separators: in an id they would reorder or hide what an operator reads.
_UNSEEN = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_ESCAPE = re.compile(r"\\(?:u\{[0-9a-f]+\}|u[0-9a-f]{4}|[ntr])")


def escaped_char(char: str) -> str:
    """A character as its JS escape (`\\u202e`, `\\n`), as `visible_id` shows what the eye cannot see."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\u{{{code:x}}}"


def visible_id(run_id: Any) -> str:
    r"""An id as the eye should read it: invisible and direction characters as JS escapes.

    An id holding U+202E then `gnp.exe` shows as `\u202egnp.exe`, not as `exe.png`; links and
    copy buttons keep the real id.
    """
    text = "" if run_id is None else str(run_id)
    if text.isprintable():  # the common case, in C: no control, format or separator character but " "
        return text
    return "".join(escaped_char(char) if unicodedata.category(char) in _UNSEEN else char for char in text)


def _cut(text: str, index: int, *, forward: bool) -> int:
    """Move a cut at `index` out of an escape it would split: past its end, or back to its start."""
    if "\\" in text:
        for match in _ESCAPE.finditer(text):
            if match.start() < index < match.end():
                return match.end() if forward else match.start()
    return index


def short_id(run_id: Any, limit: int = 22) -> str:
    """Long ids keep their head and tail (`2068a0d3…:replay:1795487059363`), escaped as visible_id shows them."""
    text = visible_id(run_id)
    if len(text) <= limit:
        return text
    head, colon, rest = text.partition(":")
    if colon and len(rest) < limit:
        return f"{head[:_cut(head, 8, forward=True)]}…:{rest}"
    tail = max(4, limit - 10)
    return f"{text[:_cut(text, 8, forward=True)]}…{text[_cut(text, len(text) - tail, forward=False):]}"
