"""What the pages say agrees with what they show (issue 12, item 5): counts, numbering, empty states, wording."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.core.cache import cache

from runtime_adapter.present.formatting import short_id
from tests.factories import run_record
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import write_store


def visible(response) -> str:
    """The page's text as a reader sees it: no tags, scripts or attributes, whitespace collapsed."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


@pytest.fixture
def store(runs_settings, tmp_path):
    """A run store written from the records a test gives."""

    def use(records: list[dict], corrupt: dict[str, bytes] | None = None) -> None:
        runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records, corrupt)
        cache.clear()

    return use


def lineage(run: dict) -> dict:
    return run["metadata"].get("lineage") or {}


# "Aggregated metrics: this run and its descendants"


def test_incident_metrics_of_a_child_without_children_count_that_run_only(client, scenario):
    scenario(corpus.DELEGATION)
    family_of = {run["id"]: lineage(run).get("rootRunId") for run in corpus.runs(corpus.DELEGATION)}
    leaf = next(run["id"] for run in corpus.runs(corpus.DELEGATION)
                if lineage(run).get("parentRunId") and not any(
                    lineage(other).get("parentRunId") == run["id"] for other in corpus.runs(corpus.DELEGATION)))
    family = sum(1 for root in family_of.values() if root == family_of[leaf])
    assert family > 1
    text = visible(client.get(f"/incidents/{leaf}/"))
    metrics = between(text, "Aggregated metrics", "Run tree")
    assert "this run and its descendants" in metrics
    assert metrics.split("descendants", 1)[1].strip().startswith("1 run ")


def test_incident_metrics_of_a_parent_count_it_and_its_descendants_only(client, tmp_runs):
    # child-1 has one child (grandchild); its root has four runs under parent links, and more in the family.
    metrics = between(visible(client.get("/incidents/child-1/")), "Aggregated metrics", "Run tree")
    assert "2 runs" in metrics


def test_incident_metrics_of_a_branch_outside_the_parent_tree_count_the_branch(client, tmp_runs):
    # branch-1 shares root-1's family but has no parent, so the root's tree does not hold it.
    metrics = between(visible(client.get("/incidents/branch-1/")), "Aggregated metrics", "Run tree")
    assert "1 run " in metrics and "Not available" not in metrics


# A plan that branches "from the failure checkpoint" of a run that has none


def test_a_plan_branching_from_a_failure_checkpoint_says_the_run_has_none(client, store):
    store([run_record("no-checkpoint", status="failed", errors=[{"name": "ToolError", "message": "lookup exploded"}],
                      steps=[{"id": "no-checkpoint:step:1", "type": "tool", "status": "failed",
                              "error": {"message": "lookup exploded"}}])])
    response = client.get("/incidents/no-checkpoint/")
    text = visible(response)
    assert "This run has no checkpoint" in text
    plan = between(text, "Recovery plan", "Recommendations")
    assert "branch_from_failure_checkpoint" in plan
    assert "this run recorded no checkpoint" in plan.lower()
    assert_valid_html(response.content)


def test_a_plan_with_a_checkpoint_does_not_say_it_is_missing(client, tmp_runs):
    text = visible(client.get("/incidents/root-1/"))
    assert "recorded no checkpoint" not in text


# Steps, events and tool calls are numbered from 1, as on the run page


@pytest.fixture
def diverging(store):
    left = [{"id": f"left:step:{i}", "type": "model", "status": "completed", "output": f"left {i}"} for i in (1, 2)]
    right = [{"id": f"right:step:{i}", "type": "model", "status": "completed", "output": f"right {i}"} for i in (1, 2)]
    events = [{"id": "e1", "type": "run_started"}, {"id": "e2", "type": "run_completed"}]
    more = [{"id": "e1", "type": "run_started"},
            *({"id": f"m{i}", "type": kind} for i in range(5) for kind in ("model_request", "model_response")),
            {"id": "e9", "type": "run_failed"}]
    store([run_record("left", steps=left, events=events),
           run_record("right", status="failed", steps=right, events=more, created="2026-01-01T00:00:05.000Z")])


def test_compare_numbers_the_first_diverging_step_from_one(client, diverging):
    response = client.get("/compare/", {"left": "left", "right": "right"})
    text = visible(response)
    assert "First diverging step #1 " in text and "#0" not in text
    summary = between(text, "First diverging step", "Event types added")
    assert summary.strip().startswith("#1 ")
    assert_valid_html(response.content)


def test_compare_aligned_rows_are_numbered_from_one(client, diverging):
    body = client.get("/compare/", {"left": "left", "right": "right"}).content.decode()
    numbers = re.findall(r'<span class="align-n">(\d*)</span>', body)
    assert numbers and min(int(n) for n in numbers if n) == 1


def test_compare_folds_name_their_steps_from_one(client, store):
    steps = [{"id": f"s:step:{i}", "type": "model", "status": "completed", "output": i} for i in range(1, 11)]
    store([run_record("a", steps=steps), run_record("b", steps=steps)])
    text = visible(client.get("/compare/", {"left": "a", "right": "b"}))
    assert "10 identical steps (left #1–10, right #1–10)" in text


# Event types added and removed: each type once with its count; a failure is never shown as good


def test_compare_lists_each_added_event_type_once_with_its_count(client, diverging):
    text = visible(client.get("/compare/", {"left": "left", "right": "right"}))
    added = between(text, "Event types added", "Event types removed")
    assert added.count("model_request") == 1 and added.count("model_response") == 1
    assert "model_request ×5" in added and "model_response ×5" in added
    assert "run_failed ×1" in added


