"""The FileJobStore reader (runtime_adapter.durable.jobs): jobs as the runtime writes them, the operator's
signals against a given now, hand-written shapes, broken files as error rows, redaction, and the runs a job names."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime_adapter.durable.jobs import (
    FAILED_NOT_RESCHEDULED,
    OVERDUE,
    STUCK,
    JobNotFound,
    JobQuery,
    JobStoreUnavailable,
    UnreadableJob,
    job_detail,
    list_jobs,
    read_job,
    read_jobs,
)
from runtime_adapter.js import jsjson
from runtime_adapter.records import CorruptRun, StoreUnavailable
from tests.fixtures import readonly

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

# Written by the runtime itself (agnostic-agents 1.3.3, node 20): BackgroundJobScheduler.schedule() with a
# FileJobStore, then runDueJobs() at 00:00:00.500 and 00:00:02.000, the handler returning
# {ok: true, runId: 'run-1', note: 'processed:crm'}.
RUNTIME_NIGHTLY = (
    '{\n  "id": "nightly-sync",\n  "handler": "nightly_sync",\n  "runAt": "2026-01-01T00:00:03.000Z",\n'
    '  "intervalMs": 1000,\n  "maxRuns": 3,\n  "runCount": 2,\n  "status": "scheduled",\n  "metadata": {\n'
    '    "owner": "ops"\n  },\n  "payload": {\n    "topic": "crm"\n  },\n  "result": {\n    "ok": true,\n'
    '    "runId": "run-1",\n    "note": "processed:crm"\n  },\n  "error": null,\n'
    '  "lastRunAt": "2026-01-01T00:00:02.000Z",\n  "history": [\n    {\n      "runNumber": 1,\n'
    '      "status": "completed",\n      "runAt": "2026-01-01T00:00:00.500Z",\n      "result": {\n'
    '        "ok": true,\n        "runId": "run-1",\n        "note": "processed:crm"\n      }\n    },\n    {\n'
    '      "runNumber": 2,\n      "status": "completed",\n      "runAt": "2026-01-01T00:00:02.000Z",\n'
    '      "result": {\n        "ok": true,\n        "runId": "run-1",\n        "note": "processed:crm"\n'
    '      }\n    }\n  ]\n}'
)
# The same runtime, a handler that threw "CRM said 503" on a job with intervalMs 60000.
RUNTIME_FAILED = (
    '{\n  "id": "boom",\n  "handler": "boom",\n  "runAt": "2026-01-01T00:00:00.000Z",\n  "intervalMs": 60000,\n'
    '  "maxRuns": null,\n  "runCount": 1,\n  "status": "failed",\n  "metadata": {},\n  "payload": {},\n'
    '  "result": null,\n  "error": "CRM said 503",\n  "lastRunAt": "2026-01-01T00:00:00.500Z",\n  "history": [\n'
    '    {\n      "runNumber": 1,\n      "status": "failed",\n      "runAt": "2026-01-01T00:00:00.500Z",\n'
    '      "error": "CRM said 503"\n    }\n  ]\n}'
)


def job(job_id: str, **fields) -> dict:
    """A job in schedule()'s normalised shape."""
    record = {"id": job_id, "handler": "h", "runAt": "2026-11-24T13:00:00.000Z", "intervalMs": None, "maxRuns": None,
              "runCount": 0, "status": "scheduled", "metadata": {}, "payload": {}, "result": None, "error": None,
              "lastRunAt": None, "history": []}
    record.update(fields)
    return record


