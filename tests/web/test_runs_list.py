from __future__ import annotations

import math
import re

from runtime_adapter.queries.listing import run_row
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx


def listed(text: str) -> list[str]:
    table = text.split('id="list-table"', 1)[1]
    return re.findall(r'<a class="runid" href="/runs/([^/"]+)/"', table)


def test_list_shows_every_run_with_status_and_input(client, scenario):
    response = client.get("/runs/")
    text = body(response)
    assert response.status_code == 200
    assert sorted(listed(text)) == sorted(run["id"] for run in corpus.runs(corpus.BRANCHES))
    root = corpus.get_run(corpus.BRANCHES, corpus.root())
    assert root["input"] in text
    assert_valid_html(response.content)


def test_list_filters_by_several_statuses(client, scenario):
    scenario(corpus.APPROVALS)
    matching = corpus.ids_where(corpus.APPROVALS, lambda run: run["status"] in ("paused", "cancelled"))
    text = body(client.get("/runs/?status=paused&status=cancelled"))
    assert f"<strong>{len(matching)}</strong> runs match these filters" in text
    assert set(re.findall(r'<td><span class="status status-(\w+)">', text.split('id="list-table"')[1])) == {"paused", "cancelled"}


def test_list_filters_by_release(client, scenario):
    scenario(corpus.TOOLS)
    assert len(corpus.ids_where(corpus.TOOLS, lambda run: run_row(run).release == "docs-v3")) == 1
    text = body(client.get("/runs/?release=docs-v3"))
    assert "<strong>1</strong> run match" in text
    assert '<option value="docs-v3" selected>' in text


def test_list_searches_id_input_output_and_error_text(client, tmp_runs):
    assert listed(body(client.get("/runs/?q=exploded"))) == ["child-1"]
    assert listed(body(client.get("/runs/?q=andchild"))) == ["grandchild"]  # part of an id
    # The whole id (or the start of only this one), submitted, opens the run instead of listing it.
    assert client.get("/runs/?q=grandchild")["Location"] == "/runs/grandchild/"


def test_list_filters_by_correlation_id(client, tmp_runs):
    ids = set(listed(body(client.get("/runs/?correlation=root-1"))))
    assert {"root-1", "child-1", "child-2", "grandchild", "branch-1"} <= ids
    assert "big-run" not in ids


def test_list_filters_by_creation_time(client, tmp_runs):
    ids = listed(body(client.get("/runs/?created_after=2026-01-01T00:00:02&created_before=2026-01-01T00:01:30")))
    assert set(ids) == {"child-2", "grandchild", "root-1:replay:1700000000000"}


def test_list_roots_only_hides_children(client, tmp_runs):
    ids = listed(body(client.get("/runs/?roots=on")))
    assert "root-1" in ids and "child-1" not in ids and "grandchild" not in ids


def test_list_sorts_by_cost_ascending(client, tmp_runs):
    ids = listed(body(client.get("/runs/?sort=cost&order=desc")))
    assert ids[0] == "root-1"
    ids = listed(body(client.get("/runs/?sort=cost&order=asc")))
    assert ids[-1] == "root-1"


def test_list_paginates_and_keeps_the_filters_in_page_links(client, scenario, settings):
    settings.CONTROLPLANE_PAGE_SIZE = 5
    first = body(client.get("/runs/?sort=created&order=asc"))
    second = body(client.get("/runs/?sort=created&order=asc&page=2"))
    assert len(listed(first)) == 5 and len(listed(second)) == 5
    assert not set(listed(first)) & set(listed(second))
    assert f"Page 1 of {math.ceil(corpus.run_count(corpus.BRANCHES) / 5)}" in first
    assert 'href="/runs/?sort=created&amp;order=asc&amp;page=2"' in first


def test_list_rejects_invalid_filters_with_a_400_page(client, scenario):
    for query in ("status=exploded", "sort=size", "order=up", "page=0", "created_after=yesterday",
                  "created_after=2026-02-01&created_before=2026-01-01"):
        response = client.get(f"/runs/?{query}")
        assert response.status_code == 400, query
        assert "Invalid parameters" in body(response)
        assert_valid_html(response.content)


def test_list_htmx_request_returns_only_the_table(client, scenario):
    response = htmx(client, "/runs/?status=failed")
    text = body(response)
    assert response.status_code == 200
    assert "<html" not in text and text.startswith('<div id="list-table">')
    assert_valid_html(response.content)


def test_list_history_restore_gets_the_full_page(client, scenario):
    response = htmx(client, "/runs/?status=failed", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in body(response)


def test_filter_form_swaps_the_table_and_pushes_the_url_and_works_without_js(client, scenario):
    text = body(client.get("/runs/"))
    form = re.search(r"<form id=\"run-filters\"[^>]*>", text).group(0)
    assert 'method="get"' in form and 'action="/runs/"' in form
    assert 'hx-target="#list-table"' in form and 'hx-push-url="true"' in form
    assert 'data-search-shortcut' in text


def test_list_shows_unreadable_files_as_error_rows(client, tmp_runs):
    response = client.get("/runs/")
    text = body(response)
    assert response.status_code == 200
    rows = re.findall(r'<tr class="error-row">(.*?)</tr>', text, re.S)
    assert any("broken.json" in row for row in rows) and any("list.json" in row for row in rows)
    assert_valid_html(response.content)


def test_list_escapes_hostile_ids_and_inputs(client, tmp_runs):
    text = body(client.get("/runs/"))
    assert "<script>" not in text and "<img src=x" not in text
    assert 'evil&quot;&lt;b&gt;&amp;&#x27;x' in text


def test_list_links_replay_ids_with_colons(client, scenario):
    text = body(client.get("/runs/"))
    assert f'href="/runs/{corpus.replay()}/"' in text


def test_list_export_link_carries_the_filters(client, scenario):
    text = body(client.get("/runs/?status=failed"))
    assert 'href="/runs/export/bundle.json?status=failed"' in text
