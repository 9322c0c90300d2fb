"""The job pages and the job API: signals, filters, history, links to runs, redaction on every surface, broken
and hostile job files, an unknown job, a missing job directory, and nothing written to the job store."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.urls import reverse

from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.fixtures import readonly
from tests.html import assert_valid_html, page_text
from tests.web.runs_support import body, htmx, json_body, write_store

SECRET = "sk-live-4f9b2c7e1a3d5f8b0c6e2a9d"
PASSWORD = "password=hunter2-very-secret"
HOSTILE = '<script>alert("job")</script>&"x'
SPOOF = "\u202egnp.exe"
API_KEYS = {"id", "handler", "status", "runAt", "intervalMs", "runCount", "lastRunAt", "error", "signals"}


def job(job_id: str, **fields) -> dict:
    record = {"id": job_id, "handler": "h", "runAt": "2026-11-24T13:00:00.000Z", "intervalMs": None, "maxRuns": None,
              "runCount": 0, "status": "scheduled", "metadata": {}, "payload": {}, "result": None, "error": None,
              "lastRunAt": None, "history": []}
    record.update(fields)
    return record


def history(*entries: tuple[str, dict | str]) -> list[dict]:
    items = []
    for number, (status, outcome) in enumerate(entries, 1):
        item = {"runNumber": number, "status": status, "runAt": f"2026-11-2{number}T10:00:00.000Z"}
        item["error" if status == "failed" else "result"] = outcome
        items.append(item)
    return items


JOBS = [
    job("crm-sync", handler="crm_sync", intervalMs=86400000, runCount=2, lastRunAt="2026-11-23T02:00:10.000Z",
        runAt="2026-11-25T02:00:10.000Z", payload={"crm": "hubspot", "apiKey": SECRET},
        metadata={"owner": "revops", "sourceRunId": "child-1"}, result={"runId": "root-1", "synced": 12},
        history=history(("completed", {"runId": "child-2", "synced": 9}), ("completed", {"runId": "root-1", "synced": 12}))),
    job("digest", handler="incident_digest", intervalMs=3600000, runAt="2026-11-24T08:00:00.000Z", runCount=1,
        history=history(("completed", {"runId": "ghost-run"}))),
    job("reindex", handler="reindex", status="running", intervalMs=86400000, runAt="2026-11-23T03:00:00.000Z"),
    job("refunds", handler="refund_reconcile", status="failed", intervalMs=21600000, runCount=3,
        error=f"provider login failed: {PASSWORD}",
        history=history(("completed", {"matched": 4}), ("completed", {"matched": 5}),
                        ("failed", f"provider login failed: {PASSWORD}"))),
    job("hostile", handler=HOSTILE, status="completed", error=HOSTILE, payload={"note": HOSTILE}),
    job(SPOOF, handler="spoof"),
]


@pytest.fixture
def job_dir(runs_settings, tmp_runs, tmp_path):
    directory = tmp_path / "jobs"
    directory.mkdir()
    for record in JOBS:
        (directory / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")
    (directory / "cut.json").write_text('{\n  "id": "cut",\n  "handler": "h",\n  "runAt": "2026-')
    (directory / "list.json").write_text("[1, 2]")
    (directory / "daily-health-check.json").write_text(
        jsjson.dumps({"id": "daily-health-check", "status": "scheduled", "handler": "health-check"}, 2))
    runs_settings.CONTROLPLANE_JOB_STORE = directory.as_uri()
    return directory


def rows(response) -> list[str]:
    """The job ids of the table's rows, in order."""
    return [page_text(cell) for cell in re.findall(r'<th scope="row" class="job-name"[^>]*>(.*?)</th>', body(response), re.S)]


def test_the_jobs_page_lists_every_job_with_its_signals_in_the_schedulers_order(client, job_dir):
    response = client.get("/jobs/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    assert rows(response) == ["crm-sync", "daily-health-check", "digest", "hostile", "refunds", "reindex",
                              "\\u202egnp.exe"]
    text = page_text(response.content)
    assert "1 overdue" in text and "1 stuck" in text and "1 failed, not rescheduled" in text
    assert "2 unreadable files" in text