def write(directory: Path, *records: dict, raw: dict[str, bytes | str] | None = None) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for record in records:
        (directory / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")
    for name, content in (raw or {}).items():
        path = directory / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return directory.as_uri()


def one(url: str, job_id: str, **options):
    return read_job(url, job_id, now=NOW, **options)


def test_a_job_the_runtime_wrote_is_read_with_its_history(tmp_path):
    url = write(tmp_path / "jobs", raw={"nightly-sync.json": RUNTIME_NIGHTLY})
    found = one(url, "nightly-sync")
    assert (found.handler, found.status, found.interval_ms, found.max_runs, found.run_count) == (
        "nightly_sync", "scheduled", 1000, 3, 2)
    assert found.last_run_at == "2026-01-01T00:00:02.000Z"
    assert [(entry.run_number, entry.status, entry.run_at) for entry in found.history] == [
        (1, "completed", "2026-01-01T00:00:00.500Z"), (2, "completed", "2026-01-01T00:00:02.000Z")]
    assert found.history[0].result == {"ok": True, "runId": "run-1", "note": "processed:crm"}
    assert found.notes == ()


def test_a_recurring_job_the_runtime_failed_is_failed_and_not_rescheduled(tmp_path):
    url = write(tmp_path / "jobs", raw={"boom.json": RUNTIME_FAILED})
    found = one(url, "boom")
    assert found.signals == (FAILED_NOT_RESCHEDULED,)
    assert found.history[0].has_error and found.history[0].error == "CRM said 503"


@pytest.mark.parametrize(("fields", "signals"), [
    ({"status": "scheduled", "runAt": "2026-11-24T11:59:00.000Z"}, (OVERDUE,)),
    ({"status": "scheduled", "runAt": "2026-11-24T12:01:00.000Z"}, ()),
    ({"status": "scheduled", "runAt": 1795000000000}, (OVERDUE,)),  # epoch ms, as new Date(number) reads it
    ({"status": "scheduled", "runAt": None}, (OVERDUE,)),  # new Date(null) is the epoch
    ({"status": "running", "runAt": "2026-11-24T13:00:00.000Z"}, (STUCK,)),
    ({"status": "failed", "intervalMs": 3600000}, (FAILED_NOT_RESCHEDULED,)),
    ({"status": "failed", "intervalMs": None}, ()),  # a one-shot failure is final, not a stopped schedule
    ({"status": "failed", "intervalMs": 0}, ()),  # 0 is falsy: the scheduler would not reschedule it either
    ({"status": "completed", "intervalMs": 3600000, "runAt": "2026-01-01T00:00:00.000Z"}, ()),
])
def test_signals_follow_the_scheduler(tmp_path, fields, signals):
    url = write(tmp_path / "jobs", job("j", **fields))
    assert one(url, "j").signals == signals


def test_a_job_saved_by_hand_with_the_runtimes_example_shape_is_shown_with_what_the_scheduler_will_do(tmp_path):
    # examples/referenceFileBackedStack.js: jobStore.saveJob({ id, status: 'scheduled', handler }).
    url = write(tmp_path / "jobs", {"id": "daily-health-check", "status": "scheduled", "handler": "health-check"})
    found = one(url, "daily-health-check")
    assert found.signals == ()
    assert found.run_at is None and found.history == () and found.history_kind == "missing"
    assert any(note.startswith("No runAt: the scheduler reads it as due") for note in found.notes)
    assert any("runDueJobs() throws" in note and '"running"' in note for note in found.notes)


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"status": "paused"}, 'Status "paused" is not one the scheduler writes'),
    ({"status": "scheduled", "runAt": "next tuesday"}, 'runAt "next tuesday" is not a timestamp'),
    ({"status": "scheduled", "intervalMs": 60000, "maxRuns": "absent"}, None),
])
def test_odd_fields_get_a_note_saying_how_the_scheduler_reads_them(tmp_path, fields, fragment):
    record = job("odd", **fields)
    if fields.get("maxRuns") == "absent":
        del record["maxRuns"]
        fragment = "Recurring without a maxRuns field"
    url = write(tmp_path / "jobs", record)
    assert any(fragment in note for note in one(url, "odd").notes)


def test_any_shape_is_read_without_failing(tmp_path):
    odd = {"id": "odd", "status": 7, "handler": ["a"], "runAt": {"when": "soon"}, "intervalMs": "hourly",
           "runCount": "three", "history": {"runNumber": 1}, "payload": "text", "metadata": None, "result": [1, 2]}
    url = write(tmp_path / "jobs", odd, job("fine"))
    listing = read_jobs(url, now=NOW)
    assert [found.id for found in listing.jobs] == ["fine", "odd"] and listing.errors == []
    found = listing.jobs[1]
    assert found.history == () and found.history_kind == "an object"
    assert found.run_count == "three" and found.due_at is None


def test_history_items_that_are_not_records_are_kept_as_they_are(tmp_path):
    url = write(tmp_path / "jobs", job("j", history=["ran once", {"runNumber": 2, "status": "completed"}]))
    entries = one(url, "j").history
    assert not entries[0].is_record and entries[0].raw == "ran once"
    assert entries[1].is_record and not entries[1].has_result and not entries[1].has_error


