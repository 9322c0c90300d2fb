from __future__ import annotations

import json

from runtime_adapter.inspectors import validate_trace
from tests.fixtures import corpus
from tests.web.runs_support import body


def download(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return json.loads(response.content)


def test_trace_export_is_a_valid_run_trace(client, scenario):
    trace = download(client.get(f"/runs/{corpus.branch()}/export/trace.json"))
    assert trace["format"] == "agnostic-agents-run-trace" and trace["run"]["id"] == corpus.branch()
    assert validate_trace(trace)["valid"] is True


def test_trace_export_file_name_is_portable_for_replay_ids(client, scenario):
    response = client.get(f"/runs/{corpus.replay()}/export/trace.json")
    download(response)
    assert ":" not in response["Content-Disposition"].split("filename=", 1)[1]


def test_partial_export_starts_from_the_chosen_checkpoint(client, scenario):
    root = corpus.root()
    checkpoint = corpus.checkpoint_id(corpus.get_run(corpus.BRANCHES, root), "tool_completed")
    trace = download(client.get(f"/runs/{root}/export/partial.json", {"checkpoint": checkpoint}))
    assert trace["traceType"] == "partial"
    assert trace["metadata"]["checkpointId"] == checkpoint and trace["metadata"]["sourceRunId"] == root


def test_partial_export_of_an_unknown_checkpoint_is_404(client, scenario):
    response = client.get(f"/runs/{corpus.root()}/export/partial.json", {"checkpoint": "nope"})
    assert response.status_code == 404
    assert "nope" in body(response)


def test_run_bundle_holds_the_whole_family(client, scenario):
    bundle = download(client.get(f"/runs/{corpus.branch()}/export/bundle.json"))
    ids = {entry["runId"] for entry in bundle["index"]}
    family = set(corpus.family_of(corpus.BRANCHES, corpus.root()))
    assert {corpus.root(), corpus.branch(), corpus.replay(), corpus.branch_of_branch()} <= family <= ids
    assert validate_trace(bundle, allow_bundle=True)["valid"] is True


def test_list_bundle_exports_the_filtered_runs(client, scenario):
    bundle = download(client.get("/runs/export/bundle.json?status=paused"))
    assert {entry["status"] for entry in bundle["index"]} == {"paused"}
    assert bundle["metadata"]["truncated"] is False and bundle["metadata"]["matchingRuns"] == len(bundle["index"])


def test_list_bundle_is_capped_with_a_clear_message(client, scenario, settings):
    settings.CONTROLPLANE_EXPORT_MAX_RUNS = 3
    bundle = download(client.get("/runs/export/bundle.json"))
    assert len(bundle["traces"]) == 3
    assert bundle["metadata"]["truncated"] is True
    assert f"first 3 of {corpus.run_count(corpus.BRANCHES)}" in bundle["metadata"]["note"]


def test_list_bundle_rejects_invalid_filters(client, scenario):
    assert client.get("/runs/export/bundle.json?sort=nope").status_code == 400


def test_exports_of_unknown_runs_are_404(client, scenario):
    for url in ("/runs/nope/export/trace.json", "/runs/nope/export/partial.json", "/runs/nope/export/bundle.json"):
        assert client.get(url).status_code == 404


def test_exports_answer_get_only(client, scenario):
    assert client.post(f"/runs/{corpus.branch()}/export/trace.json").status_code == 405