def test_each_row_shows_the_jobs_schedule_and_outcome(client, job_dir):
    text = page_text(client.get("/jobs/?handler=crm_sync").content)
    assert "crm_sync scheduled — in 14 h every 1 d — 2 1 d ago —" in text
    text = page_text(client.get("/jobs/?handler=refund_reconcile").content)
    assert "failed, not rescheduled" in text and "every 6 h" in text and "provider login failed" in text


def test_unreadable_files_are_error_rows_with_their_reason_and_what_the_runtime_does(client, job_dir):
    text = page_text(client.get("/jobs/").content)
    assert "cut.json invalid JSON (Unterminated string" in text
    assert "BackgroundJobScheduler.runDueJobs() runs no job at all" in text
    assert "list.json the JSON is an array, not a job object The scheduler skips it" in text


@pytest.mark.parametrize(("query", "expected"), [
    ("signal=stuck", ["reindex"]),
    ("signal=overdue", ["digest"]),
    ("signal=failed_not_rescheduled", ["refunds"]),
    ("signal=any", ["digest", "refunds", "reindex"]),
    ("status=completed", ["hostile"]),
    ("handler=incident_digest", ["digest"]),
    ("status=scheduled&signal=overdue", ["digest"]),
    ("status=paused", []),
])
def test_filters_select_jobs(client, job_dir, query, expected):
    response = client.get(f"/jobs/?{query}")
    assert response.status_code == 200
    assert rows(response) == expected
    assert [job["id"] for job in json_body(client.get(f"/api/jobs/?{query}"))["jobs"]] == expected


def test_a_filtered_page_says_so_and_a_page_past_the_end_says_where_the_end_is(client, job_dir, settings):
    assert "No job matches these filters" in page_text(client.get("/jobs/?status=paused").content)
    settings.CONTROLPLANE_PAGE_SIZE = 2
    assert rows(client.get("/jobs/?page=2")) == ["digest", "hostile"]
    assert "Page 9 is past the end: there are 4 pages" in page_text(client.get("/jobs/?page=9").content)


@pytest.mark.parametrize("query", ["signal=bogus", "page=0", "page=abc", f"status={'x' * 300}"])
def test_bad_parameters_are_a_400_with_the_reason(client, job_dir, query):
    page = client.get(f"/jobs/?{query}")
    assert page.status_code == 400
    assert "Invalid parameters:" in page_text(page.content)
    api = client.get(f"/api/jobs/?{query}")
    assert api.status_code == 400
    assert json_body(api)["error"].startswith("Invalid parameters:")
    assert json_body(api)["fields"]


def test_an_htmx_request_gets_the_table_only(client, job_dir):
    response = htmx(client, "/jobs/?signal=stuck", "jobs-table")
    assert response.status_code == 200
    text = body(response)
    assert text.startswith('<div id="jobs-table">') and "<html" not in text
    assert_valid_html(text)
    assert response["Vary"].count("HX-Request") == 1