def test_jobs_are_listed_in_the_order_runDueJobs_visits_them(tmp_path):
    url = write(tmp_path / "jobs", job("b"), job("B"), job("a-1"), job("a"), job("é"))
    # By file name, bytewise, as Node's readdir returns them: "a-1.json" sorts before "a.json" ("-" < ".").
    assert [found.id for found in read_jobs(url, now=NOW).jobs] == ["B", "a-1", "a", "b", "é"]


def test_a_numeric_id_in_its_own_file_name_is_a_job(tmp_path):
    # saveJob writes `${job.id}.json`: String(42) is "42".
    url = write(tmp_path / "jobs", raw={"42.json": jsjson.dumps({"id": 42, "status": "scheduled"}, 2)})
    assert one(url, "42").id == "42"


BROKEN = {
    "cut.json": ('{\n  "id": "cut",\n  "handler": "h",\n  "runAt": "2026-', "invalid JSON", "runs no job at all"),
    "empty.json": ("", "empty file", "runs no job at all"),
    "null.json": ("null", "the JSON is null", "throws when it reaches this file"),
    "list.json": ("[1, 2]", "the JSON is an array", "skips it"),
    "text.json": ('"scheduled"', "the JSON is a string", "skips it"),
    "other.json": (jsjson.dumps(job("renamed")), 'names id "renamed"', 'saves its next state to "renamed.json"'),
    "noid.json": ('{"status": "scheduled"}', "names no id", "undefined.json"),
    "deep.json": ("[" * 200 + "]" * 200, "nested more than", ""),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_is_an_error_row_with_its_reason_and_the_rest_are_listed(tmp_path, name):
    content, reason, effect = BROKEN[name]
    url = write(tmp_path / "jobs", job("fine-1"), job("fine-2"), raw={name: content})
    listing = read_jobs(url, now=NOW)
    assert [found.id for found in listing.jobs] == ["fine-1", "fine-2"]
    [error] = listing.errors
    assert error.file == name and reason in error.reason and effect in error.effect
    with pytest.raises(UnreadableJob) as caught:
        one(url, name.removesuffix(".json"))
    assert reason in caught.value.error.reason


def test_a_listing_keeps_the_list_fields_redacted_and_leaves_payloads_and_histories_to_the_job(tmp_path):
    url = write(tmp_path / "jobs", job("j", payload={"apiKey": "sk-live-4f9b2c7e1a3d5f8b0c6e2a9d"},
                                       error="password=hunter2", history=[{"runNumber": 1}]))
    [listed] = read_jobs(url, now=NOW).jobs
    assert set(listed.record) == {"id", "handler", "status", "runAt", "intervalMs", "maxRuns", "runCount",
                                  "lastRunAt", "error"}
    assert listed.error == "password=[REDACTED]" and listed.history == () and listed.history_kind == "list"
    assert len(one(url, "j").history) == 1


def test_a_deeply_nested_field_in_a_bracket_heavy_file_is_refused_but_a_wide_one_is_read(tmp_path):
    url = write(tmp_path / "jobs", job("wide", payload={"items": [{"n": i} for i in range(300)]}),
                raw={"deep.json": '{"id": "deep", "error": ' + "[" * 150 + "]" * 150 + "}"})
    listing = read_jobs(url, now=NOW)
    assert [found.id for found in listing.jobs] == ["wide"]
    assert "nested more than 128 levels" in listing.errors[0].reason


def test_a_file_over_the_size_limit_is_an_error_row(tmp_path):
    url = write(tmp_path / "jobs", job("big", payload={"blob": "x" * 5000}), job("small"))
    listing = read_jobs(url, now=NOW, max_bytes=2048)
    assert [found.id for found in listing.jobs] == ["small"]
    assert "over the 2,048-byte limit" in listing.errors[0].reason


def test_links_and_directories_named_like_jobs_are_error_rows_and_other_files_are_ignored(tmp_path):
    url = write(tmp_path / "jobs", job("real"), raw={"notes.txt": "hello", "job.json.tmp": "{"})
    (tmp_path / "jobs" / "dir.json").mkdir()
    (tmp_path / "outside.json").write_text(jsjson.dumps(job("outside")))
    (tmp_path / "jobs" / "outside.json").symlink_to(tmp_path / "outside.json")
    listing = read_jobs(url, now=NOW)
    assert [found.id for found in listing.jobs] == ["real"]
    reasons = {error.file: error.reason for error in listing.errors}
    assert reasons["dir.json"] == "a directory, not a file"
    assert reasons["outside.json"].startswith("a symbolic link")


def test_bytes_that_are_not_utf8_are_read_as_node_reads_them(tmp_path):
    url = write(tmp_path / "jobs", raw={"latin.json": b'{"id": "latin", "status": "scheduled", "handler": "caf\xe9"}'})
    assert one(url, "latin").handler == "caf\ufffd"


@pytest.mark.parametrize(("url", "reason"), [
    ("", "CONTROLPLANE_JOB_STORE is not set"),
    ("postgresql://db/jobs", "must be a file:///path URL"),
])
def test_an_unset_or_foreign_store_url_is_unavailable_with_the_reason(url, reason):
    with pytest.raises(JobStoreUnavailable) as caught:
        read_jobs(url, now=NOW)
    assert reason in caught.value.reason


def test_a_missing_directory_or_a_file_in_its_place_is_unavailable(tmp_path):
    with pytest.raises(JobStoreUnavailable) as caught:
        read_jobs((tmp_path / "nowhere").as_uri(), now=NOW)
    assert "does not exist" in caught.value.reason
    (tmp_path / "file").write_text("x")
    with pytest.raises(JobStoreUnavailable) as caught:
        read_job((tmp_path / "file").as_uri(), "x", now=NOW)
    assert "not a directory" in caught.value.reason


@pytest.mark.parametrize("job_id", ["missing", "../jobs/fine", "a/b", "..", ".", "x" * 400])
def test_an_unknown_or_escaping_id_is_not_found(tmp_path, job_id):
    url = write(tmp_path / "jobs", job("fine"))
    (tmp_path / "fine.json").write_text(jsjson.dumps(job("fine")))
    with pytest.raises(JobNotFound):
        one(url, job_id)


def test_secrets_are_redacted_everywhere_but_the_id_and_the_switch_shows_them(tmp_path):
    record = job("sync", payload={"apiKey": "sk-live-4f9b2c7e1a3d5f8b0c6e2a9d", "crm": "hubspot"},
                 metadata={"dsn": "postgres://app:hunter2pass@db/prod"}, status="failed", intervalMs=1000,
                 error="login failed: password=hunter2 rejected",
                 history=[{"runNumber": 1, "status": "failed", "runAt": "2026-11-24T10:00:00.000Z",
                           "error": "Authorization: Bearer abcdef0123456789abcdef"}])
    url = write(tmp_path / "jobs", record)
    shown = json.dumps(one(url, "sync").record)
    for secret in ("sk-live-4f9b", "hunter2pass", "hunter2 ", "abcdef0123456789"):
        assert secret not in shown
    assert "[REDACTED]" in shown and "hubspot" in shown and '"id": "sync"' in shown
    assert one(url, "sync").signals == (FAILED_NOT_RESCHEDULED,)  # computed from the file, not the redacted copy
    assert "sk-live-4f9b2c7e1a3d5f8b0c6e2a9d" in json.dumps(one(url, "sync", secrets=False).record)


def test_a_credential_in_a_note_or_a_wrong_id_is_redacted(tmp_path):
    url = write(tmp_path / "jobs", job("odd", status="token=sk-live-4f9b2c7e1a3d5f8b0c6e2a9d"),
                raw={"x.json": jsjson.dumps(job("sk-live-9f9b2c7e1a3d5f8b0c6e2a9d"))})
    listing = read_jobs(url, now=NOW)
    assert "sk-live" not in " ".join(listing.jobs[0].notes)
    assert "sk-live" not in listing.errors[0].reason + listing.errors[0].effect


def test_list_jobs_filters_pages_and_counts_signals(tmp_path):
    url = write(tmp_path / "jobs",
                job("a", status="running", handler="sync"),
                job("b", status="failed", intervalMs=1000, handler="sync"),
                job("c", status="scheduled", runAt="2026-11-24T10:00:00.000Z", handler="digest"),
                job("d", status="completed", handler="digest"),
                job("e", status="scheduled", handler="digest"),
                raw={"broken.json": "{"})

    def ids(**query):
        return [found.id for found in list_jobs(url, JobQuery(**query), now=NOW).jobs]

    assert ids() == ["a", "b", "c", "d", "e"]
    assert ids(status="scheduled") == ["c", "e"]
    assert ids(handler="sync") == ["a", "b"]
    assert ids(signal=STUCK) == ["a"]
    assert ids(signal="any") == ["a", "b", "c"]
    assert ids(signal=OVERDUE, handler="sync") == []
    assert ids(offset=2, limit=2) == ["c", "d"]
    page = list_jobs(url, JobQuery(handler="digest", limit=1), now=NOW)
    assert (page.total, page.all_jobs, len(page.errors)) == (3, 5, 1)
    assert page.signal_counts == {OVERDUE: 1, STUCK: 1, FAILED_NOT_RESCHEDULED: 1, "any": 3}
    assert page.handlers == ["digest", "sync"]
    assert page.statuses == ["completed", "failed", "running", "scheduled"]


def test_the_runs_a_job_names_are_checked_against_the_run_store(tmp_path):
    record = job("sync", result={"runId": "run-2", "items": [{"childRunIds": ["run-3", "ghost"]}]},
                 metadata={"sourceRunId": "run-1", "note": "run-9 is not named by a key"},
                 history=[{"runNumber": 1, "status": "completed", "runAt": "2026-11-24T10:00:00.000Z",
                           "result": {"run_id": "run-1"}}])
    url = write(tmp_path / "jobs", record)
    detail = job_detail(url, "sync", now=NOW, run_exists=lambda run_id: run_id != "ghost")
    assert [(mention.run_id, mention.places, mention.exists) for mention in detail.runs] == [
        ("run-2", ("result.runId",), True),
        ("run-3", ("result.items[0].childRunIds[0]",), True),
        ("ghost", ("result.items[0].childRunIds[1]",), False),
        ("run-1", ("history[0].result.run_id", "metadata.sourceRunId"), True),
    ]


def test_a_run_store_that_is_down_leaves_the_ids_unlinked_and_says_why(tmp_path):
    url = write(tmp_path / "jobs", job("sync", result={"runId": "run-1"}, metadata={"sourceRunId": "run-2"}))

    def down(run_id: str) -> bool:
        raise StoreUnavailable("run store unreachable")

    detail = job_detail(url, "sync", now=NOW, run_exists=down)
    assert [mention.exists for mention in detail.runs] == [False, False]
    assert "unreachable" in detail.runs_unavailable


def test_a_run_whose_file_is_corrupt_still_gets_its_link(tmp_path):
    url = write(tmp_path / "jobs", job("sync", result={"runId": "run-1"}))

    def corrupt(run_id: str) -> bool:
        raise CorruptRun(f"{run_id}.json", "invalid JSON")

    assert job_detail(url, "sync", now=NOW, run_exists=corrupt).runs[0].exists


def test_reading_never_changes_the_directory(tmp_path):
    url = write(tmp_path / "jobs", job("a"), job("b", status="running"), raw={"cut.json": "{", "null.json": "null"})
    before = readonly.snapshot(tmp_path / "jobs")
    read_jobs(url, now=NOW)
    one(url, "a")
    with pytest.raises(UnreadableJob):
        one(url, "cut")
    job_detail(url, "b", now=NOW, run_exists=lambda run_id: True)
    assert readonly.changes(before, readonly.snapshot(tmp_path / "jobs")) == []


def test_a_fifo_named_like_a_job_does_not_block(tmp_path):
    url = write(tmp_path / "jobs", job("a"))
    os.mkfifo(tmp_path / "jobs" / "pipe.json")
    listing = read_jobs(url, now=NOW)
    assert [found.id for found in listing.jobs] == ["a"]
    assert listing.errors[0].reason == "not a regular file"


def test_the_api_row_has_the_issues_keys_and_nulls_for_what_a_hand_written_job_lacks(tmp_path):
    url = write(tmp_path / "jobs", raw={"nightly-sync.json": RUNTIME_NIGHTLY, "bare.json": '{"id": "bare"}'})
    listing = read_jobs(url, now=NOW)
    assert listing.jobs[1].as_api() == {
        "id": "nightly-sync", "handler": "nightly_sync", "status": "scheduled", "runAt": "2026-01-01T00:00:03.000Z",
        "intervalMs": 1000, "maxRuns": 3, "runCount": 2, "lastRunAt": "2026-01-01T00:00:02.000Z", "error": None,
        "signals": ["overdue"],
    }
    assert listing.jobs[0].as_api() == {
        "id": "bare", "handler": None, "status": None, "runAt": None, "intervalMs": None, "maxRuns": None,
        "runCount": None, "lastRunAt": None, "error": None, "signals": [],
    }
