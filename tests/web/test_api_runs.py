from __future__ import annotations

import json

import pytest

from runtime_adapter.inspectors import correlation_for_run, summarize
from tests.conftest import CONFORMANCE
from tests.web.runs_support import BRANCH, DELEGATION, REPLAY, ROOT, json_body


def store():
    from django.conf import settings

    from runtime_adapter.stores.registry import open_store

    return open_store(settings.CONTROLPLANE_RUN_STORE)


def test_api_list_returns_runs_total_and_cursor(client, scenario, settings):
    settings.CONTROLPLANE_PAGE_SIZE = 10
    first = json_body(client.get("/api/runs/"))
    assert first["total"] == 17 and len(first["runs"]) == 10 and first["nextCursor"]
    second = json_body(client.get("/api/runs/", {"cursor": first["nextCursor"]}))
    assert len(second["runs"]) == 7 and second["nextCursor"] is None
    assert not {run["id"] for run in first["runs"]} & {run["id"] for run in second["runs"]}


def test_api_list_applies_the_same_filters_as_the_page(client, scenario):
    payload = json_body(client.get("/api/runs/", {"status": ["paused", "failed"], "limit": 50}))
    assert {run["status"] for run in payload["runs"]} == {"paused", "failed"}
    assert payload["total"] == 5


def test_api_list_reports_unreadable_files(client, tmp_runs):
    payload = json_body(client.get("/api/runs/"))
    assert {error["source"] for error in payload["errors"]} == {"broken.json", "list.json"}


@pytest.mark.parametrize("query", ["cursor=bogus", "status=nope", "limit=0", "limit=100000", "sort=x"])
def test_api_list_rejects_invalid_parameters_with_a_json_reason(client, scenario, query):
    response = client.get(f"/api/runs/?{query}")
    assert response.status_code == 400
    assert json_body(response)["error"].startswith("Invalid parameter")


def test_api_run_is_the_runtime_summary(client, scenario):
    payload = json_body(client.get(f"/api/runs/{BRANCH}/"))
    assert payload == json.loads(json.dumps(summarize(store().get_run(BRANCH))))


def test_api_run_summary_matches_the_golden_bytes(client, scenario):
    golden = json.loads((CONFORMANCE / "golden" / "s04_branch_replay.json").read_text())
    expected = next(entry["summary"] for entry in golden["summaries"] if entry["runId"] == REPLAY)
    response = client.get(f"/api/runs/{REPLAY}/")
    from runtime_adapter.js import jsjson

    assert response.content.decode() == jsjson.dumps(expected)


def test_api_unknown_run_is_404_json(client, scenario):
    for suffix in ("", "tree/", "trace/", "correlation/"):
        response = client.get(f"/api/runs/nope/{suffix}")
        assert response.status_code == 404
        assert json_body(response)["error"] == 'Run "nope" not found.'


def test_api_tree_is_the_runs_subtree_or_its_roots_tree(client, scenario):
    scenario(DELEGATION)
    golden = json.loads((CONFORMANCE / "golden" / f"{DELEGATION}.json").read_text())
    subtrees = {entry["runId"]: entry["tree"] for entry in golden["subtreesByRunId"]}
    child = "6525e120-19ac-4293-aa7f-96a78a5680be"
    assert json_body(client.get(f"/api/runs/{child}/tree/")) == subtrees[child]
    roots = {entry["rootRunId"]: entry["tree"] for entry in golden["treesByRootRunId"]}
    root_id = "c5185506-d37d-41aa-b65e-c7eb2b30f6fe"
    assert json_body(client.get(f"/api/runs/{child}/tree/", {"root": "1"})) == roots[root_id]


def test_api_trace_is_an_export(client, scenario):
    payload = json_body(client.get(f"/api/runs/{BRANCH}/trace/"))
    assert payload["format"] == "agnostic-agents-run-trace" and payload["run"]["id"] == BRANCH


def test_api_correlation(client, scenario):
    payload = json_body(client.get(f"/api/runs/{BRANCH}/correlation/"))
    assert payload == correlation_for_run(store().get_run(BRANCH))
    assert payload["traceId"] == ROOT


def test_api_bundle_by_root_and_by_ids(client, scenario):
    by_root = json_body(client.get("/api/bundle/", {"root": ROOT}))
    assert [entry["runId"] for entry in by_root["index"]] == [ROOT]
    by_ids = json_body(client.get("/api/bundle/", {"ids": f"{BRANCH},{REPLAY}"}))
    assert [entry["runId"] for entry in by_ids["index"]] == [BRANCH, REPLAY]


def test_api_bundle_needs_exactly_one_selector(client, scenario):
    assert client.get("/api/bundle/").status_code == 400
    assert client.get("/api/bundle/", {"root": ROOT, "ids": BRANCH}).status_code == 400
    assert client.get("/api/bundle/", {"ids": "nope"}).status_code == 404


def test_api_answers_get_only(client, scenario):
    assert client.post("/api/runs/").status_code == 405
