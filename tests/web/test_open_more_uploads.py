"""Open bundle opens a single run trace, a partial trace and a state bundle (its checks as results), and
refuses what it cannot open with the reason; hostile and broken files never make a 500."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.fixtures.traces import FIXTURES
from tests.html import assert_valid_html
from tests.web.runs_support import body, write_store

RUN_KEY = "sk-live-4f9a2b7c1d8e6f3a5b0c9d2e"
MEMORY_KEY = "sk-live-9e8d7c6b5a4f3e2d1c0b"


@pytest.fixture
def site(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [run_record("home")])
    cache.clear()
    return settings


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def post(client, content: bytes, kind: str | None = "auto", name: str = "upload.json"):
    data = {"bundle": SimpleUploadedFile(name, content, "application/json")}
    if kind is not None:
        data["kind"] = kind
    return client.post("/bundles/open/", data)


def opened(client, content: bytes, name: str = "upload.json") -> str:
    response = post(client, content, name=name)
    assert response.status_code == 302, body(response)[-800:]
    return response["Location"]


def uploads(site) -> list[str]:
    folder = site.DATA_DIR / "uploads"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_the_form_offers_each_kind_and_detects_by_default(client, site):
    page = body(client.get("/bundles/open/"))
    assert '<option value="auto" selected>Detect from the file</option>' in page
    for label in ("Trace bundle", "Run or partial trace", "State bundle"):
        assert f">{label}</option>" in page
    assert "agnostic-agents-state-bundle" in page and "agnostic-agents-run-trace" in page
    assert_valid_html(client.get("/bundles/open/").content)


def test_a_run_trace_opens_on_its_run(client, site):
    location = opened(client, fixture("refund.run-trace.json"), "refund.run-trace.json")
    assert location.startswith("/s/upload-") and location.endswith("/runs/refund-7f3a/")
    response = client.get(location)
    page = body(response)
    assert response.status_code == 200
    assert "Uploaded run trace:" in page and "refund.run-trace.json" in page
    assert "payments API returned 503" in page
    assert RUN_KEY not in page
    assert_valid_html(response.content)


def test_a_partial_trace_opens_on_its_run_and_says_where_it_was_cut(client, site):
    location = opened(client, fixture("refund.partial-trace.json"))
    assert location.endswith("/runs/refund-7f3a:partial:1795165207000/")
    page = body(client.get(location))
    assert "Uploaded partial trace:" in page
    assert "cut from" in page and "refund-7f3a" in page and "refund-7f3a:checkpoint:1" in page
    prefix = location.split("/runs/")[0]
    listing = client.get(f"{prefix}/api/runs/").json()
    assert [run["id"] for run in listing["runs"]] == ["refund-7f3a:partial:1795165207000"]


def test_a_state_bundle_opens_on_the_runtimes_checks(client, site):
    location = opened(client, fixture("refund.state-bundle.json"), "state.json")
    assert location.endswith("/bundles/state/")
    response = client.get(location)
    page = body(response)
    assert response.status_code == 200
    assert "Uploaded state bundle:" in page and "integrity passes" in page
    assert "working.active_task does not appear to align with the current run input." in page
    assert "new StateIntegrityChecker().check(bundle)" in page
    prefix = location.removesuffix("bundles/state/")
    assert f'href="{prefix}runs/refund-7f3a/"' in page
    for layer in ("conversation", "working", "profile", "policy"):
        assert f"<bdi>{layer}</bdi>" in page
    assert_valid_html(response.content)
    # The run is the upload's one run, on every page of it.
    assert client.get(f"{prefix}runs/refund-7f3a/").status_code == 200
    assert "Uploaded state bundle:" in body(client.get(f"{prefix}runs/"))


def test_a_state_bundle_whose_checks_fail_is_shown_with_the_failures(client, site):
    location = opened(client, fixture("refund.state-bundle.tampered.json"))
    response = client.get(location)
    page = body(response)
    assert response.status_code == 200
    assert "<title>State bundle (checks fail)" in page
    assert "integrity fails (3 errors)" in page and "consistency fails (1 error)" in page
    for message in ("summary.status does not match run.status.",
                    "summary.checkpointCount does not match run.checkpoints length.",
                    "run.metrics.childRuns.count does not match childRuns.items length.",
                    "Run has pendingApproval but status is not waiting_for_approval.",
                    "Referenced job &quot;nightly-refunds&quot; is missing from bundle metadata.jobs."):
        assert message in page, message
    assert page.count('class="open-differs"') == 2


def test_the_state_page_redacts_memory_the_run_and_the_messages(client, site):
    bundle = jsjson.loads(fixture("refund.state-bundle.json"))
    bundle["metadata"]["jobs"].append({"id": "password=hunter2", "runId": "other"})
    bundle["memory"]["working"]["note"] = {"value": f"token {RUN_KEY}", "createdAt": 0, "updatedAt": 0}
    location = opened(client, jsjson.dumps(bundle).encode())
    page = body(client.get(location))
    assert MEMORY_KEY not in page and RUN_KEY not in page and "hunter2" not in page
    assert "Job &quot;password=[REDACTED]&quot; references run" in page


def test_with_redaction_off_the_state_page_shows_the_secrets(client, site):
    site.CONTROLPLANE_REDACT_SECRETS = False
    page = body(client.get(opened(client, fixture("refund.state-bundle.json"))))
    assert MEMORY_KEY in page


def test_a_post_without_a_kind_keeps_opening_bundles_only(client, site):
    response = post(client, fixture("refund.state-bundle.json"), kind=None)
    page = body(response)
    assert response.status_code == 400
    assert "cannot be opened as a trace bundle." in page
    assert "This is a state bundle, not a trace bundle; choose “Detect from the file” (kind=auto) to open it." in page
    assert uploads(site) == []


@pytest.mark.parametrize(("content", "kind", "message"), [
    (b'{"schemaVersion": "1.1", "format": "agnostic-agents-trace-bundle", "traces": []}', "trace",
     "This is a trace bundle, not a single-run trace"),
    (b'{"schemaVersion": "1.1", "format": "agnostic-agents-run-trace", "run": {"id": "r", "status": "ok"}}', "state",
     "This is a single-run trace, not a state bundle"),
    (b'{"format": "nothing-we-know"}', "auto", "A file opens here when it is a trace bundle"),
    (b'{"format": "nothing-we-know"}', "state", "Unsupported state bundle format."),
    (b'{"schemaVersion": "1.1", "format": "agnostic-agents-run-trace", "exportedAt": "x", "metadata": {},'
     b' "run": {"id": "r"}}', "auto", "The trace&#x27;s run cannot be read: run.status is required."),
    (b'{"format": "agnostic-agents-state-bundle", "schemaVersion": "1.0", "run": ', "auto",
     "The file is not valid JSON"),
    (b"", "auto", "The submitted file is empty."),
    (b"{}", "everything", "Select a valid choice."),
])
def test_what_cannot_be_opened_is_refused_with_the_reason(client, site, content, kind, message):
    response = post(client, content, kind=kind)
    assert response.status_code == 400
    assert message in body(response)
    assert uploads(site) == []
    assert_valid_html(response.content)


def test_the_chosen_kind_is_kept_when_the_form_comes_back(client, site):
    page = body(post(client, b'{"format": "x"}', kind="state"))
    assert '<option value="state" selected>State bundle</option>' in page
    assert "cannot be opened as a state bundle." in page


def test_a_state_bundle_over_the_size_limit_is_refused(client, site):
    site.CONTROLPLANE_MAX_UPLOAD_BYTES = 1024
    bundle = jsjson.loads(fixture("refund.state-bundle.json"))
    bundle["metadata"]["padding"] = "x" * 100_000  # past the multipart framing's slack
    response = post(client, jsjson.dumps(bundle).encode())
    assert response.status_code == 413 and "CONTROLPLANE_MAX_UPLOAD_BYTES" in body(response)
    site.CONTROLPLANE_MAX_UPLOAD_BYTES = 12 * 1024  # within the multipart framing's slack: the form refuses it
    response = post(client, fixture("refund.state-bundle.json"))
    assert response.status_code == 400 and "the limit is 12,288 bytes" in body(response)
    assert uploads(site) == []


def test_a_state_bundle_with_a_run_nested_too_deep_opens_with_the_reason(client, site):
    bundle = jsjson.loads(fixture("refund.state-bundle.json"))
    bundle["run"]["input"] = "@@deep@@"
    text = jsjson.dumps(bundle).replace('"@@deep@@"', "[" * 600 + "]" * 600)
    location = opened(client, text.encode())
    page = body(client.get(location))
    assert "The bundle's run cannot be read." in page and "nested more than" in page
    prefix = location.removesuffix("bundles/state/")
    errors = client.get(f"{prefix}api/runs/").json()["errors"]
    assert [error["source"] for error in errors] == ["run"]


def test_a_state_bundle_of_odd_shapes_opens(client, site):
    bundle = {"format": "agnostic-agents-state-bundle", "schemaVersion": "0.9", "run": None, "memory": [1, 2],
              "memoryGovernance": "gov", "metadata": "meta", "summary": 7}
    response = client.get(opened(client, json.dumps(bundle).encode()))
    page = body(response)
    assert response.status_code == 200
    assert "Unsupported state bundle schemaVersion &quot;0.9&quot;." in page
    assert "This bundle holds no run" in page
    assert_valid_html(response.content)


def test_the_state_page_is_a_404_where_no_state_bundle_is_open(client, site):
    assert client.get("/bundles/state/").status_code == 404
    bundle = jsjson.dumps({"schemaVersion": "1.1", "format": "agnostic-agents-trace-bundle", "exportedAt": "x",
                           "metadata": {}, "traces": [jsjson.loads(fixture("refund.run-trace.json"))]}).encode()
    prefix = opened(client, bundle).removesuffix("runs/")
    response = client.get(f"{prefix}bundles/state/")
    assert response.status_code == 404 and "none is open here" in body(response)


def test_the_state_page_answers_only_get_and_head(client, site):
    location = opened(client, fixture("refund.state-bundle.json"))
    assert client.post(location).status_code == 405
    assert client.head(location).status_code == 200


def test_uploads_made_before_kinds_still_show_their_banner(client, site):
    bundle = jsjson.dumps({"schemaVersion": "1.1", "format": "agnostic-agents-trace-bundle", "exportedAt": "x",
                           "metadata": {}, "traces": [jsjson.loads(fixture("refund.run-trace.json"))]}).encode()
    prefix = opened(client, bundle).removesuffix("runs/")
    token = prefix.strip("/").split("/")[1].removeprefix("upload-")
    meta_path = site.DATA_DIR / "uploads" / f"{token}.meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["kind"], meta["details"]
    meta_path.write_text(json.dumps(meta))
    assert "Uploaded bundle:" in body(client.get(f"{prefix}runs/"))
