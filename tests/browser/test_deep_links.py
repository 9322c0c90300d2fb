"""Deep links in Chromium (issue 12, item 9): a link to a step or event past the first page of its tab
lands on that row and highlights it, with and without JavaScript; the copy-link button copies the row's
absolute URL; the incident page's failed steps open their rows; a step's JSON opens full width.
Screenshots deep-link-* at 1280×800 and 390×844 (test-results/screenshots/)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, close_context, screenshot
from tests.conftest import PINNED_NOW
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

BIG_STEPS = 400  # the big pair's runs: 400 steps (pages of 100), ~800 events (pages of 200)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("deep-links") / "runs"
    summary = write_store(directory, 60, seed=12, now=PINNED_NOW, big_run_steps=BIG_STEPS)
    pair = summary["notable"]["bigRunPair"]
    assert pair["steps"] == BIG_STEPS and pair["events"] > 400
    return {"url": directory.as_uri(), "left": pair["leftRunId"], "right": pair["rightRunId"]}


@pytest.fixture
def site(live_server, anonymous, settings, demo, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = demo["url"]
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


def assert_landed(page, anchor: str) -> None:
    """The row is on screen, below the sticky top bar, and highlighted while its neighbours are not."""
    row = page.locator(f"tr#{anchor}")
    expect(row).to_be_in_viewport()
    top = row.evaluate("row => row.getBoundingClientRect().top")
    bar = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().bottom")
    assert top >= bar - 1, f"row {anchor} is under the top bar ({top} < {bar})"
    shades = row.evaluate("""row => {
        const rows = Array.from(row.parentElement.querySelectorAll('tr.anchored'));
        const neighbour = rows[rows.indexOf(row) + 1] || rows[rows.indexOf(row) - 1];
        const shade = r => getComputedStyle(r.querySelector('td')).backgroundColor;
        return [shade(row), shade(neighbour)];
    }""")
    assert shades[0] != shades[1] and shades[0] not in ("rgba(0, 0, 0, 0)", "transparent"), shades


def test_a_step_link_past_the_first_page_lands_on_the_highlighted_row(page, page_errors, site, demo):
    page.goto(f"{site}/runs/{demo['left']}/steps/?step=250#step-250")
    assert_landed(page, "step-250")
    expect(page.locator("tr#step-250 td").first).to_have_text("250")
    expect(page.locator("#detail-tab .slice-note")).to_contain_text("Showing 201–300 of 400")
    screenshot(page, "deep-link-step-1280")
    assert page_errors == []


def test_a_hand_typed_anchor_past_the_first_page_still_lands_on_its_row(page, page_errors, site, demo):
    page.goto(f"{site}/runs/{demo['left']}/#step-250")  # no ?step=: the page asks the server for the right page
    page.wait_for_url(re.compile(r"step=250#step-250$"))
    assert_landed(page, "step-250")
    page.goto(f"{site}/runs/{demo['left']}/events/#event-417")
    page.wait_for_url(re.compile(r"event=417#event-417$"))
    assert_landed(page, "event-417")
    assert page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_highlighted_row_and_its_link_controls_read_at_aa_contrast(page, page_errors, site, demo, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site}/runs/{demo['right']}/steps/?step=200#step-200")  # a failed step: its badge on the highlight
    assert_landed(page, "step-200")
    page.locator("tr#step-200 summary").click()
    assert axe_violations(page, ("tr#step-200", "tr#step-199", "tr#step-200-json"), rules=("color-contrast",)) == []
    assert page_errors == []


def test_an_event_link_past_the_first_page_lands_on_the_highlighted_row(page, page_errors, site, demo):
    page.goto(f"{site}/runs/{demo['left']}/?event=417#event-417")
    expect(page.locator('#detail-tab nav.tabs a[aria-current="page"]')).to_contain_text("Events")
    assert_landed(page, "event-417")
    assert page_errors == []


def test_without_javascript_a_deep_link_still_lands_on_its_row(no_js_page, site, demo):
    no_js_page.goto(f"{site}/runs/{demo['left']}/steps/?step=333#step-333")
    assert_landed(no_js_page, "step-333")


def test_a_deep_link_lands_on_a_phone_too(browser, site, demo):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{site}/runs/{demo['left']}/steps/?step=250#step-250")
        assert_landed(page, "step-250")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "deep-link-step-390")
    finally:
        close_context(context)


def test_copy_link_copies_the_rows_absolute_url_which_opens_that_row(page, page_errors, site, demo):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.goto(f"{site}/runs/{demo['left']}/events/")
    button = page.locator("tr#event-17 button.copy-link")
    expect(button).to_have_text("link")
    button.click()
    expect(button).to_have_text("copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{site}/runs/{demo['left']}/events/?event=17#event-17"
    page.goto(f"{site}/runs/{demo['left']}/steps/?step=250")
    page.locator("tr#step-250 button.copy-link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{site}/runs/{demo['left']}/steps/?step=250#step-250"
    page.goto(f"{site}/")
    page.goto(copied)
    assert_landed(page, "step-250")
    assert page_errors == []


def test_a_rows_number_links_to_the_row(page, page_errors, site, demo):
    page.goto(f"{site}/runs/{demo['left']}/")
    page.locator("#detail-more a").click()  # rows 101-200, loaded in place
    page.locator("tr#step-150 a.row-link").click()
    page.wait_for_url(re.compile(r"\?step=150#step-150$"))
    assert_landed(page, "step-150")
    assert page_errors == []


def test_the_incident_pages_failed_step_opens_its_row(page, page_errors, site, demo):
    page.goto(f"{site}/incidents/{demo['right']}/")
    failed = page.locator("section:has(h2:text-is('Failed steps')) tbody tr").first
    number = failed.locator("td").first.inner_text()
    assert int(number) > 100  # past the steps tab's first page
    failed.locator("a").click()
    page.wait_for_url(re.compile(rf"/runs/{demo['right']}/steps/\?step={number}#step-{number}$"))
    assert_landed(page, f"step-{number}")
    expect(page.locator(f"tr#step-{number} .status")).to_have_text("failed")
    screenshot(page, "deep-link-incident-step-1280")
    assert page_errors == []


def test_expanding_a_step_opens_its_json_in_a_full_width_row(page, page_errors, site, demo):
    page.goto(f"{site}/runs/{demo['left']}/")
    json_row = page.locator("tr#step-3-json")
    expect(json_row).to_be_hidden()
    page.locator("tr#step-3 summary").click()
    expect(json_row).to_be_visible()
    expect(json_row.locator("pre")).to_contain_text('"type"')
    table = page.locator("#detail-tab table.steps-table").evaluate("t => t.getBoundingClientRect().width")
    cell = json_row.locator("td").evaluate("td => td.getBoundingClientRect().width")
    assert cell >= table - 2, f"the JSON cell is {cell}px of a {table}px table"
    screenshot(page, "deep-link-step-json-1280")
    page.locator("tr#step-3 summary").click()
    expect(json_row).to_be_hidden()
    assert page_errors == []
