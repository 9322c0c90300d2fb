"""What a newcomer meets first, in Chromium: the skip link, the sign-in page, the store picker for many stores.

Screenshots: newcomer-login-*, newcomer-stores-* and newcomer-skip-link-1280 at 1280x800 and 390x844 (test-results/screenshots/).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import run_record
from tests.web.runs_support import write_store

pytestmark = pytest.mark.browser
STORES = 6
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(live_server, anonymous, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "default", [run_record("default-run")])
    settings.CONTROLPLANE_STORES = {f"store-{index}": write_store(tmp_path / f"store-{index}",
                                                                  [run_record(f"store-{index}-run")])
                                    for index in range(1, STORES)}
    cache.clear()
    return live_server.url


def test_the_first_tab_reaches_a_visible_skip_link_that_moves_focus_to_main(page, page_errors, site):
    page.goto(f"{site}/runs/")
    skip = page.locator("a.skip-link")
    box = skip.bounding_box()
    assert box is None or box["y"] + box["height"] <= 0  # out of sight until focused
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["width"] > 50 and box["height"] > 10
    centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y) === document.querySelector('a.skip-link')",
                         centre)
    screenshot(page, "newcomer-skip-link-1280")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the page's content, past the whole top bar
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")
    assert page_errors == []


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_the_login_page_says_where_the_demo_login_comes_from(page, page_errors, site, settings, viewport):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    (settings.DATA_DIR / "demo-password").write_text("not-shown-anywhere")
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(f"{site}/runs/")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator(".login-help")).to_contain_text("make run printed the login")
    expect(page.locator("nav.mainnav")).to_have_count(0)
    expect(page.locator(".store-picker")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    screenshot(page, f"newcomer-login-{page.viewport_size['width']}")
    assert page_errors == []


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_many_stores_are_picked_from_a_select(page, page_errors, site, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(f"{site}/s/store-2/runs/")
    picker = page.locator("form.store-picker-select")
    expect(picker.locator("select option")).to_have_count(STORES)
    expect(picker.locator("select")).to_have_value("store-2")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    screenshot(page, f"newcomer-stores-{page.viewport_size['width']}")
    picker.locator("select").select_option("store-4")
    picker.get_by_role("button", name="Go").click()
    page.wait_for_url(f"{site}/s/store-4/")
    expect(page.locator("form.store-picker-select select")).to_have_value("store-4")
    assert page_errors == []


def test_the_store_select_works_without_javascript(no_js_page, site):
    no_js_page.goto(f"{site}/runs/")
    no_js_page.locator("form.store-picker-select select").select_option("store-3")
    no_js_page.get_by_role("button", name="Go").click()
    no_js_page.wait_for_url(f"{site}/s/store-3/")
    assert "store-3" in no_js_page.locator("form.store-picker-select select").input_value()
