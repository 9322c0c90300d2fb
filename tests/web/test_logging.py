"""Structured logs: the request line's fields, request ids, and no run content or secret in any log line.

The configured handlers (settings.LOGGING) write into a buffer for each test; JSON tests give
them the JSON formatter CONTROLPLANE_LOG_FORMAT=json configures.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from controlplane.error_reports import RedactingLogFilter
from controlplane.request_log import RedactingJsonFormatter, log_format
from runtime_adapter.inspectors import export_bundle
from runtime_adapter.js import jsjson
from runtime_adapter.stores.registry import open_store
from tests.factories import run_record
from tests.web.runs_support import write_store

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-live-4eC39HqLyjWDarjtT1zdp7dc"
CONTENT = "quarterly-heliotrope-ledger"  # run content that is no secret: it must not be logged either
RUN_ID = "log-run-1"


class Capture:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handlers = [handler for name in ("", "controlplane.request", "django.server")
                         for handler in logging.getLogger(name).handlers
                         if any(isinstance(item, RedactingLogFilter) for item in handler.filters)]
        assert len(self.handlers) == 3, self.handlers  # console, requests, server
        self._saved = [(handler, handler.setStream(self.stream), handler.formatter) for handler in self.handlers]

    def json(self) -> None:
        for handler in self.handlers:
            handler.setFormatter(RedactingJsonFormatter())

    def text(self) -> str:
        return self.stream.getvalue()

    def objects(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines()]

    def requests(self) -> list[dict]:
        return [item for item in self.objects() if item["logger"] == "controlplane.request"]

    def restore(self) -> None:
        for handler, stream, formatter in self._saved:
            handler.setStream(stream)
            handler.setFormatter(formatter)


@pytest.fixture
def logs():
    capture = Capture()
    yield capture
    capture.restore()


@pytest.fixture
def secret_run(runs_settings, tmp_path):
    records = [
        run_record(RUN_ID, input=f"use {SECRET} for the {CONTENT} task", children=["log-run-2"],
                   output=f"done with {CONTENT}", metadata={"release": "v1", "apiKey": SECRET}),
        run_record("log-run-2", parent=RUN_ID, root=RUN_ID, status="failed", input=f"child of {CONTENT}",
                   errors=[{"name": "ToolError", "message": f"upstream rejected {SECRET} on {CONTENT}"}],
                   created="2026-01-01T00:00:01.000Z"),
    ]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    return tmp_path / "runs"


def test_json_lines_carry_request_id_view_status_duration_store_and_user(client, secret_run, logs):
    logs.json()
    response = client.get(f"/runs/{RUN_ID}/", HTTP_X_REQUEST_ID="lb-7f3a.trace:42")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-7f3a.trace:42"
    (line,) = logs.requests()
    assert line["request_id"] == "lb-7f3a.trace:42"
    assert line["view"] == "runs:detail" and line["status"] == 200 and line["method"] == "GET"
    assert line["path"] == f"/runs/{RUN_ID}/"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["store"] == "default" and line["user"] == "anonymous"
    assert line["level"] == "INFO" and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line["time"])


def test_every_line_written_while_serving_carries_the_request_id(client, secret_run, logs):
    logs.json()
    response = client.get("/runs/no-such-run/")
    assert response.status_code == 404
    by_logger = {item["logger"]: item for item in logs.objects()}
    assert by_logger["django.request"]["message"] == "Not Found: /runs/no-such-run/"
    assert by_logger["django.request"]["request_id"] == by_logger["controlplane.request"]["request_id"] \
        == response["X-Request-ID"]


@pytest.mark.parametrize("given", ["has space", "quote\"d", "<script>", "x" * 129, "", "-starts-with-dash"])
def test_a_request_id_that_is_not_a_plain_token_is_replaced_by_a_new_one(client, secret_run, logs, given):
    logs.json()
    response = client.get("/runs/", HTTP_X_REQUEST_ID=given)
    (line,) = logs.requests()
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert line["request_id"] == response["X-Request-ID"]
    assert given not in logs.text() or not given


def test_each_request_without_an_id_gets_its_own(client, secret_run, logs):
    logs.json()
    first, second = client.get("/runs/"), client.get("/runs/")
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert [line["request_id"] for line in logs.requests()] == [first["X-Request-ID"], second["X-Request-ID"]]


def test_the_user_is_the_username_when_signed_in_and_anonymous_otherwise(client, secret_run, runs_settings, logs):
    logs.json()
    runs_settings.CONTROLPLANE_LOGIN_REQUIRED = True
    assert client.get("/runs/").status_code == 302
    client.force_login(User.objects.create_user("ops-alice", password="pw-ops-alice-1234"))
    assert client.get("/runs/").status_code == 200
    assert [(line["user"], line["status"], line["view"]) for line in logs.requests()] == [
        ("anonymous", 302, "runs:list"), ("ops-alice", 200, "runs:list")]


def test_refusals_before_any_view_are_logged_with_a_request_id_too(client, secret_run, runs_settings, logs):
    logs.json()
    runs_settings.CONTROLPLANE_MAX_REQUEST_BYTES = 1024
    response = client.post("/accounts/login/", data="x" * 5000, content_type="text/plain")
    assert response.status_code == 413
    (line,) = logs.requests()
    assert line["status"] == 413 and line["request_id"] == response["X-Request-ID"]


def pages(run_id: str) -> list[str]:
    return [
        "/", "/runs/", f"/runs/?q={SECRET}", f"/runs/?q={CONTENT}", f"/runs/{run_id}/", f"/runs/{run_id}/tree/",
        f"/runs/{run_id}/lineage/", f"/runs/{run_id}/export/trace.json", f"/api/runs/{run_id}/",
        f"/api/runs/{run_id}/trace/", f"/api/runs/{run_id}/tree/", f"/api/runs/?q={SECRET}", "/runs/log-run-2/",
        "/incidents/log-run-2/", "/incidents/", f"/runs/{SECRET}/", f"/runs/{CONTENT}/",
    ]


@pytest.mark.parametrize("form", ["json", "text"])
@pytest.mark.parametrize("redact", [True, False], ids=["redacted-pages", "secrets-shown-on-pages"])
def test_run_content_and_secrets_never_reach_the_logs(client, secret_run, runs_settings, logs, form, redact):
    runs_settings.CONTROLPLANE_REDACT_SECRETS = redact
    if form == "json":
        logs.json()
    detail = client.get(f"/runs/{RUN_ID}/")
    assert detail.status_code == 200
    assert (SECRET in detail.content.decode()) is not redact  # the pages do as the setting says
    statuses = {path: client.get(path).status_code for path in pages(RUN_ID)}
    assert statuses[f"/runs/{RUN_ID}/"] == 200 and statuses[f"/runs/{SECRET}/"] == 404
    written = logs.text()
    assert written.count("\n") >= len(statuses)  # every request was logged
    assert f"/runs/{RUN_ID}/" in written and "/runs/[REDACTED]/" in written
    assert SECRET not in written and SECRET[8:] not in written
    assert CONTENT not in written.replace(f"/runs/{CONTENT}/", "")  # only as a path someone typed
    if form == "json":
        assert all(isinstance(item, dict) for item in logs.objects())


def test_an_uploaded_bundles_token_is_masked_in_the_log(client, secret_run, logs):
    logs.json()
    bundle = jsjson.dumps(export_bundle(open_store(secret_run.as_uri()).list_runs(), {}), 2).encode()
    upload = client.post("/bundles/open/", {"bundle": SimpleUploadedFile("b.json", bundle, "application/json")})
    token = re.fullmatch(r"/s/upload-([A-Za-z0-9_-]+)/runs/", upload["Location"]).group(1)
    assert client.get(upload["Location"]).status_code == 200
    line = logs.requests()[-1]
    assert line["path"] == "/s/upload-…/runs/" and line["store"] == "upload" and line["view"] == "runs:list"
    assert token not in logs.text()


def test_objects_other_libraries_put_on_a_record_are_redacted_in_json(logs):
    logs.json()
    request = RequestFactory().get(f"/runs/?q={SECRET}")
    logging.getLogger("django.request").error("Internal Server Error: %s", request.get_full_path(),
                                              extra={"request": request, "status_code": 500})
    (line,) = logs.objects()
    assert line["status_code"] == 500 and line["request"].startswith("<WSGIRequest: GET '/runs/?q=")
    assert SECRET not in logs.text()


def test_text_lines_name_the_request_fields_and_cannot_be_split_by_a_path(client, secret_run, logs):
    response = client.get("/runs/a%0Aforged%20line/")
    assert response.status_code in (400, 404)
    lines = logs.text().splitlines()
    request_lines = [line for line in lines if "controlplane.request" in line]
    assert len(request_lines) == 1
    assert "/runs/a\\nforged line/" in request_lines[0]
    assert f"view=runs:detail store=default user=anonymous request_id={response['X-Request-ID']}" in request_lines[0]
    assert not any(line.startswith("forged") for line in lines)


def test_the_log_format_is_text_or_json_and_anything_else_fails_loudly(monkeypatch):
    monkeypatch.delenv("CONTROLPLANE_LOG_FORMAT", raising=False)
    assert log_format() == "text"
    monkeypatch.setenv("CONTROLPLANE_LOG_FORMAT", "JSON")
    assert log_format() == "json"
    monkeypatch.setenv("CONTROLPLANE_LOG_FORMAT", "jsonl")
    with pytest.raises(ImproperlyConfigured, match="CONTROLPLANE_LOG_FORMAT='jsonl' is not a log format"):
        log_format()


def test_the_server_refuses_to_start_with_a_misspelt_log_format(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONTROLPLANE_", "DJANGO_"))}
    env.update(CONTROLPLANE_DATA_DIR=str(tmp_path / "data"), CONTROLPLANE_LOG_FORMAT="josn")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "CONTROLPLANE_LOG_FORMAT='josn' is not a log format; use text or json." in result.stderr
