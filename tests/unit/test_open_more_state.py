"""State bundles and single traces as uploads: the runtime's state checks byte for byte, how an upload is read
as each kind, what its index file keeps, and what the state page shows (redacted)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from runtime_adapter.inspectors.state import check_state_consistency, check_state_integrity, validate_state_bundle
from runtime_adapter.js import jsjson
from runtime_adapter.present.state_view import state_bundle_page
from runtime_adapter.stores.bundle_check import check_bundle, check_upload, index_upload
from runtime_adapter.stores.bundle_index import IndexedBundleRunStore
from runtime_adapter.stores.state_bundle import MAX_VALUE_BYTES, read_state, state_parts
from tests.fixtures.traces import FIXTURES

UUID = re.compile(r'"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"')
RUN_KEY = "sk-live-4f9a2b7c1d8e6f3a5b0c9d2e"
MEMORY_KEY = "sk-live-9e8d7c6b5a4f3e2d1c0b"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def cases() -> list[tuple[str, object, dict]]:
    payloads = jsjson.loads(fixture("state-cases.json"))
    payloads += [{"name": "exported bundle", "payload": jsjson.loads(fixture("refund.state-bundle.json"))},
                 {"name": "tampered bundle", "payload": jsjson.loads(fixture("refund.state-bundle.tampered.json"))}]
    golden = jsjson.loads(fixture("state-cases.golden.json"))
    assert [case["name"] for case in payloads] == [answer["name"] for answer in golden]
    return [(case["name"], case["payload"], answer) for case, answer in zip(payloads, golden, strict=True)]


def same_text(answer: object) -> str:
    # A run without an id gets a random UUID from the Run constructor, in JS as here.
    return UUID.sub('"<uuid>"', jsjson.dumps(answer))


@pytest.mark.parametrize(("name", "payload", "golden"), cases(), ids=[case[0] for case in cases()])
def test_the_state_checks_answer_as_the_runtimes_classes_do(name, payload, golden):
    assert same_text(check_state_integrity(payload)) == same_text(golden["integrity"])
    assert same_text(check_state_consistency(payload)) == same_text(golden["consistency"])


def test_the_golden_cases_cover_failing_and_passing_checks():
    answers = [golden for _, _, golden in cases()]
    assert {answer["integrity"]["valid"] for answer in answers} == {True, False}
    assert {answer["consistency"]["valid"] for answer in answers} == {True, False}
    assert sum(bool(answer["consistency"]["warnings"]) for answer in answers) >= 20


def test_the_serializer_validation_names_each_problem():
    assert validate_state_bundle({"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "run": None}) == \
        {"valid": True, "errors": []}
    assert validate_state_bundle([]) == {"valid": False, "errors": [
        "Unsupported state bundle format.", 'Unsupported state bundle schemaVersion "undefined".', "run is required."]}


def test_a_null_audit_record_does_not_stop_the_consistency_check():
    # The JS check reads null.key and throws; here the record is passed over like one without a key.
    bundle = {"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "run": None,
              "memory": {"working": {"a": 1}}, "memoryGovernance": {"audit": [None, {"key": "a"}]}}
    assert check_state_consistency(bundle)["warnings"] == []


# --- reading an upload as each kind -----------------------------------------------------------


def test_a_run_trace_opens_as_one_run():
    check = check_upload(fixture("refund.run-trace.json"))
    assert (check.ok, check.kind, check.run_count, check.details) == (True, "run", 1, {"runId": "refund-7f3a"})
    assert check.exported_at == "2026-11-20T09:00:06.750Z"


def test_a_partial_trace_says_where_it_was_cut_from():
    check = check_upload(fixture("refund.partial-trace.json"))
    assert check.ok and check.kind == "partial"
    assert check.details == {"runId": "refund-7f3a:partial:1795165207000", "sourceRunId": "refund-7f3a",
                             "checkpointId": "refund-7f3a:checkpoint:1"}


def test_a_state_bundle_always_opens_with_its_checks_counted():
    good = check_upload(fixture("refund.state-bundle.json"))
    tampered = check_upload(fixture("refund.state-bundle.tampered.json"))
    assert good.ok and tampered.ok and good.kind == tampered.kind == "state"
    assert (good.details["integrityValid"], good.details["consistencyWarnings"]) == (True, 1)
    assert {key: tampered.details[key] for key in ("integrityValid", "integrityErrors", "integrityWarnings",
                                                   "consistencyValid", "consistencyErrors")} == {
        "integrityValid": False, "integrityErrors": 3, "integrityWarnings": 1, "consistencyValid": False,
        "consistencyErrors": 1}


def test_a_bundle_check_refuses_other_kinds_and_says_how_to_open_them():
    assert check_bundle(fixture("refund.run-trace.json")).errors == [
        "This is a single-run trace, not a trace bundle; choose “Detect from the file” (kind=auto) to open it."]
    assert "This is a state bundle, not a trace bundle" in check_bundle(fixture("refund.state-bundle.json")).errors[0]
    assert "This is a partial trace, not a state bundle" in \
        check_upload(fixture("refund.partial-trace.json"), "state").errors[0]
    assert check_upload(b'{"format": "x"}', "state").errors == [
        "Unsupported state bundle format.", 'Unsupported state bundle schemaVersion "undefined".', "run is required."]
    assert check_upload(b'{"format": "x", "schemaVersion": "1.1"}', "trace").errors == ["Unsupported trace format."]


def test_an_unknown_format_lists_what_opens():
    errors = check_upload(b'{"schemaVersion": "1.1", "format": "something"}').errors
    assert errors[0] == "Unsupported trace format."
    assert "agnostic-agents-state-bundle" in errors[-1] and "agnostic-agents-run-trace" in errors[-1]


def test_a_trace_whose_run_is_broken_does_not_open():
    trace = {"schemaVersion": "1.1", "format": "agnostic-agents-run-trace", "exportedAt": "x", "metadata": {},
             "run": {"id": "r"}}
    assert check_upload(json.dumps(trace).encode()).errors == ["The trace's run cannot be read: run.status is required."]
    trace["run"] = {"id": "a/b", "status": "failed"}
    assert "plain file name" in check_upload(json.dumps(trace).encode()).errors[0]


def test_messages_quoting_the_file_are_redacted():
    trace = {"schemaVersion": "1.1", "format": "agnostic-agents-run-trace", "traceType": "partial", "exportedAt": "x",
             "metadata": {"sourceRunId": f"password={RUN_KEY}", "checkpointId": "c"},
             "run": {"id": "p", "status": "paused"}}
    check = check_upload(json.dumps(trace).encode())
    assert RUN_KEY not in json.dumps(check.details) and check.details["checkpointId"] == "c"


# --- the index file and the page --------------------------------------------------------------


@pytest.fixture
def indexed(tmp_path):
    def index(content: bytes, *, redact_rows: bool = True) -> Path:
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.sqlite3"
        assert index_upload(content, path, redact_rows=redact_rows, kind="auto").ok
        return path

    return index


def test_a_state_bundles_run_is_the_stores_one_run(indexed):
    store = IndexedBundleRunStore(indexed(fixture("refund.state-bundle.json")), redact_rows=True)
    assert [entry.run["id"] for entry in store.iter_entries()] == ["refund-7f3a"]


def test_the_state_page_shows_the_checks_and_the_summary_against_the_recomputed_one(indexed):
    page = state_bundle_page(indexed(fixture("refund.state-bundle.tampered.json")), secrets=True)
    assert not page.valid
    integrity, consistency = page.checks
    assert integrity.errors == ["summary.status does not match run.status.",
                                "summary.checkpointCount does not match run.checkpoints length.",
                                "run.metrics.childRuns.count does not match childRuns.items length."]
    assert consistency.errors == ['Referenced job "nightly-refunds" is missing from bundle metadata.jobs.']
    differs = {row.field: (row.recorded, row.recomputed) for row in page.summary_rows if not row.matches}
    assert differs == {"status": ("completed", "failed"), "checkpointCount": ("5", "2")}
    assert page.run_id == "refund-7f3a" and page.audit_count == 4
    assert [layer.name for layer in page.layers] == ["conversation", "working", "profile", "policy"]


def test_the_state_page_redacts_memory_and_shows_times(indexed):
    page = state_bundle_page(indexed(fixture("refund.state-bundle.json")), secrets=True)
    working = next(layer for layer in page.layers if layer.name == "working")
    token = next(entry for entry in working.entries if entry.key == "payments_token")
    assert MEMORY_KEY not in token.value_text and token.expires == "2026-11-20T10:00:08.750Z"
    texts = json.dumps([[entry.value_text for entry in layer.entries] for layer in page.layers])
    assert RUN_KEY not in texts and "ada@example.com" not in texts
    shown = state_bundle_page(indexed(fixture("refund.state-bundle.json"), redact_rows=False), secrets=False)
    shown_working = next(layer for layer in shown.layers if layer.name == "working")
    assert MEMORY_KEY in next(entry for entry in shown_working.entries if entry.key == "payments_token").value_text


def test_a_layer_larger_than_the_page_shows_its_first_entries_and_counts_the_rest(indexed):
    bundle = jsjson.loads(fixture("refund.state-bundle.json"))
    bundle["memory"]["working"] = {f"key-{index:04d}": {"value": index, "createdAt": 0, "updatedAt": 0}
                                   for index in range(450)}
    page = state_bundle_page(indexed(jsjson.dumps(bundle).encode()), secrets=True)
    working = next(layer for layer in page.layers if layer.name == "working")
    assert (working.count, len(working.entries), working.more) == (450, 200, 250)


def test_parts_too_deep_or_too_large_are_kept_out_with_the_reason(indexed):
    bundle = jsjson.loads(fixture("refund.state-bundle.json"))
    deep: object = "bottom"
    for _ in range(200):
        deep = [deep]
    bundle["metadata"] = {"deep": deep}
    bundle["memory"]["profile"]["huge"] = "x" * (MAX_VALUE_BYTES + 10)
    path = indexed(jsjson.dumps(bundle).encode())
    page = state_bundle_page(path, secrets=True)
    assert any(problem.startswith("metadata: nested more than") for problem in page.problems)
    huge = next(entry for entry in next(layer for layer in page.layers if layer.name == "profile").entries
                if entry.key == "huge")
    assert huge.problem is not None and "not shown" in huge.problem
    assert page.checks[0].valid  # the checks saw the whole file


def test_odd_shapes_are_shown_as_they_are(indexed):
    bundle = {"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "run": None,
              "memory": "not layers", "memoryGovernance": {"audit": "nope"}, "summary": "odd"}
    page = state_bundle_page(indexed(json.dumps(bundle).encode()), secrets=True)
    assert page.run_id is None and page.run_error is None and not page.has_run
    assert page.memory_text == '"not layers"' and page.layers == []
    assert page.audit_note == "memoryGovernance.audit is not an array"
    assert page.checks[0].errors == ["summary.runId does not match run.id.", "summary.status does not match run.status.",
                                     "summary.checkpointCount does not match run.checkpoints length.",
                                     "summary.messageCount does not match run.messages length.",
                                     "summary.toolCallCount does not match run.toolCalls length.",
                                     "run.metadata.lineage.rootRunId is required for portable restoration."]


def test_a_state_bundles_unreadable_run_is_an_error_row_and_a_reason_on_the_page(indexed):
    bundle = {"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "run": {"id": "../x", "status": "failed"}}
    path = indexed(json.dumps(bundle).encode())
    page = state_bundle_page(path, secrets=True)
    assert page.run_id is None and "plain file name" in page.run_error and page.has_run


def test_keys_holding_lone_surrogates_are_stored_and_shown_scrubbed(indexed):
    text = ('{"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "run": null, '
            '"memory": {"w\\ud800": {"k\\udc00": 1}}}')
    page = state_bundle_page(indexed(text.encode()), secrets=True)
    assert page.layers[0].name == "w\ufffd" and page.layers[0].entries[0].key == "k\ufffd"


def test_an_upload_that_is_not_a_state_bundle_has_no_state_page(indexed):
    assert read_state(indexed(fixture("refund.run-trace.json")), limit=10) is None


def test_the_index_keeps_what_kind_of_upload_it_was(indexed):
    path = indexed(fixture("refund.partial-trace.json"))
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT value FROM meta WHERE key = 'upload_kind'").fetchone() == ("partial",)


def test_state_parts_split_memory_and_audit_into_rows():
    parts = state_parts(jsjson.loads(fixture("refund.state-bundle.json")))
    assert [(part, layer) for part, layer, *_ in parts.rows].count(("audit", '""')) == 4
    assert [layer["name"] for layer in parts.document["memoryLayers"]] == ["conversation", "working", "profile", "policy"]
    assert parts.document["integrity"]["valid"] is True and parts.document["problems"] == []


def test_a_number_json_parse_makes_infinity_is_read_back_from_the_index(indexed):
    """`1e400` is Infinity to the runtime; the index keeps it, and a page shows it as JSON.stringify does."""
    state = ('{"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "metadata": {"x": 1e400},'
             ' "run": {"id": "r", "status": "failed", "output": 1e400}, "memory": {"w": {"k": -1e400}}}')
    path = indexed(state.encode())
    page = state_bundle_page(path, secrets=True)
    assert page.layers[0].entries[0].value_text == "null" and '"x": null' in page.metadata_text
    assert IndexedBundleRunStore(path, redact_rows=True).get_run("r")["output"] == float("inf")
