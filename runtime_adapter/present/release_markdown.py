"""A release comparison as a Markdown summary for release notes or an incident channel.

Release labels, inputs, tool names and message templates come from runs: they are
escaped exactly as the incident note escapes run text (incident_markdown's md_text,
md_code and md_id), so none can add a heading, a link, an image or raw HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runtime_adapter.present.incident_markdown import md_code, md_id, md_text, md_url
from runtime_adapter.present.release_view import (
    StepRow,
    comparison_view,
    interval_text,
)
from runtime_adapter.queries.fleet import Pair, ReleaseComparison, failure_rate_interval
from runtime_adapter.rows import Cluster

LISTED = 10  # clusters and pairs listed per section


@dataclass(frozen=True)
class ReleaseLinks:
    """Absolute URLs (or relative ones, without a configured origin); built by the web layer."""

    comparison: str
    releases: str
    runs_of: Callable[[str], str]  # the run list filtered by a release
    cluster: Callable[[str], str]
    pair: Callable[[str, str], str]  # the aligned comparison of two runs


def _link(text: str, url: str) -> str:
    return f"[{text}]({md_url(url)})"


def _cluster_line(cluster: Cluster, links: ReleaseLinks, note: str = "") -> str:
    what = ", ".join(part for part in (
        md_text(cluster.incident_type.replace("_", " ")) if cluster.incident_type else "",
        f"tool {md_code(cluster.tool_name)}" if cluster.tool_name else "",
        f"error {md_code(cluster.error_name)}" if cluster.error_name else "",
    ) if part)
    template = md_text(cluster.message_template) if cluster.message_template else "(no message)"
    runs = f"{cluster.count} run{'s' if cluster.count != 1 else ''}"
    return (f"- {_link(template, links.cluster(cluster.id))}: {runs}{note}"
            + (f" ({what})" if what else ""))


def _cluster_section(title: str, clusters: list[Cluster], links: ReleaseLinks) -> list[str]:
    if not clusters:
        return [f"**{title}:** none"]
    lines = [f"**{title}:**", ""]
    lines += [_cluster_line(cluster, links) for cluster in clusters[:LISTED]]
    if len(clusters) > LISTED:
        lines.append(f"- … {len(clusters) - LISTED} more")
    return lines


def _pair_line(pair: Pair, links: ReleaseLinks, detail: str) -> str:
    text = md_text(pair.input_text, 120) if pair.input_text else md_id(pair.input_key)
    return f"- {text}: {detail} ({_link('compare', links.pair(pair.base_run_id, pair.head_run_id))})"


def _step_table(name: str, rows: list[StepRow]) -> list[str]:
    if not rows:
        return []
    lines = [f"| {name} | calls per run | error rate | p50 latency |", "| --- | --- | --- | --- |"]
    for row in rows[:LISTED * 2]:
        # A pipe splits a table cell even inside a code span (GFM), unless escaped.
        lines.append(f"| {md_code(row.name).replace('|', chr(92) + '|')} | {row.base_calls} → {row.head_calls} ({row.calls_delta}) "
                     f"| {row.base_errors} → {row.head_errors} ({row.errors_delta}) "
                     f"| {row.base_p50} → {row.head_p50} ({row.p50_delta}) |")
    return lines


def release_markdown(comparison: ReleaseComparison, links: ReleaseLinks, scope: str = "") -> str:
    """`scope` says which runs were compared (the list filters, as text), when any filter applies."""
    base, head = comparison.base, comparison.head
    view = comparison_view(comparison)
    base_name, head_name = md_code(base.release), md_code(head.release)
    lines = [
        f"# Release {head_name} compared with {base_name}",
        "",
        f"- Comparison: {md_url(links.comparison)}",
        f"- Runs: {base.runs} in {base_name} ({_link('list', links.runs_of(base.release))}), "
        f"{head.runs} in {head_name} ({_link('list', links.runs_of(head.release))})",
    ]
    if scope:
        lines.append(f"- Scope: {md_text(scope)}")
    failed = view.outcomes[0]
    lines += [
        f"- Failure rate: {failed.base_rate} (95% CI {interval_text(failure_rate_interval(base))}) → "
        f"{failed.head_rate} (95% CI {interval_text(failure_rate_interval(head))}), {view.failure_delta}",
        f"- {view.significance}",
    ]
    for outcome in view.outcomes[1:]:
        lines.append(f"- {outcome.label}: {outcome.base_rate} → {outcome.head_rate} ({outcome.delta})")
    for panel in view.measures:
        cells = ", ".join(f"{row.label} {row.base} → {row.head} ({row.delta})" for row in panel.percentiles)
        lines.append(f"- {panel.measure.title}: {cells}")
    lines += ["", "## Failure clusters", ""]
    lines += _cluster_section(f"New in {head_name}", comparison.new_clusters, links)
    lines += [""] + _cluster_section(f"Resolved in {head_name}", comparison.resolved_clusters, links)
    lines += [""] + _cluster_section("Grown (significantly higher share of runs)", comparison.grown_clusters, links)
    lines += ["", "## Paired runs (same input in both releases)", "",
              f"{comparison.matched_pairs} input{'s' if comparison.matched_pairs != 1 else ''} ran in both releases; "
              f"{len(comparison.outcome_changed)} changed outcome."]
    if comparison.outcome_changed:
        lines.append("")
        lines += [_pair_line(pair, links, f"{md_text(pair.base_status)} → {md_text(pair.head_status)}")
                  for pair in comparison.outcome_changed[:LISTED]]
        if len(comparison.outcome_changed) > LISTED:
            lines.append(f"- … {len(comparison.outcome_changed) - LISTED} more")
    tables = [_step_table("Tool", view.tools), _step_table("Step type", view.step_types)]
    if any(tables):
        lines += ["", f"## Tools and step types ({base_name} → {head_name})"]
        for table in tables:
            if table:
                lines += ["", *table]
    lines += ["", f"All releases: {md_url(links.releases)}"]
    return "\n".join(lines) + "\n"

