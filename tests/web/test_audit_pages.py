"""The audit log page, its API and the panel a run's page loads: entries newest first, filters, paging, run links,
redaction on every surface, and broken lines and files shown with their reasons, never a 500."""

from __future__ import annotations

import os
from urllib.parse import quote

import html5lib
import pytest
from django.core.cache import cache

from runtime_adapter.durable import audit
from tests.factories import run_record
from tests.html import assert_valid_html, page_text
from tests.unit.test_audit_log import audit_line, write_log
from tests.web.runs_support import body, htmx, json_body, write_store

SECRET = "sk-live-9aQ3xT7mB2vK8pL4nR6wZ1cY"
PASSWORD = "password=Tr0ub4dor-and-3"
HOSTILE = '<script>alert("audit")</script>'
SPOOF = "\u202egnp.exe"


@pytest.fixture(autouse=True)
def _fresh_line_marks():
    audit.LINE_MARKS.clear()


@pytest.fixture
def audit_site(runs_settings, tmp_path):
    """Runs run-a and run-b in the store; the log names them, a run elsewhere (run-gone), and holds a secret."""
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [
        run_record("run-a", status="completed"), run_record("run-b", status="failed")])
    lines = [
        audit_line(0, event_type="tool_requested", run_id="run-a",
                   payload={"toolName": "update_crm", "arguments": {"apiKey": SECRET, "contactId": "C-1"},
                            "metadata": {"sideEffectLevel": "external_write"}, "n": 0}),
        audit_line(1, event_type="policy_decision", run_id="run-a",
                   payload={"toolName": "update_crm", "stage": "evaluate", "decision": {"action": "allow"}, "n": 1}),
        audit_line(2, event_type="tool_failed", run_id="run-b",
                   payload={"toolName": "update_crm", "message": f"login failed with {PASSWORD}", "n": 2}),
        audit_line(3, event_type="run_failed", run_id="run-b", status="failed",
                   payload={"name": "ToolExecutionError", "message": "Tool failed", "n": 3}),
        audit_line(4, event_type="tool_completed", run_id="run-gone", payload={"toolName": "update_crm", "n": 4}),
        audit_line(5, event_type="run_completed", run_id="run-a", status="completed", payload={"output": "done", "n": 5}),
    ]
    runs_settings.CONTROLPLANE_AUDIT_LOG = write_log(tmp_path / "audit.jsonl", lines)
    cache.clear()
    return runs_settings


def shown_text(content: bytes) -> list[str]:
    """Every text node and attribute a reader sees, outside <pre> blocks and the attributes machines read."""
    found = []
    for element in html5lib.parse(content, namespaceHTMLElements=False).iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        found += [text for text in (element.text if tag != "pre" else None, element.tail) if text]
        found += [value for name, value in element.attrib.items() if name not in ("href", "hx-get", "data-copy", "value")]
    return found


def rows(text: str) -> list[str]:
    return [chunk.split("</tr>")[0] for chunk in text.split('<tr')[2:]]


