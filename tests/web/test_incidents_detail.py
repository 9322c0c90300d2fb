from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.html import assert_valid_html

APPROVAL_AND_PAUSE = "9d2d40aa-dc0a-49d4-b8f2-1740f27a7ce0"  # s02: waiting for approval, then paused manually
TOOL_FAILURE = "5034dc9b-ef7d-4c02-be78-51bd354d3674"  # s03: tool returned 503
BASELINE = "068d9ff6-54ef-4532-833c-5b9a0c6ff984"  # s03: the healthy run
REPLAYED = "00b8d1ea-fdc8-457a-baa7-0f44b85d48ef"  # s04: has a frozen replay and a branch
DELEGATION_CHILD = "544d822d-a51c-4516-b05d-ff8aab94ea58"  # s05: failed child under eae78a79
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def use_store(settings, tmp_path, conformance_store_url):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()

    def use(scenario: str) -> None:
        settings.CONTROLPLANE_RUN_STORE = conformance_store_url(scenario)

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
    use_store("s03_failures")
    response = client.get(f"/incidents/{TOOL_FAILURE}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert TOOL_FAILURE in body
    assert "Inventory service returned 503" in body
    assert "Failed steps" in body and "Last checkpoint" in body and "Aggregated metrics" in body
    assert_valid_html(response.content)


def test_incident_page_says_the_control_plane_executes_nothing(client, use_store):
    use_store("s03_failures")
    body = client.get(f"/incidents/{TOOL_FAILURE}/").content.decode()
    assert "Advisory only." in body and "The control plane executes nothing" in body
    assert 'method="post"' not in body.split("</header>")[1]


def test_plan_steps_appear_with_priority_reason_and_approval_flags(client, use_store):
    use_store("s02_approvals_pauses")
    body = client.get(f"/incidents/{APPROVAL_AND_PAUSE}/").content.decode()
    assert "approval blocked" in body
    assert '<code class="inc-action">resolve_approval</code>' in body
    assert "high priority" in body and "Run is blocked on approval." in body
    assert "no approval needed" in body
    use_store("s03_failures")
    body = client.get(f"/incidents/{TOOL_FAILURE}/").content.decode()
    assert '<code class="inc-action">branch_from_failure_checkpoint</code>' in body
    assert '<span class="inc-approval needs">needs approval</span>' in body
    assert "<dt>failedStepId</dt>" in body


def test_incident_page_shows_pending_approval_and_pause(client, use_store):
    use_store("s02_approvals_pauses")
    body = client.get(f"/incidents/{APPROVAL_AND_PAUSE}/").content.decode()
    assert "Pending approval" in body and "notify_user" in body and "External writes require approval." in body
    assert "Pending pause" in body and "Operator is investigating" in body


def test_incident_page_lists_recommendations(client, use_store):
    use_store("s02_approvals_pauses")
    body = client.get(f"/incidents/{APPROVAL_AND_PAUSE}/").content.decode()
    assert "Resolve the pending approval before attempting replay or resume." in body


def test_run_tree_links_every_run(client, use_store):
    use_store("s05_delegation_tree")
    body = client.get(f"/incidents/{DELEGATION_CHILD}/").content.decode()
    tree = body.split('class="inc-tree"')[1].split("</pre>")[0]
    assert 'href="/runs/eae78a79-a25c-4714-b511-dfe4ad1696ff/"' in tree
    assert f'href="/runs/{DELEGATION_CHILD}/" class="inc-here"' in tree
    assert "└─ " in tree


def test_a_run_whose_root_lives_in_another_store_still_has_an_incident_page(client, use_store):
    use_store("s05_delegation_tree")
    response = client.get("/incidents/ddaeaecd-c905-443c-8e69-96557c0f8e3c/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "No tree: the run's root is not in this store." in body
    assert "remote-root-0001" in body
    assert_valid_html(response.content)


def test_unknown_run_is_a_404_page(client, use_store):
    use_store("s03_failures")
    response = client.get("/incidents/no-such-run/")
    assert response.status_code == 404
    assert b"no-such-run" in response.content
    assert_valid_html(response.content)


def test_unknown_comparison_run_is_a_404_naming_it(client, use_store):
    use_store("s03_failures")
    response = client.get(f"/incidents/{TOOL_FAILURE}/?compare=missing-run")
    assert response.status_code == 404
    assert b"Comparison run &quot;missing-run&quot; not found." in response.content


@pytest.mark.parametrize("value", ["a/b", "x" * 300, ".."])
def test_invalid_comparison_id_is_a_400(client, use_store, value):
    use_store("s03_failures")
    response = client.get(f"/incidents/{TOOL_FAILURE}/", {"compare": value})
    assert response.status_code == 400


def test_incident_page_links_the_comparison_run(client, use_store):
    use_store("s03_failures")
    response = client.get(f"/incidents/{TOOL_FAILURE}/?compare={BASELINE}")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'href="/runs/{BASELINE}/"' in body
    assert f'href="/incidents/{BASELINE}/"' in body
    assert f"/compare/?left={BASELINE}&amp;right={TOOL_FAILURE}" in body
    assert "compare_to_known_good" in body
    assert_valid_html(response.content)


def test_comparison_picker_offers_replays_and_branches(client, use_store):
    use_store("s04_branch_replay")
    body = client.get(f"/incidents/{REPLAYED}/").content.decode()
    picker = body.split('id="incident-comparison"')[1]
    replay = f"{REPLAYED}:replay:1795487059424"
    assert f'href="/incidents/{REPLAYED}/?compare={replay.replace(":", "%3A")}"' in picker
    assert f'hx-get="/incidents/{REPLAYED}/?compare={replay.replace(":", "%3A")}"' in picker
    assert 'hx-push-url="true"' in picker and 'hx-target="#incident-analysis"' in picker
    assert "replay" in picker and "branch" in picker


def test_htmx_request_returns_only_the_analysis(client, use_store):
    use_store("s03_failures")
    response = client.get(f"/incidents/{TOOL_FAILURE}/?compare={BASELINE}", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.startswith('<div id="incident-analysis">') and "<html" not in body
    assert "Status changed" in body or "Status" in body
    assert "HX-Request" in response["Vary"]
    assert_valid_html(response.content)


def test_htmx_history_restore_gets_the_whole_page(client, use_store):
    use_store("s03_failures")
    response = client.get(f"/incidents/{TOOL_FAILURE}/?compare={BASELINE}",
                          headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert response.content.decode().lstrip().lower().startswith("<!doctype html>")


def test_copy_as_markdown_button_holds_the_note(client, use_store):
    use_store("s03_failures")
    body = client.get(f"/incidents/{TOOL_FAILURE}/").content.decode()
    copy = re.search(r'class="copy inc-copy-md" data-copy="([^"]*)" data-copy-origin="(origin-[0-9a-f]{16})"', body)
    assert copy
    note, origin = copy.groups()
    assert note.startswith(f"# Incident `{TOOL_FAILURE}`")
    # The browser puts the page's origin where the placeholder stands when it copies.
    assert f"- Incident page: {origin}/incidents/{TOOL_FAILURE}/\n" in note
    assert "## Recommendations" in note


def test_markdown_download_has_recommendations_and_absolute_links(client, use_store, settings):
    use_store("s03_failures")
    settings.CONTROLPLANE_BASE_URL = "https://cp.example.com"
    response = client.get(f"/incidents/{TOOL_FAILURE}/report.md?compare={BASELINE}")
    text = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert "attachment" in response["Content-Disposition"]
    assert "## Recommendations" in text and "Inspect the last error" in text
    assert f"https://cp.example.com/incidents/{TOOL_FAILURE}/" in text
    assert f"(https://cp.example.com/runs/{TOOL_FAILURE}/)" in text
    assert f"[`{BASELINE}`](https://cp.example.com/incidents/{BASELINE}/)" in text
    assert "## Recovery plan (advisory)" in text


def test_without_a_base_url_the_markdown_links_are_relative(client, use_store):
    use_store("s03_failures")
    text = client.get(f"/incidents/{TOOL_FAILURE}/report.md?compare={BASELINE}").content.decode()
    assert f"(/runs/{TOOL_FAILURE}/)" in text
    assert f"[`{BASELINE}`](/incidents/{BASELINE}/)" in text
    assert "http://" not in text and "https://" not in text


@pytest.mark.parametrize("base_url", ["", "https://cp.example.com"])
def test_the_host_header_never_reaches_the_markdown_links(client, use_store, settings, base_url):
    use_store("s03_failures")
    settings.CONTROLPLANE_BASE_URL = base_url
    settings.ALLOWED_HOSTS = ["*"]  # a permissive host list is where a forged Host header gets through
    page = client.get(f"/incidents/{TOOL_FAILURE}/", HTTP_HOST="attacker.example").content.decode()
    note = client.get(f"/incidents/{TOOL_FAILURE}/report.md", HTTP_HOST="attacker.example").content.decode()
    assert "attacker.example" not in page and "attacker.example" not in note
    assert f"({base_url}/runs/{TOOL_FAILURE}/)" in note


def test_markdown_of_an_unknown_run_is_a_404(client, use_store):
    use_store("s03_failures")
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


def test_links_keep_the_named_store_prefix(client, use_store, settings, conformance_store_url):
    use_store("s01_agent_tools_metrics")
    settings.CONTROLPLANE_STORES = {"failures": conformance_store_url("s03_failures")}
    response = client.get(f"/s/failures/incidents/{TOOL_FAILURE}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'href="/s/failures/runs/{TOOL_FAILURE}/"' in body
    assert re.search(f"- Incident page: origin-[0-9a-f]{{16}}/s/failures/incidents/{TOOL_FAILURE}/\n", body)


def test_incident_page_answers_only_get_and_head(client, use_store):
    use_store("s03_failures")
    assert client.post(f"/incidents/{TOOL_FAILURE}/").status_code == 405
    assert client.post(f"/incidents/{TOOL_FAILURE}/report.md").status_code == 405