def test_the_job_page_shows_history_newest_first_payload_metadata_and_the_signal(client, job_dir):
    response = client.get("/jobs/refunds/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert "failed, not rescheduled A recurring job (intervalMs) whose last run failed" in text
    history_text = text[text.index("History newest first"):text.index("Payload")]
    assert history_text.index("3 failed") < history_text.index("2 completed") < history_text.index("1 completed")
    assert '"matched": 5' in history_text


def test_the_job_page_links_runs_that_exist_and_names_the_others(client, job_dir):
    html = body(client.get("/jobs/crm-sync/"))
    for run_id in ("root-1", "child-1", "child-2"):
        assert f'href="{reverse("runs:detail", args=[run_id])}"' in html
    html = body(client.get("/jobs/digest/"))
    assert "ghost-run" in html and "not in this run store" in html
    assert reverse("runs:detail", args=["ghost-run"]) not in html


def test_a_hand_written_job_is_shown_with_the_schedulers_reading_of_it(client, job_dir):
    response = client.get("/jobs/daily-health-check/")
    assert response.status_code == 200
    text = page_text(response.content)
    assert "How the scheduler will treat this job" in text
    assert "No runAt" in text and "No history list" in text
    api = json_body(client.get("/api/jobs/daily-health-check/"))
    assert api["history"] == [] and api["runAt"] is None and len(api["notes"]) == 2


def test_the_api_lists_jobs_with_the_issues_keys(client, job_dir):
    payload = json_body(client.get("/api/jobs/"))
    assert payload["total"] == 7
    assert all(set(job) >= API_KEYS for job in payload["jobs"])
    digest = next(job for job in payload["jobs"] if job["id"] == "digest")
    assert digest == {"id": "digest", "handler": "incident_digest", "status": "scheduled",
                      "runAt": "2026-11-24T08:00:00.000Z", "intervalMs": 3600000, "maxRuns": None, "runCount": 1,
                      "lastRunAt": None, "error": None, "signals": ["overdue"]}
    assert [error["file"] for error in payload["errors"]] == ["cut.json", "list.json"]


def test_the_api_gives_one_job_with_its_history_and_the_runs_it_names(client, job_dir):
    payload = json_body(client.get("/api/jobs/crm-sync/"))
    assert payload["id"] == "crm-sync" and payload["signals"] == []
    assert [entry["runNumber"] for entry in payload["history"]] == [1, 2]
    assert payload["history"][1] == {"runNumber": 2, "status": "completed", "runAt": "2026-11-22T10:00:00.000Z",
                                     "result": {"runId": "root-1", "synced": 12}}
    assert {run["runId"]: run["inRunStore"] for run in payload["runs"]} == {
        "root-1": True, "child-2": True, "child-1": True}
    assert payload["job"]["payload"]["crm"] == "hubspot"


@pytest.mark.parametrize("url", ["/jobs/", "/jobs/crm-sync/", "/jobs/refunds/", "/api/jobs/", "/api/jobs/crm-sync/",
                                 "/api/jobs/refunds/"])
def test_secrets_are_redacted_on_every_surface(client, job_dir, url):
    content = body(client.get(url))
    assert SECRET not in content and "hunter2" not in content
    assert "[REDACTED]" in content


@pytest.mark.parametrize("url", ["/jobs/crm-sync/", "/api/jobs/crm-sync/", "/api/jobs/refunds/"])
def test_the_redaction_switch_shows_secrets_when_turned_off(client, job_dir, settings, url):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    content = body(client.get(url))
    assert SECRET in content or "hunter2" in content


def test_the_list_redacts_errors_too(client, job_dir):
    content = body(client.get("/jobs/?handler=refund_reconcile"))
    assert "provider login failed" in content and "hunter2" not in content and "[REDACTED]" in content


def test_hostile_text_is_escaped_and_direction_characters_are_shown(client, job_dir):
    for url in ("/jobs/", "/jobs/hostile/"):
        content = body(client.get(url))
        assert "<script>alert" not in content and "&lt;script&gt;alert" in content
        assert_valid_html(content)
    text = page_text(client.get("/jobs/").content)
    assert "\\u202egnp.exe" in text and SPOOF not in text
    spoof = client.get(f"/jobs/{quote(SPOOF)}/")
    assert spoof.status_code == 200 and "\\u202egnp.exe" in page_text(spoof.content)


def test_an_unknown_job_is_a_helpful_404(client, job_dir):
    page = client.get("/jobs/no-such-job/")
    assert page.status_code == 404
    assert "No job “ no-such-job ” is in the job store" in page_text(page.content)
    assert reverse("jobs:list") in body(page)
    api = client.get("/api/jobs/no-such-job/")
    assert api.status_code == 404
    assert json_body(api) == {"error": 'No job "no-such-job" in the job store: it has no file named no-such-job.json.',
                              "jobId": "no-such-job"}


def test_an_unreadable_job_file_is_a_422_with_its_reason(client, job_dir):
    page = client.get("/jobs/cut/")
    assert page.status_code == 422
    text = page_text(page.content)
    assert "cut.json cannot be read as a job: invalid JSON" in text and "runs no job at all" in text
    api = client.get("/api/jobs/list/")
    assert api.status_code == 422
    assert "the JSON is an array" in json_body(api)["error"]


@pytest.mark.parametrize(("configured", "reason"), [
    ("missing", "the directory does not exist"), ("unset", "CONTROLPLANE_JOB_STORE is not set"),
    ("postgres", "must be a file:///path URL")])
def test_a_missing_or_unset_job_store_is_a_clear_message_naming_the_setting(client, runs_settings, tmp_path, configured,
                                                                             reason):
    runs_settings.CONTROLPLANE_JOB_STORE = {"missing": (tmp_path / "nowhere").as_uri(), "unset": "",
                                           "postgres": "postgresql://db/jobs"}[configured]
    assert reason in page_text(client.get("/jobs/").content)
    for url, status in (("/jobs/", 200), ("/jobs/some-job/", 404)):
        page = client.get(url)
        assert page.status_code == status
        assert_valid_html(page.content)
        text = page_text(page.content)
        assert "The job store cannot be read:" in text and "CONTROLPLANE_JOB_STORE" in text
    for url in ("/api/jobs/", "/api/jobs/some-job/"):
        api = client.get(url)
        assert api.status_code == 404
        assert json_body(api)["setting"] == "CONTROLPLANE_JOB_STORE"
        assert json_body(api)["error"].startswith("The job store cannot be read:")


def test_an_empty_job_directory_says_what_would_be_there(client, runs_settings, tmp_path):
    (tmp_path / "jobs").mkdir()
    runs_settings.CONTROLPLANE_JOB_STORE = (tmp_path / "jobs").as_uri()
    text = page_text(client.get("/jobs/").content)
    assert "No job in this directory yet" in text
    assert json_body(client.get("/api/jobs/")) == {"jobs": [], "total": 0, "page": 1, "pageSize": 50, "errors": []}


def test_a_broken_run_store_does_not_break_a_job_page(client, job_dir, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = (tmp_path / "no-runs-here").as_uri()
    response = client.get("/jobs/crm-sync/")
    assert response.status_code == 200
    assert "The run store cannot be read, so these ids are not linked" in page_text(response.content)


def test_the_job_pages_never_write_to_the_job_store(client, job_dir):
    before = readonly.snapshot(job_dir)
    for url in ("/jobs/", "/jobs/crm-sync/", "/jobs/cut/", "/jobs/missing/", "/api/jobs/", "/api/jobs/reindex/"):
        client.get(url)
    assert readonly.changes(before, readonly.snapshot(job_dir)) == []


def test_only_safe_methods_are_answered(client, job_dir):
    assert client.post("/jobs/").status_code == 405
    assert client.post("/api/jobs/crm-sync/").status_code == 405


def test_under_a_named_store_a_job_links_the_runs_of_that_store(client, job_dir, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_STORES = {"other": write_store(tmp_path / "other", [run_record("child-2")])}
    html = body(client.get("/s/other/jobs/crm-sync/"))
    assert 'href="/s/other/runs/child-2/"' in html
    assert "/runs/root-1/" not in html and "not in this run store" in html
    assert 'href="/s/other/jobs/"' in html


def test_the_summary_counts_link_to_their_signal_filter(client, job_dir):
    html = body(client.get("/jobs/"))
    for signal in ("overdue", "stuck", "failed_not_rescheduled"):
        assert f'href="/jobs/?signal={signal}"' in html


def test_jobs_of_any_shape_render_on_every_surface(client, runs_settings, tmp_path):
    odd = {"id": "odd", "status": 7, "handler": ["a", {"b": 1}], "runAt": 1795000000000, "intervalMs": "hourly",
           "maxRuns": True, "runCount": "three", "lastRunAt": {"at": "noon"}, "error": {"code": 5},
           "history": {"runNumber": 1}, "payload": "text", "metadata": None, "result": [1, None], "extra": [[[]]]}
    bare = {"id": "bare"}
    directory = tmp_path / "jobs"
    directory.mkdir()
    for record in (odd, bare):
        (directory / f"{record['id']}.json").write_text(jsjson.dumps(record, 2))
    runs_settings.CONTROLPLANE_JOB_STORE = directory.as_uri()
    for url in ("/jobs/", "/jobs/odd/", "/jobs/bare/", "/api/jobs/", "/api/jobs/odd/", "/api/jobs/bare/"):
        response = client.get(url)
        assert response.status_code == 200, url
        if url.startswith("/jobs/"):
            assert_valid_html(response.content)
    text = page_text(client.get("/jobs/odd/").content)
    assert 'Status "7" is not one the scheduler writes' in text
    assert "This job has no history list (an object)" in text
    assert json_body(client.get("/api/jobs/odd/"))["job"]["extra"] == [[[]]]
