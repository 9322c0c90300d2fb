from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from runtime_adapter.inspectors import export_bundle, export_run
from runtime_adapter.js import jsjson
from runtime_adapter.stores.registry import open_store
from tests.factories import run_record
from tests.fixtures import corpus
from tests.html import assert_valid_html


@pytest.fixture
def data_dir(settings, tmp_path, conformance_store_url):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.CONTROLPLANE_RUN_STORE = conformance_store_url("s01_agent_tools_metrics")
    cache.clear()
    return tmp_path / "data"


@pytest.fixture
def real_bundle(conformance_store_url) -> bytes:
    runs = open_store(conformance_store_url("s03_failures")).list_runs()
    return jsjson.dumps(export_bundle(runs, {"exportedFor": "incident INC-42"}), 2).encode()


def upload(client: Client, content: bytes, name: str = "bundle.json"):
    return client.post("/bundles/open/", {"bundle": SimpleUploadedFile(name, content, "application/json")})


def uploads(data_dir) -> list[str]:
    folder = data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def token_of(response) -> str:
    match = re.fullmatch(r"/s/upload-([A-Za-z0-9_-]+)/runs/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def test_open_bundle_page_shows_an_upload_form(client, data_dir):
    response = client.get("/bundles/open/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in body and 'type="file"' in body and "csrfmiddlewaretoken" in body
    assert_valid_html(response.content)


def test_nav_links_to_the_open_bundle_page(client, data_dir):
    assert b'href="/bundles/open/"' in client.get("/incidents/").content


def test_a_real_bundle_opens_as_its_own_store(client, data_dir, real_bundle):
    response = upload(client, real_bundle, "inc-42.json")
    assert response.status_code == 302
    token = token_of(response)
    assert uploads(data_dir) == sorted([f"{token}.meta.json", f"{token}.sqlite3"])
    folder = data_dir / "uploads"
    assert [oct(path.stat().st_mode & 0o777) for path in (folder, *sorted(folder.iterdir()))] == ["0o700", "0o600", "0o600"]
    listing = client.get(response["Location"])
    assert listing.status_code == 200
    failed = corpus.tool_failure()
    assert failed.encode() in listing.content
    run = client.get(f"/s/upload-{token}/runs/{failed}/")
    assert run.status_code == 200 and failed.encode() in run.content


def test_the_uploaded_stores_incident_pages_work(client, data_dir, real_bundle):
    failed, good = corpus.tool_failure(), corpus.baseline()
    prefix = f"/s/upload-{token_of(upload(client, real_bundle))}"
    queue = client.get(f"{prefix}/incidents/")
    assert queue.status_code == 200 and f'href="{prefix}/incidents/{failed}/"'.encode() in queue.content
    page = client.get(f"{prefix}/incidents/{failed}/?compare={good}")
    assert page.status_code == 200
    assert f'href="{prefix}/runs/{good}/"'.encode() in page.content
    assert_valid_html(page.content)
    compare = client.get(f"{prefix}/compare/", {"left": good, "right": failed})
    assert compare.status_code == 200
    api = client.get(f"{prefix}/api/incidents/{failed}/")
    assert api.status_code == 200 and api.json()["report"]["runId"] == failed
    assert client.get(f"{prefix}/incidents/not-in-bundle/").status_code == 404


def test_pages_of_an_uploaded_store_say_which_bundle_is_open(client, data_dir, real_bundle):
    prefix = f"/s/upload-{token_of(upload(client, real_bundle, 'inc-42.json'))}"
    body = client.get(f"{prefix}/incidents/").content.decode()
    assert "Uploaded bundle:" in body and "inc-42.json" in body and f"{corpus.run_count(corpus.FAILURES)} runs" in body
    assert "Uploaded bundle:" not in client.get("/incidents/").content.decode()


def test_a_partly_broken_bundle_opens_with_error_rows(client, data_dir, conformance_store_url):
    runs = open_store(conformance_store_url("s03_failures")).list_runs()
    bundle = export_bundle(runs[:3])
    bundle["traces"][1] = {"format": "agnostic-agents-run-trace", "run": {"id": "half"}}
    bundle["traces"].append("not a trace")
    response = upload(client, jsjson.dumps(bundle).encode(), "partly-broken.json")
    assert response.status_code == 302
    prefix = f"/s/upload-{token_of(response)}"
    listing = client.get(f"{prefix}/runs/").content.decode()
    assert "traces[1]" in listing and "traces[3]" in listing
    assert runs[0]["id"] in listing
    assert "2 broken traces" in listing


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The submitted file is empty."),
    (b"{not json", "The file is not valid JSON"),
    (b"[1, 2, 3]", "schemaVersion is required."),
    (b"null", "Trace payload must be an object."),
    (b'{"format": "something-else"}', "Unsupported trace format."),
    (b'{"format": "agnostic-agents-trace-bundle", "schemaVersion": "1.1", "traces": {}}', "traces must be an array."),
    (b'{"format": "agnostic-agents-trace-bundle", "schemaVersion": "1.1", "traces": []}', "The bundle holds no traces."),
    (b'{"format": "agnostic-agents-trace-bundle", "schemaVersion": "1.1", "traces": [{"run": {}}]}',
     "None of the bundle&#x27;s 1 traces can be read."),
])
def test_an_invalid_upload_shows_its_errors_and_writes_nothing(client, data_dir, content, message):
    response = upload(client, content)
    body = response.content.decode()
    assert response.status_code == 400
    assert "bundle.json</span> cannot be opened as a trace bundle." in body
    assert message in body
    assert uploads(data_dir) == []
    assert_valid_html(response.content)


