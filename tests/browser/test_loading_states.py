"""While a region loads it is marked busy and its control shows progress; a loaded tab takes the focus; "/"
finds a search box from any page."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import close_context, synthetic_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return synthetic_store(tmp_path_factory, "loading", 60, seed=3, big_run_steps=60)


@pytest.fixture
def site(serve_store, demo):
    return serve_store(demo[0])


def test_a_region_is_busy_while_its_swap_is_in_flight(page, page_errors, site):
    page.goto(f"{site}/runs/")
    held = []
    page.route("**/runs/?*", lambda route: held.append(route))  # the filter's request waits until released
    page.locator("fieldset.statuses input[value=failed]").check()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the filter change sent no request"
    expect(page.locator("#list-table")).to_have_attribute("aria-busy", "true")
    assert page.locator("#run-filters button[type=submit].is-loading").count() == 1
    held[0].continue_()
    expect(page.locator("#list-table .table-head")).to_contain_text("match these filters")
    expect(page.locator("#list-table")).not_to_have_attribute("aria-busy", "true")
    assert page.locator(".is-loading").count() == 0
    assert page_errors == []


def test_a_tab_that_has_loaded_takes_the_focus(page, page_errors, site, demo):
    run_id = demo[1]["failedRunId"]
    page.goto(f"{site}/runs/{quote(run_id)}/")
    page.locator("nav.tabs a", has_text="Events").focus()
    page.keyboard.press("Enter")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_contain_text("Events")
    expect(page.locator("#detail-tab .tab-body")).to_be_focused()
    page.keyboard.press("Tab")  # the keyboard carries on inside the tab, not from the top of the page
    assert page.evaluate("document.querySelector('#detail-tab').contains(document.activeElement)")
    assert page_errors == []


@pytest.mark.parametrize("path", ["/", "/incidents/", "/releases/"])
def test_slash_finds_a_search_box_from_any_page(page, page_errors, site, path):
    page.goto(site + path)
    if page.locator("main input[type=search]").count():
        page.keyboard.press("/")
        expect(page.locator("main input[type=search]").first).to_be_focused()
    else:  # no search box here: "/" opens the run list's, focused
        with page.expect_navigation():
            page.keyboard.press("/")
        assert page.url.endswith("/runs/#search")
        expect(page.locator("[data-search-shortcut]")).to_be_focused()
    page.keyboard.type("refund")
    expect(page.locator("input[type=search]:focus")).to_have_value("refund")
    assert page_errors == []


def test_exact_times_switch_between_utc_and_this_browsers_time_zone(browser, site, demo):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Asia/Tokyo", locale="en-GB")
    page = context.new_page()
    try:
        run_id = demo[1]["failedRunId"]
        page.goto(f"{site}/runs/{quote(run_id)}/events/")
        first = page.locator("#detail-tab time[datetime]").first
        assert first.get_attribute("title").endswith("UTC")
        toggle = page.locator("[data-zone-toggle]")
        expect(toggle).to_have_text("Times: UTC")
        toggle.click()
        expect(toggle).to_have_text("Times: local")
        assert "GMT+9" in first.get_attribute("title") or "JST" in first.get_attribute("title")
        assert "GMT+9" in page.locator("#detail-tab .abs.mono").first.inner_text()  # the event stamp, local
        page.reload()  # remembered
        expect(page.locator("[data-zone-toggle]")).to_have_text("Times: local")
        assert "UTC" not in page.locator("#detail-tab time[datetime]").first.get_attribute("title")
        page.locator("[data-zone-toggle]").click()
        assert page.locator("#detail-tab time[datetime]").first.get_attribute("title").endswith("UTC")
    finally:
        close_context(context)
