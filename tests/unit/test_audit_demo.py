"""The demo audit log: FileAuditSink's exact lines over the demo runs' real ids, a corrupt line, a cut last line."""

from __future__ import annotations

import json
import re

import pytest

from runtime_adapter.durable.audit import AuditQuery, Cursor, read_audit_page
from runtime_adapter.js import jsjson
from tests.conftest import PINNED_NOW
from write_side.demo_state.audit import EVENT_TYPES, RISKY, write_demo_audit
from write_side.synthetic import write_store


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("audit-demo") / "runs"
    write_store(directory, 300, seed=7, now=PINNED_NOW)
    return directory


@pytest.fixture(scope="module")
def demo_log(runs_dir, tmp_path_factory):
    target = tmp_path_factory.mktemp("audit-demo-state") / "demo-audit.jsonl"
    summary = write_demo_audit(target, runs_dir, seed=7)
    assert summary["lines"] > 100
    return target


def run_ids(runs_dir) -> set[str]:
    return {json.loads(path.read_text())["id"] for path in runs_dir.glob("*.json")}


def entries(demo_log) -> list[dict]:
    lines = demo_log.read_text().split("\n")
    parsed = []
    for line in lines[:-1]:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return parsed


def test_every_line_is_json_stringify_of_the_sinks_entry(demo_log):
    lines = demo_log.read_text().split("\n")[:-1]
    whole = [line for line in lines if line.count('{"timestamp"') == 1]
    for line in whole:
        entry = jsjson.loads(line)
        assert list(entry) == ["timestamp", "eventType", "runId", "status", "payload"]
        assert jsjson.dumps(entry) == line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["timestamp"])
        assert entry["eventType"] in EVENT_TYPES


def test_entries_name_real_runs_and_only_audited_ones(demo_log, runs_dir):
    ids = run_ids(runs_dir)
    records = {json.loads(path.read_text())["id"]: json.loads(path.read_text()) for path in runs_dir.glob("*.json")}
    real = [entry for entry in entries(demo_log) if entry["runId"] in ids]
    assert len(real) > 50
    for entry in real:
        calls = records[entry["runId"]]["toolCalls"]
        assert any((call.get("metadata") or {}).get("sideEffectLevel") in RISKY for call in calls)
    # A second process's runs are in another store: the page shows their ids as text.
    assert any(entry["runId"] not in ids for entry in entries(demo_log))


def test_it_has_several_event_types_and_statuses_and_time_order(demo_log):
    parsed = entries(demo_log)
    assert len({entry["eventType"] for entry in parsed}) >= 6
    assert {"running", "completed", "failed", "waiting_for_approval"} <= {entry["status"] for entry in parsed}
    stamps = [entry["timestamp"] for entry in parsed]
    assert stamps == sorted(stamps)


def test_some_payloads_carry_credentials_as_the_sink_writes_them(demo_log):
    text = demo_log.read_text()
    assert "sk-live-" in text and "Bearer eyJ" in text and "Pa55word-" in text
    assert '"[REDACTED]"' in text  # and a piiSafe sink's lines arrive redacted


def test_one_corrupt_line_in_the_middle_and_a_cut_last_line(demo_log):
    items = []
    cursor = None
    while True:
        page = read_audit_page(demo_log, AuditQuery(limit=500, cursor=cursor))
        items += page.items
        if not page.next_cursor:
            break
        cursor = Cursor.decode(page.next_cursor)
    broken = [item for item in items if item.entry is None]
    assert len(broken) == 2
    assert broken[0].error.startswith("truncated") and broken[0].line == len(items)
    assert broken[1].error.startswith("not JSON") and 0.3 < broken[1].line / len(items) < 0.7
    assert not demo_log.read_text().endswith("\n")


def test_the_same_seed_writes_the_same_bytes_and_an_existing_log_is_never_overwritten(demo_log, runs_dir, tmp_path):
    again = tmp_path / "demo-audit.jsonl"
    write_demo_audit(again, runs_dir, seed=7)
    assert again.read_bytes() == demo_log.read_bytes()
    again.write_text("kept")
    assert write_demo_audit(again, runs_dir, seed=7) == {}
    assert again.read_text() == "kept"
    assert [path.name for path in tmp_path.iterdir()] == ["demo-audit.jsonl"]
