"""Property: whatever value, however deep or wide, sits in whatever field of a run, no page fails.

Each example writes one healthy run and one hostile run to a store (and to an uploaded
bundle), then opens every address of both: the healthy run's pages answer 200, the
hostile run's answer 200 or 422 with a reason, and the store's lists answer 200.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_adapter.inspectors import export_bundle
from runtime_adapter.records import normalize_run
from tests.factories import run_record
from tests.fixtures.crawl import app_urls

HEALTHY, HOSTILE = "healthy", "hostile"
# Where the runtime keeps free-form values: run fields, and fields of steps, calls, checkpoints, errors, events.
PLACES = ["input", "output", "state", "messages", "metadata.extra", "pendingApproval.arguments", "metrics.cost",
          "steps.0.output", "steps.0.input", "toolCalls.0.arguments", "toolResults.0.output",
          "checkpoints.0.state", "errors.0.details", "errors.0.message", "events.0.payload", "messages.0.content"]


def nested_text(depth: int, width: int, leaf: str) -> str:
    """JSON text nesting `depth` levels, each level `width` wide, alternating objects and arrays."""
    text = leaf
    for level in range(depth):
        if level % 2:
            text = "[" + ",".join([text] * min(width, 3) if level < 3 else [text]) + "]"
        else:
            text = '{"k":' + text + "".join(f',"w{i}":{i}' for i in range(width)) + "}"
    return text


LEAVES = st.sampled_from([
    '"bottom"', "1", "9" * 5000, "-" + "1" * 4400, "1e400", '"' + "[" * 900 + "]" * 900 + '"',
    '"{\\"password\\": ' + "[" * 500 + "]" * 500 + '}"', "null", '"\\ud800"', '"\\u202egnp.exe"',
])
hostile_values = st.builds(nested_text, st.integers(0, 1500), st.integers(0, 40), LEAVES)


def hostile_run_text(place: str, value_text: str) -> str:
    record = run_record(HOSTILE, parent=HEALTHY, root=HEALTHY, status="failed",
                        steps=[{"id": "s1", "type": "tool", "status": "failed"}],
                        toolCalls=[{"id": "c1", "toolName": "t", "arguments": {}}],
                        toolResults=[{"toolCallId": "c1", "output": None}],
                        checkpoints=[{"id": "cp1", "label": "x", "status": "running", "state": {}}],
                        errors=[{"name": "E", "message": "m", "details": None}],
                        events=[{"id": "e1", "type": "x", "payload": None}],
                        messages=[{"role": "user", "content": ""}],
                        pendingApproval={"toolName": "t", "arguments": None})
    marker = "\x00HOSTILE\x00"
    target = record
    *path, last = place.split(".")
    for key in path:
        target = target[int(key)] if key.isdigit() else target.setdefault(key, {})
    target[int(last) if last.isdigit() else last] = marker
    return json.dumps(record).replace(json.dumps(marker), value_text)


def healthy_record() -> dict:
    checkpoint = {"id": f"{HEALTHY}:checkpoint:1", "label": "run_started", "status": "running", "state": {}}
    return run_record(HEALTHY, children=[HOSTILE], checkpoints=[checkpoint])


def statuses(client, prefix: str) -> dict[str, int]:
    return {url: client.get(prefix + url).status_code for url in app_urls(HEALTHY, HOSTILE)}


def involves_hostile(url: str) -> bool:
    url = unquote(url)
    return f"/{HOSTILE}/" in url or f"={HOSTILE}" in url or f",{HOSTILE}" in url


def check_pages(client, prefix: str, benign: dict[str, int], unreadable: int = 422) -> None:
    """Hostile content changes nothing but its own pages, which may say it cannot be read.

    A run file that cannot be read still has its id (the file name): its pages are a 422.
    A bundled trace that cannot be read is an error row with no trusted id: a 404.
    """
    assert set(benign.values()) <= {200, 400, 404}
    for url, status in statuses(client, prefix).items():
        allowed = {benign[url], unreadable} if involves_hostile(url) else {benign[url]}
        assert status in allowed, (url, status, benign[url])


EXAMPLES = settings(max_examples=10, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("index", ["scanned", "indexed"])
def test_no_value_in_any_field_of_a_run_file_breaks_a_page(client, runs_settings, tmp_path, index):
    runs_settings.CONTROLPLANE_FILE_INDEX = index == "indexed"
    counter = iter(range(10**6))

    def open_store(place: str, value_text: str) -> None:
        directory = tmp_path / f"runs-{next(counter)}"
        directory.mkdir()
        (directory / f"{HEALTHY}.json").write_text(json.dumps(healthy_record()))
        (directory / f"{HOSTILE}.json").write_text(hostile_run_text(place, value_text))
        runs_settings.CONTROLPLANE_RUN_STORE = directory.as_uri()
        cache.clear()

    open_store("output", '"benign"')
    benign = statuses(client, "")

    @EXAMPLES
    @given(st.sampled_from(PLACES), hostile_values)
    def check(place, value_text):
        open_store(place, value_text)
        check_pages(client, "", benign)

    check()


def test_no_value_in_any_field_of_a_bundled_run_breaks_an_uploaded_bundle(client, runs_settings, tmp_path):
    def upload(place: str, value_text: str):
        healthy = json.dumps(export_bundle([normalize_run(healthy_record())], {}))
        hostile_trace = json.dumps({"schemaVersion": "1.1", "format": "agnostic-agents-run-trace",
                                    "exportedAt": "2026-11-24T00:00:00.000Z", "metadata": {},
                                    "run": "\x00RUN\x00"}).replace('"\\u0000RUN\\u0000"', hostile_run_text(place, value_text))
        content = healthy.replace('"traces": [', '"traces": [' + hostile_trace + ", ", 1)
        return client.post("/bundles/open/", {"bundle": SimpleUploadedFile("b.json", content.encode())})

    benign = statuses(client, upload("output", '"benign"')["Location"].removesuffix("/runs/"))

    @EXAMPLES
    @given(st.sampled_from(PLACES), hostile_values)
    def check(place, value_text):
        response = upload(place, value_text)
        assert response.status_code in (302, 400), response.content[:300]
        if response.status_code == 302:
            check_pages(client, response["Location"].removesuffix("/runs/"), benign, unreadable=404)

    check()
