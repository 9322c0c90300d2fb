"""Runs pushed with `manage.py export_otlp` into a real Arize Phoenix, read back through Phoenix's REST API.

Three families of the conformance corpus go in: a delegation tree (tokens at every level),
a workflow whose agent step's child run failed (a child under its parent *step*), and a
run whose tool call failed. Phoenix must show the same spans: names, parents, kinds, token
counts and error statuses, as the OTLP mapping made them.
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from controlplane.stores import get_run_store
from runtime_adapter.js import jsjson
from runtime_adapter.present.otlp import export_request, family_ids, related_runs, run_span_id, trace_id_of
from tests.fixtures import corpus
from tests.unit.test_otlp import attrs, spans_of

pytestmark = [pytest.mark.interop, pytest.mark.django_db]

WORKFLOWS = "s06_workflows"
STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
# Phoenix reads `openinference.span.kind`; a span without one is UNKNOWN.
KIND = {"AGENT": "AGENT", "CHAIN": "CHAIN", "LLM": "LLM", "TOOL": "TOOL", "RETRIEVER": "RETRIEVER"}


def workflow_child() -> str:
    return corpus.the_run(WORKFLOWS, "the failed agent run a workflow step started", lambda run: (
        run["status"] == "failed" and run["state"].get("parentStepId") and corpus.lineage(run)["parentRunId"]))


@pytest.fixture
def store(settings, tmp_path):
    """A file store holding three scenarios, as the runtime's FileRunStore writes runs."""
    directory = tmp_path / "runs"
    directory.mkdir()
    for scenario in (corpus.FAILURES, corpus.DELEGATION, WORKFLOWS):
        for run in corpus.runs(scenario):
            (directory / f"{run['id']}.json").write_text(jsjson.dumps(run, 2), encoding="utf-8")
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CONTROLPLANE_RUN_STORE = directory.as_uri()
    return directory


def expected_spans(root: str) -> list[dict[str, Any]]:
    store = get_run_store()
    runs = [store.get_run(run_id) for run_id in family_ids(store, root)]
    return spans_of(export_request(runs, related_runs(runs, store.get_run)))


def phoenix_spans(url: str, trace_id: str, count: int) -> list[dict[str, Any]]:
    """The trace's spans as Phoenix's REST API lists them, once it has ingested `count` (it queues writes)."""
    deadline = time.monotonic() + 60
    while True:
        query = urlencode({"trace_id": trace_id, "limit": 1000})
        with urllib.request.urlopen(f"{url}/v1/projects/default/spans?{query}", timeout=10) as response:
            spans: list[dict[str, Any]] = json.loads(response.read())["data"]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


def test_phoenix_shows_the_exported_families_as_they_were_mapped(phoenix, store, capsys):
    roots = {"delegation": corpus.supervisor(),
             "workflow": corpus.lineage(corpus.get_run(WORKFLOWS, workflow_child()))["rootRunId"],
             "tool failure": corpus.tool_failure()}
    sent = 0
    for root in roots.values():
        out = io.StringIO()
        call_command("export_otlp", "--endpoint", phoenix.traces_endpoint, "--root", root, stdout=out, stderr=io.StringIO())
        family = expected_spans(root)
        sent += len(family)
        assert out.getvalue().strip().endswith(f"{len(family)} spans sent, {len(family)} accepted.")

    shown: dict[str, dict[str, Any]] = {}
    for name, root in roots.items():
        expected = expected_spans(root)
        trace_id = trace_id_of(get_run_store().get_run(root))
        got = {span["context"]["span_id"]: span for span in phoenix_spans(phoenix.url, trace_id, len(expected))}
        assert len(got) == len(expected), name
        for span in expected:
            seen = got[span["spanId"]]
            assert seen["context"]["trace_id"] == span["traceId"]
            assert seen["name"] == span["name"]
            assert seen["parent_id"] == span.get("parentSpanId")
            assert seen["span_kind"] == KIND[attrs(span)["openinference.span.kind"]]
            assert seen["status_code"] == STATUS[span["status"].get("code", 0)]
            assert seen["status_message"] == span["status"].get("message", "")
            for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.tool.name"):
                assert seen["attributes"].get(key) == attrs(span).get(key), (span["name"], key)
            if "gen_ai.usage.input_tokens" in attrs(span):
                # Phoenix's own token columns, made from the GenAI attributes.
                assert seen["attributes"]["llm.token_count.prompt"] == attrs(span)["gen_ai.usage.input_tokens"]
                assert seen["attributes"]["llm.token_count.completion"] == attrs(span)["gen_ai.usage.output_tokens"]
            assert [event["name"] for event in seen["events"]] == [event["name"] for event in span.get("events", [])]
        shown[name] = got

    # What a person looking at Phoenix sees, said plainly.
    delegation = shown["delegation"]
    [top] = [span for span in delegation.values() if span["parent_id"] is None]
    assert top["context"]["span_id"] == run_span_id(roots["delegation"]) and top["span_kind"] == "AGENT"
    supervisor = corpus.get_run(corpus.DELEGATION, roots["delegation"])
    prompt = sum(span["attributes"].get("llm.token_count.prompt", 0) for span in delegation.values())
    assert prompt == supervisor["metrics"]["tokenUsage"]["prompt"]
    children = [span for span in delegation.values() if span["parent_id"] == top["context"]["span_id"]
                and span["span_kind"] == "AGENT"]
    assert sorted(span["name"] for span in children) == ["invoke_agent research_lead", "invoke_agent writing_lead"]

    workflow = shown["workflow"]
    [child] = [span for span in workflow.values() if span["attributes"].get("agnostic_agents.run.id") == workflow_child()
               and span["span_kind"] == "AGENT"]
    parent_step = workflow[child["parent_id"]]
    assert parent_step["name"] == "workflow_step analyze" and parent_step["status_code"] == "ERROR"
    assert (child["status_code"], child["status_message"]) == ("ERROR", "upstream model outage")

    [tool] = [span for span in shown["tool failure"].values() if span["span_kind"] == "TOOL"]
    assert (tool["name"], tool["status_code"], tool["status_message"]) == (
        "execute_tool sync_inventory", "ERROR", "Inventory service returned 503")

    with capsys.disabled():
        counts = ", ".join(f"{name} {len(spans)}" for name, spans in shown.items())
        print(f"\nPhoenix {phoenix.url} shows {sum(len(spans) for spans in shown.values())} of {sent} spans sent ({counts})")
