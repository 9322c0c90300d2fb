"""An incident report and its recovery plan as a Markdown note for a chat channel or ticket.

Every value that comes from a run is untrusted: it is escaped for Markdown and HTML
(inline), put in a code span or a fenced block whose fence is longer than any backtick
run inside, so run text can never add a heading, a link, an image or raw HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime_adapter.inspectors.tree import tree_lines
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import js_or, prop, to_js_string, truthy
from runtime_adapter.present.formatting import clip, escaped_char, one_full_stop, visible_id
from runtime_adapter.present.incident_view import RunFacts, event_type_changes, failed_steps, step_note

TREE_LINE_LIMIT = 200
INLINE_LIMIT = 300
BLOCK_LIMIT = 4000

# CommonMark lets any ASCII punctuation be backslash-escaped; these can open inline markup
# anywhere in a line (emphasis, code, links, images, tables, strikethrough). <, > and &
# become entities so no renderer sees raw HTML.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]!|~])")
# At the start of a list item, these would open a heading, quote, nested list or thematic break.
# (">" needs nothing: it becomes an entity, which cannot open a quote.)
_BLOCK_START = re.compile(r"^(\d*)([#+\-=.)])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\u0085\x0b\x0c]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Direction controls reorder the text around them in whatever renders the note: shown as escapes instead.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(text: str) -> str:
    return _BIDI.sub(lambda match: escaped_char(match.group()), text)


def as_text(value: Any) -> str:
    """A run value as one string: strings as they are, everything else as JSON."""
    if value is None:
        return "null"
    return value if isinstance(value, str) else dumps(value)


def md_text(value: Any, limit: int = INLINE_LIMIT) -> str:
    """Inline run text: one line, no markup, no HTML."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dumps(value)
    text = _shown(_CONTROL.sub("", _LINE_BREAKS.sub(" ", as_text(value)))).strip()
    text = clip(text, limit)
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    text = _BLOCK_START.sub(r"\1\\\2", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_code(value: Any, limit: int = INLINE_LIMIT) -> str:
    """A code span that no backtick inside can close early."""
    text = clip(_shown(_CONTROL.sub("", _LINE_BREAKS.sub(" ", as_text(value)))), limit)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_id(value: Any) -> str:
    """An id in a code span, invisible and direction characters shown as escapes (formatting.visible_id)."""
    return md_code(visible_id(value) if isinstance(value, str) else value)


def md_block(value: Any, language: str = "", limit: int = BLOCK_LIMIT) -> str:
    """A fenced block; the fence is longer than any backtick run in the text."""
    text = _CONTROL.sub("", as_text(value).replace("\r\n", "\n"))
    text = clip(text, limit)
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def md_url(url: str) -> str:
    """Our own absolute URL inside `(...)`: characters that would end the link are encoded."""
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), ("`", "%60")):
        url = url.replace(char, code)
    return url


def md_link(run_id: Any, url: str) -> str:
    return f"[{md_id(run_id)}]({md_url(url)})"


@dataclass(frozen=True)
class NoteLinks:
    """Absolute URLs the note links to; built by the web layer."""

    incident: Callable[[str], str]
    run: Callable[[str], str]
    compare: Callable[[str, str], str] | None = None
    step: Callable[[str, int], str] | None = None  # (run id, step number from 1): the step's row on the run page


def _yes(value: Any) -> str:
    return "yes" if truthy(value) else "no"


def _metrics_lines(metrics: Any) -> list[str]:
    if not isinstance(metrics, dict):
        return ["- not available (the run's root is not in this store)"]
    usage = prop(metrics, "tokenUsage")
    lines = [
        f"- Runs in tree: {md_text(prop(metrics, 'runCount'))}",
        f"- Tokens: {md_text(prop(usage, 'total'))} total "
        f"({md_text(prop(usage, 'prompt'))} prompt, {md_text(prop(usage, 'completion'))} completion)",
        f"- Cost: {md_text(prop(metrics, 'cost'))}",
    ]
    timings = prop(metrics, "timings")
    if isinstance(timings, dict) and timings:
        lines.append("- Timings (ms): " + ", ".join(f"{md_text(k)} {md_text(v)}" for k, v in timings.items()))
    return lines


def _comparison_lines(report: dict[str, Any], compare_to: str | None, links: NoteLinks) -> list[str]:
    diff = report.get("comparison")
    if not isinstance(diff, dict) or not compare_to:
        return []
    target = md_link(compare_to, links.incident(compare_to))
    lines = ["", "## Comparison", "", f"Compared with {target} (how this run differs from it)."]
    if links.compare:
        lines.append(f"Side by side: [compare]({md_url(links.compare(compare_to, report['runId']))})")
    lines += [
        "",
        f"- Status changed: {_yes(diff.get('statusChanged'))}; output changed: {_yes(diff.get('outputChanged'))}",
        f"- Steps Δ {md_text(diff.get('stepCountDelta'))}, events Δ {md_text(diff.get('eventCountDelta'))}, "
        f"tool calls Δ {md_text(diff.get('toolCallCountDelta'))}",
        "- First diverging step / event / tool call: " + " / ".join(_numbered(diff.get(key)) for key in (
            "firstDivergingStepIndex", "firstDivergingEventIndex", "firstDivergingToolCallIndex")),
    ]
    changes = event_type_changes(diff) or {}
    for key, label in (("added", "Event types added"), ("removed", "Event types removed")):
        if types := changes.get(key):
            lines.append(f"- {label}: " + ", ".join(f"{md_code(t.name)} ×{t.count}" for t in types[:30])
                         + (" …" if len(types) > 30 else ""))
    return lines


