from __future__ import annotations

import re

from runtime_adapter.records import replay_source
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import HOSTILE_ID, body, htmx


def family() -> list[dict]:
    return [corpus.get_run(corpus.BRANCHES, run_id) for run_id in corpus.family_of(corpus.BRANCHES, corpus.root())]


def test_lineage_panel_draws_every_family_run_as_a_link(client, scenario):
    response = htmx(client, f"/runs/{corpus.branch()}/lineage/")
    text = body(response)
    assert response.status_code == 200
    assert text.startswith('<section class="panel lineage" id="lineage-graph">')
    ids = [run["id"] for run in family()]
    assert {corpus.root(), corpus.branch(), corpus.branch_of_branch(), corpus.replay()} <= set(ids)
    for run_id in ids:
        assert f'href="/runs/{run_id}/"' in text
    assert len(re.findall(r'<a class="lin-node', text)) == len(ids)
    assert_valid_html(response.content)


def test_lineage_panel_highlights_the_current_run_and_styles_edges(client, scenario):
    # No run of this family has a parent: each branch hangs from its origin, each other replay from its source.
    assert not any(corpus.lineage(run)["parentRunId"] for run in family())
    # Partial replays and partial exports have a branch origin too, but are drawn as what they are.
    branches = [run for run in family() if corpus.lineage(run)["branchOriginRunId"] and not replay_source(run)]
    partial = [run for run in family() if corpus.lineage(run)["branchOriginRunId"] and replay_source(run)]
    replays = [run for run in family() if replay_source(run) and not corpus.lineage(run)["branchOriginRunId"]]
    assert branches and replays and partial
    text = body(htmx(client, f"/runs/{corpus.branch()}/lineage/"))
    assert re.search(rf'<a class="lin-node lin-completed current" href="/runs/{corpus.branch()}/"', text)
    assert text.count('class="lin-edge lin-edge-branch"') == len(branches)
    assert text.count('class="lin-edge lin-edge-replay"') == len(replays)
    assert (text.count('class="lin-edge lin-edge-partial_replay"') + text.count('class="lin-edge lin-edge-partial_export"')
            == len(partial))
    assert ">tool_completed</text>" in text


def test_lineage_page_without_htmx_is_a_full_page(client, scenario):
    response = client.get(f"/runs/{corpus.branch()}/lineage/")
    assert "<html" in body(response) and 'id="lineage-graph"' in body(response)
    assert_valid_html(response.content)


def test_lineage_dot_download_is_the_dot_text(client, scenario):
    response = client.get(f"/runs/{corpus.branch()}/lineage.dot")
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/vnd.graphviz")
    assert text.startswith("digraph lineage {")
    assert f'URL="/runs/{corpus.branch()}/"' in text
    assert 'style=dashed, label="tool_completed"' in text


def test_lineage_svg_is_rendered_by_graphviz_and_cannot_run_scripts(client, scenario):
    response = client.get(f"/runs/{corpus.branch()}/lineage.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content and f"/runs/{corpus.branch()}/".encode() in response.content
    assert "sandbox" in response["Content-Security-Policy"] and "default-src 'none'" in response["Content-Security-Policy"]


def test_lineage_png_is_an_image(client, scenario):
    response = client.get(f"/runs/{corpus.branch()}/lineage.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_lineage_of_unknown_run_is_404(client, scenario):
    assert client.get("/runs/nope/lineage/").status_code == 404
    assert client.get("/runs/nope/lineage.svg").status_code == 404


def test_missing_graphviz_shows_the_dot_source_and_a_warning(client, scenario, settings):
    settings.CONTROLPLANE_GRAPHVIZ_DOT = "/nonexistent/dot"
    response = htmx(client, f"/runs/{corpus.branch()}/lineage/")
    text = body(response)
    assert response.status_code == 200
    assert "The graph cannot be drawn" in text and "Graphviz is not installed" in text
    assert "digraph lineage {" in text
    assert f'href="/runs/{corpus.root()}/"' in text
    assert_valid_html(response.content)
    svg = client.get(f"/runs/{corpus.branch()}/lineage.svg")
    assert svg.status_code == 503 and b"digraph lineage" in svg.content


def test_lineage_escapes_hostile_ids_and_inputs(client, tmp_runs):
    from urllib.parse import quote

    response = htmx(client, f"/runs/{quote(HOSTILE_ID)}/lineage/")
    text = body(response)
    assert "<script>" not in text and "<img" not in text
    assert_valid_html(response.content)
    dot = client.get(f"/runs/{quote(HOSTILE_ID)}/lineage.dot").content.decode()
    assert "&lt;script&gt;" in dot and "<script>" not in dot


def test_lineage_folds_big_families_only_until_under_the_cap(client, runs_settings, tmp_path):
    from tests.factories import run_record
    from tests.web.runs_support import write_store

    runs_settings.CONTROLPLANE_LINEAGE_MAX_NODES = 10
    records = [run_record("hub", children=[f"leaf-{i:02d}" for i in range(30)])]
    records += [run_record(f"leaf-{i:02d}", parent="hub", root="hub", created=f"2026-01-01T00:00:{i:02d}.000Z") for i in range(30)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "wide", records)
    text = body(htmx(client, "/runs/hub/lineage/"))
    assert "22 more runs" in text and len(re.findall(r'<a class="lin-node', text)) == 10
    assert 'href="/runs/hub/lineage/?open=hub#lineage-graph"' in text


def test_named_store_pages_keep_the_store_prefix_in_every_link(client, scenario, runs_settings, corpus_store_url):
    runs_settings.CONTROLPLANE_STORES = {"alt": corpus_store_url(corpus.BRANCHES)}
    listing = body(client.get("/s/alt/runs/"))
    assert f'href="/s/alt/runs/{corpus.root()}/"' in listing
    panel = body(htmx(client, f"/s/alt/runs/{corpus.branch()}/lineage/"))
    assert f'href="/s/alt/runs/{corpus.root()}/"' in panel and f'href="/runs/{corpus.root()}/"' not in panel
    default = body(htmx(client, f"/runs/{corpus.branch()}/lineage/"))
    assert f'href="/runs/{corpus.root()}/"' in default and "/s/alt/" not in default
    dot = client.get(f"/s/alt/runs/{corpus.branch()}/lineage.dot").content.decode()
    assert f'URL="/s/alt/runs/{corpus.root()}/"' in dot
