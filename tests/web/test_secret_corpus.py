"""One redaction pipeline for every surface: a corpus of secrets in every field of a run, and
no response of any URL (page, fragment, API, export, bundle, DOT/SVG, Markdown, compare,
search, correlation filter, error page, log line) that carries one.

The corpus covers each class that leaked before (issue 9, items 5-10): values under
sensitive correlation keys, objects under sensitive keys in JSON text and in long
structured input, credential-shaped ids, keys outside the runtime's list, and text
patterns; plus the original shapes of tests/fixtures/hostile.py.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import run_record
from tests.fixtures.crawl import app_urls
from tests.fixtures.hostile import SECRETS, T0, Secret, write_run

pytestmark = pytest.mark.django_db

# Key-based: each value sits under its key (in structured data, and as JSON text in strings).
KEYED = {
    "sessionToken": "corpus-session-token-0501", "apiKey": "corpus-api-key-0502",
    "x-api-key": "corpus-x-api-key-0801", "Proxy-Authorization": "corpus-proxy-auth-0802",
    "Cookie": "corpus-cookie-0803", "Set-Cookie": "corpus-set-cookie-0804", "openaiApiKey": "corpus-openai-0805",
    "api-key": "corpus-api-dash-key-0806", "passwd": "corpus-passwd-0807", "pwd": "corpus-pwd-0808",
    "private_key": "corpus-private-key-0809", "client_secret": "corpus-client-secret-0810",
    "signature": "corpus-signature-0811", "API-KEY": "corpus-upper-api-key-0812",
}
NESTED = {"auth": "corpus-nested-auth-0601", "password": "corpus-nested-password-0602",
          "token": "corpus-nested-token-0603", "credentials": "corpus-nested-credentials-0813"}
ID_VALUES = {"requestId": "sk-proj-CorpusRequestId0701abcdef", "stepId": "AKIACORPUS7Q4M2XW070",
             "traceId": "Bearer corpusTraceId0703xyz0123"}
TEXT_SECRETS = {
    "pgp": ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGcorpusPgpBody0901\n-----END PGP PRIVATE KEY BLOCK-----",
            "lQOYBGcorpusPgpBody0901"),
    "basic-no-space": ("Authorization:Basic Y29ycHVzOmNvcnB1c0Jhc2ljMDkwMg", "Y29ycHVzOmNvcnB1c0Jhc2ljMDkwMg"),
    "password-no-space": ("password:corpus-pw-nospace-0903", "corpus-pw-nospace-0903"),
    "url-slash": ("postgres://svc:corpus/url-0904@db.internal/x", "corpus/url-0904"),
    "slack": ("https://hooks.slack.com/services/T00CORPUS/B00CORPUS/corpusSlack0905", "corpusSlack0905"),
    "discord": ("https://discord.com/api/webhooks/9876543210/corpusDiscord0906xyz", "corpusDiscord0906xyz"),
    "aws-secret": ("AKIAZ7Q4M2XW9LPT3KBN corpusAwsSecretKey0907/abcdefghijKLMNOPQ", "corpusAwsSecretKey0907"),
    "curl": ("curl -u deploy:corpusCurl0908 https://api.example.com", "corpusCurl0908"),
    "sshpass": ("sshpass -p corpusSshpass0909 ssh root@host", "corpusSshpass0909"),
    "mysql": ("mysql -u root -pcorpusMysql0910 orders", "corpusMysql0910"),
}

CORPUS: tuple[Secret, ...] = (
    *(Secret(f"keyed-{key}", value, "{}", key=key) for key, value in KEYED.items()),
    *(Secret(f"nested-{key}", value, "{}", key=key) for key, value in NESTED.items()),
    *(Secret(f"id-{key}", value, "{}", key=key) for key, value in ID_VALUES.items()),
    *(Secret(f"text-{name}", value, carrier) for name, (carrier, value) in TEXT_SECRETS.items()),
    *SECRETS,
)
RUN_ID, CHILD_ID, OTHER_ID = "corpus-all", "corpus-child", "corpus-other"


def _text() -> str:
    """Every text-borne secret, and the key-based ones as JSON text (objects under sensitive keys included)."""
    parts = [carrier for carrier, _ in TEXT_SECRETS.values()]
    parts += [secret.carrier.format(secret.value) for secret in SECRETS if not secret.key]
    parts.append(json.dumps({"headers": KEYED, **{key: {"inner": [value]} for key, value in NESTED.items()}}))
    parts.append(repr({key: {"inner": value} for key, value in NESTED.items()}))
    return " | ".join(parts)


def _structured() -> dict[str, Any]:
    keyed = {**KEYED, **{secret.key: secret.value for secret in SECRETS if secret.key}}
    nested = {key: {"user": "svc", "inner": [value]} for key, value in NESTED.items()}
    return {"headers": keyed, **nested, "text": _text()}


def corpus_record(run_id: str, *, parent: str | None = None) -> dict[str, Any]:
    text, structured = _text(), _structured()
    record = run_record(
        run_id, parent=parent, root=None, status="failed", created=T0,
        # Longer than a list row's 2,000 characters, so the row shows a cut of it.
        input={"request": structured, "filler": "f" * 2500},
        output={"answer": text, **structured},
        state={"context": structured, "note": text},
        messages=[{"role": "user", "content": text}, {"role": "tool", "content": json.dumps(structured)}],
        steps=[{"id": ID_VALUES["stepId"], "type": "tool", "status": "failed", "createdAt": T0,
                "payload": {"toolName": "http_call", "arguments": structured}, "output": text,
                "error": {"message": text}, "durationMs": 3}],
        toolCalls=[{"runId": run_id, "toolName": "http_call", "arguments": structured}],
        toolResults=[{"toolName": "http_call", "result": text}],
        checkpoints=[{"id": f"{run_id}:checkpoint:1", "label": text, "timestamp": T0, "status": "running",
                      "payload": {"request": structured},
                      "snapshot": {"state": {"context": structured}, "messages": [], "steps": [], "status": "running"}}],
        # The last error has no message: the list's error column shows the object.
        errors=[{"name": "UpstreamError", "message": text},
                {"name": "UpstreamError", "requestId": ID_VALUES["requestId"], "headers": structured["headers"]}],
        events=[{"id": f"{run_id}:1", "type": "tool_failed", "timestamp": T0, "payload": {"request": structured}}],
        pendingApproval={"toolName": "http_call", "reason": text, "arguments": structured},
        metadata={"request": structured, "release": "r1", "requestId": ID_VALUES["requestId"],
                  "traceId": ID_VALUES["traceId"],
                  "correlation": {"ticket": "T-1", "sessionToken": KEYED["sessionToken"], "apiKey": KEYED["apiKey"],
                                  "spanId": ID_VALUES["stepId"]}},
        metrics={"tokenUsage": {"prompt": 11, "completion": 7, "total": 18}, "cost": 0.25,
                 "debug": {"lastRequest": structured}},
    )
    return record


def corpus_store(directory: Path) -> None:
    parent = corpus_record(RUN_ID)
    parent["metadata"]["lineage"]["childRunIds"] = [CHILD_ID]
    child = corpus_record(CHILD_ID, parent=RUN_ID)
    child["metadata"]["lineage"]["rootRunId"] = RUN_ID
    for record in (parent, child, run_record(OTHER_ID, input="an ordinary run", created=T0)):
        write_run(directory, record)


def _forms(value: str) -> set[str]:
    return {value, html.escape(value), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}


def leaked(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [secret.name for secret in CORPUS if any(form in text for form in _forms(secret.value))]


@pytest.fixture(params=[True, False], ids=["indexed", "scanned"])
def corpus_site(request, settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.CONTROLPLANE_FILE_INDEX = request.param
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    corpus_store(tmp_path / "runs")
    settings.CONTROLPLANE_RUN_STORE = (tmp_path / "runs").as_uri()
    settings.CONTROLPLANE_STORES = {}
    cache.clear()
    return tmp_path / "runs"


def _probe_urls() -> list[str]:
    """Searches for the first letters of every secret, on every list and API (the box echoes only those)."""
    return [f"{reverse(name)}?q={quote_plus(secret.value[:min(14, len(secret.value) - 3)])}" for secret in CORPUS
            for name in ("runs:list", "runs:api_list", "incidents:queue")]


def test_no_response_of_any_url_carries_a_secret_of_the_corpus(client, corpus_site):
    probes = _probe_urls()
    urls = app_urls(RUN_ID, OTHER_ID, search="corpus") + app_urls(CHILD_ID, RUN_ID, search="kept") + probes
    responses = {}
    for url in dict.fromkeys(urls):
        responses[url] = client.get(url)
        responses[f"{url} (htmx)"] = client.get(url, HTTP_HX_REQUEST="true")
    assert len(responses) > 400
    assert [url for url, response in responses.items() if response.status_code >= 500] == []
    assert {url: leaked(response.content) for url, response in responses.items() if leaked(response.content)} == {}
    detail = responses[reverse("runs:detail", args=[RUN_ID])]
    assert detail.status_code == 200 and b"[REDACTED]" in detail.content
    found = {url: responses[url].json()["total"] for url in probes if url.startswith(reverse("runs:api_list"))}
    assert found and set(found.values()) == {0}  # no secret's first letters find a run


def test_no_secret_confirms_a_correlation_filter(client, corpus_site):
    confirmed = [secret.name for secret in CORPUS
                 if client.get(reverse("runs:api_list"), {"correlation": secret.value}).json()["total"]]
    assert confirmed == []


def test_the_corpus_is_in_the_store_and_shown_when_redaction_is_off(client, corpus_site, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    trace = client.get(reverse("runs:api_trace", args=[RUN_ID]))
    assert [secret.name for secret in CORPUS if secret.name not in leaked(trace.content)] == []


# --- item 5: the list's correlation ids -----------------------------------------------------


def test_list_rows_filters_and_links_never_show_or_confirm_a_correlation_secret(client, corpus_site):
    listed = client.get(reverse("runs:api_list")).json()
    row = next(run for run in listed["runs"] if run["id"] == RUN_ID)
    assert "T-1" in row["correlationIds"] and "[REDACTED]" in row["correlationIds"]
    assert leaked(json.dumps(listed).encode()) == []
    for value in (KEYED["sessionToken"], KEYED["apiKey"], ID_VALUES["stepId"], ID_VALUES["traceId"]):
        guessed = client.get(reverse("runs:api_list"), {"correlation": value}).json()["total"]
        wrong = client.get(reverse("runs:api_list"), {"correlation": value[:-1] + "#"}).json()["total"]
        assert guessed == wrong == 0
    assert client.get(reverse("runs:api_list"), {"correlation": "T-1"}).json()["total"] == 2
    page = client.get(reverse("runs:detail", args=[RUN_ID])).content.decode()
    links = re.findall(r'href="[^"]*\?correlation=([^"]*)"', page)
    assert "T-1" in links and [link for link in links if "REDACTED" in link] == []


def test_with_redaction_off_the_raw_text_is_searched(client, corpus_site, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    for value in (KEYED["sessionToken"], SECRETS[0].value[:14]):
        found = client.get(reverse("runs:api_list"), {"q": value}).json()
        assert {run["id"] for run in found["runs"]} == {RUN_ID, CHILD_ID}
    assert client.get(reverse("runs:api_list"), {"correlation": KEYED["sessionToken"]}).json()["total"] == 2


# --- error pages and logs -------------------------------------------------------------------

BEARER = "Bearer debugPageToken0123456789abcdef"


def _failing_redaction(run, *, secrets=True):  # noqa: ARG001 - the store's signature
    raise RuntimeError(f"could not redact a run sent with {BEARER}")


@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_debug_error_page_prints_no_secret_from_frames_message_or_request(settings, corpus_site, monkeypatch,
                                                                                accept):
    from runtime_adapter import redaction

    settings.DEBUG = True
    monkeypatch.setattr(redaction, "redact_run", _failing_redaction)  # its frame holds the raw run
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "corpusSessionCookie0911"
    response = client.get(reverse("runs:detail", args=[RUN_ID]), {"q": SECRETS[0].value}, HTTP_ACCEPT=accept,
                          HTTP_AUTHORIZATION=BEARER)
    assert response.status_code == 500
    body = response.content.decode()
    assert "RuntimeError" in body and "[REDACTED]" in body  # the report is there, its secrets are not
    assert ("Local vars" in body) if accept == "text/html" else ("Traceback" in body)
    assert BEARER.split()[1] not in body and "corpusSessionCookie0911" not in body
    assert leaked(response.content) == []


def test_settings_on_the_debug_page_hide_secret_values_by_shape_and_name():
    from controlplane.error_reports import RedactingExceptionReporterFilter

    cleaned = RedactingExceptionReporterFilter().cleanse_setting(
        "CONTROLPLANE_STORES", {"prod": "postgresql://svc:corpusDbPass0999@db/runs", "x_api_key": "abc"})
    assert cleaned == {"prod": "postgresql://svc:[REDACTED]@db/runs", "x_api_key": "[REDACTED]"}


def test_log_lines_are_redacted_whatever_logger_writes_them():
    from controlplane.error_reports import RedactingLogFilter

    console = next(handler for handler in logging.getLogger().handlers
                   if any(isinstance(item, RedactingLogFilter) for item in handler.filters))
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        try:
            raise ValueError(f"upstream said {BEARER}")
        except ValueError:
            logging.getLogger("django.request").error("Internal Server Error: /runs/?q=%s", SECRETS[0].value,
                                                      exc_info=True)
            logging.getLogger("runtime_adapter.stores.indexed").exception("Refreshing %s failed", SECRETS[5].value)
    finally:
        console.setStream(previous)
    written = stream.getvalue()
    assert "Internal Server Error" in written and "ValueError" in written and "Refreshing" in written
    assert BEARER.split()[1] not in written and leaked(written.encode()) == []
    assert logging.getLogger("django").handlers == []  # Django's records reach this handler, not its own