def test_a_single_run_trace_is_refused_with_a_hint(client, data_dir, conformance_store_url):
    run = open_store(conformance_store_url("s03_failures")).list_runs()[0]
    response = upload(client, jsjson.dumps(export_run(run)).encode())
    assert response.status_code == 400
    assert b"single-run trace" in response.content
    assert uploads(data_dir) == []


def test_an_upload_over_the_size_limit_is_refused(client, data_dir, settings, real_bundle):
    settings.CONTROLPLANE_MAX_UPLOAD_BYTES = 1024
    response = upload(client, real_bundle)
    assert response.status_code == 413
    assert b"over the 1,024-byte limit" in response.content
    assert uploads(data_dir) == []


def test_a_post_without_a_file_is_a_400(client, data_dir):
    response = client.post("/bundles/open/", {})
    assert response.status_code == 400
    assert uploads(data_dir) == []


def test_upload_requires_the_csrf_token(data_dir, real_bundle):
    client = Client(enforce_csrf_checks=True)
    assert upload(client, real_bundle).status_code == 403
    assert uploads(data_dir) == []


def test_upload_never_writes_into_the_run_store(client, data_dir, real_bundle, tmp_path, settings):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "a.json").write_text(jsjson.dumps({"id": "a", "status": "completed"}))
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    before = sorted(p.name for p in runs.iterdir())
    assert upload(client, real_bundle).status_code == 302
    assert sorted(p.name for p in runs.iterdir()) == before


def test_open_bundle_answers_only_get_head_and_post(client, data_dir):
    assert client.put("/bundles/open/").status_code == 405
    assert client.delete("/bundles/open/").status_code == 405
    assert client.head("/bundles/open/").status_code == 200


def _age(data_dir, token: str, hours: float) -> None:
    """Make the upload as old as `hours`: its recorded `uploadedAt` and its files' mtimes."""
    import os
    import time
    from datetime import UTC, datetime

    then = time.time() - hours * 3600
    meta_path = data_dir / "uploads" / f"{token}.meta.json"
    meta = json.loads(meta_path.read_text())
    meta["uploadedAt"] = datetime.fromtimestamp(then, UTC).isoformat()
    meta_path.write_text(json.dumps(meta))
    for name in (f"{token}.sqlite3", f"{token}.meta.json"):
        os.utime(data_dir / "uploads" / name, (then, then))


def test_an_uploaded_bundle_expires_after_the_ttl_and_is_then_removed(client, data_dir, real_bundle, settings):
    settings.CONTROLPLANE_UPLOAD_TTL_HOURS = 24
    old = token_of(upload(client, real_bundle))
    assert client.get(f"/s/upload-{old}/runs/").status_code == 200
    _age(data_dir, old, 23)
    assert client.get(f"/s/upload-{old}/runs/").status_code == 200  # still inside the TTL
    _age(data_dir, old, 25)
    expired = client.get(f"/s/upload-{old}/runs/{corpus.tool_failure()}/")
    assert expired.status_code == 404 and "expired" in expired.content.decode()
    assert f"{old}.sqlite3" in uploads(data_dir)  # refused at once, deleted by the next upload
    new = token_of(upload(client, real_bundle))
    assert uploads(data_dir) == sorted([f"{new}.sqlite3", f"{new}.meta.json"])


