"""The run detail tabs: which slice of the run each one shows."""

from __future__ import annotations

from typing import Any

from runtime_adapter.js.jsvalues import js_or
from runtime_adapter.present import detail
from runtime_adapter.present.timeline import step_timeline
from runtime_adapter.records import Run

TABS = [
    ("steps", "Steps", "steps"),
    ("events", "Events", "events"),
    ("tools", "Tool calls", "toolCalls"),
    ("checkpoints", "Checkpoints", "checkpoints"),
    ("messages", "Messages", "messages"),
    ("errors", "Errors", "errors"),
    ("raw", "Raw JSON", None),
]
TAB_NAMES = tuple(name for name, _, _ in TABS)
RAW_LIMIT = 1_000_000  # characters of raw JSON shown inline; the download has everything
PAGE_SIZES = {"steps": 100, "events": 200, "tools": 100, "checkpoints": 50, "messages": 100, "errors": 100}


def tab_links(run: Run) -> list[dict[str, Any]]:
    return [{"name": name, "title": title, "count": len(run[key]) if key else None} for name, title, key in TABS]


def tab_context(run: Run, tab: str, offset: int = 0, event_type: str | None = None) -> dict[str, Any]:
    """Context for one tab: its slice of items (and its load-more offset)."""
    context: dict[str, Any] = {"tab": tab, "event_type": event_type or ""}
    if tab == "raw":
        raw = detail.pretty(run)
        context["raw_size"] = len(raw)
        context["raw"] = raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT]
        context["raw_truncated"] = len(raw) > RAW_LIMIT
        return context
    size = PAGE_SIZES[tab]
    if tab == "steps":
        items: list[Any] = run["steps"]
    elif tab == "events":
        items = detail.filter_events(run, event_type)
        context["event_types"] = detail.event_types(run)
    elif tab == "tools":
        items = detail.pair_tool_calls(run)
        context["unmatched_results"] = detail.unmatched_results(run, items)
    elif tab == "checkpoints":
        items = detail.checkpoint_views(run)
    elif tab == "messages":
        items = run["messages"]
    else:
        items = run["errors"]
    page = detail.page_slice(items, offset, size)
    context["slice"] = page
    if tab == "steps":
        timestamps = run["timestamps"]
        timeline = step_timeline(
            [item for _, item in page.items],
            js_or(timestamps.get("startedAt"), timestamps.get("createdAt"), None),
            js_or(timestamps.get("completedAt"), timestamps.get("failedAt"), timestamps.get("cancelledAt"),
                  timestamps.get("updatedAt"), None),
            first_index=page.offset,
        )
        context["timeline"] = timeline
        context["rows"] = list(zip(page.items, timeline.bars, strict=True))
    else:
        context["rows"] = page.items
    return context
