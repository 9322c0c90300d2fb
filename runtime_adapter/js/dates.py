"""Timestamps as the runtime writes them: `Date.prototype.toISOString()` strings, read and written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_iso(value: Any) -> datetime | None:
    """An aware datetime from a runtime ISO-8601 string (`…Z`), or None."""
    if isinstance(value, datetime):
        try:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            return None
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC, so every later conversion is safe: a time UTC cannot hold (year 9999 at -05:00,
        # year 1 at +14:00) is not a timestamp (JS's Date reads it, but no page can show it).
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def iso_ms(moment: datetime) -> str:
    """The runtime's own timestamp shape: `2026-01-01T00:00:00.000Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
