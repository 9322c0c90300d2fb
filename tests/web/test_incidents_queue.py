from __future__ import annotations

import math
import re

import pytest
from django.core.cache import cache

from runtime_adapter.queries.listing import run_row
from tests.fixtures import corpus
from tests.html import assert_valid_html


@pytest.fixture
def store(settings, tmp_path, corpus_store_url):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path
    cache.clear()

    def use(scenario: str) -> None:
        settings.CONTROLPLANE_RUN_STORE = corpus_store_url(scenario)

    use(corpus.FAILURES)
    return use


def incidents() -> list[str]:
    """The failure scenario's runs that need attention, newest first."""
    rows = [row for row in map(run_row, corpus.runs(corpus.FAILURES)) if row.needs_attention]
    return [row.id for row in sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)]


def test_queue_lists_failed_runs_with_incident_type_and_recommended_action(client, store):
    response = client.get("/incidents/")
    assert response.status_code == 200
    body = response.content.decode()
    assert corpus.tool_failure()[:8] in body
    assert "tool failure" in body and "branch_from_failure_checkpoint" in body
    assert f"{len(incidents())} incidents" in body
    assert_valid_html(response.content)


def test_queue_leaves_out_runs_that_need_no_attention(client, store):
    body = client.get("/incidents/").content.decode()
    assert f'/incidents/{corpus.baseline()}/' not in body


def test_queue_is_newest_first(client, store):
    expected = incidents()
    body = client.get("/incidents/").content.decode()
    shown = re.findall(r'<td class="runid nowrap"><a href="/incidents/([^/"]+)/"', body)
    assert shown == expected


def test_queue_filters_by_incident_type(client, store):
    store(corpus.APPROVALS)
    body = client.get("/incidents/?type=approval_blocked").content.decode()
    assert "approval blocked" in body
    assert '<span class="inc-type">approval blocked</span>' in body
    assert '<span class="inc-type">paused replay</span>' not in body
    assert '<span class="inc-type">generic recovery</span>' not in body
    assert "matching the filters" in body


def test_queue_filters_by_status(client, store):
    store(corpus.APPROVALS)
    body = client.get("/incidents/?status=paused").content.decode()
    assert 'status-paused">paused' in body
    assert 'status status-failed"' not in body and 'status status-cancelled"' not in body


def test_queue_shows_an_empty_state_when_nothing_matches(client, store):
    body = client.get("/incidents/?status=running").content.decode()
    assert "No incidents match these filters." in body


@pytest.mark.parametrize("query", ["?type=nonsense", "?status=exploded", "?page=0", "?page=abc"])
def test_queue_rejects_invalid_parameters(client, store, query):
    response = client.get(f"/incidents/{query}")
    assert response.status_code == 400
    assert b"Invalid parameters" in response.content


def test_htmx_request_returns_only_the_table(client, store):
    response = client.get("/incidents/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="queue-table">') and "<html" not in body
    assert "HX-Request" in response["Vary"]
    assert_valid_html(response.content)


def test_queue_pages_with_links_that_keep_the_filters(client, store, settings):
    settings.CONTROLPLANE_PAGE_SIZE = 5
    pages = math.ceil(len(corpus.ids_where(corpus.FAILURES, lambda run: run["status"] == "failed")) / 5)
    assert pages > 2
    first = client.get("/incidents/?status=failed").content.decode()
    assert f"page 1 of {pages}" in first
    assert 'href="?status=failed&amp;page=2"' in first
    second = client.get("/incidents/?status=failed&page=2").content.decode()
    first_ids = {line for line in first.split('"') if line.startswith("/incidents/") and line.count("/") == 3}
    second_ids = {line for line in second.split('"') if line.startswith("/incidents/") and line.count("/") == 3}
    assert first_ids and second_ids and not first_ids & second_ids


def test_queue_links_each_row_to_its_incident_page_with_a_copy_button(client, store):
    body = client.get("/incidents/").content.decode()
    for run_id in incidents():
        assert f'href="/incidents/{run_id}/"' in body
        assert f'data-copy="{run_id}"' in body


def test_queue_answers_only_get_and_head(client, store):
    assert client.post("/incidents/").status_code == 405
    assert client.head("/incidents/").status_code == 200
