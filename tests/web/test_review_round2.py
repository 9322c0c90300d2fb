"""Security review after issue 9 ("Hostile input, round two"): what still broke, one test each.

Tests marked xfail(strict=True) record defects that are not fixed yet: they start to
pass (and so fail as XPASS) once the defect is fixed, and the marker must then go.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import multipartparser
from django.test import Client

from runtime_adapter.inspectors import export_bundle
from runtime_adapter.records import normalize_run
from runtime_adapter.redaction import redact_text, redact_value
from tests.factories import run_record
from tests.fixtures.crawl import app_urls
from tests.web.runs_support import write_store

pytestmark = pytest.mark.django_db

SECRET = "sk-proj-ReviewRoundTwoLeak0123456789"


@pytest.fixture
def site(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CONTROLPLANE_STORES = {}
    cache.clear()
    return settings


# --- Secrets: objects in the place of a status, an instant or a lineage id ---------------------


def odd_sections_record(run_id: str) -> dict:
    """A run whose status, timestamps and lineage hold objects, not a status, instants and ids."""
    return {"id": run_id, "status": {"token": SECRET},
            "timestamps": {"createdAt": {"password": SECRET}, "updatedAt": "2026-01-01T00:00:00.000Z",
                           "startedAt": [{"apiKey": SECRET}]},
            "metadata": {"lineage": {"rootRunId": run_id, "parentRunId": {"authorization": SECRET},
                                     "childRunIds": [{"secret": SECRET}], "branchCheckpointId": {"token": SECRET}}}}


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "scanned"])
def test_objects_under_status_timestamps_or_lineage_are_redacted_on_every_url(client, site, tmp_path, indexed):
    site.CONTROLPLANE_FILE_INDEX = indexed
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "odd.json").write_text(json.dumps(odd_sections_record("odd")), encoding="utf-8")
    site.CONTROLPLANE_RUN_STORE = write_store(runs, [run_record("plain")])
    leaks = {}
    for url in app_urls("odd", "plain"):
        response = client.get(url)
        assert response.status_code < 500, url
        content = b"".join(response.streaming_content) if response.streaming else response.content
        if SECRET.encode() in content:
            leaks[url] = response.status_code
    assert leaks == {}
    # Plain ids and instants are still kept as they are.
    trace = client.get("/api/runs/plain/trace/").json()["run"]
    assert trace["status"] == "completed" and trace["timestamps"]["createdAt"] == "2026-01-01T00:00:00.000Z"


# --- Bundles: one hostile run must not refuse the whole upload --------------------------------


def _bundle(*records: dict) -> bytes:
    return json.dumps(export_bundle([normalize_run(record) for record in records], {})).encode()


def _upload(client: Client, content: bytes):
    return client.post("/bundles/open/", {"bundle": SimpleUploadedFile("b.json", content, "application/json")})


@pytest.fixture
def upload_site(site, tmp_path):
    site.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [run_record("home")])
    return site


def test_a_repeated_run_id_with_a_lone_surrogate_is_an_error_row_not_a_failed_upload(client, upload_site):
    # The duplicate's error message held the raw id; SQLite cannot encode a lone surrogate, so the
    # child process crashed and the whole bundle was refused as "an internal error".
    response = _upload(client, _bundle(run_record("fine"), run_record("\ud800x"), run_record("\ud800x")))
    assert response.status_code == 302, response.content.decode()[-600:]
    prefix = response["Location"].removesuffix("runs/")
    listed = client.get(prefix + "api/runs/").json()
    assert "fine" in [run["id"] for run in listed["runs"]]
    # An id holding a lone surrogate names no URL: both traces are error rows saying so.
    assert [error["source"] for error in listed["errors"]] == ["traces[1]", "traces[2]"]
    assert all("unpaired surrogate" in error["error"] for error in listed["errors"])
    assert client.get(prefix + "runs/").status_code == 200


def test_a_bundle_with_one_run_nested_1200_levels_opens_with_that_run_as_an_error_row(client, upload_site):
    deep = run_record("deep", input="@@")
    content = _bundle(run_record("fine"), deep).replace(b'"@@"', b"[" * 1200 + b"]" * 1200)
    response = _upload(client, content)
    assert response.status_code == 302, response.content.decode()[-600:]
    prefix = response["Location"].removesuffix("runs/")
    listed = client.get(prefix + "api/runs/").json()
    assert [run["id"] for run in listed["runs"]] == ["fine"]
    assert "nested more than" in listed["errors"][0]["error"]


# --- Bodies: an anonymous upload is not read when sign-in is required ---------------------------


def test_an_anonymous_upload_is_redirected_to_sign_in_before_its_body_is_read(settings, tmp_path, monkeypatch):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    read = []
    original = multipartparser.MultiPartParser.parse

    def parse(self):  # noqa: ANN001, ANN202 - records that Django parsed (and spooled) the body
        read.append(True)
        return original(self)

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", parse)
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # anyone gets a CSRF cookie, and CSRF then reads the form for its token
    assert "csrftoken" in client.cookies
    response = client.post("/bundles/open/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value,
                                              "bundle": SimpleUploadedFile("b.json", b"x" * 300_000)})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert read == []


def test_sign_in_still_checks_csrf(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    User.objects.create_user("viewer", password="right-password-1")
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "viewer", "password": "right-password-1"}).status_code == 403


# --- Login throttling: the same account under another spelling ----------------------------------


def test_nfkc_spellings_of_a_username_share_its_failure_count(client, settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    cache.clear()
    User.objects.create_user("demo", password="right-password-1")
    # Django's form signs "ｄｅｍｏ" (fullwidth) and "𝐝𝐞𝐦𝐨" in as "demo" (NFKC); each spelling had its own count.
    spellings = ["demo", "ｄｅｍｏ", "𝐝𝐞𝐦𝐨", "𝒅𝒆𝒎𝒐", "𝖉𝖊𝖒𝖔", "ⅾemo"]
    for spelling in spellings[:settings.CONTROLPLANE_LOGIN_MAX_FAILURES]:
        assert client.post("/accounts/login/", {"username": spelling, "password": "wrong"}).status_code == 200
    answer = client.post("/accounts/login/", {"username": spellings[-1], "password": "right-password-1"})
    assert answer.status_code == 429


# --- Text patterns still missed (not fixed: which rule to add is a policy choice) ---------------


def test_authorization_header_entries_as_name_value_pairs_are_redacted():
    har = {"headers": [{"name": "Authorization", "value": "Basic ZGVwbG95OnMzY3JldC1wdw=="}]}
    fetch = {"headers": [["Authorization", "Basic ZGVwbG95OnMzY3JldC1wdw=="]]}
    assert "ZGVwbG95OnMzY3JldC1wdw" not in json.dumps([redact_value(har), redact_value(fetch)])


@pytest.mark.parametrize("command", ["psql --password s3cretReviewPw db", "gh auth login --with-token s3cretReviewPw",
                                     "tool --api-key s3cretReviewPw", "docker login -u ci -p s3cretReviewPw"])
def test_command_line_secret_flags_are_redacted(command):
    assert "s3cretReviewPw" not in redact_text(command)


def test_pass_suffixed_environment_keys_are_redacted():
    assert "s3cretReviewPw" not in json.dumps(redact_value({"env": {"DB_PASS": "s3cretReviewPw"}}))
    assert "s3cretReviewPw" not in redact_text("SMTP_PASS=s3cretReviewPw")


# --- A run id holding a lone surrogate --------------------------------------------------------


def test_a_run_file_whose_id_holds_a_lone_surrogate_is_an_error_row(client, site, tmp_path):
    runs = tmp_path / "runs"
    site.CONTROLPLANE_RUN_STORE = write_store(runs, [run_record("plain")])
    Path(runs / "x.json").unlink(missing_ok=True)
    with open(os.fsencode(runs) + b"/\xff.json", "wb") as handle:
        handle.write(b'{"id": "\\udcff"}')
    listed = client.get("/api/runs/").json()
    assert [run["id"] for run in listed["runs"]] == ["plain"]
    assert len(listed["errors"]) == 1