def test_a_ttl_of_zero_keeps_uploads(client, data_dir, real_bundle, settings):
    settings.CONTROLPLANE_UPLOAD_TTL_HOURS = 0
    old = token_of(upload(client, real_bundle))
    _age(data_dir, old, 24 * 365)
    upload(client, real_bundle)
    assert client.get(f"/s/upload-{old}/runs/").status_code == 200
    assert len(uploads(data_dir)) == 4


def small_bundle(count: int, *, broken_every: int = 0) -> bytes:
    traces = []
    for index in range(count):
        run = run_record(f"run-{index:05d}", status=("completed", "failed")[index % 2],
                         created=f"2026-11-2{index % 4}T10:00:00.000Z", input=f"question {index}")
        traces.append(export_run(run, exported_at="2026-11-24T00:00:00.000Z"))
        if broken_every and index % broken_every == 0:
            traces.append({"format": "agnostic-agents-run-trace", "run": {"id": f"broken-{index}"}})
    bundle = export_bundle([], exported_at="2026-11-24T00:00:00.000Z")
    bundle["traces"] = traces
    return jsjson.dumps(bundle).encode()


def test_a_worker_opening_an_uploaded_bundle_keeps_far_less_memory_than_the_bundle(client, data_dir):
    # A bundle used to be parsed whole into every worker that opened it and kept there
    # (~630 MB per worker for 100k runs); now a worker opens its index file.
    import gc
    import tracemalloc

    from controlplane.stores import reset_stores

    data = small_bundle(3000)
    prefix = f"/s/upload-{token_of(upload(client, data))}"
    client.get(f"{prefix}/runs/")
    reset_stores()  # as a worker that has not opened this bundle yet
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        page = client.get(f"{prefix}/runs/", {"status": "failed", "q": "question 2999"})
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert page.status_code == 200 and b"run-02999" in page.content
    assert kept < len(data) / 4, f"the worker kept {kept:,} bytes for a {len(data):,}-byte bundle"


def test_an_uploaded_bundle_pages_through_all_its_runs_and_shows_broken_traces(client, data_dir):
    prefix = f"/s/upload-{token_of(upload(client, small_bundle(120, broken_every=50)))}"
    first = client.get(f"{prefix}/runs/", {"sort": "created", "order": "asc"}).content.decode()
    assert "traces[1]" in first and "traces[52]" in first and "traces[103]" in first
    last = client.get(f"{prefix}/runs/", {"page": 3, "sort": "created", "order": "asc"}).content.decode()
    assert "Page 3 of 3" in last and "run-00119" in last and "run-00000" not in last
    assert client.get(f"{prefix}/runs/run-00119/").status_code == 200
    found = client.get(f"{prefix}/runs/", {"q": "question 117"}).content.decode()
    assert "run-00117" in found and "run-00116" not in found


def test_a_bundle_with_more_traces_than_the_limit_is_refused_with_the_limit_named(client, data_dir, settings):
    settings.CONTROLPLANE_MAX_UPLOAD_RUNS = 50
    response = upload(client, small_bundle(51))
    assert response.status_code == 400
    assert "The bundle holds 51 traces; at most 50 can be opened here (CONTROLPLANE_MAX_UPLOAD_RUNS)." in \
        response.content.decode()
    assert uploads(data_dir) == []
    assert upload(client, small_bundle(50)).status_code == 302


def test_uploads_stop_at_the_storage_limit_with_a_clear_message(client, data_dir, settings, real_bundle):
    first = token_of(upload(client, real_bundle))
    used = sum((data_dir / "uploads" / name).stat().st_size for name in uploads(data_dir))
    settings.CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES = used + 1024
    response = upload(client, real_bundle)
    body = response.content.decode()
    assert response.status_code == 400
    assert "There is no room for this bundle" in body and "CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES" in body
    assert uploads(data_dir) == sorted([f"{first}.meta.json", f"{first}.sqlite3"])  # nothing left behind
    assert client.get(f"/s/upload-{first}/runs/").status_code == 200


def test_a_run_id_repeated_in_a_bundle_is_an_error_row_after_the_first(client, data_dir, conformance_store_url):
    runs = open_store(conformance_store_url("s03_failures")).list_runs()
    bundle = export_bundle([runs[0], runs[1], runs[0]])
    prefix = f"/s/upload-{token_of(upload(client, jsjson.dumps(bundle).encode()))}"
    listing = client.get(f"{prefix}/runs/").content.decode()
    assert "traces[2]" in listing and "is also traces[0]" in listing
    assert listing.count(f'href="{prefix}/runs/{runs[0]["id"]}/"') == 1
