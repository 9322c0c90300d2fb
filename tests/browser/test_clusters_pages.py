"""The failure-cluster pages and the overview's failure panels in Chromium: HTMX swaps, no-JS
fallbacks, an axe-core audit and screenshots at 1280×800 and 390×844, light and dark.

Screenshots named docs-* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, close_context, screenshot
from tests.conftest import PINNED_NOW
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("clusters-ui") / "demo"
    write_store(directory, 240, seed=11, now=PINNED_NOW)
    return directory.as_uri()


@pytest.fixture
def site(live_server, anonymous, settings, demo, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = demo
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


@pytest.fixture
def themed(browser, page_errors):
    """A page in a given viewport and colour scheme, watched for console errors like `page`."""
    contexts = []

    def open_page(viewport: str, scheme: str):
        context = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: page_errors.append(f"console: {message.text}") if message.type == "error" else None)
        page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
        return page

    yield open_page
    for context in contexts:
        close_context(context)


def serious_axe_violations(page, within: str = "main") -> list[str]:
    return axe_violations(page, (within,))


def overflowing(page, selector: str) -> list[str]:
    """Elements of `selector` wider than the viewport, or cut off inside it (the top bar is issue 12's)."""
    return page.evaluate("""(selector) => Array.from(document.querySelectorAll(selector)).filter(
        (element) => element.getBoundingClientRect().right > window.innerWidth + 1
            || (element.scrollWidth > element.clientWidth + 1 && !element.closest(".table-scroll"))
    ).map((element) => element.outerHTML.slice(0, 120))""", selector)


def first_cluster_path(page, site: str) -> str:
    """The largest cluster of failed tool calls (the one the screenshots show), else the largest."""
    page.goto(f"{site}/incidents/clusters/")
    cards = page.locator(".cluster-card")
    tool_failures = cards.filter(has=page.locator(".inc-type", has_text="tool failure"))
    card = tool_failures.first if tool_failures.count() else cards.first
    return card.locator("h2 a").get_attribute("href")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_clusters_page_reads_well_and_passes_an_accessibility_audit(themed, page_errors, site, viewport, scheme):
    page = themed(viewport, scheme)
    page.goto(f"{site}/incidents/clusters/")
    expect(page.locator(".cluster-card").first).to_be_visible()
    expect(page.locator("svg.cluster-timeline").first).to_be_visible()
    screenshot(page, f"docs-clusters-{viewport}-{scheme}")
    assert overflowing(page, "#cluster-filters, #cluster-filters *, .cluster-card, .cluster-card *") == []
    assert serious_axe_violations(page) == []
    assert page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_cluster_page_reads_well_and_passes_an_accessibility_audit(themed, page_errors, site, viewport, scheme):
    page = themed(viewport, scheme)
    page.goto(site + first_cluster_path(page, site))
    expect(page.locator(".cluster-newest")).to_be_visible()
    expect(page.locator("#cluster-members tbody tr").first).to_be_visible()
    screenshot(page, f"docs-cluster-{viewport}-{scheme}")
    page.locator("#cluster-members").scroll_into_view_if_needed()
    screenshot(page, f"docs-cluster-members-{viewport}-{scheme}")
    assert overflowing(page, ".cluster-page, .cluster-page *") == []
    assert serious_axe_violations(page) == []
    assert page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_overview_failure_panels_read_well_and_pass_an_accessibility_audit(themed, page_errors, site, viewport, scheme):
    page = themed(viewport, scheme)
    page.goto(f"{site}/")
    failures = page.locator("#overview-failures")
    expect(failures.locator("svg.rate-chart").first).to_be_visible()
    expect(failures.locator(".top-cluster-list li").first).to_be_visible()
    failures.scroll_into_view_if_needed()
    screenshot(page, f"docs-overview-failures-{viewport}-{scheme}")
    assert overflowing(page, "#overview-failures, #overview-failures *") == []
    assert serious_axe_violations(page, "#overview-failures") == []
    assert page_errors == []


def test_changing_a_cluster_filter_swaps_the_list_and_updates_the_url(page, page_errors, site):
    page.goto(f"{site}/incidents/clusters/")
    page.evaluate("window.__notReloaded = true")
    page.locator("fieldset.statuses input[value=waiting_for_approval]").check()
    page.wait_for_url(re.compile(r"/incidents/clusters/\?status=waiting_for_approval$"))
    expect(page.locator("#clusters-table .table-head")).to_contain_text("matching these filters")
    expect(page.locator(".cluster-card .inc-type").first).to_have_text("approval blocked")
    page.locator("select[name=window]").select_option("week")
    page.wait_for_url(re.compile(r"window=week"))
    assert page.evaluate("window.__notReloaded") is True
    page.go_back()
    page.wait_for_url(re.compile(r"status=waiting_for_approval$"))
    assert page_errors == []


def test_a_cluster_link_opens_its_page_and_older_pages_its_members(page, page_errors, site):
    path = first_cluster_path(page, site)
    page.locator(f'.cluster-card h2 a[href="{path}"]').click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    page.goto(f"{site}{path}?limit=2")
    first = page.locator("#cluster-members tbody td.runid a").first.inner_text()
    page.evaluate("window.__notReloaded = true")
    page.locator("#cluster-members a[rel=next]").click()
    page.wait_for_url(re.compile(r"cursor="))
    expect(page.locator("#cluster-members tbody td.runid a").first).not_to_have_text(first)
    assert page.evaluate("window.__notReloaded") is True
    assert page_errors == []


def test_the_overview_links_its_top_cluster_to_the_cluster_page(page, page_errors, site):
    page.goto(f"{site}/")
    link = page.locator("#overview-failures .top-cluster-list a").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("h1")).to_contain_text("Failure cluster")
    assert page_errors == []


def test_cluster_pages_work_without_javascript(no_js_page, site):
    no_js_page.goto(f"{site}/incidents/clusters/")
    no_js_page.locator("fieldset.statuses input[value=failed]").check()
    no_js_page.locator("#cluster-filters button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"status=failed"))
    expect(no_js_page.locator(".cluster-card").first).to_be_visible()
    no_js_page.locator(".cluster-card h2 a").first.click()
    no_js_page.wait_for_url(re.compile(r"/incidents/clusters/[0-9a-f]{16}/"))
    expect(no_js_page.locator("#cluster-members")).to_be_visible()