def _numbered(index: Any) -> str:
    """TraceDiffer's 0-based index as pages number steps and events (from 1); -1 is "none"."""
    if isinstance(index, int) and not isinstance(index, bool):
        return f"#{index + 1}" if index >= 0 else "none"
    return md_text(index)


def _tree_lines(report: dict[str, Any], links: NoteLinks) -> list[str]:
    lines = tree_lines(report.get("runTree"))
    if not lines:
        return []
    out = ["", "## Run tree", ""]
    for line in lines[:TREE_LINE_LIMIT]:
        indent = "  " * (len(line.prefix) // 3)
        here = " ← this run" if line.run_id == report["runId"] else ""
        cycle = " (lineage cycle)" if line.cycle else ""
        out.append(f"{indent}- {md_link(line.run_id, links.run(line.run_id))} {md_text(line.status)}{cycle}{here}")
    if len(lines) > TREE_LINE_LIMIT:
        out.append(f"- … {len(lines) - TREE_LINE_LIMIT} more runs")
    return out


def incident_markdown(report: dict[str, Any], plan: dict[str, Any], links: NoteLinks,
                      compare_to: str | None = None, facts: RunFacts | None = None) -> str:
    run_id = to_js_string(report["runId"])
    lines = [
        f"# Incident {md_id(run_id)}: {md_text(report['status'])}",
        "",
        f"- Incident type: **{md_text(plan['incidentType'])}**",
        f"- Recommended action: **{md_text(plan['recommendedAction'])}**",
        f"- Incident page: {md_url(links.incident(run_id))}",
        f"- Run: {md_url(links.run(run_id))}",
    ]
    if facts is not None:
        lines.append(f"- Created: {md_code(facts.created_at) if facts.created_at else 'unknown'}")
        lines.append(f"- Release: {md_code(facts.release) if facts.release else 'none'}")
    summary = report.get("summary") or {}
    if truthy(prop(summary, "input")):
        lines.append(f"- Input: {md_text(prop(summary, 'input'))}")
    failure = report.get("failure")
    if truthy(failure):
        lines += ["", "## Failure", ""]
        lines.append(f"- {md_text(js_or(prop(failure, 'name'), 'Error'))}: "
                     f"{md_text(js_or(prop(failure, 'message'), ''))}")
        if isinstance(failure, dict) and failure.get("stack"):
            lines += ["", md_block(failure["stack"])]
    failed = failed_steps(report)
    if failed:
        lines += ["", "## Failed steps", ""]
        for item in failed:
            step = item.step
            error = prop(step, "error")
            message = js_or(prop(error, "message"), prop(error, "name"), "")
            where = (f"[step {item.number}]({md_url(links.step(run_id, item.number))}) "
                     if links.step and item.number is not None else "")
            lines.append(f"- {where}{md_id(js_or(prop(step, 'id'), '?'))} ({md_text(js_or(prop(step, 'type'), 'step'))})"
                         + (f": {md_text(message)}" if truthy(message) else ""))
    checkpoint = report.get("lastCheckpoint")
    if truthy(checkpoint):
        lines += ["", "## Last checkpoint", ""]
        lines.append(f"- {md_id(js_or(prop(checkpoint, 'id'), '?'))} {md_text(js_or(prop(checkpoint, 'label'), ''))}"
                     f" ({md_text(js_or(prop(checkpoint, 'status'), ''))}) {md_text(js_or(prop(checkpoint, 'timestamp'), ''))}")
    approval = report.get("pendingApproval")
    if truthy(approval):
        lines += ["", "## Pending approval", ""]
        lines.append(f"- Tool {md_code(js_or(prop(approval, 'toolName'), '?'))}: "
                     f"{md_text(js_or(prop(approval, 'reason'), 'approval required'))}")
        arguments = prop(approval, "arguments")
        if truthy(arguments):
            lines.append(f"- Arguments: {md_code(arguments)}")
    pause = report.get("pendingPause")
    if truthy(pause):
        lines += ["", "## Pending pause", ""]
        lines.append(f"- Stage {md_code(js_or(prop(pause, 'stage'), '?'))}: {md_text(js_or(prop(pause, 'reason'), ''))}")
    lines += ["", "## Aggregated metrics", "", *_metrics_lines(report.get("aggregatedMetrics"))]
    lines += _comparison_lines(report, compare_to, links)
    lines += _tree_lines(report, links)
    lines += ["", "## Recommendations", ""]
    lines += [f"{index}. {md_text(one_full_stop(text), 1000)}"
              for index, text in enumerate(report.get("recommendations") or [], 1)]
    lines += ["", "## Recovery plan (advisory)", "",
              "The control plane is read-only: it has executed none of these steps.", ""]
    steps = plan.get("steps") or []
    if not steps:
        lines.append("No recovery steps: inspect the report.")
    for index, step in enumerate(steps, 1):
        approval_text = "needs approval" if step.get("requiresApproval") is True else "no approval needed"
        lines.append(f"{index}. **{md_text(step.get('action'))}** ({md_text(step.get('priority'))} priority, "
                     f"{approval_text}): {md_text(step.get('reason'), 1000)}")
        if truthy(step.get("payload")):
            lines.append(f"   Payload: {md_code(step['payload'], 1000)}")
        if note := step_note(step):
            lines.append(f"   {note}")
    return "\n".join(lines) + "\n"
