"""Lineage graphs of big families in Chromium: this run in view, folds that open, zoom and pan, contrast.

A 1,000-run store (seed 7) holds a 320-run family (`biggestTree`) and a 72-child one (`widestTree`).
Screenshots: test-results/screenshots/lineage-320-<width>-<theme>.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import close_context, screenshot, scroll_to
from tests.conftest import PINNED_NOW
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

IN_VIEW = """(node) => {
    const box = node.closest('.lineage-scroll').getBoundingClientRect(), rect = node.getBoundingClientRect();
    return rect.left >= box.left && rect.right <= box.right && rect.top >= box.top && rect.bottom <= box.bottom;
}"""


@pytest.fixture(scope="session")
def families(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lineage-scale") / "store"
    summary = write_store(directory, 1000, seed=7, now=PINNED_NOW)
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(Path(directory).glob("*.json"))]

    def members(root: str) -> list[dict]:
        return [run for run in runs if run["metadata"]["lineage"].get("rootRunId") == root and run["id"] != root]

    def depth(run: dict) -> int:
        by_id = {each["id"]: each for each in runs}
        count, parent = 0, run["metadata"]["lineage"].get("parentRunId")
        while parent in by_id:
            count, parent = count + 1, by_id[parent]["metadata"]["lineage"].get("parentRunId")
        return count

    big = summary["notable"]["biggestTree"]
    wide = summary["notable"]["widestTree"]
    assert big["size"] == 320 and wide["size"] == 72
    deep_child = max(members(big["rootRunId"]), key=lambda run: (depth(run), run["id"]))["id"]
    last_wide_child = max(members(wide["rootRunId"]), key=lambda run: (run["timestamps"]["createdAt"], run["id"]))["id"]
    ids = {run["id"] for run in runs}
    failed_child = min(run["id"] for run in runs
                       if run["status"] == "failed" and run["metadata"]["lineage"].get("parentRunId") in ids)
    return {"url": directory.as_uri(), "big": big["rootRunId"], "deep_child": deep_child,
            "wide": wide["rootRunId"], "wide_child": last_wide_child, "failed_child": failed_child,
            "children": {run_id: [run["id"] for run in runs if run["metadata"]["lineage"].get("parentRunId") == run_id]
                         for run_id in ids}}


@pytest.fixture
def site(live_server, anonymous, settings, families, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = families["url"]
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


def lineage(site: str, run_id: str, query: str = "") -> str:
    return f"{site}/runs/{run_id}/lineage/{query}"


def ready(page) -> None:
    expect(page.locator("#lineage-graph[data-lineage-ready]")).to_have_count(1)


def test_a_320_run_family_is_drawn_nearly_whole_and_its_folds_open(page, page_errors, site, families):
    page.goto(lineage(site, families["big"]))
    ready(page)
    drawn = page.locator("a.lin-node:not(.lin-more)").count()
    folds = page.locator("a.lin-node.lin-more")
    assert 250 <= drawn < 320 and 1 <= folds.count() and drawn + folds.count() <= 300
    fold = folds.first
    anchor = unquote(re.search(r"open=([^&#]+)", fold.get_attribute("href")).group(1))
    hidden = families["children"][anchor]
    assert all(page.locator(f'a.lin-node[data-run-id="{run_id}"]').count() == 0 for run_id in hidden)
    fold.scroll_into_view_if_needed()
    fold.click()
    page.wait_for_url(re.compile(r"/lineage/\?open=[^&#]+#lineage-graph$"))
    ready(page)
    # The fold is open: every run below that run is drawn (another small fold may close to make room).
    assert all(page.locator(f'a.lin-node[data-run-id="{run_id}"]').count() == 1 for run_id in hidden)
    assert page.locator("a.lin-node").count() <= 300
    expect(page.locator("a.lin-refold")).to_have_text("Fold again")
    assert page_errors == []


def test_on_a_childs_page_the_box_scrolls_to_this_run(page, page_errors, site, families):
    page.goto(lineage(site, families["deep_child"]))
    ready(page)
    current = page.locator("a.lin-node.current")
    expect(current).to_have_count(1)
    assert current.evaluate(IN_VIEW)
    box = page.locator(".lineage-scroll")
    assert box.evaluate("box => box.scrollTop + box.scrollLeft") > 0
    assert page_errors == []


def test_in_a_72_child_family_the_root_and_the_last_child_are_each_brought_into_view(page, page_errors, site, families):
    for run_id in (families["wide"], families["wide_child"]):
        page.goto(lineage(site, run_id))
        ready(page)
        assert page.locator("a.lin-node.current").evaluate(IN_VIEW), run_id
    root = page.locator(f'a.lin-node[data-run-id="{families["wide"]}"]')
    root.scroll_into_view_if_needed()
    assert root.evaluate(IN_VIEW)
    assert page_errors == []


def test_the_tree_page_lazily_loads_the_graph_scrolled_to_this_run(page, page_errors, site, families):
    page.goto(f"{site}/runs/{families['deep_child']}/tree/")
    scroll_to(page, "#lineage-graph")
    ready(page)
    assert page.locator("a.lin-node.current").evaluate(IN_VIEW)
    assert page_errors == []


def test_the_run_pages_graph_is_scrolled_to_this_run_and_has_its_zoom_tools(page, page_errors, site, families):
    # The detail page loads the graph by htmx, which runs no script it swaps in: lineage.js comes with every page.
    page.goto(f"{site}/runs/{families['deep_child']}/")
    scroll_to(page, "#lineage-graph")
    ready(page)
    assert page.locator("a.lin-node.current").evaluate(IN_VIEW)
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    assert page_errors == []


def test_zoom_buttons_and_dragging_move_the_graph(page, page_errors, site, families):
    page.goto(lineage(site, families["big"]))
    ready(page)
    svg = page.locator("svg.lineage-svg")
    width = float(svg.get_attribute("width"))
    page.get_by_role("button", name="Zoom in").click()
    assert float(svg.get_attribute("width")) == pytest.approx(width * 1.25, rel=0.01)
    expect(page.locator("[data-zoom-level]")).to_have_text("125%")
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    assert float(svg.get_attribute("width")) < width
    page.get_by_role("button", name="Reset").click()
    assert float(svg.get_attribute("width")) == pytest.approx(width, rel=0.01)

    box = page.locator(".lineage-scroll")
    before = box.evaluate("box => [box.scrollLeft, box.scrollTop]")
    rect = box.bounding_box()
    page.mouse.move(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    page.mouse.down()
    page.mouse.move(rect["x"] + rect["width"] / 2 - 60, rect["y"] + rect["height"] / 2 - 120, steps=6)
    page.mouse.up()
    after = box.evaluate("box => [box.scrollLeft, box.scrollTop]")
    assert after != before and after[1] > before[1]
    assert "/lineage/" in page.url  # a drag that ends on a node does not open it
    page.get_by_role("button", name="This run").click()
    assert page.locator("a.lin-node.current").evaluate(IN_VIEW)
    assert page_errors == []


def test_without_javascript_a_fold_still_opens(no_js_page, site, families):
    no_js_page.goto(lineage(site, families["big"]))
    expect(no_js_page.locator("[data-lineage-tools]")).to_be_hidden()
    fold = no_js_page.locator("a.lin-node.lin-more").first
    fold.scroll_into_view_if_needed()
    fold.click()
    no_js_page.wait_for_url(re.compile(r"\?open="))
    expect(no_js_page.locator("a.lin-refold")).to_be_visible()


CONTRAST = """() => {
    const parse = (value) => {
        const numbers = value.match(/[\\d.]+/g).map(Number);
        return value.startsWith('color(') ? numbers.slice(0, 3).map((n) => n * 255) : numbers.slice(0, 3);
    };
    const lum = (rgb) => {
        const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const seen = {};
    for (const node of document.querySelectorAll('a.lin-node')) {
        const status = [...node.classList].find((name) => name.startsWith('lin-') && name !== 'lin-node');
        if (seen[status]) continue;
        const fill = lum(parse(getComputedStyle(node.querySelector('rect')).fill));
        const text = lum(parse(getComputedStyle(node.querySelector('text')).fill));
        seen[status] = (Math.max(fill, text) + 0.05) / (Math.min(fill, text) + 0.05);
    }
    return seen;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_node_labels_reach_aa_and_the_320_run_graph_is_screenshotted(browser, site, families, scheme, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(lineage(site, families["deep_child"]))
        ready(page)
        ratios = page.evaluate(CONTRAST)
        assert {"lin-completed", "lin-more"} <= set(ratios)
        assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        scroll_to(page, "#lineage-graph")
        screenshot(page, f"lineage-320-{width}-{scheme}")
    finally:
        close_context(context)


def test_paths_to_a_failed_run_are_drawn_in_the_failure_colour(page, page_errors, site, families):
    page.goto(lineage(site, families["failed_child"]))
    ready(page)
    edges = page.locator("g.lin-edge.lin-fail path")
    assert edges.count() >= 1 and page.locator("a.lin-node.fail-path").count() >= 1
    colours = page.evaluate("""() => {
        const probe = document.createElement('span');
        probe.style.color = 'var(--st-failed)';
        document.body.append(probe);
        const failed = getComputedStyle(probe).color;
        probe.remove();
        return [failed, getComputedStyle(document.querySelector('g.lin-edge.lin-fail path')).stroke,
                getComputedStyle(document.querySelector('a.lin-node.fail-path rect')).stroke];
    }""")
    assert colours[1] == colours[0] and colours[2] in (colours[0], "rgb(245, 184, 0)")
    screenshot(page, "lineage-failure-path")
    page.goto(f"{site}/runs/{families['failed_child']}/tree/")
    expect(page.locator("#run-tree .fail-below").first).to_be_visible()
    screenshot(page, "tree-failed-below")
    assert page_errors == []
