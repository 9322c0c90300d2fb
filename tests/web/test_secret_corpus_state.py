"""The secret corpus of test_secret_corpus, written into the runtime's other durable state: a FileJobStore
job, FileAuditSink lines (one of them unreadable), FileLayerStore entries (secrets in values, metadata, a raw
value and a key), and a run waiting for approval with the corpus in its arguments. No page, fragment, API
answer or search of the approvals, jobs, audit and memory surfaces carries one of its secrets; with redaction
off they all do (the corpus really is there).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from django.urls import reverse

from tests.fixtures.hostile import T0, write_run
from tests.web.test_secret_corpus import (
    CORPUS,
    ID_VALUES,
    RUN_ID,
    _structured,
    _text,
    corpus_record,
    corpus_site,
    leaked,
)

pytestmark = pytest.mark.django_db
__all__ = ["corpus_site"]  # the fixture, shared

WAITING_ID, JOB_ID = "corpus-waiting", "corpus-job"


def _write_state(root: Path) -> tuple[Path, Path, dict[str, Path]]:
    structured, text = _structured(), _text()
    jobs = root / "jobs"
    jobs.mkdir()
    job = {"id": JOB_ID, "handler": "crm_sync", "runAt": T0, "intervalMs": 60_000, "maxRuns": None, "runCount": 2,
           "status": "failed", "metadata": {"request": structured}, "payload": structured,
           "result": {"runId": RUN_ID, "note": text}, "error": text, "lastRunAt": T0,
           "history": [{"runNumber": 1, "status": "completed", "runAt": T0, "result": structured},
                       {"runNumber": 2, "status": "failed", "runAt": T0, "error": text}]}
    (jobs / f"{JOB_ID}.json").write_text(json.dumps(job, indent=2))
    audit = root / "audit.jsonl"
    lines = [json.dumps({"timestamp": T0, "eventType": "tool_requested", "runId": RUN_ID, "status": "running",
                         "payload": {"runId": RUN_ID, "toolName": "http_call", "arguments": structured, "note": text}}),
             # An unreadable line (a record cut short): its preview is shown.
             json.dumps({"timestamp": T0, "eventType": "tool_failed", "payload": {"note": text}})[:-3],
             json.dumps({"timestamp": T0, "eventType": "approval_requested", "runId": WAITING_ID,
                         "status": "waiting_for_approval", "payload": {"request": structured}})]
    audit.write_text("\n".join(lines) + "\n")
    memory = root / "memory"
    memory.mkdir()
    layer = {"corpus": {"value": structured, "createdAt": 1795318706343, "updatedAt": 1795318706343,
                        "expiresAt": None, "metadata": {"runId": RUN_ID, "request": structured}},
             "raw-note": text,
             ID_VALUES["requestId"]: {"value": "an entry whose key is credential-shaped", "createdAt": 1795318706343,
                               "updatedAt": 1795318706343, "expiresAt": None, "metadata": {}}}
    (memory / "working.json").write_text(json.dumps(layer, indent=2))
    return jobs, audit, {"working": memory / "working.json"}


@pytest.fixture
def state_site(corpus_site, settings, tmp_path):
    waiting = corpus_record(WAITING_ID)
    waiting["status"] = "waiting_for_approval"
    waiting["errors"] = []
    write_run(corpus_site, waiting)
    jobs, audit, layers = _write_state(tmp_path)
    settings.CONTROLPLANE_JOB_STORE = jobs.as_uri()
    settings.CONTROLPLANE_AUDIT_LOG = audit
    settings.CONTROLPLANE_MEMORY_LAYERS = layers
    return corpus_site


def _urls() -> list[str]:
    urls = [reverse("approvals:list"), reverse("approvals:history"), reverse("approvals:api_list"),
            reverse("approvals:api_history"), reverse("jobs:list"), reverse("jobs:api_list"),
            reverse("jobs:detail", args=[JOB_ID]), reverse("jobs:api_detail", args=[JOB_ID]),
            reverse("audit:list"), reverse("audit:api_list"), f"{reverse('audit:list')}?runId={RUN_ID}",
            f"{reverse('audit:api_list')}?runId={RUN_ID}", reverse("memory:list"), reverse("memory:api_list")]
    # Searches and filters with the first letters of every secret: an echo or a match would confirm it.
    for secret in CORPUS:
        prefix = quote_plus(secret.value[:min(14, len(secret.value) - 3)])
        urls += [f"{reverse('memory:list')}?q={prefix}", f"{reverse('memory:api_list')}?q={prefix}",
                 f"{reverse('approvals:list')}?tool={prefix}", f"{reverse('jobs:list')}?handler={prefix}",
                 f"{reverse('audit:api_list')}?eventType={prefix}"]
    return urls


def test_no_surface_of_the_runtimes_other_state_carries_a_secret(client, state_site):
    responses = {}
    for url in dict.fromkeys(_urls()):
        responses[url] = client.get(url)
        responses[f"{url} (htmx)"] = client.get(url, HTTP_HX_REQUEST="true")
    assert [url for url, response in responses.items() if response.status_code >= 500] == []
    assert {url: leaked(response.content) for url, response in responses.items() if leaked(response.content)} == {}
    # The surfaces did show the entries (redacted), not an error in their place.
    assert JOB_ID in responses[reverse("jobs:api_list")].content.decode()
    assert b"[REDACTED]" in responses[reverse("jobs:api_detail", args=[JOB_ID])].content
    assert b"[REDACTED]" in responses[reverse("audit:api_list")].content
    assert b"[REDACTED]" in responses[reverse("memory:api_list")].content
    assert WAITING_ID in responses[reverse("approvals:api_list")].content.decode()
    for url in _urls()[len(_urls()) - 5 * len(CORPUS):]:
        if url.startswith(reverse("memory:api_list")):
            # No secret's first letters find an entry (the redacted key included).
            assert all(not layer["entries"] for layer in responses[url].json()["layers"]), url


def test_with_redaction_off_every_surface_shows_the_corpus(client, state_site, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    for name, args in (("jobs:api_detail", [JOB_ID]), ("audit:api_list", []), ("memory:api_list", []),
                       ("approvals:api_list", [])):
        body = client.get(reverse(name, args=args)).content
        # Every secret written there (the id-shaped ones live only in run metadata) is shown as written.
        missing = [secret.name for secret in CORPUS if secret.name not in leaked(body) and secret.name[:3] != "id-"]
        assert missing == [], (name, missing)
