from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.fixtures import corpus
from tests.html import assert_valid_html

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def use_store(settings, tmp_path, corpus_store_url):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()

    def use(scenario: str) -> None:
        settings.CONTROLPLANE_RUN_STORE = corpus_store_url(scenario)

    return use


@pytest.fixture
def hostile_store(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()
    runs = tmp_path / "runs"
    runs.mkdir()
    records = [
        run_record("evil", status="failed", input=HOSTILE, errors=[{"name": "Error", "message": HOSTILE}],
                   steps=[{"id": "s1", "type": "tool", "status": "failed", "error": {"message": HOSTILE},
                           "payload": {"toolName": HOSTILE}}],
                   pendingApproval={"toolName": HOSTILE, "reason": HOSTILE}),
        run_record("evil-twin", input=HOSTILE, output=HOSTILE),
    ]
    for record in records:
        (runs / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    return runs


def test_incident_page_shows_the_report(client, use_store):
    use_store(corpus.FAILURES)
    response = client.get(f"/incidents/{corpus.tool_failure()}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert corpus.tool_failure() in body
    assert "Inventory service returned 503" in body
    assert "Failed steps" in body and "Last checkpoint" in body and "Aggregated metrics" in body
    assert_valid_html(response.content)


def test_incident_page_says_the_control_plane_executes_nothing(client, use_store):
    use_store(corpus.FAILURES)
    body = client.get(f"/incidents/{corpus.tool_failure()}/").content.decode()
    assert "Advisory only." in body and "The control plane executes nothing" in body
    assert 'method="post"' not in body.split("</header>")[1]


def test_plan_steps_appear_with_priority_reason_and_approval_flags(client, use_store):
    use_store(corpus.APPROVALS)
    body = client.get(f"/incidents/{corpus.approval_then_pause()}/").content.decode()
    assert "approval blocked" in body
    assert '<code class="inc-action">resolve_approval</code>' in body
    assert "high priority" in body and "Run is blocked on approval." in body
    assert "no approval needed" in body
    use_store(corpus.FAILURES)
    body = client.get(f"/incidents/{corpus.tool_failure()}/").content.decode()
    assert '<code class="inc-action">branch_from_failure_checkpoint</code>' in body
    assert '<span class="inc-approval needs">needs approval</span>' in body
    assert "<dt>failedStepId</dt>" in body


def test_incident_page_shows_pending_approval_and_pause(client, use_store):
    use_store(corpus.APPROVALS)
    body = client.get(f"/incidents/{corpus.approval_then_pause()}/").content.decode()
    assert "Pending approval" in body and "notify_user" in body and "External writes require approval." in body
    assert "Pending pause" in body and "Operator is investigating" in body


def test_incident_page_lists_recommendations(client, use_store):
    use_store(corpus.APPROVALS)
    body = client.get(f"/incidents/{corpus.approval_then_pause()}/").content.decode()
    assert "Resolve the pending approval before attempting replay or resume." in body


def test_run_tree_links_every_run(client, use_store):
    use_store(corpus.DELEGATION)
    child = corpus.get_run(corpus.DELEGATION, corpus.failed_delegate())
    body = client.get(f"/incidents/{child['id']}/").content.decode()
    tree = body.split('class="inc-tree"')[1].split("</pre>")[0]
    assert f'href="/runs/{corpus.lineage(child)["parentRunId"]}/"' in tree
    assert f'href="/runs/{child["id"]}/" class="inc-here"' in tree
    assert "└─ " in tree


def test_a_run_whose_root_lives_in_another_store_still_has_an_incident_page(client, use_store):
    use_store(corpus.DELEGATION)
    ids = {run["id"] for run in corpus.runs(corpus.DELEGATION)}
    elsewhere = [run for run in corpus.runs(corpus.DELEGATION) if corpus.lineage(run)["rootRunId"] not in ids]
    assert elsewhere
    for run in elsewhere:
        response = client.get(f"/incidents/{run['id']}/")
        body = response.content.decode()
        assert response.status_code == 200
        assert "No tree: the run's root is not in this store." in body
        assert corpus.lineage(run)["rootRunId"] in body
        assert_valid_html(response.content)


def test_unknown_run_is_a_404_page(client, use_store):
    use_store(corpus.FAILURES)
    response = client.get("/incidents/no-such-run/")
    assert response.status_code == 404
    assert b"no-such-run" in response.content
    assert_valid_html(response.content)


def test_unknown_comparison_run_is_a_404_naming_it(client, use_store):
    use_store(corpus.FAILURES)
    response = client.get(f"/incidents/{corpus.tool_failure()}/?compare=missing-run")
    assert response.status_code == 404
    assert b"Comparison run &quot;missing-run&quot; not found." in response.content


@pytest.mark.parametrize("value", ["a/b", "x" * 300, ".."])
def test_invalid_comparison_id_is_a_400(client, use_store, value):
    use_store(corpus.FAILURES)
    response = client.get(f"/incidents/{corpus.tool_failure()}/", {"compare": value})
    assert response.status_code == 400


def test_incident_page_links_the_comparison_run(client, use_store):
    use_store(corpus.FAILURES)
    response = client.get(f"/incidents/{corpus.tool_failure()}/?compare={corpus.baseline()}")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'href="/runs/{corpus.baseline()}/"' in body
    assert f'href="/incidents/{corpus.baseline()}/"' in body
    assert f"/compare/?left={corpus.baseline()}&amp;right={corpus.tool_failure()}" in body
    assert "compare_to_known_good" in body
    assert_valid_html(response.content)


def test_comparison_picker_offers_replays_and_branches(client, use_store):
    use_store(corpus.BRANCHES)
    replayed = corpus.failed_with_replay_and_branch()
    body = client.get(f"/incidents/{replayed}/").content.decode()
    picker = body.split('id="incident-comparison"')[1]
    [replay] = corpus.frozen_replays_of(corpus.BRANCHES, replayed)
    assert ":" in replay
    assert f'href="/incidents/{replayed}/?compare={replay.replace(":", "%3A")}"' in picker
    assert f'hx-get="/incidents/{replayed}/?compare={replay.replace(":", "%3A")}"' in picker
    assert 'hx-push-url="true"' in picker and 'hx-target="#incident-analysis"' in picker
    assert "replay" in picker and "branch" in picker


def test_htmx_request_returns_only_the_analysis(client, use_store):
    use_store(corpus.FAILURES)
    response = client.get(f"/incidents/{corpus.tool_failure()}/?compare={corpus.baseline()}",
                          headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.startswith('<div id="incident-analysis">') and "<html" not in body
    assert "Status changed" in body or "Status" in body
    assert "HX-Request" in response["Vary"]
    assert_valid_html(response.content)


def test_htmx_history_restore_gets_the_whole_page(client, use_store):
    use_store(corpus.FAILURES)
    response = client.get(f"/incidents/{corpus.tool_failure()}/?compare={corpus.baseline()}",
                          headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert response.content.decode().lstrip().lower().startswith("<!doctype html>")


def test_copy_as_markdown_button_holds_the_note(client, use_store):
    use_store(corpus.FAILURES)
    body = client.get(f"/incidents/{corpus.tool_failure()}/").content.decode()
    copy = re.search(r'class="copy inc-copy-md" data-copy="([^"]*)" data-copy-origin="(origin-[0-9a-f]{16})"', body)
    assert copy
    note, origin = copy.groups()
    assert note.startswith(f"# Incident `{corpus.tool_failure()}`")
    # The browser puts the page's origin where the placeholder stands when it copies.
    assert f"- Incident page: {origin}/incidents/{corpus.tool_failure()}/\n" in note
    assert "## Recommendations" in note


def test_markdown_download_has_recommendations_and_absolute_links(client, use_store, settings):
    use_store(corpus.FAILURES)
    settings.CONTROLPLANE_BASE_URL = "https://cp.example.com"
    response = client.get(f"/incidents/{corpus.tool_failure()}/report.md?compare={corpus.baseline()}")
    text = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert "attachment" in response["Content-Disposition"]
    assert "## Recommendations" in text and "Inspect the last error" in text
    assert f"https://cp.example.com/incidents/{corpus.tool_failure()}/" in text
    assert f"(https://cp.example.com/runs/{corpus.tool_failure()}/)" in text
    assert f"[`{corpus.baseline()}`](https://cp.example.com/incidents/{corpus.baseline()}/)" in text
    assert "## Recovery plan (advisory)" in text


def test_without_a_base_url_the_markdown_links_are_relative(client, use_store):
    use_store(corpus.FAILURES)
    text = client.get(f"/incidents/{corpus.tool_failure()}/report.md?compare={corpus.baseline()}").content.decode()
    assert f"(/runs/{corpus.tool_failure()}/)" in text
    assert f"[`{corpus.baseline()}`](/incidents/{corpus.baseline()}/)" in text
    assert "http://" not in text and "https://" not in text


@pytest.mark.parametrize("base_url", ["", "https://cp.example.com"])
def test_the_host_header_never_reaches_the_markdown_links(client, use_store, settings, base_url):
    use_store(corpus.FAILURES)
    settings.CONTROLPLANE_BASE_URL = base_url
    settings.ALLOWED_HOSTS = ["*"]  # a permissive host list is where a forged Host header gets through
    page = client.get(f"/incidents/{corpus.tool_failure()}/", HTTP_HOST="attacker.example").content.decode()
    note = client.get(f"/incidents/{corpus.tool_failure()}/report.md", HTTP_HOST="attacker.example").content.decode()
    assert "attacker.example" not in page and "attacker.example" not in note
    assert f"({base_url}/runs/{corpus.tool_failure()}/)" in note


def test_markdown_of_an_unknown_run_is_a_404(client, use_store):
    use_store(corpus.FAILURES)
    assert client.get("/incidents/nope/report.md").status_code == 404


def test_hostile_run_text_is_escaped_on_the_page(client, hostile_store):
    response = client.get("/incidents/evil/?compare=evil-twin")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body
    assert_valid_html(response.content)


def test_hostile_run_text_is_escaped_in_the_markdown(client, hostile_store):
    text = client.get("/incidents/evil/report.md").content.decode()
    outside_code_spans = re.sub(r"(`+).*?\1", "", text)
    assert "<script>" not in outside_code_spans and "<img" not in outside_code_spans
    assert "&lt;script&gt;" in text


def test_links_keep_the_named_store_prefix(client, use_store, settings, corpus_store_url):
    use_store(corpus.TOOLS)
    settings.CONTROLPLANE_STORES = {"failures": corpus_store_url(corpus.FAILURES)}
    response = client.get(f"/s/failures/incidents/{corpus.tool_failure()}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'href="/s/failures/runs/{corpus.tool_failure()}/"' in body
    assert re.search(f"- Incident page: origin-[0-9a-f]{{16}}/s/failures/incidents/{corpus.tool_failure()}/\n", body)


def test_incident_page_answers_only_get_and_head(client, use_store):
    use_store(corpus.FAILURES)
    assert client.post(f"/incidents/{corpus.tool_failure()}/").status_code == 405
    assert client.post(f"/incidents/{corpus.tool_failure()}/report.md").status_code == 405
