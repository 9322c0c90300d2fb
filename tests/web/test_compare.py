from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.fixtures import corpus
from tests.html import assert_valid_html


def steps(count: int, *, prefix: str) -> list[dict]:
    return [{"id": f"{prefix}:step:{i}", "type": "tool" if i % 2 else "model", "status": "completed",
             "payload": {"toolName": "search"} if i % 2 else {}, "output": {"n": i}, "durationMs": 5}
            for i in range(count)]


@pytest.fixture
def conformance(settings, tmp_path, corpus_store_url):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path
    settings.CONTROLPLANE_RUN_STORE = corpus_store_url(corpus.FAILURES)
    cache.clear()


@pytest.fixture
def long_runs(settings, tmp_path):
    """`base` has 60 steps; `inserted` has one extra failed step at 40 and a changed output at 50."""
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()
    runs = tmp_path / "runs"
    runs.mkdir()
    base = steps(60, prefix="base")
    inserted = steps(60, prefix="inserted")
    inserted[50]["output"] = {"n": 50, "answer": "a different answer"}
    inserted.insert(40, {"id": "inserted:step:x", "type": "tool", "status": "failed", "payload": {"toolName": "search"},
                         "output": None, "error": {"message": "search backend timed out"}})
    for record in (run_record("base", steps=base), run_record("inserted", status="failed", steps=inserted)):
        (runs / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()


def test_compare_without_parameters_shows_the_form(client, conformance):
    response = client.get("/compare/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="left"' in body and 'name="right"' in body
    assert 'id="compare-steps"' not in body
    assert_valid_html(response.content)


def test_compare_shows_both_runs_and_the_differ_summary(client, conformance):
    response = client.get("/compare/", {"left": corpus.baseline(), "right": corpus.tool_failure()})
    body = response.content.decode()
    assert response.status_code == 200
    assert corpus.baseline() in body and corpus.tool_failure() in body
    for label in ("Status", "Output", "Steps", "Events", "Tool calls", "First diverging step",
                  "First diverging event", "First diverging tool call", "Event types added", "Event types removed"):
        assert f"<dt>{label}</dt>" in body
    assert 'id="compare-steps"' in body
    assert_valid_html(response.content)


def test_swap_link_exchanges_the_sides(client, conformance):
    good, failed = corpus.baseline(), corpus.tool_failure()
    body = client.get("/compare/", {"left": good, "right": failed}).content.decode()
    assert f'href="/compare/?left={failed}&amp;right={good}" id="swap-sides"' in body


def test_unknown_run_is_a_404(client, conformance):
    response = client.get("/compare/", {"left": corpus.baseline(), "right": "ghost-run"})
    assert response.status_code == 404
    assert b"ghost-run" in response.content


BASELINE = object()  # stands for corpus.baseline(), which is not read while tests are collected


@pytest.mark.parametrize("query", [
    {"left": BASELINE}, {"right": BASELINE}, {"left": "a/b", "right": BASELINE},
    {"left": BASELINE, "right": BASELINE, "row": "-1"}, {"left": BASELINE, "right": BASELINE, "row": "x"},
])
def test_missing_or_invalid_parameters_are_a_400_showing_the_form(client, conformance, query):
    query = {key: corpus.baseline() if value is BASELINE else value for key, value in query.items()}
    response = client.get("/compare/", query)
    assert response.status_code == 400
    assert b"These parameters cannot be used" in response.content
    assert_valid_html(response.content)


def test_htmx_request_returns_only_the_steps(client, long_runs):
    response = client.get("/compare/", {"left": "base", "right": "inserted"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.startswith('<section class="panel" id="compare-steps">') and "<html" not in body
    assert "HX-Request" in response["Vary"]
    assert_valid_html(response.content)


def test_an_inserted_step_is_the_highlighted_first_divergence(client, long_runs):
    body = client.get("/compare/", {"left": "base", "right": "inserted"}).content.decode()
    first = re.search(r'<div class="align-row kind-(\w+) first-divergence" id="first-divergence"', body)
    assert first and first.group(1) == "added"
    assert body.count('id="first-divergence"') == 1
    assert "search backend timed out" in body
    assert 'href="#first-divergence"' in body


def test_later_steps_stay_aligned_after_an_insertion(client, long_runs):
    body = client.get("/compare/", {"left": "base", "right": "inserted"}).content.decode()
    assert "1 only right" in body and "0 only left" in body and "1 changed" in body


def test_identical_stretches_are_folded(client, long_runs):
    body = client.get("/compare/", {"left": "base", "right": "inserted"}).content.decode()
    assert "38 identical steps" in body
    assert '<details class="align-fold">' in body


def test_changed_output_is_shown_as_a_line_diff(client, long_runs):
    body = client.get("/compare/", {"left": "base", "right": "inserted"}).content.decode()
    diff = body.split('<pre class="align-diff">')[1].split("</pre>")[0]
    assert '<span class="dl-added">+   &quot;answer&quot;: &quot;a different answer&quot;</span>' in diff


def test_long_alignments_are_paged(client, settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()
    left = steps(450, prefix="left")
    right = [{**step, "output": {"changed": index}} for index, step in enumerate(steps(450, prefix="right"))]
    runs = tmp_path / "runs"
    runs.mkdir()
    for record in (run_record("left", steps=left), run_record("right", steps=right)):
        (runs / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    body = client.get("/compare/", {"left": "left", "right": "right"}).content.decode()
    link = re.search(r'href="\?left=left&amp;right=right&amp;row=(\d+)" hx-get="[^"]+" hx-target="#compare-steps"', body)
    assert link and 0 < int(link.group(1)) < 450
    assert body.count('class="align-row kind-changed') == int(link.group(1))
    following = client.get("/compare/", {"left": "left", "right": "right", "row": link.group(1)}).content.decode()
    assert f'data-row="{link.group(1)}"' in following and 'data-row="0"' not in following
    assert "Back to the first row" in following


def test_comparing_a_run_with_itself_shows_no_divergence(client, conformance):
    body = client.get("/compare/", {"left": corpus.baseline(), "right": corpus.baseline()}).content.decode()
    assert "Steps, events and tool calls are identical." in body
    assert 'id="first-divergence"' not in body


def test_compare_answers_only_get_and_head(client, conformance):
    assert client.post("/compare/").status_code == 405