def test_the_audit_page_lists_entries_newest_first_with_their_line_numbers(client, audit_site):
    response = client.get("/audit/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert text.index("run_completed") < text.index("tool_completed") < text.index("run_failed") < text.index("tool_requested")
    assert "line 6" in text and "line 1" in text
    assert "6 lines, newest first" in text


def test_an_entry_links_its_run_when_the_store_holds_it_and_shows_other_ids_as_text(client, audit_site):
    text = body(client.get("/audit/"))
    assert 'href="/runs/run-a/"' in text and 'href="/runs/run-b/"' in text
    assert "/runs/run-gone/" not in text
    gone = next(row for row in rows(text) if "run-gone" in row)
    assert "not in store" in gone


def test_the_page_summarises_each_payload_in_the_runtimes_words(client, audit_site):
    text = page_text(client.get("/audit/").content)
    assert "evaluate → allow" in text
    assert "ToolExecutionError: Tool failed" in text
    assert "external_write" in text and "update_crm" in text


def test_secrets_in_payloads_are_redacted_on_the_page(client, audit_site):
    text = body(client.get("/audit/"))
    assert SECRET not in text and "Tr0ub4dor" not in text
    assert "[REDACTED]" in text


def test_secrets_in_payloads_are_redacted_in_the_api(client, audit_site):
    response = client.get("/api/audit/")
    assert SECRET not in response.content.decode() and "Tr0ub4dor" not in response.content.decode()
    [request] = [entry for entry in json_body(response)["entries"] if entry["eventType"] == "tool_requested"]
    assert request["payload"]["arguments"] == {"apiKey": "[REDACTED]", "contactId": "C-1"}


def test_secrets_in_payloads_are_redacted_in_the_run_pages_panel(client, audit_site):
    text = body(htmx(client, "/audit/?runId=run-a", target="run-audit"))
    assert "update_crm" in text and SECRET not in text


def test_secrets_in_an_unreadable_lines_text_are_redacted(client, audit_site):
    path = audit_site.CONTROLPLANE_AUDIT_LOG
    with path.open("a") as handle:
        handle.write(f'{{"timestamp":"2026-11-20T10:09:00.000Z","eventType":"tool_started","payload":{{"key":"{SECRET}"')
    for response in (client.get("/audit/"), client.get("/api/audit/")):
        assert SECRET not in response.content.decode()
    assert json_body(client.get("/api/audit/"))["entries"][0]["text"].endswith('"key":"[REDACTED]"')


def test_the_redaction_opt_out_shows_payloads_as_written(client, audit_site):
    audit_site.CONTROLPLANE_REDACT_SECRETS = False
    assert SECRET in body(client.get("/audit/"))
    assert SECRET in body(client.get("/api/audit/"))


def test_the_api_answers_entries_with_the_runtimes_fields_and_a_next_cursor(client, audit_site):
    payload = json_body(client.get("/api/audit/?limit=2"))
    assert list(payload)[:2] == ["entries", "nextCursor"]
    first = payload["entries"][0]
    assert list(first) == ["timestamp", "eventType", "runId", "status", "payload", "line", "offset"]
    assert (first["eventType"], first["runId"], first["status"], first["line"]) == ("run_completed", "run-a", "completed", 6)
    rest = json_body(client.get(f"/api/audit/?limit=10&cursor={payload['nextCursor']}"))
    assert [entry["line"] for entry in rest["entries"]] == [4, 3, 2, 1]
    assert rest["nextCursor"] is None


def test_the_api_filters_by_run_id_and_event_type(client, audit_site):
    payload = json_body(client.get("/api/audit/?runId=run-a&eventType=policy_decision"))
    assert [(entry["runId"], entry["eventType"]) for entry in payload["entries"]] == [("run-a", "policy_decision")]


def test_the_page_filters_by_event_type_run_status_and_time(client, audit_site):
    assert "run_failed" not in page_text(client.get("/audit/?eventType=tool_failed").content).split("Payload", 1)[1]
    text = page_text(client.get("/audit/?runId=run-b&status=failed").content)
    assert "1 matching line" in text and "ToolExecutionError" in text
    text = page_text(client.get("/audit/?after=2026-11-20T10:00:04&before=2026-11-20T10:00:06").content)
    assert "2 matching lines" in text and "run_completed" in text and "tool_completed" in text


def test_a_preset_time_range_counts_back_from_now(client, audit_site, settings):
    from datetime import UTC, datetime

    settings.CONTROLPLANE_NOW = datetime(2026, 11, 20, 10, 10, tzinfo=UTC)
    assert "6 matching lines" in page_text(client.get("/audit/?since=15m").content)
    settings.CONTROLPLANE_NOW = datetime(2026, 11, 21, 10, 10, tzinfo=UTC)
    assert "No entry matches these filters" in page_text(client.get("/audit/?since=1h").content)


def test_the_filter_form_shows_what_the_table_holds(client, audit_site):
    text = body(client.get("/audit/?runId=run-b&status=failed&eventType=run_failed"))
    assert 'name="runId" id="id_runId" value="run-b"' in text
    assert '<option value="failed" selected>' in text
    assert 'value="run_failed"' in text


@pytest.mark.parametrize("query, reason", [
    ("status=exploded", "status: Select a valid choice"),
    ("after=2026-11-21&before=2026-11-20", "“From” must be earlier than “until”"),
    ("since=1h&after=2026-11-20", "Choose a time range or “from/until” dates, not both"),
    ("after=yesterday", "after: Enter a valid date/time"),
    ("cursor=not-a-cursor", "cursor: This cursor was not issued by the audit log"),
    ("limit=0", "limit: Ensure this value is greater than or equal to 1"),
])
def test_bad_parameters_are_a_400_with_the_reason(client, audit_site, query, reason):
    response = client.get(f"/api/audit/?{query}")
    assert response.status_code == 400
    assert reason in json_body(response)["error"]
    if not query.startswith("limit"):
        page = client.get(f"/audit/?{query}")
        assert page.status_code == 400 and reason in page_text(page.content)


def test_a_cursor_into_a_rotated_log_is_a_400_that_says_so(client, audit_site, tmp_path):
    cursor = json_body(client.get("/api/audit/?limit=1"))["nextCursor"]
    path = audit_site.CONTROLPLANE_AUDIT_LOG
    rotated = tmp_path / "rotated.jsonl"
    rotated.write_bytes(path.read_bytes())
    os.replace(rotated, path)
    for url in (f"/api/audit/?cursor={cursor}", f"/audit/?cursor={cursor}"):
        response = client.get(url)
        assert response.status_code == 400
        assert "earlier audit log file" in response.content.decode()


def test_an_htmx_request_gets_the_entries_region_only(client, audit_site):
    response = htmx(client, "/audit/?runId=run-a", target="audit-entries")
    text = body(response)
    assert response.status_code == 200
    assert text.startswith('<div id="audit-entries">') and "<html" not in text
    assert_valid_html(text)
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]


