"""/api/runs/<id>/otlp.json and /api/otlp/?root=<id>: runs as OTLP/JSON, redacted like every other surface."""

from __future__ import annotations

import json

import pytest

from runtime_adapter.present.otlp import STATUS_ERROR, run_span_id, trace_id_of
from tests.factories import run_record
from tests.fixtures import corpus
from tests.unit.test_otlp import as_proto, attrs, run_span, spans_of
from tests.web.runs_support import write_store

SECRET = "sk-live-9aQ3xT7mB2vK8pL4nR6wZ1cY"


def otlp(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    payload = json.loads(response.content)
    as_proto(payload)
    return payload


@pytest.fixture
def delegation(scenario):
    scenario(corpus.DELEGATION)


def test_a_runs_otlp_export_is_its_span_and_its_steps(client, delegation):
    run = corpus.get_run(corpus.DELEGATION, corpus.supervisor())
    payload = otlp(client.get(f"/api/runs/{run['id']}/otlp.json"))
    span = run_span(payload, run["id"])
    assert attrs(span)["agnostic_agents.run.id"] == run["id"] and span["traceId"] == trace_id_of(run)
    assert len(spans_of(payload)) == 1 + len(run["steps"])
    assert {item["parentSpanId"] for item in spans_of(payload) if item is not span} == {span["spanId"]}


def test_the_family_export_holds_every_run_under_the_root(client, delegation):
    root = corpus.supervisor()
    payload = otlp(client.get("/api/otlp/", {"root": root}))
    exported = {attrs(span)["agnostic_agents.run.id"] for span in spans_of(payload)}
    assert exported == set(corpus.family_of(corpus.DELEGATION, root))
    assert [span["spanId"] for span in spans_of(payload) if "parentSpanId" not in span] == [run_span_id(root)]


def test_a_child_exported_alone_keeps_its_place_under_its_parent(client, delegation):
    child = corpus.failed_delegate()
    alone = run_span(otlp(client.get(f"/api/runs/{child}/otlp.json")), child)
    root = corpus.lineage(corpus.get_run(corpus.DELEGATION, child))["rootRunId"]
    in_family = run_span(otlp(client.get("/api/otlp/", {"root": root})), child)
    assert alone == in_family
    assert alone["parentSpanId"] == run_span_id(corpus.lineage(corpus.get_run(corpus.DELEGATION, child))["parentRunId"])
    assert alone["status"]["code"] == STATUS_ERROR


def test_unknown_runs_are_404_and_a_missing_root_is_400(client, delegation):
    assert client.get("/api/runs/nope/otlp.json").status_code == 404
    assert client.get("/api/otlp/", {"root": "nope"}).status_code == 404
    response = client.get("/api/otlp/")
    assert response.status_code == 400 and "root" in json.loads(response.content)["fields"]


def test_a_family_over_the_export_cap_is_refused_with_the_way_out(client, delegation, settings):
    settings.CONTROLPLANE_EXPORT_MAX_RUNS = 2
    response = client.get("/api/otlp/", {"root": corpus.supervisor()})
    assert response.status_code == 400
    assert "export_otlp --root" in json.loads(response.content)["error"]


def test_otlp_exports_answer_get_only(client, delegation):
    assert client.post(f"/api/runs/{corpus.supervisor()}/otlp.json").status_code == 405
    assert client.post("/api/otlp/?root=x").status_code == 405


@pytest.fixture
def secret_store(runs_settings, tmp_path):
    records = [
        run_record("leaky", status="failed", input=f"deploy with api_key={SECRET}",
                   steps=[{"id": "leaky:step:1", "type": "tool", "status": "failed",
                           "payload": {"toolName": "deploy", "arguments": {"apiKey": SECRET, "env": "prod"}},
                           "output": {"echo": f"Bearer {SECRET}"}, "error": {"message": f"rejected token {SECRET}"}}],
                   events=[{"id": "leaky:1", "type": "tool_started", "timestamp": "2026-01-01T00:00:00.000Z",
                            "payload": {"arguments": {"password": SECRET}}}],
                   errors=[{"name": "Error", "message": f"authorization: Bearer {SECRET}"}]),
        run_record("leaky-child", parent="leaky", root="leaky", output={"token": SECRET}),
    ]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    return runs_settings


@pytest.mark.parametrize("url", ["/api/runs/leaky/otlp.json", "/api/runs/leaky-child/otlp.json", "/api/otlp/?root=leaky"])
def test_secrets_in_a_run_never_reach_its_otlp_export(client, secret_store, url):
    response = client.get(url)
    otlp(response)
    assert SECRET not in response.content.decode()
    assert "[REDACTED]" in response.content.decode()


def test_the_redaction_opt_out_shows_them(client, secret_store):
    secret_store.CONTROLPLANE_REDACT_SECRETS = False
    payload = otlp(client.get("/api/otlp/", {"root": "leaky"}))
    [tool] = [span for span in spans_of(payload) if span["name"] == "execute_tool deploy"]
    assert SECRET in attrs(tool)["gen_ai.tool.call.arguments"]


def test_a_child_of_an_unreadable_parent_is_exported_with_a_link_to_it(client, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [run_record("kid", parent="mum", root="mum")],
                                                       corrupt={"mum.json": b'{"id": "mum", '})
    span = run_span(otlp(client.get("/api/runs/kid/otlp.json")), "kid")
    assert "parentSpanId" not in span
    assert [(link["spanId"], attrs(link)["agnostic_agents.link.type"]) for link in span["links"]] == [
        (run_span_id("mum"), "parent_run")]
