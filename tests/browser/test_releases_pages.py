"""The release pages in Chromium: no console errors, the compare picker, HTMX swaps, copy as Markdown,
no-JS fallbacks, what a screen reader is told, and layouts at 1280 and 390 px, light and dark.

Screenshots named docs-* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import PINNED_NOW
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

LAYOUTS = [("", 1280, 800, "light"), ("-dark", 1280, 800, "dark"), ("-mobile", 390, 844, "light"),
           ("-mobile-dark", 390, 844, "dark")]


@pytest.fixture(scope="session")
def release_store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("releases-ui") / "demo"
    write_store(directory, 600, seed=7, now=PINNED_NOW)
    return directory.as_uri()


@pytest.fixture
def site(live_server, anonymous, settings, release_store, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = release_store
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


def releases_shown(page) -> list[str]:
    return page.locator("#releases-table th.rel-name a").all_inner_texts()


def compare_path(page) -> str:
    """The comparison the releases page offers first: the newest release against the one before it."""
    names = releases_shown(page)
    return "/releases/compare/?" + urlencode({"base": names[1], "head": names[0]})


def serious_axe_violations(page) -> list[str]:
    return axe_violations(page)


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation; named charts, labelled controls, tables with headers,
    unique ids, and nothing of the page's content wider than the window (the shared top bar aside)."""
    assert serious_axe_violations(page) == []
    problems = page.evaluate("""() => {
        const found = [];
        for (const svg of document.querySelectorAll("svg[role=img]")) {
            const title = svg.querySelector("title");
            if (!svg.getAttribute("aria-label") || !title || !title.textContent.trim()) found.push("unnamed chart");
        }
        for (const control of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
            if (!control.labels || control.labels.length === 0) found.push("unlabelled " + control.name);
        }
        for (const table of document.querySelectorAll("table")) {
            if (!table.querySelector("th")) found.push("table without headers");
        }
        for (const link of document.querySelectorAll("a[href]")) {
            if (!link.textContent.trim() && !link.getAttribute("aria-label")) found.push("empty link " + link.href);
        }
        const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
        if (new Set(ids).size !== ids.length) found.push("duplicate ids");
        const main = document.querySelector("main");
        if (main.scrollWidth > main.clientWidth + 1) found.push("the page's content scrolls sideways");
        return found;
    }""")
    assert problems == []


def test_releases_page_lists_releases_and_links_their_runs(page, page_errors, site):
    page.goto(f"{site}/releases/")
    expect(page.locator("#releases-table tbody tr").first).to_be_visible()
    names = releases_shown(page)
    assert len(names) >= 3
    link = page.locator("#releases-table th.rel-name a").first
    assert parse_qs(urlsplit(link.get_attribute("href")).query) == {"release": [names[0]]}
    assert_accessible(page)
    assert page_errors == []


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_releases_pages_render_in_each_layout(page, page_errors, site, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site}/releases/")
    expect(page.locator("#releases-table tbody tr").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"docs-releases{suffix}")
    page.goto(site + compare_path(page))
    expect(page.locator("svg.rel-cdf")).to_have_count(3)
    assert_accessible(page)
    screenshot(page, f"docs-release-compare{suffix}")
    for section in ("measures", "clusters", "pairs", "tools"):
        page.evaluate(f"document.getElementById('rel-{section}').scrollIntoView()")
        screenshot(page, f"release-compare-{section}{suffix}")
    assert page_errors == []


def test_compare_picker_opens_the_comparison_of_the_newest_release(page, page_errors, site):
    page.goto(f"{site}/releases/")
    names = releases_shown(page)
    page.locator("form.rel-pick button[type=submit]").click()
    page.wait_for_url(re.compile(r"/releases/compare/\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"base": [names[1]], "head": [names[0]]}
    expect(page.locator("#compare-title h1")).to_contain_text(names[0])
    expect(page.locator(".rel-verdict")).to_contain_text("The failure rate")
    assert page_errors == []


def test_changing_a_release_swaps_the_report_and_the_title_without_a_reload(page, page_errors, site):
    page.goto(f"{site}/releases/")
    names = releases_shown(page)
    page.goto(f"{site}/releases/compare/?" + urlencode({"base": names[1], "head": names[0]}))
    page.evaluate("window.__notReloaded = true")
    page.locator("select[name=base]").select_option(names[2])
    page.wait_for_url(re.compile(r"base=" + re.escape(urlencode({"": names[2]})[1:])))
    expect(page.locator("#compare-title .rel-base-label")).to_have_text(names[2])
    expect(page.locator("#compare-report .rel-outcomes thead")).to_contain_text(names[2])
    assert page.evaluate("window.__notReloaded") is True
    page.locator("details.rel-scope > summary").click()
    page.locator("fieldset.statuses input[value=failed]").check()
    page.wait_for_url(re.compile(r"status=failed"))
    expect(page.locator("#compare-report .rel-outcomes tbody tr").nth(1)).to_contain_text("100%")
    expect(page.locator("details.rel-scope")).to_have_attribute("open", "")
    assert page.evaluate("window.__notReloaded") is True
    page.go_back()
    page.wait_for_url(re.compile(r"^(?!.*status=failed)"))
    assert page_errors == []


def test_copy_as_markdown_puts_the_summary_with_this_sites_links_on_the_clipboard(page, page_errors, site):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.goto(f"{site}/releases/")
    page.goto(site + compare_path(page))
    page.locator("button.rel-copy-md").click()
    expect(page.locator("button.rel-copy-md")).to_have_text("copied")
    text = page.evaluate("navigator.clipboard.readText()")
    assert text.startswith("# Release `")
    assert f"- Comparison: {site}/releases/compare/?base=" in text
    assert "origin-" not in text
    assert page_errors == []


def test_pages_work_without_javascript(no_js_page, site):
    no_js_page.goto(f"{site}/releases/")
    names = no_js_page.locator("#releases-table th.rel-name a").all_inner_texts()
    no_js_page.locator("form.rel-pick select[name=base]").select_option(names[2])
    no_js_page.locator("form.rel-pick button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"/releases/compare/\?"))
    assert parse_qs(urlsplit(no_js_page.url).query)["base"] == [names[2]]
    no_js_page.locator("details.rel-scope > summary").click()
    no_js_page.locator("fieldset.statuses input[value=failed]").check()
    no_js_page.locator("#compare-filters button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"status=failed"))
    expect(no_js_page.locator("svg.rel-cdf").first).to_be_visible()
