"""An uploaded bundle's index answers exactly as the bundle read whole (BundleRunStore)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime_adapter.inspectors import export_bundle
from runtime_adapter.js import jsjson
from runtime_adapter.records import RunNotFound, StoreUnavailable
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores import bundle_index
from runtime_adapter.stores.bundle import BundleRunStore
from runtime_adapter.stores.bundle_check import index_upload
from runtime_adapter.stores.bundle_index import IndexedBundleRunStore
from runtime_adapter.stores.redacting import RedactingStore
from tests import conformance
from tests.factories import run_record
from tests.parity import assert_store_parity, varied_records

T = "2026-01-10T00:00:00.000Z"


def bundle_with_broken_traces(records: list[dict[str, Any]]) -> dict[str, Any]:
    bundle = export_bundle(records, {"ticket": "INC-7"}, exported_at=T)
    bundle["traces"].insert(3, {"format": "agnostic-agents-run-trace", "run": {"id": "half"}})
    bundle["traces"].insert(10, "not a trace")
    bundle["traces"].append({"schemaVersion": "1.1", "format": "agnostic-agents-run-trace", "exportedAt": T,
                             "metadata": {}, "run": {"id": "a/b", "status": "completed"}})
    return bundle


def both(tmp_path: Path, bundle: dict[str, Any], *, redact_rows: bool = False,
         workers: int = 1) -> tuple[IndexedBundleRunStore, BundleRunStore]:
    data = jsjson.dumps(bundle).encode()
    (tmp_path / "bundle.json").write_bytes(data)
    check = index_upload(data, tmp_path / "bundle.sqlite3", redact_rows=redact_rows, workers=workers)
    assert check.ok, check.errors
    return IndexedBundleRunStore(tmp_path / "bundle.sqlite3", redact_rows=redact_rows), \
        BundleRunStore(tmp_path / "bundle.json")


def test_every_listing_query_matches_the_bundle_read_whole(tmp_path):
    indexed, whole = both(tmp_path, bundle_with_broken_traces(varied_records()))
    assert assert_store_parity(indexed, whole) > 100


def test_rows_computed_in_worker_processes_are_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_index, "BATCH", 10)
    indexed, whole = both(tmp_path, bundle_with_broken_traces(varied_records()), workers=2)
    assert indexed.rows() == whole.rows()
    assert [(e.source, e.error) for e in indexed.list_errors()] == [(e.source, e.error) for e in whole.list_errors()]


@pytest.mark.parametrize("scenario", conformance.scenarios()[:6])
def test_conformance_runs_come_back_byte_for_byte(tmp_path, scenario):
    conformance.require_corpus(conformance.CONFORMANCE_DIR / "stores" / scenario)
    from runtime_adapter.stores.file import FileRunStore

    runs = FileRunStore(conformance.CONFORMANCE_DIR / "stores" / scenario).list_runs()
    indexed, whole = both(tmp_path, export_bundle(runs, exported_at=T))
    assert [jsjson.dumps(run) for run in indexed.iter_runs()] == [jsjson.dumps(run) for run in whole.iter_runs()]
    for run in runs:
        assert jsjson.dumps(indexed.get_run(run["id"]), 2) == jsjson.dumps(whole.get_run(run["id"]), 2)


def test_entries_keep_bundle_order_with_broken_traces_in_place(tmp_path):
    indexed, whole = both(tmp_path, bundle_with_broken_traces(varied_records()))
    got = [(entry.source, entry.error, entry.run and entry.run["id"]) for entry in indexed.iter_entries()]
    assert got == [(entry.source, entry.error, entry.run and entry.run["id"]) for entry in whole.iter_entries()]
    assert [source for source, error, _ in got if error] == ["traces[3]", "traces[10]", f"traces[{len(got) - 1}]"]
    assert indexed.metadata == {"ticket": "INC-7"}


def test_odd_values_round_trip_exactly(tmp_path):
    record = run_record("odd", input={"big": 12345678901234567890123, "tiny": 5e-324, "neg": -0.0, "lone": "\ud800x",
                                      "text": "émoji 🎉 \u2028", "10": "integer-like key", "a": 1})
    indexed, whole = both(tmp_path, export_bundle([record], exported_at=T))
    assert jsjson.dumps(indexed.get_run("odd"), 2) == jsjson.dumps(whole.get_run("odd"), 2)
    with pytest.raises(RunNotFound):
        indexed.get_run("missing")


def test_a_repeated_run_id_is_an_error_row_that_names_the_first(tmp_path):
    first, second = run_record("dup", input="first"), run_record("dup", input="second")
    indexed, _ = both(tmp_path, export_bundle([first, run_record("other"), second], exported_at=T))
    assert indexed.get_run("dup")["input"] == "first"
    assert [(e.source, e.error) for e in indexed.list_errors()] == [
        ("traces[2]", 'run id "dup" is also traces[0]; only that one is shown')]
    assert indexed.query_runs(RunQuery()).total == 2


def test_an_index_made_with_other_redaction_settings_is_not_served(tmp_path):
    both(tmp_path, export_bundle([run_record("a")], exported_at=T), redact_rows=True)
    with pytest.raises(StoreUnavailable, match="upload it again"):
        IndexedBundleRunStore(tmp_path / "bundle.sqlite3", redact_rows=False)


def test_a_search_never_matches_a_redacted_secret(tmp_path):
    secret = "sk-live1234567890abcdefghij"
    record = run_record("leaky", input=f"call the API with {secret} please")
    indexed, _ = both(tmp_path, export_bundle([record, run_record("plain", input="nothing here")], exported_at=T),
                      redact_rows=True)
    store = RedactingStore(indexed, secrets=True)
    assert store.query_runs(RunQuery(text="sk-live12")).total == 0
    assert store.query_runs(RunQuery(text="call the api")).total == 1
    assert secret not in jsjson.dumps(store.get_run("leaky"))


def test_nothing_is_written_when_the_bundle_does_not_open(tmp_path):
    check = index_upload(b'{"format": "agnostic-agents-trace-bundle", "schemaVersion": "1.1", "traces": []}',
                         tmp_path / "x.sqlite3", redact_rows=True)
    assert not check.ok and list(tmp_path.iterdir()) == []


def test_the_trace_limit_is_checked_before_any_trace_is_read(tmp_path):
    bundle = export_bundle([run_record("a"), run_record("b"), run_record("c")], exported_at=T)
    check = index_upload(jsjson.dumps(bundle).encode(), tmp_path / "x.sqlite3", redact_rows=True, max_traces=2)
    assert check.errors == ["The bundle holds 3 traces; at most 2 can be opened here (CONTROLPLANE_MAX_UPLOAD_RUNS). "
                            "Export a smaller bundle."]
    assert list(tmp_path.iterdir()) == []
