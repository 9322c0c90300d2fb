from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from html5lib import HTMLParser

from runtime_adapter.present import formatting
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import HOSTILE_ID, body, htmx

TABS = ("steps", "events", "tools", "checkpoints", "messages", "errors", "raw")


def assert_valid_rows(text: str) -> None:
    HTMLParser(strict=True, namespaceHTMLElements=False).parseFragment(text, container="tbody")


def test_detail_shows_the_run(client, scenario):
    response = client.get(f"/runs/{corpus.branch()}/")
    text = body(response)
    assert response.status_code == 200
    assert corpus.branch() in text
    assert "Use tool to research the market size" in text
    assert '<span class="status status-completed">completed</span>' in text
    assert_valid_html(response.content)


def test_detail_shows_relative_and_absolute_times(client, scenario):
    text = body(client.get(f"/runs/{corpus.branch()}/"))
    assert re.search(r'<time datetime="2026-[^"]+Z" title="2026-\d\d-\d\d \d\d:\d\d:\d\d UTC">', text)


def test_detail_shows_tokens_cost_and_timings(client, scenario):
    scenario(corpus.TOOLS)
    metrics = corpus.get_run(corpus.TOOLS, corpus.tool_run())["metrics"]
    usage = metrics["tokenUsage"]
    text = body(client.get(f"/runs/{corpus.tool_run()}/"))
    assert f"<strong>{usage['total']}</strong>" in text and f"{usage['prompt']} prompt" in text
    assert metrics["cost"] and f"<strong>{formatting.cost(metrics['cost'])}</strong>" in text
    assert 'class="timings-bar"' in text


def test_detail_of_unknown_run_is_404(client, scenario):
    response = client.get("/runs/no-such-run/")
    assert response.status_code == 404
    assert "no-such-run" in body(response)
    assert_valid_html(response.content)


def test_detail_works_for_replay_ids_with_colons(client, scenario):
    response = client.get(f"/runs/{corpus.replay()}/")
    assert response.status_code == 200
    assert "Replay of" in body(response)
    assert f'href="/runs/{corpus.root()}/"' in body(response)


def test_detail_links_branch_origin_with_its_checkpoint(client, scenario):
    run = corpus.get_run(corpus.BRANCHES, corpus.branch_of_branch())
    text = body(client.get(f"/runs/{run['id']}/"))
    assert "Branched from" in text
    assert f'href="/runs/{corpus.branch()}/"' in text
    assert corpus.lineage(run)["branchCheckpointId"].startswith(f"{corpus.branch()}:checkpoint:")
    assert corpus.lineage(run)["branchCheckpointId"] in text


def test_detail_lists_children_and_branches(client, scenario):
    text = body(client.get(f"/runs/{corpus.root()}/"))
    branches = text.split("<dt>Branches</dt>", 1)[1].split("</dd>", 1)[0]
    expected = corpus.branches_of(corpus.BRANCHES, corpus.root())
    assert corpus.branch() in expected and len(expected) > 1
    for branch in expected:
        assert f'href="/runs/{branch}/"' in branches


def test_detail_breadcrumb_walks_parents_to_the_root(client, tmp_runs):
    text = body(client.get("/runs/grandchild/"))
    crumbs = text.split('<nav class="breadcrumb"', 1)[1].split("</nav>", 1)[0]
    assert crumbs.index('href="/runs/root-1/"') < crumbs.index('href="/runs/child-1/"')
    assert "grandchild" in crumbs


def test_detail_breadcrumb_stops_on_a_missing_parent(client, scenario):
    scenario(corpus.DELEGATION)
    ids = {run["id"] for run in corpus.runs(corpus.DELEGATION)}
    orphans = [run for run in corpus.runs(corpus.DELEGATION) if corpus.lineage(run)["parentRunId"] not in ids | {None}]
    assert orphans
    for orphan in orphans:
        text = body(client.get(f"/runs/{orphan['id']}/"))
        assert corpus.lineage(orphan)["parentRunId"] in text and "not in this store" in text


