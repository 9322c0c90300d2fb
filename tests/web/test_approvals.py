"""The approvals pages (/approvals/, /approvals/history/) and their API (/api/approvals/, /api/approvals/history/)."""

from __future__ import annotations

from html import unescape

import pytest
from django.core.cache import cache

from runtime_adapter.rows import encode_cursor
from tests.factories import run_record
from tests.fixtures import corpus, readonly
from tests.html import assert_valid_html, page_text
from tests.unit.test_approvals import SECRET, at, resolved_run, waiting_run
from tests.web.runs_support import body, htmx, json_body, write_store

API_KEYS = {"runId", "toolName", "arguments", "sideEffectLevel", "reason", "requestedAt", "waitingSeconds"}
HOSTILE_TOOL = 'send<script>alert("t")</script>\u202eliame'


@pytest.fixture
def approval_store(runs_settings, tmp_path):
    """Three waiting runs (one with secrets in its arguments), a resolved one, a plain one and two broken files."""
    records = [
        waiting_run("wait-old", tool="deploy", side_effect="destructive", policy="require_approval",
                    arguments={"env": "prod"}, reason="Deploys need approval.", requested=at(3 * 24 * 60),
                    release="v2", root="root-run"),
        waiting_run("wait-secret", tool="send_email", reason=f"password={SECRET}", requested=at(120),
                    arguments={"to": "ops@example.com", "apiKey": "abc123", "body": f"use {SECRET} now"},
                    release="v1"),
        waiting_run("wait-new", tool=HOSTILE_TOOL, requested=at(5), release="v1",
                    arguments={"note": "\u202eevil"}),
        resolved_run("was-denied", approved=False, reason=f"token={SECRET}", outcome="denied", requested=at(400)),
        run_record("root-run", status="completed"),
    ]
    directory = tmp_path / "runs"
    url = write_store(directory, records, corrupt={"broken.json": b'{"id": "broken", ', "list.json": b"[1, 2]"})
    runs_settings.CONTROLPLANE_RUN_STORE = url
    cache.clear()
    return directory


# The inbox page -----------------------------------------------------------------------------------------