def test_the_run_pages_panel_holds_that_runs_entries_only(client, audit_site):
    response = htmx(client, "/audit/?runId=run-b", target="run-audit")
    text = body(response)
    assert text.startswith('<section class="panel audit-panel" id="run-audit">')
    assert_valid_html(text)
    assert "tool_failed" in text and "run_failed" in text and "run_completed" not in text
    assert 'href="/audit/?runId=run-b"' in text


def test_a_run_with_no_entries_says_so_in_its_panel(client, audit_site):
    text = page_text(htmx(client, "/audit/?runId=run-quiet", target="run-audit").content)
    assert "No audit entry names this run." in text


def test_a_run_pages_panel_without_an_audit_log_is_a_quiet_line_not_a_failure(client, audit_site, settings, tmp_path):
    # Most deployments keep no audit log: every run page must not carry a failure callout for it.
    settings.CONTROLPLANE_AUDIT_LOG = tmp_path / "no-such.jsonl"
    text = body(htmx(client, "/audit/?runId=run-a", target="run-audit"))
    assert "callout" not in text and "No audit log to read" in text and "does not exist" in text
    settings.CONTROLPLANE_AUDIT_LOG = tmp_path  # a directory is a misconfiguration: that one is a failure
    assert "callout failure" in body(htmx(client, "/audit/?runId=run-a", target="run-audit"))


def test_the_run_page_loads_its_audit_entries_lazily_with_a_link_without_javascript(client, audit_site):
    text = body(client.get("/runs/run-a/"))
    assert 'id="run-audit" hx-get="/audit/?runId=run-a" hx-trigger="revealed"' in text
    assert '<a href="/audit/?runId=run-a">Open this run\'s audit log entries</a>' in text


def test_the_run_pages_audit_link_keeps_an_odd_run_id_exact(client, runs_settings, tmp_path):
    odd = "run a&b=c#d"
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [run_record(odd)])
    runs_settings.CONTROLPLANE_AUDIT_LOG = write_log(tmp_path / "audit.jsonl", [audit_line(0, run_id=odd)])
    text = body(client.get(f"/runs/{quote(odd)}/"))
    assert f'hx-get="/audit/?runId={quote(odd, safe="")}"' in text
    panel = body(htmx(client, f"/audit/?runId={quote(odd, safe='')}", target="run-audit"))
    assert "line 1" in panel


