"""Runs as OTLP traces (runtime_adapter.present.otlp): every export parses into opentelemetry-proto's messages."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict, ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from runtime_adapter.present.otlp import (
    MAX_TEXT,
    STATUS_ERROR,
    STATUS_OK,
    export_request,
    family_ids,
    related_runs,
    run_span_id,
    run_spans,
    span_count,
    to_protobuf_json,
    trace_id_of,
)
from runtime_adapter.records import RunNotFound
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.conformance import scenarios
from tests.factories import run_record
from tests.fixtures import corpus

WORKFLOWS = "s06_workflows"
DISTRIBUTED = "s08_distributed"


def as_proto(request: dict[str, Any]) -> ExportTraceServiceRequest:
    """The body as opentelemetry-proto's message; ParseDict refuses unknown fields and wrong types."""
    message = ParseDict(to_protobuf_json(request), ExportTraceServiceRequest())
    for resource in message.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                assert len(span.trace_id) == 16 and any(span.trace_id)
                assert len(span.span_id) == 8 and any(span.span_id)
                assert len(span.parent_span_id) in (0, 8)
                assert span.end_time_unix_nano >= span.start_time_unix_nano
    return message


def spans_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [span for resource in request["resourceSpans"] for scope in resource["scopeSpans"] for span in scope["spans"]]


def attrs(span: dict[str, Any]) -> dict[str, Any]:
    """Attributes as plain values (int values are strings in OTLP/JSON)."""
    values = {}
    for item in span["attributes"]:
        [(kind, value)] = item["value"].items()
        values[item["key"]] = int(value) if kind == "intValue" else value
    return values


def run_span(request: dict[str, Any], run_id: str) -> dict[str, Any]:
    [span] = [span for span in spans_of(request) if span["spanId"] == run_span_id(run_id)]
    return span


