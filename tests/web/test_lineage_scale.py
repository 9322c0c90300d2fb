"""Big lineage families on the pages: folds that open by URL, paths to failures, failures per subtree in the tree."""

from __future__ import annotations

import re

import pytest

from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx, write_store


def created(index: int) -> str:
    return f"2026-01-01T00:{index // 60:02d}:{index % 60:02d}.000Z"


@pytest.fixture
def hub_family(runs_settings, tmp_path):
    """root -> hub1..hub6, hub h with h*2 leaves (43 runs); hub3's last leaf failed. Cap 20."""
    runs_settings.CONTROLPLANE_LINEAGE_MAX_NODES = 20
    records, index = [run_record("root")], 1
    for h in range(1, 7):
        records.append(run_record(f"hub{h}", parent="root", root="root", created=created(index)))
        index += 1
        for leaf in range(h * 2):
            status = "failed" if (h, leaf) == (3, 5) else "completed"
            records.append(run_record(f"hub{h}-{leaf}", parent=f"hub{h}", root="root", status=status, created=created(index)))
            index += 1
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "hubs", records)
    return records


def nodes(text: str) -> list[str]:
    return re.findall(r'<a class="lin-node[^"]*" href="/runs/([^/"]+)/"', text)


def fold_links(text: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'<a class="lin-node lin-more" href="([^"]+)"', text)]


def test_a_fold_is_a_link_that_redraws_the_graph_with_it_open(client, hub_family):
    text = body(htmx(client, "/runs/root/lineage/"))
    assert len(nodes(text)) + len(fold_links(text)) <= 20
    assert "hub6-0" not in nodes(text)
    link = next(link for link in fold_links(text) if "open=hub6" in link)
    assert link == "/runs/root/lineage/?open=hub6#lineage-graph"
    response = client.get(link.split("#")[0])
    opened = body(response)
    assert response.status_code == 200 and "<html" in opened
    assert {f"hub6-{leaf}" for leaf in range(12)} <= set(nodes(opened))
    assert "Fold again" in opened
    assert_valid_html(response.content)


def test_opening_another_fold_keeps_the_ones_already_open_in_the_url(client, hub_family):
    text = body(htmx(client, "/runs/root/lineage/?open=hub6"))
    links = fold_links(text)
    assert links and all(re.search(r"open=hub6(&|#)", link) for link in links)
    assert all(link.count("open=") == 2 for link in links)
    assert 'href="/runs/root/lineage.svg?open=hub6"' in text and 'href="/runs/root/lineage.dot?open=hub6"' in text


def test_the_dot_file_draws_the_same_folds_as_the_page(client, hub_family):
    closed = client.get("/runs/root/lineage.dot").content.decode()
    opened = client.get("/runs/root/lineage.dot?open=hub6").content.decode()
    assert 'URL="/runs/hub6-0/"' not in closed and 'URL="/runs/hub6-0/"' in opened
    assert 'URL="/runs/root/lineage/?open=hub6#lineage-graph"' in closed


def test_failed_runs_and_the_paths_to_them_stay_drawn_in_the_failure_colour(client, hub_family):
    text = body(htmx(client, "/runs/root/lineage/"))
    assert {"root", "hub3", "hub3-5"} <= set(nodes(text))
    assert re.search(r'<a class="lin-node lin-completed current fail-path" href="/runs/root/"', text)
    assert re.search(r'<a class="lin-node lin-completed fail-path" href="/runs/hub3/"', text)
    assert re.search(r'<a class="lin-node lin-failed" href="/runs/hub3-5/"', text)
    assert text.count('class="lin-edge lin-edge-parent lin-fail"') == 2
    assert "path to a failed run" in text


def test_too_many_or_too_long_open_values_are_a_400(client, hub_family):
    assert client.get("/runs/root/lineage/?" + "&".join(f"open=r{i}" for i in range(201))).status_code == 400
    assert client.get("/runs/root/lineage/?open=" + "x" * 300).status_code == 400
    assert client.get("/runs/root/lineage.svg?open=" + "x" * 300).status_code == 400
    assert client.get("/runs/root/lineage/?open=unknown-run").status_code == 200


def test_the_graph_loads_its_script_on_the_lineage_tree_and_detail_pages(client, hub_family):
    # From the base template: the detail page's graph arrives by htmx, which runs no script tags it swaps in.
    for path in ("/runs/hub3/lineage/", "/runs/hub3/tree/", "/runs/hub3/"):
        assert '<script src="/static/js/lineage.js" defer></script>' in body(client.get(path))


def test_the_tree_page_shows_the_failures_below_each_run(client, hub_family):
    response = client.get("/runs/hub3-5/tree/")
    text = body(response)
    assert re.search(r'href="/runs/root/"[^>]*>[^<]*</a> <span class="fail-below"[^>]*>1 failed below</span>', text)
    assert re.search(r'href="/runs/hub3/"[^>]*>[^<]*</a> <span class="fail-below"[^>]*>1 failed below</span>', text)
    assert text.count('class="fail-below"') == 2
    assert_valid_html(response.content)
