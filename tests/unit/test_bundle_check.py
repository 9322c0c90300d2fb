from __future__ import annotations

from runtime_adapter.inspectors import export_bundle, export_run
from runtime_adapter.js import jsjson
from runtime_adapter.stores.bundle_check import check_bundle
from tests.factories import run_record

T = "2026-01-01T00:00:00.000Z"


def bundle_bytes(traces) -> bytes:
    bundle = export_bundle([], exported_at=T)
    bundle["traces"] = traces
    return jsjson.dumps(bundle).encode()


def test_a_valid_bundle_opens_and_is_described():
    check = check_bundle(jsjson.dumps(export_bundle([run_record("a"), run_record("b")], exported_at=T)).encode())
    assert check.ok and check.errors == []
    assert (check.trace_count, check.run_count, check.broken, check.exported_at) == (2, 2, [], T)


def test_a_bundle_with_some_broken_traces_still_opens():
    check = check_bundle(bundle_bytes([export_run(run_record("a"), exported_at=T), {"run": {}}, 7]))
    assert check.ok
    assert check.run_count == 1 and len(check.broken) == 2
    assert check.broken[0].startswith("traces[1]: ")


def test_a_bundle_whose_traces_are_all_broken_does_not_open():
    check = check_bundle(bundle_bytes([{"run": {}}]))
    assert not check.ok
    assert check.errors[0] == "None of the bundle's 1 traces can be read."


def test_an_empty_bundle_does_not_open():
    assert check_bundle(bundle_bytes([])).errors == ["The bundle holds no traces."]


def test_invalid_json_and_wrong_formats_are_explained():
    assert check_bundle(b"  ").errors == ["The file is empty."]
    assert check_bundle(b"{oops").errors[0].startswith("The file is not valid JSON:")
    assert check_bundle(b"\xff\xfe").errors[0].startswith("The file is not valid JSON:")
    assert "Unsupported trace format." in check_bundle(b'{"format": "x", "schemaVersion": "1.1"}').errors
    single = jsjson.dumps(export_run(run_record("a"), exported_at=T)).encode()
    assert "single-run trace" in check_bundle(single).errors[0]