def test_truncated_and_corrupt_lines_are_shown_with_their_line_and_reason(client, audit_site):
    path = audit_site.CONTROLPLANE_AUDIT_LOG
    lines = path.read_text().split("\n")[:-1]
    lines.insert(3, lines[3][:60] + lines[4])
    path.write_text("\n".join(lines) + "\n" + lines[-1][:50])
    response = client.get("/audit/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert "line 8 unreadable truncated: the last line has no newline and is not complete JSON" in text
    assert "line 4 unreadable not JSON:" in text
    assert "run_completed" in text and "tool_requested" in text
    entries = json_body(client.get("/api/audit/"))["entries"]
    assert entries[0]["line"] == 8 and entries[0]["unreadable"].startswith("truncated")
    assert [entry["line"] for entry in entries if "unreadable" in entry] == [8, 4]


def test_older_entries_page_on_from_the_pages_link(client, audit_site, settings):
    settings.CONTROLPLANE_PAGE_SIZE = 4
    text = body(client.get("/audit/"))
    assert "line 3" in page_text(text) and "line 2" not in page_text(text)
    link = text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    older = page_text(client.get(link).content)
    assert "line 2" in older and "line 1" in older and "line 3" not in older
    assert "Newest" in older


def test_a_filtered_scan_that_spends_its_budget_offers_to_continue(client, audit_site, monkeypatch):
    monkeypatch.setattr(audit, "MAX_SCAN_LINES", 2)
    text = body(client.get("/audit/?runId=run-b"))
    assert "Scanned 2 lines" in page_text(text) and "without filling the page" in page_text(text)
    assert "Continue scanning older lines" in text
    payload = json_body(client.get("/api/audit/?runId=run-b"))
    assert payload["entries"] == [] and payload["scanStopped"] is True and payload["nextCursor"]
    more = json_body(client.get(f"/api/audit/?runId=run-b&cursor={payload['nextCursor']}"))
    assert [entry["line"] for entry in more["entries"]] == [4, 3]


def test_a_missing_log_is_a_clear_message_naming_the_setting(client, audit_site, tmp_path):
    audit_site.CONTROLPLANE_AUDIT_LOG = tmp_path / "nowhere" / "audit.jsonl"
    response = client.get("/audit/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert f"CONTROLPLANE_AUDIT_LOG is {tmp_path / 'nowhere' / 'audit.jsonl'} : no such file." in text
    api = client.get("/api/audit/")
    assert api.status_code == 404
    assert json_body(api)["setting"] == "CONTROLPLANE_AUDIT_LOG" and "no such file" in json_body(api)["error"]
    # A run page's panel says it quietly (most deployments keep no audit log).
    assert "which does not exist" in page_text(htmx(client, "/audit/?runId=run-a", target="run-audit").content)
    assert client.get("/runs/run-a/").status_code == 200


def test_an_unset_log_says_so(client, audit_site):
    audit_site.CONTROLPLANE_AUDIT_LOG = None
    assert "CONTROLPLANE_AUDIT_LOG is not set: no audit log is configured." in page_text(client.get("/audit/").content)
    assert client.get("/api/audit/").status_code == 404


def test_a_directory_or_a_binary_file_is_a_clear_message(client, audit_site, tmp_path):
    audit_site.CONTROLPLANE_AUDIT_LOG = tmp_path
    assert "this is a directory, not a JSONL file" in page_text(client.get("/audit/").content)
    binary = tmp_path / "audit.jsonl.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    audit_site.CONTROLPLANE_AUDIT_LOG = binary
    assert "binary data (NUL bytes): not a JSONL audit log" in page_text(client.get("/audit/").content)
    assert client.get("/api/audit/").status_code == 422


def test_an_empty_log_says_it_is_empty(client, audit_site):
    audit_site.CONTROLPLANE_AUDIT_LOG.write_text("")
    assert "The audit log is empty." in page_text(client.get("/audit/").content)
    assert json_body(client.get("/api/audit/")) == {"entries": [], "nextCursor": None, "scannedLines": 0,
                                                    "scanStopped": False}


def test_hostile_entry_content_is_escaped_and_ids_show_their_direction_characters(client, audit_site):
    line = audit_line(9, event_type=HOSTILE, run_id=SPOOF, status=HOSTILE,
                      payload={"toolName": HOSTILE, "message": HOSTILE})
    with audit_site.CONTROLPLANE_AUDIT_LOG.open("a") as handle:
        handle.write(line + "\n" + HOSTILE + "\n")
    response = client.get("/audit/")
    text = body(response)
    assert_valid_html(response.content)
    assert HOSTILE not in text and "&lt;script&gt;" in text
    assert "\\u202egnp.exe" in text
    # Outside the raw JSON blocks, no direction character reaches the eye (as tests/web/test_bidi.py checks).
    assert [value for value in shown_text(response.content) if "\u202e" in value] == []


def test_the_page_and_api_never_write_to_the_log(client, audit_site):
    path = audit_site.CONTROLPLANE_AUDIT_LOG
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    path.chmod(0o444)
    for url in ("/audit/", "/api/audit/", "/audit/?runId=run-a", "/api/audit/?eventType=run_failed&limit=1"):
        assert client.get(url).status_code == 200
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_the_audit_pages_only_read(client, audit_site):
    assert client.post("/audit/").status_code == 405
    assert client.post("/api/audit/").status_code == 405


def test_a_page_filtered_by_a_run_links_that_run_or_says_the_store_does_not_hold_it(client, audit_site):
    text = body(client.get("/audit/?runId=run-b"))
    assert '<a href="/runs/run-b/">open run' in text
    text = page_text(client.get("/audit/?runId=run-gone").content)
    assert "1 matching line" in text and "no run with this id is in this run store" in text
