from __future__ import annotations

import re

from runtime_adapter.queries.listing import run_row
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx


def with_status(status: str) -> int:
    return len(corpus.ids_where(corpus.APPROVALS, lambda run: run["status"] == status))


def test_overview_shows_counts_by_status(client, scenario):
    scenario(corpus.APPROVALS)
    response = client.get("/")
    assert response.status_code == 200
    text = body(response)
    waiting, paused = with_status("waiting_for_approval"), with_status("paused")
    assert waiting and paused
    assert f'status-waiting_for_approval">waiting for approval</span><strong>{waiting}</strong>' in text
    assert f'status-paused">paused</span><strong>{paused}</strong>' in text
    assert f'<span class="card-label">all runs</span><strong>{corpus.run_count(corpus.APPROVALS)}</strong>' in text
    assert_valid_html(response.content)


def attention_rows():
    rows = [row for row in map(run_row, corpus.runs(corpus.APPROVALS)) if row.needs_attention]
    return sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)


def test_overview_lists_runs_needing_attention_with_their_top_recommendation(client, scenario):
    from django.utils.html import escape

    scenario(corpus.APPROVALS)
    text = body(client.get("/"))
    attention = text.split("Needs attention", 1)[1].split("Recent activity", 1)[0]
    newest = attention_rows()[0]
    assert f'href="/runs/{newest.id}/"' in attention
    assert escape(newest.top_recommendation) in attention
    healthy = corpus.ids_where(corpus.APPROVALS, lambda run: run["status"] == "completed" and not run["errors"])
    assert healthy and not any(run_id in attention for run_id in healthy)
    assert f"All {len(attention_rows())} runs that need attention" in attention


def test_overview_links_each_attention_run_to_its_incident_page(client, scenario):
    scenario(corpus.APPROVALS)
    text = body(client.get("/"))
    assert f'href="/incidents/{attention_rows()[0].id}/"' in text


def test_overview_attention_rows_are_newest_first(client, scenario):
    scenario(corpus.APPROVALS)
    expected = [row.id for row in attention_rows()][:12]
    attention = body(client.get("/")).split("Needs attention", 1)[1].split("Usage", 1)[0]
    shown = re.findall(r'<a class="runid" href="/runs/([^/"]+)/"', attention)
    assert shown == expected


def test_overview_draws_token_and_cost_charts_for_the_last_day_and_week(client, scenario):
    text = body(client.get("/"))
    assert "Last 24 hours" in text and "Last 7 days" in text
    assert text.count('<svg class="bar-chart"') == 4


def test_overview_polls_itself_every_ten_seconds_without_eval_filters(client, scenario):
    text = body(client.get("/"))
    assert 'hx-trigger="every 10s, poll-now"' in text
    assert "data-poll" in text
    assert "[document" not in text and "hx-on" not in text


def test_overview_htmx_poll_returns_only_the_live_region(client, scenario):
    response = htmx(client, "/")
    text = body(response)
    assert response.status_code == 200
    assert "<html" not in text
    assert text.startswith('<div id="overview-live"')
    assert_valid_html(response.content)
    assert "HX-Request" in response["Vary"]


def test_overview_shows_unreadable_files_among_recent_activity(client, tmp_runs):
    text = body(client.get("/"))
    assert "broken.json" in text and "unreadable" in text


def test_overview_escapes_run_content(client, tmp_runs):
    text = body(client.get("/"))
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&quot;in&quot;)&lt;/script&gt;" in text


def test_overview_answers_get_and_head_only(client, scenario):
    assert client.post("/").status_code == 405
    assert client.head("/").status_code == 200
