"""The demo job directory (write_side.demo_state.jobs): the runtime's exact file format, every status and
signal, real run ids, deterministic for a seed, and only missing files written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime_adapter.durable.jobs import FAILED_NOT_RESCHEDULED, OVERDUE, STATUSES, STUCK, read_job, read_jobs
from runtime_adapter.js import jsjson
from runtime_adapter.js.dates import parse_iso
from tests.unit.test_jobs import RUNTIME_FAILED, RUNTIME_NIGHTLY
from write_side.demo_state import jobs as demo
from write_side.synthetic import write_store

RUNS_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
# The order BackgroundJobScheduler._normalizeJob builds a job in, which JSON.stringify keeps.
SCHEDULE_KEYS = ["id", "handler", "runAt", "intervalMs", "maxRuns", "runCount", "status", "metadata", "payload",
                 "result", "error", "lastRunAt", "history"]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("demo-state") / "runs"
    write_store(directory, 200, seed=7, now=RUNS_NOW)
    return directory


@pytest.fixture(scope="module")
def written(runs_dir, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("demo-jobs") / "jobs"
    demo.write_demo_jobs(target, runs_dir, seed=7)
    return target


def newest_run(runs_dir: Path) -> datetime:
    return max(parse_iso(json.loads(path.read_text())["timestamps"]["createdAt"]) for path in runs_dir.glob("*.json"))


def test_the_simulated_scheduler_writes_byte_for_byte_what_the_runtime_wrote():
    result = {"ok": True, "runId": "run-1", "note": "processed:crm"}
    nightly = demo._schedule("nightly-sync", "nightly_sync", datetime(2026, 1, 1, tzinfo=UTC), interval_ms=1000,
                             max_runs=3, metadata={"owner": "ops"}, payload={"topic": "crm"})
    demo._succeeded(nightly, datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC), result)
    demo._succeeded(nightly, datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC), result)
    assert jsjson.dumps(nightly, 2) == RUNTIME_NIGHTLY
    boom = demo._schedule("boom", "boom", datetime(2026, 1, 1, tzinfo=UTC), interval_ms=60000)
    demo._failed(boom, datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC), "CRM said 503")
    assert jsjson.dumps(boom, 2) == RUNTIME_FAILED


def test_every_file_is_json_stringify_with_two_spaces_and_no_trailing_newline(written):
    for path in written.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        if path.name == "audit-rollup.json":
            continue  # cut short on purpose
        record = json.loads(text)
        assert text == jsjson.dumps(record, 2), path.name
        if path.name != "daily-health-check.json":
            assert list(record) == SCHEDULE_KEYS, path.name


def test_the_demo_covers_every_status_every_signal_a_hand_written_job_and_a_corrupt_file(written, runs_dir):
    # Read as of the demo's own "now" (its newest run) plus the time someone takes to open it.
    listing = read_jobs(written.as_uri(), now=newest_run(runs_dir) + timedelta(minutes=30))
    assert 10 <= len(listing.jobs) <= 14
    assert {job.status for job in listing.jobs} == set(STATUSES)
    signals = [signal for job in listing.jobs for signal in job.signals]
    assert set(signals) == {OVERDUE, STUCK, FAILED_NOT_RESCHEDULED}
    assert [job.id for job in listing.jobs if job.notes] == ["daily-health-check"]
    assert [error.file for error in listing.errors] == ["audit-rollup.json"]
    assert "invalid JSON" in listing.errors[0].reason
    assert sum(bool(read_job(written.as_uri(), job.id, now=RUNS_NOW).history) for job in listing.jobs) >= 7


def test_healthy_demo_jobs_stay_healthy_for_hours_after_the_newest_run(written, runs_dir):
    listing = read_jobs(written.as_uri(), now=newest_run(runs_dir) + timedelta(hours=6, minutes=30))
    flagged = {job.id for job in listing.jobs if job.signals}
    assert flagged == {"hourly-incident-digest", "embeddings-reindex", "refund-reconciliation", "legacy-export"}


def test_results_and_metadata_name_real_runs_of_the_demo_directory(written, runs_dir):
    named = []
    for path in written.glob("*.json"):
        text = path.read_text()
        if path.name == "audit-rollup.json":
            continue
        record = json.loads(text)
        named += [entry["result"]["runId"] for entry in record.get("history", []) if "runId" in (entry.get("result") or {})]
        named += [value for key, value in (record.get("metadata") or {}).items() if key.endswith("unId")]
    assert len(named) >= 20
    assert all((runs_dir / f"{run_id}.json").is_file() for run_id in named)


def test_a_stuck_jobs_file_time_is_when_it_was_saved_as_running(written, runs_dir):
    record = json.loads((written / "embeddings-reindex.json").read_text())
    saved = datetime.fromtimestamp((written / "embeddings-reindex.json").stat().st_mtime, UTC)
    assert record["status"] == "running"
    assert parse_iso(record["runAt"]) <= saved < newest_run(runs_dir) - timedelta(hours=20)


def test_the_same_seed_and_runs_give_the_same_files(written, runs_dir, tmp_path):
    demo.write_demo_jobs(tmp_path / "again", runs_dir, seed=7)
    assert {path.name: path.read_bytes() for path in written.iterdir()} == {
        path.name: path.read_bytes() for path in (tmp_path / "again").iterdir()}
    demo.write_demo_jobs(tmp_path / "other", runs_dir, seed=8)
    assert (tmp_path / "other" / "nightly-crm-sync.json").read_bytes() != (written / "nightly-crm-sync.json").read_bytes()


def test_only_missing_files_are_written_and_none_is_overwritten(runs_dir, tmp_path):
    target = tmp_path / "jobs"
    first = demo.write_demo_jobs(target, runs_dir, seed=7)
    assert first["written"] == len(list(target.iterdir()))
    (target / "memory-gc.json").write_text("edited by the operator")
    (target / "legacy-export.json").unlink()
    second = demo.write_demo_jobs(target, runs_dir, seed=7)
    assert second == {"directory": str(target), "written": 1, "kept": first["written"] - 1}
    assert (target / "memory-gc.json").read_text() == "edited by the operator"
    assert (target / "legacy-export.json").is_file()
    assert demo.write_demo_jobs(target, runs_dir, seed=7) == {}