def test_detail_breadcrumb_stops_on_a_cycle(client, runs_settings, tmp_path):
    from tests.factories import run_record
    from tests.web.runs_support import write_store

    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "cycle", [
        run_record("a", parent="b", root="a"), run_record("b", parent="a", root="a"),
    ])
    response = client.get("/runs/a/")
    assert response.status_code == 200
    assert "lineage cycle" in body(response)


def test_detail_shows_correlation_ids(client, scenario):
    text = body(client.get(f"/runs/{corpus.branch()}/"))
    assert "<dt>traceId</dt>" in text and "<dt>spanId</dt>" in text
    assert f'data-copy="{corpus.root()}"' in text


def test_waiting_run_has_an_approval_callout_naming_the_tool(client, scenario):
    scenario(corpus.APPROVALS)
    text = body(client.get(f"/runs/{corpus.waiting()}/"))
    callout = text.split('<section class="callout approval">', 1)[1].split("</section>", 1)[0]
    assert "Waiting for approval to run send_email" in callout
    assert "quarterly report" in callout


def test_paused_run_has_a_pause_callout_with_reason_and_stage(client, scenario):
    scenario(corpus.APPROVALS)
    text = body(client.get(f"/runs/{corpus.paused()}/"))
    callout = text.split('<section class="callout pause">', 1)[1].split("</section>", 1)[0]
    assert "Paused at before_model" in callout and "Paused at before_model." in callout
    assert '<dd class="mono">before_model</dd>' in callout


def test_detail_links_incident_page_and_compare(client, scenario):
    text = body(client.get(f"/runs/{corpus.branch_of_branch()}/"))
    assert f'href="/incidents/{corpus.branch_of_branch()}/"' in text
    assert f"/compare/?left={corpus.branch()}&amp;right={corpus.branch_of_branch()}" in text


def test_detail_lineage_graph_loads_lazily_behind_a_link(client, scenario):
    branch = corpus.branch()
    text = body(client.get(f"/runs/{branch}/"))
    placeholder = re.search(r'<section class="panel lineage lineage-placeholder"[^>]*>', text).group(0)
    assert f'hx-get="/runs/{branch}/lineage/"' in placeholder and 'hx-trigger="revealed"' in placeholder
    assert f'<a href="/runs/{branch}/lineage/">' in text


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_is_a_full_page_with_that_tab_open(client, scenario, tab):
    branch = corpus.branch()
    response = client.get(f"/runs/{branch}/{tab}/")
    text = body(response)
    assert response.status_code == 200
    assert "<html" in text and branch in text
    assert re.search(rf'href="/runs/{branch}/{tab}/"[^>]*aria-current="page"', text)
    assert_valid_html(response.content)


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_htmx_request_returns_only_the_tab(client, scenario, tab):
    response = htmx(client, f"/runs/{corpus.branch()}/{tab}/", target="detail-tab")
    text = body(response)
    assert response.status_code == 200
    assert "<html" not in text and text.startswith('<section id="detail-tab"')
    assert_valid_html(response.content)


def test_tab_links_are_htmx_with_real_hrefs_and_push_the_url(client, scenario):
    branch = corpus.branch()
    text = body(client.get(f"/runs/{branch}/"))
    link = re.search(rf'<a href="/runs/{branch}/events/"[^>]*>', text).group(0)
    assert f'hx-get="/runs/{branch}/events/"' in link and 'hx-push-url="true"' in link


def test_steps_tab_draws_a_timeline_row_per_step(client, scenario):
    scenario(corpus.TOOLS)
    text = body(client.get(f"/runs/{corpus.tool_run()}/steps/"))
    assert text.count('<svg class="tl"') == len(corpus.get_run(corpus.TOOLS, corpus.tool_run())["steps"]) > 1
    assert '<rect class="tl-bar fill-completed' in text


def test_events_tab_filters_by_type(client, scenario):
    scenario(corpus.TOOLS)
    text = body(client.get(f"/runs/{corpus.tool_run()}/events/?type=model_request"))
    assert '<option value="model_request" selected>' in text
    rows = re.findall(r'<td class="mono">([^<]+)</td>', text.split("<tbody>", 1)[1])
    assert rows and set(rows) == {"model_request"}


