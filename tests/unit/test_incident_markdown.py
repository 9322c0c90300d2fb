from __future__ import annotations

import json
import re

import pytest

from runtime_adapter.inspectors import create_incident_report, plan_from_report, render_tree
from runtime_adapter.inspectors.tree import tree_lines
from runtime_adapter.present.incident_markdown import NoteLinks, incident_markdown, md_block, md_code, md_text
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.conformance import require_corpus
from tests.conftest import CONFORMANCE
from tests.factories import run_record

HOSTILE = "<script>alert(1)</script> [click](javascript:alert(1)) ![x](http://e/x.png) **bold** `code` | a\n# Heading\n> quote"
LINKS = NoteLinks(
    incident=lambda rid: f"https://cp.example/incidents/{rid}/",
    run=lambda rid: f"https://cp.example/runs/{rid}/",
    compare=lambda left, right: f"https://cp.example/compare/?left={left}&right={right}",
)


def hostile_store() -> InMemoryRunStore:
    failing = run_record(
        "inc-1", status="failed", input=HOSTILE,
        errors=[{"name": "ToolError", "message": HOSTILE, "stack": "Error\n```\n# not a heading"}],
        steps=[{"id": "step-1", "type": "tool", "status": "failed", "error": {"message": HOSTILE}}],
        checkpoints=[{"id": "cp-1", "label": "tool_failed", "status": "failed"}],
        pendingApproval={"toolName": "<b>tool</b>", "reason": HOSTILE, "arguments": {"q": "`x`"}},
    )
    return InMemoryRunStore([failing, run_record("good", input="fine")])


def note(compare: str | None = None) -> str:
    store = hostile_store()
    report = create_incident_report(store, "inc-1", compare)
    return incident_markdown(report, plan_from_report(report, compare), LINKS, compare)


def outside_code(markdown: str) -> str:
    """The note with fenced blocks and code spans removed: what a renderer interprets."""
    without_blocks = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1$", "", markdown)
    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", without_blocks)


def test_markdown_contains_the_recommendations_and_plan_steps():
    text = note()
    assert "## Recommendations" in text
    assert "Resolve the pending approval before attempting replay or resume\\." not in text
    assert "Resolve the pending approval before attempting replay or resume." in text
    assert "**resolve\\_approval**" in text and "**branch\\_from\\_failure\\_checkpoint**" in text
    assert "needs approval" in text and "has executed none of these steps" in text


def test_markdown_links_back_to_the_incident_and_run_pages():
    text = note()
    assert "https://cp.example/incidents/inc-1/" in text
    assert "(https://cp.example/runs/inc-1/)" in text


def test_markdown_with_a_comparison_links_the_comparison_run():
    text = note("good")
    assert "## Comparison" in text
    assert "[`good`](https://cp.example/incidents/good/)" in text
    assert "https://cp.example/compare/?left=good&right=inc-1" in text


def test_hostile_run_text_cannot_inject_html_links_images_or_headings():
    text = note()
    interpreted = outside_code(text)
    assert "<script" not in text
    assert "<b>" not in interpreted
    assert not re.search(r"(?<!\\)\]\(javascript", interpreted) and "![" not in interpreted
    assert "**bold**" not in interpreted
    headings = [line for line in interpreted.splitlines() if line.startswith("#")]
    assert all(line.startswith(("# Incident", "## ")) for line in headings)
    assert not any(line.lstrip().startswith(">") for line in interpreted.splitlines())


def test_md_text_is_one_escaped_line():
    assert md_text("a\nb\u2028c") == "a b c"
    assert md_text("<i>&") == "&lt;i&gt;&amp;"
    assert md_text("# x") == "\\# x" and md_text("1. x") == "1\\. x"
    assert md_text("[a](b)") == "\\[a\\](b)"


def test_code_spans_and_blocks_cannot_be_closed_by_their_content():
    assert md_code("a``b") == "```a``b```"
    assert md_code("`x") == "`` `x ``"
    block = md_block("```\nrm -rf /\n```")
    assert block.startswith("````\n") and block.endswith("\n````")


def test_links_with_parentheses_stay_one_link():
    links = NoteLinks(incident=lambda rid: f"https://cp/i/{rid}/", run=lambda rid: f"https://cp/r/{rid}/")
    store = InMemoryRunStore([run_record("a(b)c", status="failed", errors=[{"message": "x"}])])
    report = create_incident_report(store, "a(b)c")
    text = incident_markdown(report, plan_from_report(report), links)
    assert "https://cp/r/a%28b%29c/" in text and "https://cp/r/a(b)c/" not in text


@pytest.mark.parametrize("scenario", ["s05_delegation_tree", "s10_edge_cases", "s04_branch_replay"])
def test_tree_lines_reproduce_the_rendered_tree(scenario):
    path = CONFORMANCE / "golden" / f"{scenario}.json"
    require_corpus(path)
    golden = json.loads(path.read_text())
    for entry in golden["reports"]:
        report = entry["report"]
        lines = tree_lines(report["runTree"])
        rebuilt = "\n".join(
            f"{line.prefix}{line.run_id} [{line.status}]{' (lineage cycle)' if line.cycle else ''}" for line in lines
        )
        assert rebuilt == (report["renderedRunTree"] or "")
        if report["runTree"]:
            assert rebuilt == render_tree(report["runTree"])
