"""One-line template filters over runtime_adapter.formatting, and the `<time>` element."""

from __future__ import annotations

from typing import Any

from django import template

from controlplane import clock
from runtime_adapter import formatting
from runtime_adapter.detail import pretty

register = template.Library()


@register.filter
def reltime(value: Any) -> str:
    return formatting.relative_time(value, clock.now())


@register.filter
def abstime(value: Any) -> str:
    return formatting.absolute_time(value)


@register.filter
def duration(value: Any) -> str:
    return formatting.duration(value)


@register.filter
def tokens(value: Any) -> str:
    return formatting.token_count(value)


@register.filter
def cost(value: Any) -> str:
    return formatting.cost(value)


@register.filter
def statuslabel(value: Any) -> str:
    return formatting.status_label(value)


@register.filter
def shortid(value: Any) -> str:
    return formatting.short_id(value)


@register.filter
def visibleid(value: Any) -> str:
    return formatting.visible_id(value)


@register.filter
def timings_total(value: Any) -> float:
    return formatting.total_ms(value)


@register.filter
def pct(value: Any, whole: Any) -> float:
    return formatting.percent(value, whole)


@register.filter
def prettyjson(value: Any) -> str:
    return pretty(value)


@register.inclusion_tag("runs/_time.html")
def when(value: Any) -> dict[str, Any]:
    return {"value": value}