def test_tools_tab_pairs_each_call_with_its_result(client, scenario):
    scenario(corpus.TOOLS)
    text = body(client.get(f"/runs/{corpus.tool_run()}/tools/"))
    assert "search_docs" in text and "doc for test" in text
    assert "no result" not in text


def test_tools_tab_marks_calls_without_result(client, scenario):
    scenario(corpus.APPROVALS)
    text = body(client.get(f"/runs/{corpus.waiting()}/tools/"))
    assert "send_email" in text and "no result" in text


def test_checkpoints_tab_shows_runtime_calls_with_copy_buttons_and_partial_download(client, scenario):
    root = corpus.root()
    checkpoint = corpus.checkpoint_id(corpus.get_run(corpus.BRANCHES, root), "tool_completed")
    text = body(client.get(f"/runs/{root}/checkpoints/"))
    branch = f"agent.branchRun(&quot;{root}&quot;, {{ checkpointId: &quot;{checkpoint}&quot; }})"
    assert branch in text and f'data-copy="{branch}"' in text
    assert f"agent.replayRun(&quot;{root}&quot;, {{ checkpointId: &quot;{checkpoint}&quot; }})" in text
    assert f"TraceSerializer.exportPartialRun(run, {{ checkpointId: &quot;{checkpoint}&quot; }})" in text
    assert "branchFromCheckpoint" not in text
    assert f'href="/runs/{root}/export/partial.json?checkpoint={quote(checkpoint, safe="")}"' in text


def test_messages_and_errors_tabs_show_their_records(client, tmp_runs):
    assert "lookup exploded" in body(client.get("/runs/child-1/errors/"))
    assert "no messages" in body(client.get("/runs/child-2/messages/"))


def test_raw_tab_is_the_normalised_record_as_json(client, scenario):
    text = body(client.get(f"/runs/{corpus.branch()}/raw/"))
    assert "&quot;id&quot;: &quot;" + corpus.branch() in text


def test_long_tabs_page_with_load_more(client, tmp_runs):
    text = body(client.get("/runs/big-run/steps/"))
    assert text.count('<svg class="tl"') == 100
    more = re.search(r'<tr id="detail-more".*?</tr>', text, re.S).group(0)
    assert 'href="/runs/big-run/steps/?offset=100"' in more and 'hx-get="/runs/big-run/steps/?offset=100"' in more
    assert 'hx-target="#detail-more"' in more


def test_load_more_htmx_request_returns_only_the_next_rows(client, tmp_runs):
    response = htmx(client, "/runs/big-run/steps/?offset=200", target="detail-more")
    text = body(response)
    assert "<html" not in text and "<table" not in text
    assert text.count('<svg class="tl"') == 50
    assert 'id="detail-more"' not in text
    assert_valid_rows(text)


def test_load_more_keeps_the_event_type_filter(client, tmp_runs):
    text = body(client.get("/runs/big-run/events/?type=tick"))
    assert 'href="/runs/big-run/events/?offset=200&amp;type=tick"' in text
    assert "300 events of type tick" in text


def test_load_more_without_js_shows_the_next_slice_as_a_page(client, tmp_runs):
    text = body(client.get("/runs/big-run/events/?offset=200"))
    assert "Showing 201–400 of 450" in text
    assert_valid_html(text)


def test_invalid_tab_parameters_are_a_400(client, tmp_runs):
    assert client.get("/runs/big-run/events/?offset=-1").status_code == 400
    assert client.get("/runs/big-run/nonsense/").status_code == 404


def test_detail_escapes_hostile_content(client, tmp_runs):
    for tab in ("", "errors/", "raw/"):
        response = client.get(f"/runs/{quote(HOSTILE_ID)}/{tab}")
        text = body(response)
        assert response.status_code == 200
        assert "<script>" not in text and "<img src=x" not in text and "<b>Bad</b>" not in text
        assert_valid_html(text)


def test_raw_tab_truncates_huge_records_and_points_to_the_download(client, tmp_runs, monkeypatch):
    monkeypatch.setattr("runs.tabs.RAW_LIMIT", 500)
    text = body(client.get("/runs/big-run/raw/"))
    assert "only the first" in text and 'href="/runs/big-run/export/trace.json"' in text
