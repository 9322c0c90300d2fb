"""The one template-filter library: one-line filters over runtime_adapter.present.formatting, and the `<time>` element."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import template
from django.template.base import render_value_in_context
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from controlplane import clock
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import to_js_string
from runtime_adapter.present import formatting
from runtime_adapter.present.detail import pretty

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
def sentence(value: Any) -> Any:
    """Advice quoted from the runtime, ending with one full stop (formatting.one_full_stop)."""
    return formatting.one_full_stop(value)


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
def prettyjson(value: Any) -> str:
    return pretty(value)


@register.filter
def js_text(value: Any) -> str:
    """Strings as they are, other values the way the runtime would print them."""
    if isinstance(value, str):
        return value
    return dumps(value) if isinstance(value, (dict, list)) else to_js_string(value)


@register.filter
def timing_label(name: Any) -> str:
    """`modelMs` → `model time`."""
    text = str(name)
    return f"{text[:-2]} time" if text.endswith("Ms") and len(text) > 2 else text


def _shown(value: Any, context: template.Context) -> str:
    """`{{ value }}` in `context`: localized, then escaped (a plain string, the common case, only escaped: that is
    all Django does with one)."""
    if type(value) is str and context.autoescape:
        return escape(value)
    return str(render_value_in_context(value, context))


@register.simple_tag(takes_context=True)
def when(context: template.Context, value: Any) -> SafeString:
    """A time as a `<time>` element: relative, exact on hover; a dash without one. Built here rather than by an
    included template: a list renders fifty (this and `runid` as includes cost the runs list 1.7 of its 11 ms)."""
    if not value:
        return mark_safe('<span class="muted">—</span>\n')
    # Each ends with a newline, as the template it replaces did: pages render byte for byte as before.
    return mark_safe(f'<time datetime="{_shown(value, context)}" title="{_shown(abstime(value), context)}">'
                     f"{_shown(reltime(value), context)}</time>\n")


@register.simple_tag(takes_context=True)
def runid(context: template.Context, run_id: Any) -> SafeString:
    """A run id as the link to its page (its first characters, all of it on hover) and a copy button; built here,
    not included, for the same reason as `when`."""
    href = reverse("runs:detail", args=[run_id])
    return mark_safe(f'<span class="runid-cell"><a class="runid" href="{_shown(href, context)}"'
                     f' title="{_shown(visibleid(run_id), context)}">{_shown(shortid(run_id), context)}</a>'
                     f'<button type="button" class="copy" data-copy="{_shown(run_id, context)}" title="Copy run id"'
                     ' aria-label="Copy run id">copy</button></span>\n')


@register.inclusion_tag("_offset.html")
def since_start(value: Any, run: Any) -> dict[str, Any]:
    """A step's or event's time as an offset from the run's start (startedAt, else createdAt), exact on hover."""
    timestamps = run.get("timestamps") if isinstance(run, dict) else None
    start = (timestamps.get("startedAt") or timestamps.get("createdAt")) if isinstance(timestamps, dict) else None
    return {"value": value, "offset": formatting.offset(value, start)}


@register.simple_tag
def cluster_timeline(chart: dict[str, Any], count: Any) -> str:
    """A cluster's timeline chart (runtime_adapter.present.cluster_view.timeline_chart) as one SVG element.

    Built here rather than by a template loop over 2,400 bars a page, with its numbers as Python prints them: SVG
    wants them so whatever the locale (a template localizes them). The labels are escaped as the template escaped
    them. Rendering the clusters page of 100k runs measured the same either way (~45 ms), once measured on a
    complete index; the first measurement, 80 against 35 ms, was taken on a partial one.
    """
    bars = format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>', (
        (bar["x"], bar["y"], bar["width"], bar["height"], bar["label"]) for bar in chart["bars"]))
    width, height = chart["width"], chart["height"]
    return format_html(
        '<svg class="cluster-timeline" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="Runs over'
        ' time: {} from {} to {} in {} bars, at most {} in one bar"><line class="baseline" x1="0" y1="{}" x2="{}"'
        ' y2="{}"/>{}</svg>', width, height, count, chart["start"], chart["end"], chart["count"], chart["peak"],
        height, width, height, bars)


