from __future__ import annotations

import json

import pytest

from runtime_adapter.inspectors import correlation_for_run, summarize
from tests.conftest import CONFORMANCE
from tests.fixtures import corpus
from tests.web.runs_support import json_body


def test_api_list_returns_runs_total_and_cursor(client, scenario, settings):
    total = corpus.run_count(corpus.BRANCHES)
    assert 10 < total <= 20
    settings.CONTROLPLANE_PAGE_SIZE = 10
    first = json_body(client.get("/api/runs/"))
    assert first["total"] == total and len(first["runs"]) == 10 and first["nextCursor"]
    second = json_body(client.get("/api/runs/", {"cursor": first["nextCursor"]}))
    assert len(second["runs"]) == total - 10 and second["nextCursor"] is None
    assert not {run["id"] for run in first["runs"]} & {run["id"] for run in second["runs"]}


def test_api_list_applies_the_same_filters_as_the_page(client, scenario):
    payload = json_body(client.get("/api/runs/", {"status": ["paused", "failed"], "limit": 50}))
    assert {run["status"] for run in payload["runs"]} == {"paused", "failed"}
    assert payload["total"] == len(corpus.ids_where(corpus.BRANCHES, lambda run: run["status"] in ("paused", "failed")))


def test_api_list_reports_unreadable_files(client, tmp_runs):
    payload = json_body(client.get("/api/runs/"))
    assert {error["source"] for error in payload["errors"]} == {"broken.json", "list.json"}


@pytest.mark.parametrize("query", ["cursor=bogus", "status=nope", "limit=0", "limit=100000", "sort=x"])
def test_api_list_rejects_invalid_parameters_with_a_json_reason(client, scenario, query):
    response = client.get(f"/api/runs/?{query}")
    assert response.status_code == 400
    assert json_body(response)["error"].startswith("Invalid parameter")


def test_api_run_is_the_runtime_summary(client, scenario):
    payload = json_body(client.get(f"/api/runs/{corpus.branch()}/"))
    assert payload == json.loads(json.dumps(summarize(corpus.get_run(corpus.BRANCHES, corpus.branch()))))


def test_api_run_summary_matches_the_golden_bytes(client, scenario):
    golden = json.loads((CONFORMANCE / "golden" / "s04_branch_replay.json").read_text())
    expected = next(entry["summary"] for entry in golden["summaries"] if entry["runId"] == corpus.replay())
    response = client.get(f"/api/runs/{corpus.replay()}/")
    from runtime_adapter.js import jsjson

    assert response.content.decode() == jsjson.dumps(expected)


def test_api_unknown_run_is_404_json(client, scenario):
    for suffix in ("", "tree/", "trace/", "correlation/"):
        response = client.get(f"/api/runs/nope/{suffix}")
        assert response.status_code == 404
        assert json_body(response)["error"] == 'Run "nope" not found.'


def test_api_tree_is_the_runs_subtree_or_its_roots_tree(client, scenario):
    scenario(corpus.DELEGATION)
    golden = json.loads((CONFORMANCE / "golden" / f"{corpus.DELEGATION}.json").read_text())
    subtrees = {entry["runId"]: entry["tree"] for entry in golden["subtreesByRunId"]}
    roots = {entry["rootRunId"]: entry["tree"] for entry in golden["treesByRootRunId"]}
    supervisor = corpus.supervisor()
    middle = [child for child in corpus.children_of(corpus.DELEGATION, supervisor)
              if corpus.children_of(corpus.DELEGATION, child)]
    assert middle
    for child in middle:
        assert json_body(client.get(f"/api/runs/{child}/tree/")) == subtrees[child]
        assert json_body(client.get(f"/api/runs/{child}/tree/", {"root": "1"})) == roots[supervisor]


def test_api_trace_is_an_export(client, scenario):
    payload = json_body(client.get(f"/api/runs/{corpus.branch()}/trace/"))
    assert payload["format"] == "agnostic-agents-run-trace" and payload["run"]["id"] == corpus.branch()


def test_api_correlation(client, scenario):
    payload = json_body(client.get(f"/api/runs/{corpus.branch()}/correlation/"))
    assert payload == correlation_for_run(corpus.get_run(corpus.BRANCHES, corpus.branch()))
    assert payload["traceId"] == corpus.root()


def test_api_bundle_by_root_and_by_ids(client, scenario):
    by_root = json_body(client.get("/api/bundle/", {"root": corpus.root()}))
    assert [entry["runId"] for entry in by_root["index"]] == [corpus.root()]
    by_ids = json_body(client.get("/api/bundle/", {"ids": f"{corpus.branch()},{corpus.replay()}"}))
    assert [entry["runId"] for entry in by_ids["index"]] == [corpus.branch(), corpus.replay()]


def test_api_bundle_needs_exactly_one_selector(client, scenario):
    assert client.get("/api/bundle/").status_code == 400
    assert client.get("/api/bundle/", {"root": corpus.root(), "ids": corpus.branch()}).status_code == 400
    assert client.get("/api/bundle/", {"ids": "nope"}).status_code == 404


def test_api_answers_get_only(client, scenario):
    assert client.post("/api/runs/").status_code == 405
