"""The run pages in Chromium: no console errors, HTMX swaps, lineage clicks, and no-JS fallbacks.

Screenshots named docs-* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.core.cache import cache
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, scroll_to
from tests.conftest import PINNED_NOW
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("runs-ui") / "demo"
    # Spread over the week before the pinned clock, so the overview's last day and week hold runs.
    summary = write_store(directory, 120, seed=7, now=PINNED_NOW, big_run_steps=400)
    return directory.as_uri(), summary["notable"]


@pytest.fixture
def site(live_server, anonymous, settings, demo, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = demo[0]
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


@pytest.fixture
def notable(demo):
    return demo[1]


def url_of(site: str, path: str) -> str:
    return f"{site}{path}"


def test_overview_loads_without_console_errors(page, page_errors, site):
    page.goto(url_of(site, "/"))
    expect(page.locator("#overview-live")).to_be_visible()
    expect(page.locator(".status-card").first).to_be_visible()
    expect(page.locator("#overview-live .usage-window")).to_have_count(2)
    expect(page.locator("svg.bar-chart").first).to_be_visible()
    screenshot(page, "docs-overview")
    assert page_errors == []


def test_overview_polling_refreshes_the_live_region(page, page_errors, site):
    page.goto(url_of(site, "/"))
    page.evaluate("document.getElementById('overview-live').setAttribute('data-marker', 'old')")
    page.evaluate("htmx.trigger(document.getElementById('overview-live'), 'poll-now')")
    expect(page.locator("#overview-live:not([data-marker])")).to_have_count(1)
    assert page_errors == []


def test_overview_polling_pauses_while_the_tab_is_hidden(page, page_errors, site):
    page.goto(url_of(site, "/"))
    page.evaluate("""() => {
        window.__hidden = true;
        Object.defineProperty(document, "hidden", {configurable: true, get: () => window.__hidden});
        document.getElementById("overview-live").setAttribute("data-marker", "old");
        htmx.trigger(document.getElementById("overview-live"), "poll-now");
    }""")
    page.wait_for_timeout(700)
    expect(page.locator("#overview-live[data-marker=old]")).to_have_count(1)
    page.evaluate("() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); }")
    expect(page.locator("#overview-live:not([data-marker])")).to_have_count(1)
    assert page_errors == []


def test_changing_a_filter_swaps_the_table_and_updates_the_url(page, page_errors, site):
    page.goto(url_of(site, "/runs/"))
    page.evaluate("window.__notReloaded = true")
    page.locator("fieldset.statuses input[value=failed]").check()
    page.wait_for_url(re.compile(r"/runs/\?.*status=failed"))
    assert "q=" not in page.url and "release=" not in page.url
    expect(page.locator("#list-table .table-head")).to_contain_text("match these filters")
    statuses = set(page.locator("#list-table tbody:not(.store-errors) td:nth-child(2) .status").all_inner_texts())
    assert statuses == {"failed"}
    assert page.evaluate("window.__notReloaded") is True
    page.locator("select[name=sort]").select_option("cost")
    page.wait_for_url(re.compile(r"sort=cost"))
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "docs-runs")
    page.go_back()
    page.wait_for_url(re.compile(r"status=failed(?!.*sort=cost)"))
    # Back restores the filtered table and its controls, not only the address.
    expect(page.locator("select[name=sort]")).not_to_have_value("cost")
    expect(page.locator("fieldset.statuses input[value=failed]")).to_be_checked()
    expect(page.locator("#list-table .table-head")).to_contain_text("match these filters")
    assert page_errors == []


def test_slash_focuses_the_search_box_and_typing_filters(page, page_errors, site, notable):
    page.goto(url_of(site, "/runs/"))
    page.locator("body").press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type(notable["failedRunId"][:13])
    page.wait_for_url(re.compile(r"q=" + notable["failedRunId"][:8]))
    expect(page.locator("#list-table tbody:not(.store-errors) tr")).to_have_count(1)
    assert page_errors == []


def test_run_detail_tabs_load_with_htmx_and_push_their_url(page, page_errors, site, notable):
    run_id = notable["waitingRunId"]
    page.goto(url_of(site, f"/runs/{quote(run_id)}/"))
    expect(page.locator(".callout.approval")).to_be_visible()
    expect(page.locator("#detail-tab svg.tl").first).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    for name, title in (("events", "Events"), ("tools", "Tool calls"), ("checkpoints", "Checkpoints"),
                        ("messages", "Messages"), ("raw", "Raw JSON")):
        page.locator("#detail-tab nav.tabs a", has_text=title).click()
        page.wait_for_url(re.compile(rf"/runs/{re.escape(run_id)}/{name}/$"))
        expect(page.locator('#detail-tab nav.tabs a[aria-current="page"]')).to_contain_text(title)
    assert page.evaluate("window.__notReloaded") is True
    page.locator("#detail-tab nav.tabs a", has_text="Steps").click()
    page.wait_for_url(re.compile(r"/steps/$"))
    page.goto(url_of(site, f"/runs/{notable['failedRunId']}/"))
    expect(page.locator(".callout.failure")).to_be_visible()
    screenshot(page, "docs-run-detail")
    assert page_errors == []


def test_long_tabs_load_more_rows_in_place(page, page_errors, site, notable):
    run_id = notable["bigRunPair"]["leftRunId"]
    page.goto(url_of(site, f"/runs/{run_id}/events/"))
    rows = page.locator("#detail-tab tbody tr:not(#detail-more)")
    expect(rows).to_have_count(200)
    page.locator("#detail-more a").click()
    expect(rows).to_have_count(400)
    assert page.url.endswith("/events/")
    assert page_errors == []


def test_clicking_a_lineage_node_opens_that_run(page, page_errors, site, notable):
    root = notable["delegationTree"]["rootRunId"]
    page.goto(url_of(site, f"/runs/{root}/"))
    scroll_to(page, "#lineage-graph")
    nodes = page.locator("#lineage-graph a.lin-node")
    expect(nodes.first).to_be_visible()
    assert nodes.count() == notable["delegationTree"]["size"]
    target = page.locator("#lineage-graph a.lin-node:not(.current)").first
    target_id = target.get_attribute("data-run-id")
    target.click()
    page.wait_for_url(re.compile(rf"/runs/{re.escape(target_id)}/$"))
    expect(page.locator(".run-head .runid.big")).to_have_text(target_id)
    assert page_errors == []


def test_run_tree_page_loads_with_the_current_run_highlighted(page, page_errors, site, notable):
    root = notable["delegationTree"]["rootRunId"]
    page.goto(url_of(site, f"/runs/{root}/tree/"))
    expect(page.locator("#run-tree .tree-node.current")).to_have_count(1)
    page.locator("[data-tree-toggle=close]").click()
    expect(page.locator("#run-tree details[open]")).to_have_count(0)
    page.locator("[data-tree-toggle=open]").click()
    expect(page.locator("#lineage-graph:not(.lineage-placeholder) a.lin-node").first).to_be_visible()
    page.wait_for_timeout(100)  # let htmx settle the swapped panel's classes
    screenshot(page, "docs-run-tree")
    assert page_errors == []


def test_lineage_page_loads_and_shows_branches_and_replays(page, page_errors, site, notable):
    branch = notable["branchRunId"]
    page.goto(url_of(site, f"/runs/{branch}/lineage/"))
    expect(page.locator("a.lin-node.current")).to_have_count(1)
    expect(page.locator("g.lin-edge-branch").first).to_be_attached()
    screenshot(page, "docs-lineage")
    assert page_errors == []


def test_every_run_page_loads_without_console_errors(page, page_errors, site, notable):
    run_id = notable["pausedRunId"]
    for path in ("/", "/runs/?status=paused&sort=duration", f"/runs/{run_id}/", f"/runs/{run_id}/checkpoints/",
                 f"/runs/{run_id}/tree/", f"/runs/{run_id}/lineage/", f"/runs/{quote(notable['replayRunId'])}/"):
        page.goto(url_of(site, path))
        expect(page.locator("main")).to_be_visible()
    assert page_errors == []


def test_without_javascript_the_filters_tabs_and_graph_still_work(no_js_page, site, notable):
    page = no_js_page
    page.goto(url_of(site, "/runs/"))
    page.locator("fieldset.statuses input[value=paused]").check()
    page.locator("button[type=submit]", has_text="Apply").click()
    page.wait_for_url(re.compile(r"status=paused"))
    statuses = set(page.locator("#list-table tbody:not(.store-errors) td:nth-child(2) .status").all_inner_texts())
    assert statuses == {"paused"}
    run_id = notable["pausedRunId"]
    page.goto(url_of(site, f"/runs/{run_id}/"))
    page.locator("#detail-tab nav.tabs a", has_text="Events").click()
    page.wait_for_url(re.compile(r"/events/$"))
    expect(page.locator("#detail-tab table")).to_be_visible()
    page.locator("#lineage-graph a", has_text="Open the lineage graph").click()
    page.wait_for_url(re.compile(r"/lineage/$"))
    expect(page.locator("a.lin-node.current")).to_have_count(1)


def _ticked(page) -> dict[str, object]:
    return page.evaluate("""() => {
        const form = document.querySelector('#run-filters');
        return {statuses: Array.from(form.querySelectorAll('input[name=status]:checked')).map(e => e.value),
                roots: form.querySelector('input[name=roots]').checked,
                attention: form.querySelector('input[name=attention]').checked,
                sort: form.querySelector('select[name=sort]').value};
    }""")


def _travel(page, step) -> None:
    """Back or Forward, and wait for the page it lands on to be loaded again (htmx keeps no snapshots)."""
    page.evaluate("window.__left = true")
    step()
    for _ in range(200):  # wait_for_function would evaluate a string, which the pages' CSP refuses
        page.wait_for_load_state()
        try:
            if page.evaluate("window.__left") is None:
                return
        except PlaywrightError:  # the old document went away between the two calls
            pass
        page.wait_for_timeout(25)
    raise AssertionError("the page was not loaded again")


def _shown_statuses(page) -> set[str]:
    return set(page.locator("#list-table tbody:not(.store-errors) td:nth-child(2) .status").all_inner_texts())


def test_back_and_forward_keep_the_filter_form_as_the_url_says(page, page_errors, site):
    page.goto(url_of(site, "/runs/"))
    page.locator("fieldset.statuses input[value=failed]").check()
    page.wait_for_url(re.compile(r"status=failed"))
    page.locator("#run-filters input[name=roots]").check()
    page.wait_for_url(re.compile(r"status=failed.*roots=on|roots=on.*status=failed"))
    page.locator("select[name=sort]").select_option("cost")
    page.wait_for_url(re.compile(r"sort=cost"))

    _travel(page, page.go_back)  # to ?status=failed&roots=on
    assert "roots=on" in page.url and "sort=cost" not in page.url
    expect(page.locator("#run-filters input[name=roots]")).to_be_checked()
    assert _ticked(page) == {"statuses": ["failed"], "roots": True, "attention": False, "sort": "created"}
    _travel(page, page.go_back)  # to ?status=failed
    assert "status=failed" in page.url and "roots" not in page.url
    expect(page.locator("#run-filters input[name=roots]")).not_to_be_checked()
    assert _ticked(page) == {"statuses": ["failed"], "roots": False, "attention": False, "sort": "created"}
    assert _shown_statuses(page) == {"failed"}

    # The next change builds on what the URL holds: status stays, attention is added.
    page.locator("#run-filters input[name=attention]").check()
    page.wait_for_url(re.compile(r"attention=on"))
    assert "status=failed" in page.url and "roots" not in page.url
    assert _shown_statuses(page) == {"failed"}

    _travel(page, page.go_back)
    assert _ticked(page)["attention"] is False
    _travel(page, page.go_forward)
    assert "attention=on" in page.url
    assert _ticked(page) == {"statuses": ["failed"], "roots": False, "attention": True, "sort": "created"}
    assert page_errors == []


def test_the_start_of_an_id_typed_lists_and_with_enter_opens_the_run(page, page_errors, site, notable):
    run_id = notable["failedRunId"]
    page.goto(url_of(site, "/runs/"))
    page.locator("#id_q").press_sequentially(run_id[:8])
    page.wait_for_url(re.compile(r"q=" + re.escape(run_id[:8])))  # typing filters the list in place
    expect(page.locator("#list-table tbody:not(.store-errors) tr")).to_have_count(1)
    page.locator("#id_q").press("Enter")
    page.wait_for_url(re.compile(re.escape(f"/runs/{run_id}/")))
    expect(page.locator("h1")).to_be_visible()
    assert page_errors == []