def step_spans(request: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
    return [span for span in spans_of(request) if span.get("parentSpanId") == run_span_id(run_id)
            and attrs(span).get("agnostic_agents.step.id") is not None]


def family(scenario: str, root: str) -> list[dict[str, Any]]:
    store = corpus.corpus_store(f"corpus://{scenario}")
    return [store.get_run(run_id) for run_id in family_ids(store, root)]


def workflow_child() -> str:
    return corpus.the_run(WORKFLOWS, "the failed agent run a workflow step started", lambda run: (
        run["status"] == "failed" and run["state"].get("parentStepId") and corpus.lineage(run)["parentRunId"]))


@pytest.mark.parametrize("scenario", scenarios())
def test_every_corpus_run_exports_as_an_export_trace_service_request(scenario):
    runs = corpus.runs(scenario)
    request = export_request(runs)
    message = as_proto(request)
    assert span_count(request) == sum(1 + len(run["steps"]) for run in runs)
    assert len(message.resource_spans[0].scope_spans[0].spans) == span_count(request)
    assert len({span["spanId"] for span in spans_of(request)}) == span_count(request)


def test_the_protobuf_mapping_round_trips_to_the_same_hex_ids():
    request = export_request(family(corpus.DELEGATION, corpus.supervisor()))
    back = MessageToDict(as_proto(request))
    for sent, parsed in zip(spans_of(request), back["resourceSpans"][0]["scopeSpans"][0]["spans"], strict=True):
        assert bytes.fromhex(sent["spanId"]) == __import__("base64").b64decode(parsed["spanId"])
        assert sent["name"] == parsed["name"]


def test_a_run_is_a_span_and_its_steps_are_its_child_spans():
    run = corpus.get_run(corpus.TOOLS, corpus.tool_run())
    request = export_request([run])
    span = run_span(request, run["id"])
    assert span["name"] == "invoke_agent" and attrs(span)["gen_ai.operation.name"] == "invoke_agent"
    assert attrs(span)["agnostic_agents.run.id"] == run["id"] and "parentSpanId" not in span
    steps = step_spans(request, run["id"])
    assert [attrs(step)["agnostic_agents.step.id"] for step in steps] == [step["id"] for step in run["steps"]]
    assert [step["name"] for step in steps] == ["chat", "verifier search_docs", "execute_tool search_docs", "chat"]


def test_tool_steps_carry_the_genai_tool_attributes():
    run = corpus.get_run(corpus.TOOLS, corpus.tool_run())
    [tool] = [step for step in step_spans(export_request([run]), run["id"]) if step["name"].startswith("execute_tool")]
    assert attrs(tool)["gen_ai.operation.name"] == "execute_tool"
    assert attrs(tool)["gen_ai.tool.name"] == "search_docs"
    assert attrs(tool)["gen_ai.tool.call.arguments"] == '{"query":"test"}'
    assert attrs(tool)["gen_ai.tool.call.result"] == '{"hits":["doc for test"],"total":1}'
    assert tool["status"] == {"code": STATUS_OK}


def test_timestamps_are_unix_nanoseconds_of_the_runs_iso_times():
    run = run_record("timed", status="completed", timestamps={
        "createdAt": "2026-01-01T00:00:00.000Z", "startedAt": "2026-01-01T00:00:00.250Z",
        "updatedAt": "2026-01-01T00:00:03.000Z", "completedAt": "2026-01-01T00:00:02.500Z"},
        steps=[{"id": "timed:step:1", "type": "model", "status": "completed",
                "createdAt": "2026-01-01T00:00:01.000Z", "updatedAt": "2026-01-01T00:00:01.125Z"}])
    [span, step] = run_spans(run)
    second = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
    assert (span["startTimeUnixNano"], span["endTimeUnixNano"]) == (str(second + 250_000_000), str(second + 2_500_000_000))
    assert (step["startTimeUnixNano"], step["endTimeUnixNano"]) == (str(second + 10**9), str(second + 1_125_000_000))


def test_unreadable_times_fall_back_to_the_run_start_and_never_end_before_it():
    run = run_record("odd", status="running", timestamps={"createdAt": "2026-01-01T00:00:05.000Z",
                                                        "updatedAt": "yesterday"},
                     steps=[{"id": "odd:1", "type": "tool", "status": "running", "createdAt": 17, "updatedAt": None}])
    [span, step] = run_spans(run)
    assert span["startTimeUnixNano"] == span["endTimeUnixNano"] == step["startTimeUnixNano"] == step["endTimeUnixNano"]
    assert span["status"] == {} and step["status"] == {}
    as_proto(export_request([run]))


def test_events_are_span_events_at_their_times():
    run = corpus.get_run(corpus.TOOLS, corpus.tool_run())
    span = run_span(export_request([run]), run["id"])
    assert [event["name"] for event in span["events"]] == [event["type"] for event in run["events"]]
    first = span["events"][0]
    assert first["timeUnixNano"] == str(1_795_487_056_036 * 10**6)  # 2026-11-24T02:24:16.036Z
    assert attrs(first) == {"agnostic_agents.event.id": run["events"][0]["id"],
                            "agnostic_agents.event.payload": '{"input":"Use tool to search docs"}'}


def test_a_failed_run_has_error_status_with_its_message_and_an_exception_event():
    run = corpus.get_run(corpus.FAILURES, corpus.tool_failure())
    request = export_request([run])
    span = run_span(request, run["id"])
    message = 'Tool "sync_inventory" failed: Inventory service returned 503'
    assert span["status"] == {"code": STATUS_ERROR, "message": message}
    [exception] = [event for event in span["events"] if event["name"] == "exception"]
    assert attrs(exception) == {"exception.type": "ToolExecutionError", "exception.message": message}
    [tool] = [step for step in step_spans(request, run["id"]) if step["name"] == "execute_tool sync_inventory"]
    assert tool["status"] == {"code": STATUS_ERROR, "message": "Inventory service returned 503"}


def test_a_completed_run_is_ok_and_a_waiting_one_unset():
    assert run_spans(corpus.get_run(corpus.FAILURES, corpus.baseline()))[0]["status"] == {"code": STATUS_OK}
    assert run_spans(corpus.get_run(corpus.APPROVALS, corpus.waiting()))[0]["status"] == {}


def test_delegated_runs_nest_under_their_parent_runs_span_in_one_trace():
    runs = family(corpus.DELEGATION, corpus.supervisor())
    request = export_request(runs)
    assert len(runs) > 3 and {span["traceId"] for span in spans_of(request)} == {trace_id_of(runs[0])}
    for run in runs[1:]:
        assert run_span(request, run["id"])["parentSpanId"] == run_span_id(corpus.lineage(run)["parentRunId"])
    roots = [span for span in spans_of(request) if "parentSpanId" not in span]
    assert [span["spanId"] for span in roots] == [run_span_id(corpus.supervisor())]


def test_a_child_run_nests_under_the_workflow_step_that_started_it():
    child = corpus.get_run(WORKFLOWS, workflow_child())
    parent = corpus.get_run(WORKFLOWS, corpus.lineage(child)["parentRunId"])
    request = export_request([parent, child])
    [step] = [span for span in step_spans(request, parent["id"])
              if span["name"] == f"workflow_step {child['state']['parentStepId']}"]
    assert run_span(request, child["id"])["parentSpanId"] == step["spanId"]
    assert step["status"]["code"] == STATUS_ERROR and run_span(request, parent["id"])["status"]["code"] == STATUS_ERROR


def test_a_run_exported_alone_has_the_same_span_as_in_its_family():
    runs = family(WORKFLOWS, corpus.lineage(corpus.get_run(WORKFLOWS, workflow_child()))["rootRunId"])
    together = spans_of(export_request(runs))
    for run in runs:
        store = corpus.corpus_store(f"corpus://{WORKFLOWS}")
        alone = spans_of(export_request([run], related_runs([run], store.get_run)))
        assert alone == [span for span in together if attrs(span)["agnostic_agents.run.id"] == run["id"]]


def test_a_child_whose_parent_is_missing_links_to_the_parent_span_instead():
    child = run_record("orphan", parent="gone", root="gone")
    [span, *_] = run_spans(child)
    assert "parentSpanId" not in span
    assert span["links"] == [{"traceId": trace_id_of(child), "spanId": run_span_id("gone"), "attributes": [
        {"key": "agnostic_agents.link.type", "value": {"stringValue": "parent_run"}},
        {"key": "agnostic_agents.run.id", "value": {"stringValue": "gone"}}]}]


def test_a_parent_in_another_trace_is_a_link_to_that_trace():
    parent = run_record("p", metadata={"correlation": {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736"}})
    child = run_record("c", parent="p", root="p")
    [span, *_] = run_spans(child, {"p": parent})
    assert "parentSpanId" not in span
    assert span["links"][0]["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_branches_and_replays_link_to_the_run_they_came_from():
    request = export_request(corpus.runs(corpus.BRANCHES))
    [branch_link] = run_span(request, corpus.branch())["links"]
    assert branch_link["spanId"] == run_span_id(corpus.root())
    checkpoint = corpus.lineage(corpus.get_run(corpus.BRANCHES, corpus.branch()))["branchCheckpointId"]
    assert attrs(branch_link) == {"agnostic_agents.link.type": "branch_origin", "agnostic_agents.run.id": corpus.root(),
                                  "agnostic_agents.checkpoint.id": checkpoint}
    [replay_link] = run_span(request, corpus.replay())["links"]
    assert replay_link["spanId"] == run_span_id(corpus.root()) and attrs(replay_link)["agnostic_agents.link.type"] == "replay_source"
    assert run_span(request, corpus.branch())["traceId"] == run_span(request, corpus.root())["traceId"]


def test_trace_ids_come_from_the_correlation_trace_id_when_it_is_one():
    hex_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_of(run_record("a", metadata={"correlation": {"traceId": hex_id.upper()}})) == hex_id
    # The runtime writes the root run id (a UUID): the same trace id as derived from the root.
    runs = corpus.runs(DISTRIBUTED)
    with_correlation = [run for run in runs if isinstance(run["metadata"].get("correlation"), dict)]
    assert with_correlation
    for run in with_correlation:
        root = corpus.lineage(run)["rootRunId"]
        assert trace_id_of(run) == root.replace("-", "") == trace_id_of({**run, "metadata": {"lineage": corpus.lineage(run)}})


def test_other_trace_ids_are_derived_stably_from_the_root_run_id():
    run = run_record("child", parent="root-1", root="root-1", metadata={"correlation": {"traceId": "not-a-trace-id"}})
    assert trace_id_of(run) == hashlib.sha256(b"trace\x00root-1").digest()[:16].hex()
    assert trace_id_of(run) == trace_id_of(run_record("root-1"))
    assert trace_id_of(run_record("x", metadata={"correlation": {"traceId": "0" * 32}})) == trace_id_of(run_record("x"))


def test_span_ids_are_stable_so_exporting_again_changes_nothing():
    runs = family(corpus.DELEGATION, corpus.supervisor())
    assert export_request(runs) == export_request([dict(run) for run in runs])
    assert run_span_id("run-1") == hashlib.sha256(b"run\x00run-1").digest()[:8].hex()


def test_token_usage_is_each_runs_own_so_a_trace_adds_up_to_the_roots_total():
    runs = family(corpus.DELEGATION, corpus.supervisor())
    request = export_request(runs)
    root = runs[0]
    own = [attrs(run_span(request, run["id"])) for run in runs]
    assert sum(item["gen_ai.usage.input_tokens"] for item in own) == root["metrics"]["tokenUsage"]["prompt"]
    assert sum(item["gen_ai.usage.output_tokens"] for item in own) == root["metrics"]["tokenUsage"]["completion"]
    recorded = attrs(run_span(request, root["id"]))
    assert recorded["agnostic_agents.run.token_usage.prompt"] == root["metrics"]["tokenUsage"]["prompt"]
    assert recorded["agnostic_agents.run.cost"] == root["metrics"]["cost"]


def test_a_leaf_runs_tokens_are_its_recorded_usage():
    run = run_record("leaf", metrics={"tokenUsage": {"prompt": 12, "completion": 7, "total": 19}, "cost": 0.25})
    assert {key: value for key, value in attrs(run_spans(run)[0]).items()
            if key.startswith(("gen_ai.usage", "agnostic_agents.run.cost"))} == {
        "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 7, "agnostic_agents.run.cost": 0.25}


def test_models_are_reported_where_the_run_records_them():
    run = run_record("m", metadata={"model": "gpt-4o-mini"}, steps=[
        {"id": "m:1", "type": "model", "status": "completed", "payload": {"model": "gpt-4o-mini"},
         "output": {"model": "gpt-4o-mini-2024-07-18", "message": "hi"}}])
    [span, step] = run_spans(run)
    assert attrs(span)["gen_ai.request.model"] == "gpt-4o-mini"
    assert step["name"] == "chat gpt-4o-mini" and step["kind"] == 3
    assert attrs(step)["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs(step)["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert "gen_ai.request.model" not in attrs(run_spans(run_record("plain"))[0])


def test_long_values_are_cut_to_the_attribute_limit():
    span = run_spans(run_record("long", input="x" * (MAX_TEXT * 2)))[0]
    assert len(attrs(span)["input.value"]) == MAX_TEXT and attrs(span)["input.value"].endswith("…")


def test_damaged_records_still_export():
    cycle_a = run_record("a", parent="b", root="a")
    cycle_b = run_record("b", parent="a", root="a")
    self_parent = run_record("self", parent="self")
    odd = run_record("odd", metrics={"tokenUsage": {"prompt": "12", "completion": 1e300, "total": True},
                                     "cost": float("inf"), "childRuns": {"items": "nope"}},
                     steps=[{"id": "dup"}, {"id": "dup"}, "not a step", None], events=[None, {"type": 5}],
                     errors=["plain text", {"message": {"nested": 1}}], status="failed")
    request = export_request([cycle_a, cycle_b, self_parent, odd])
    as_proto(request)
    assert all("parentSpanId" not in run_span(request, run_id) for run_id in ("a", "b", "self"))
    assert [link["spanId"] for link in run_span(request, "a")["links"]] == [run_span_id("b")]
    assert len(step_spans(request, "odd")) == 2 and len({span["spanId"] for span in spans_of(request)}) == span_count(request)
    assert "gen_ai.usage.input_tokens" not in attrs(run_span(request, "odd"))
    assert run_span(request, "odd")["status"] == {"code": STATUS_ERROR, "message": '{"nested":1}'}


def test_family_ids_are_the_run_and_the_runs_under_it():
    store = InMemoryRunStore([run_record("r"), run_record("c", parent="r", root="r"), run_record("g", parent="c", root="r"),
                              run_record("other")])
    assert family_ids(store, "c") == ["c", "g"]
    assert related_runs([store.get_run("g")], store.get_run) == {"c": store.get_run("c")}
    with pytest.raises(RunNotFound):
        store.get_run("nope")
    assert related_runs([run_record("x", parent="nope")], store.get_run) == {}