def test_inbox_page_lists_waiting_runs_longest_waiting_first_with_what_an_operator_needs(client, approval_store):
    response = client.get("/approvals/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert text.index("deploy") < text.index("send_email")  # 3 days before 2 hours
    assert "3 runs waiting for approval" in text
    assert "side effect: destructive" in text and "execution policy: require_approval" in text
    assert "waiting 3 d" in text and "waiting 2 h" in text
    assert "Deploys need approval." in text
    assert "rule external-approval at evaluate (source: rule)" in text
    assert '"env": "prod"' in text
    assert "v2" in text  # the release
    assert 'href="/runs/root-run/tree/"' in body(response)  # the root


def test_each_pending_approval_offers_the_resume_calls_to_copy_and_never_makes_them(client, approval_store):
    content = body(client.get("/approvals/"))
    call = 'await agent.resumeRun("wait-old", { approved: true, reason: "Approved after review" });'
    assert f'data-copy="{call.replace(chr(34), "&quot;")}"' in content
    assert 'agent.resumeRun(&quot;wait-old&quot;, { approved: false' in content
    assert "the control plane never calls it" in page_text(content)
    assert "<form method=\"post\"" not in content.split("<main", 1)[1]  # nothing here can change a run


def test_inbox_says_how_many_files_could_not_be_read_and_lists_the_rest(client, approval_store):
    text = page_text(client.get("/approvals/").content)
    assert "2 run files could not be read" in text
    assert "deploy" in text


def test_inbox_filters_by_tool_side_effect_level_release_and_age(client, approval_store):
    def shown(query: str) -> list[str]:
        data = json_body(client.get(f"/api/approvals/?{query}"))
        return [item["runId"] for item in data["approvals"]]

    assert shown("tool=deploy") == ["wait-old"]
    assert shown("side_effect=external_write") == ["wait-secret", "wait-new"]
    assert shown("release=v1") == ["wait-secret", "wait-new"]
    assert shown("age=1h") == ["wait-old", "wait-secret"]
    assert shown("age=1d") == ["wait-old"]
    text = page_text(client.get("/approvals/?tool=nothing-like-it").content)
    assert "No run waiting for approval matches these filters" in text


def test_inbox_htmx_request_gets_the_results_only(client, approval_store):
    response = htmx(client, "/approvals/?release=v1", target="list-results")
    content = body(response)
    assert content.startswith('<div id="list-results">')
    assert "<html" not in content
    assert_valid_html(content)
    assert "send_email" in content and "deploy" not in page_text(content)


def test_inbox_pages_with_a_cursor(client, approval_store, settings):
    settings.CONTROLPLANE_PAGE_SIZE = 2
    first = json_body(client.get("/api/approvals/"))
    assert [item["runId"] for item in first["approvals"]] == ["wait-old", "wait-secret"]
    assert first["total"] == 3
    second = json_body(client.get(f"/api/approvals/?cursor={first['nextCursor']}"))
    assert [item["runId"] for item in second["approvals"]] == ["wait-new"]
    assert second["nextCursor"] is None
    page = body(client.get(f"/approvals/?cursor={first['nextCursor']}"))
    assert "3–3 of 3" in page_text(page)
    assert "← Longer waiting" in page_text(page)


def test_an_empty_store_says_nothing_is_waiting(client, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "empty", [run_record("done")])
    text = page_text(client.get("/approvals/").content)
    assert "No run in this store is waiting for approval." in text


def test_hostile_tool_names_and_arguments_are_escaped(client, approval_store):
    content = body(client.get("/approvals/"))
    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in content
    assert "<bdi>send&lt;script&gt;" in content  # isolated from the text beside it


# The API ----------------------------------------------------------------------------------------------

def test_api_lists_approvals_with_the_keys_the_issue_names(client, approval_store):
    data = json_body(client.get("/api/approvals/"))
    assert data["total"] == 3
    assert [item["runId"] for item in data["approvals"]] == ["wait-old", "wait-secret", "wait-new"]
    for item in data["approvals"]:
        assert API_KEYS <= set(item)
    old = data["approvals"][0]
    assert old["toolName"] == "deploy"
    assert old["arguments"] == {"env": "prod"}
    assert old["sideEffectLevel"] == "destructive"
    assert old["reason"] == "Deploys need approval."
    assert old["requestedAt"] == at(3 * 24 * 60)
    assert old["waitingSeconds"] == 3 * 24 * 3600
    assert data["unreadable"] == 2


def test_api_on_the_corpus_lists_every_run_waiting_for_approval(client, scenario):
    scenario(corpus.APPROVALS)
    waiting = corpus.ids_where(corpus.APPROVALS, lambda run: run["status"] == "waiting_for_approval")
    data = json_body(client.get("/api/approvals/"))
    assert sorted(item["runId"] for item in data["approvals"]) == sorted(waiting)
    assert data["total"] == len(waiting)


@pytest.mark.parametrize(("query", "field"), [
    ("cursor=not-ours", "cursor"), ("age=3h", "age"), ("limit=0", "limit"), ("limit=501", "limit"),
    ("tool=" + "x" * 600, "tool"),
])
def test_bad_parameters_are_a_400_naming_them(client, approval_store, query, field):
    response = client.get(f"/api/approvals/?{query}")
    assert response.status_code == 400
    assert field in json_body(response)["fields"]
    page = client.get(f"/approvals/?{query}")
    assert page.status_code == 400
    assert f"{field}:" in unescape(body(page))


def test_history_rejects_a_cursor_it_did_not_issue(client, approval_store):
    response = client.get("/api/approvals/history/?cursor=bm9wZQ")
    assert response.status_code == 400
    assert "cursor" in json_body(response)["fields"]


# Redaction ----------------------------------------------------------------------------------------------

def test_secrets_are_redacted_on_the_inbox_page_and_api(client, approval_store):
    for url in ("/approvals/", "/api/approvals/", "/approvals/history/", "/api/approvals/history/"):
        content = body(client.get(url))
        assert SECRET not in content, url
        assert "abc123" not in content, url
    data = json_body(client.get("/api/approvals/?tool=send_email"))
    assert data["approvals"][0]["arguments"]["apiKey"] == "[REDACTED]"
    assert "[REDACTED]" in data["approvals"][0]["reason"]


def test_secrets_show_when_redaction_is_turned_off(client, approval_store, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    data = json_body(client.get("/api/approvals/?tool=send_email"))
    assert data["approvals"][0]["arguments"]["apiKey"] == "abc123"
    assert SECRET in body(client.get("/approvals/"))


# History ------------------------------------------------------------------------------------------------

def test_history_page_lists_resolved_approvals_with_their_outcome(client, approval_store):
    response = client.get("/approvals/history/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert "was-denied" in body(response)
    assert "left to the approval handler" in text
    assert "denied: the run failed" in text
    assert "1 approval in 4 runs read" in text  # 4 runs made tool calls; the plain root is skipped unread
    # The waiting runs' own requests are in the inbox, not here.
    assert "wait-old" not in body(response)


def test_history_on_the_corpus_lists_each_approval_resolved_and_each_left_unanswered(client, scenario):
    scenario(corpus.APPROVALS)
    data = json_body(client.get("/api/approvals/history/?limit=100"))
    resolved = corpus.ids_where(corpus.APPROVALS, lambda run: any(
        isinstance(event, dict) and event.get("type") == "approval_resolved" for event in run["events"]))
    assert sorted(item["runId"] for item in data["resolutions"] if item["resolvedAt"]) == sorted(resolved)
    unanswered = [item for item in data["resolutions"] if item["outcome"] == "unresolved"]
    assert {item["status"] for item in unanswered} == {"cancelled", "paused"}
    times = [item["resolvedAt"] or item["requestedAt"] for item in data["resolutions"]]
    assert times == sorted(times, reverse=True)


def test_history_htmx_request_gets_the_results_only(client, approval_store):
    content = body(htmx(client, "/approvals/history/", target="history-results"))
    assert content.startswith('<div id="history-results">')
    assert_valid_html(content)


# Read-only ----------------------------------------------------------------------------------------------

def test_the_approvals_pages_write_nothing_to_the_run_store(client, approval_store):
    before = readonly.snapshot(approval_store)
    for url in ("/approvals/", "/approvals/?age=1h&side_effect=none", "/api/approvals/", "/approvals/history/",
                "/api/approvals/history/"):
        assert client.get(url).status_code == 200
    assert readonly.changes(before, readonly.snapshot(approval_store)) == []


def test_a_cursor_past_the_end_offers_the_first_page(client, approval_store):
    response = client.get(f"/approvals/?cursor={encode_cursor(1000)}")
    assert response.status_code == 200
    assert "This page is past the end." in page_text(response.content)


def test_a_named_store_keeps_its_prefix_in_every_link(client, approval_store, settings):
    settings.CONTROLPLANE_STORES = {"staging": approval_store.as_uri()}
    content = body(client.get("/s/staging/approvals/"))
    assert 'href="/s/staging/runs/wait-old/"' in content
    assert 'href="/s/staging/approvals/history/"' in content
    assert json_body(client.get("/s/staging/api/approvals/"))["total"] == 3


def test_a_missing_run_store_is_a_503_with_its_reason(client, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = (tmp_path / "gone").as_uri()
    response = client.get("/api/approvals/")
    assert response.status_code == 503
    assert "does not exist" in json_body(response)["error"]
