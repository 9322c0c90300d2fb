"""What the memory page shows of a layer's entries: times from epoch milliseconds, values as JSON text
with what the eye cannot see escaped, expiry the way the runtime will judge it, and runs an entry names."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime_adapter.durable.memory import LayerPage, MemoryEntry, js_number
from runtime_adapter.js.dates import iso_ms
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import number_to_string, truthy
from runtime_adapter.present.formatting import clip, visible_id
from runtime_adapter.records import InvalidRunId, check_run_id

# Characters of a value shown on the page; the API has all of it.
VALUE_LIMIT = 4000
# A value or metadata this short (as one line) is shown on one line.
INLINE_LIMIT = 160
TIME_TEXT_LIMIT = 60
# Metadata fields that name the run an entry came from.
RUN_ID_FIELDS = ("runId", "sourceRunId")


def time_text(value: Any) -> str | None:
    """A stored time for `{% when %}`: epoch milliseconds as the runtime's ISO text; other text as it is."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return number_to_string(value)
        try:
            return iso_ms(datetime.fromtimestamp(value / 1000, UTC))
        except (OverflowError, ValueError, OSError):
            return number_to_string(value)
    text = value if isinstance(value, str) else dumps(value)
    return clip(visible_id(text), TIME_TEXT_LIMIT)


def json_text(value: Any, *, inline: int = 0) -> str:
    """`JSON.stringify(value, null, 2)`, each line as `visible_id` shows it (bidi controls escaped).

    With `inline`, the same text on one line when it fits in that many characters (`{"a": 1, "b": [2]}`).
    """
    lines = [visible_id(line) for line in dumps(value, 2).split("\n")]
    if inline and len(lines) > 1:
        # JSON strings hold no raw newline, so every line break is structural and may become a space.
        joined = lines[0]
        for line in lines[1:]:
            line = line.lstrip(" ")
            joined += line if joined.endswith(("{", "[")) or line.startswith(("}", "]")) else " " + line
        if len(joined) <= inline:
            return joined
    return "\n".join(lines)


def expiry_note(expires_at: Any) -> str | None:
    """Why an `expiresAt` the runtime cannot compare with `Date.now()` never expires the entry."""
    if not truthy(expires_at) or (isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool)):
        return None
    if math.isnan(js_number(expires_at)):
        return "not a number of milliseconds: the runtime's expiry test is never true, so it never expires"
    return "not a number: the runtime compares it as one"


@dataclass(frozen=True)
class EntryView:
    entry: MemoryEntry
    value_text: str
    clipped: int  # characters of value_text left out
    written: str | None  # updatedAt
    created: str | None  # createdAt, when it differs from updatedAt
    expires: str | None
    expiry_note: str | None
    metadata_text: str | None
    run_ids: tuple[str, ...]

    @property
    def metadata_inline(self) -> bool:
        return self.metadata_text is not None and "\n" not in self.metadata_text


def _run_ids(metadata: Any) -> tuple[str, ...]:
    if not isinstance(metadata, dict):
        return ()
    found: list[str] = []
    for field in RUN_ID_FIELDS:
        value = metadata.get(field)
        try:
            run_id = check_run_id(value)
        except InvalidRunId:
            continue
        if run_id not in found:
            found.append(run_id)
    return tuple(found)


def entry_view(entry: MemoryEntry) -> EntryView:
    text = "" if entry.problem else json_text(entry.value, inline=INLINE_LIMIT)
    metadata = entry.metadata if isinstance(entry.metadata, dict) and entry.metadata else None
    return EntryView(
        entry=entry,
        value_text=clip(text, VALUE_LIMIT),
        clipped=max(0, len(text) - VALUE_LIMIT + 1),
        written=time_text(entry.updated_at),
        created=time_text(entry.created_at) if entry.created_at != entry.updated_at else None,
        expires=time_text(entry.expires_at) if truthy(entry.expires_at) else None,
        expiry_note=expiry_note(entry.expires_at),
        metadata_text=clip(json_text(metadata, inline=INLINE_LIMIT), VALUE_LIMIT) if metadata is not None else None,
        run_ids=_run_ids(entry.metadata),
    )


def size_text(size: int | None) -> str | None:
    if size is None:
        return None
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


@dataclass(frozen=True)
class LayerView:
    page: LayerPage
    entries: tuple[EntryView, ...]
    size: str | None
    modified: str | None
    shown_from: int
    shown_to: int

    @property
    def name(self) -> str:
        return self.page.layer.name


def layer_views(pages: Iterable[LayerPage]) -> list[LayerView]:
    return [LayerView(page, tuple(entry_view(entry) for entry in page.entries), size_text(page.layer.size),
                      time_text(page.layer.modified_ms), page.start + 1, page.start + len(page.entries))
            for page in pages]