# Table rows a list repeats fifty times a page, built here rather than by the template's loop, where each variable
# and filter cost a few microseconds to resolve (the runs list 9.3 -> 7.7 ms warm with `_shown`'s shortcut; lists are
# a quarter of what `make load` asks for). The markup is the template's, escaped as autoescape escapes it.

@register.simple_tag(takes_context=True)
def run_row(context: template.Context, row: Any, compare_url: Any) -> SafeString:
    """One row of the runs list (runs/_list_table.html)."""
    shown = partial(_shown, context=context)
    run_id = row.id
    pick = (f'<input type="checkbox" class="pick" name="run" value="{shown(run_id)}" form="compare-pick"'
            f' aria-label="Compare run {shown(visibleid(run_id))}"> ') if compare_url else ""
    tags = ""
    if row.parent_run_id:
        tags += f' <span class="tag" title="child of {shown(visibleid(row.parent_run_id))}">child</span>'
    if row.branch_origin_run_id:
        tags += f' <span class="tag" title="branched from {shown(visibleid(row.branch_origin_run_id))}">branch</span>'
    error = f'<span class="row-error">{shown(row.error_text)}</span>' if row.error_text else ""
    errors = f' / <span class="err-count">{shown(row.error_count)}</span>' if row.error_count else ""
    return mark_safe(
        f'<tr>\n        <td class="nowrap">{pick}{runid(context, run_id)}{tags}</td>\n'
        f'        <td><span class="status status-{shown(row.status)}">{shown(statuslabel(row.status))}</span></td>\n'
        f'        <td class="clip" title="{shown(row.input_text)}">{shown(row.input_text or "—")}{error}</td>\n'
        f'        <td class="nowrap">{shown(row.release or "—")}</td>\n'
        f'        <td class="nowrap">{when(context, row.created_at)}</td>\n'
        f'        <td class="num">{shown(duration(row.duration_ms))}</td>\n'
        f'        <td class="num">{shown(tokens(row.total_tokens))}</td>\n'
        f'        <td class="num">{shown(cost(row.cost))}</td>\n'
        f'        <td class="num">{shown(row.step_count)}{errors}</td>\n      </tr>')


@register.simple_tag(takes_context=True)
def incident_row(context: template.Context, row: Any) -> SafeString:
    """One row of the incident queue (incidents/_queue_table.html)."""
    shown = partial(_shown, context=context)
    flags = ""
    if row.pending_approval and row.status != "waiting_for_approval":
        flags += ' <span class="inc-flag" title="pending approval">approval</span>'
    if row.pending_pause and row.status != "paused":
        flags += ' <span class="inc-flag" title="pending pause">pause</span>'
    href = reverse("incidents:detail", args=[row.id])
    return mark_safe(
        f'<tr>\n      <td class="runid nowrap"><a href="{shown(href)}" title="{shown(visibleid(row.id))}">'
        f'{shown(shortid(row.id))}</a><button type="button" class="copy" data-copy="{shown(row.id)}"'
        ' title="Copy run id">copy</button></td>\n'
        f'      <td class="nowrap"><span class="status status-{shown(row.status)}">{shown(statuslabel(row.status))}'
        f'</span>{flags}</td>\n'
        f'      <td class="nowrap"><span class="inc-type">{shown(statuslabel(row.incident_type))}</span><br>'
        f'<code class="inc-action-cell">{shown(row.recommended_action)}</code></td>\n'
        f'      <td class="inc-rec" title="{shown(row.top_recommendation)}"><div class="inc-clamp">'
        f'{shown(row.top_recommendation)}</div></td>\n'
        f'      <td class="nowrap">{shown(row.release or "—")}</td>\n'
        f'      <td class="nowrap" title="{shown(abstime(row.created_at))}">{shown(reltime(row.created_at))}</td>\n'
        '    </tr>')