def test_an_added_failure_event_type_is_not_styled_as_good(client, diverging):
    body = client.get("/compare/", {"left": "left", "right": "right"}).content.decode()
    added = between(body, "<dt>Event types added</dt>", "</dd>")
    failed = re.search(r'<code class="([^"]*)">run_failed', added)
    assert failed, added
    assert "inc-added" not in failed.group(1) and "inc-same" not in failed.group(1)


def test_the_markdown_note_numbers_and_counts_like_the_page(client, diverging):
    text = client.get("/incidents/right/report.md", {"compare": "left"}).content.decode()
    assert "First diverging step / event / tool call: #1 / #2 / none" in text
    assert "`model_request` ×5" in text and text.count("model_request") == 1


def test_the_incident_comparison_counts_event_types_too(client, diverging):
    text = visible(client.get("/incidents/right/", {"compare": "left"}))
    assert "model_request ×5" in text
    assert between(text, "First diverging step", "First diverging event").strip().startswith("#1")


# The run list past its last page, and an empty result


def test_a_page_past_the_end_says_so_and_links_the_last_page(client, tmp_runs, runs_settings):
    runs_settings.CONTROLPLANE_PAGE_SIZE = 3
    response = client.get("/runs/", {"page": 999})
    text = visible(response)
    runs = len(tmp_runs)
    last = -(-runs // 3)
    assert f"{runs} runs" in text
    assert "No runs in this store" not in text
    assert "past the end" in text
    assert f'href="/runs/?page={last}"' in response.content.decode()
    assert_valid_html(response.content)


def test_a_filtered_page_past_the_end_keeps_the_filters_in_the_last_page_link(client, tmp_runs, runs_settings):
    runs_settings.CONTROLPLANE_PAGE_SIZE = 1
    response = client.get("/runs/", {"status": "failed", "page": 50})
    text = visible(response)
    assert "No run matches these filters" not in text and "past the end" in text
    assert 'href="/runs/?status=failed&amp;page=2"' in response.content.decode()


def test_an_incident_queue_page_past_the_end_says_so_and_links_the_last_page(client, tmp_runs, runs_settings):
    runs_settings.CONTROLPLANE_PAGE_SIZE = 1
    response = client.get("/incidents/", {"page": 999})
    text = visible(response)
    last = int(re.search(r"(\d+) incidents", text).group(1))
    assert "needs attention" not in between(text, "Top recommendation", "page 999") and "past the end" in text
    assert f'href="?page={last}"' in response.content.decode()
    assert_valid_html(response.content)


def test_an_empty_result_offers_no_export(client, tmp_runs):
    text = visible(client.get("/runs/", {"q": "no run holds this text"}))
    assert "0 runs match these filters" in text
    assert "Export" not in text and "trace bundle" not in text


def test_a_result_still_offers_its_export(client, tmp_runs):
    assert "as a trace bundle" in visible(client.get("/runs/"))


# "Invalid control character at at line 1"


def test_an_invalid_json_file_reads_at_line_once(client, store):
    store([run_record("fine")], corrupt={"control.json": b'{"id": "control", "input": "a\x01b"}'})
    text = visible(client.get("/runs/"))
    assert "Invalid control character" in text
    assert "at at" not in text


# "limit.." : the runtime ends its advice with a full stop after a message that has one


@pytest.fixture
def stopped(store):
    store([run_record("stopped", status="failed",
                      errors=[{"name": "BudgetError", "message": "Token budget is over the limit."}])])


def test_incident_advice_ends_with_one_full_stop(client, stopped):
    text = visible(client.get("/incidents/stopped/"))
    assert "Inspect the last error: Token budget is over the limit." in text
    assert "limit.." not in text


def test_incident_markdown_advice_ends_with_one_full_stop(client, stopped):
    text = client.get("/incidents/stopped/report.md").content.decode()
    assert "over the limit." in text and "limit.." not in text


@pytest.mark.parametrize("url", ["/incidents/", "/runs/stopped/", "/"])
def test_pages_quoting_the_top_advice_end_it_with_one_full_stop(client, stopped, url):
    text = visible(client.get(url))
    assert "over the limit." in text and "limit.." not in text


def test_the_cluster_page_quoting_the_advice_ends_it_with_one_full_stop(client, stopped):
    cluster = json.loads(client.get("/api/clusters/").content)["clusters"][0]["id"]
    text = visible(client.get(f"/incidents/clusters/{cluster}/"))
    assert "over the limit." in text and "limit.." not in text


def test_an_ellipsis_at_the_end_of_the_advice_is_kept(client, store):
    store([run_record("cut", status="failed", errors=[{"name": "Error", "message": "The upstream said..."}])])
    assert "Inspect the last error: The upstream said...." in visible(client.get("/incidents/cut/"))


# Breadcrumbs end with the page they are on, never with a bare "/"


def crumbs(response) -> str:
    body = response.content.decode()
    return visible_text(between(body, 'class="inc-crumbs">', "</p>"))


def visible_text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_the_incident_breadcrumb_names_the_run(client, tmp_runs):
    assert crumbs(client.get("/incidents/child-1/")) == f"Incidents / {short_id('child-1')}"


def test_the_clusters_breadcrumbs_end_with_the_page_they_are_on(client, scenario):
    scenario(corpus.FAILURES)
    response = client.get("/incidents/clusters/")
    assert crumbs(response) == "Incidents / Failure clusters"
    cluster_id = re.search(r'href="/incidents/clusters/([0-9a-f]+)/', response.content.decode()).group(1)
    assert crumbs(client.get(f"/incidents/clusters/{cluster_id}/")) == f"Incidents / Failure clusters / {cluster_id}"
