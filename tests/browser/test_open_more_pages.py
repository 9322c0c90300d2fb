"""More things to open, in Chromium: a state bundle uploaded through the form (its checks as results), a partial
trace, and two runs of two named stores side by side; at 1280 and 390 px, light and dark, with axe-core.

Screenshots named docs-open-* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.factories import run_record
from tests.fixtures.traces import FIXTURES
from tests.web.runs_support import write_store

pytestmark = pytest.mark.browser

LAYOUTS = [("", 1280, 800, "light"), ("-dark", 1280, 800, "dark"), ("-mobile", 390, 844, "light"),
           ("-mobile-dark", 390, 844, "dark")]


def steps(*outputs: str) -> list[dict]:
    return [{"id": f"s{index}", "type": "tool", "toolName": "issue_refund", "status": "completed", "output": output,
             "createdAt": f"2026-01-01T00:00:0{index}.000Z", "durationMs": 200 + 100 * index}
            for index, output in enumerate(outputs)]


@pytest.fixture
def site(serve_store, settings, tmp_path_factory):
    # Apart from the data directory (serve_store's tmp_path): the control plane never writes near a run store.
    tmp_path = tmp_path_factory.mktemp("open-more-stores")
    url = serve_store(write_store(tmp_path / "live", [run_record("live-run")]))
    settings.CONTROLPLANE_STORES = {
        "staging": write_store(tmp_path / "staging", [run_record(
            "refund-42", input="Refund order 42 (api_key=sk-live-staging0123456789)", metadata={"release": "2026.11.3"},
            steps=steps("order 42 found", "refund issued", "customer notified"))]),
        "production": write_store(tmp_path / "production", [run_record(
            "refund-42", status="failed", input="Refund order 42", metadata={"release": "2026.11.2"},
            steps=steps("order 42 found", "payments API returned 503"),
            errors=[{"name": "ToolError", "message": "issue_refund failed: payments API returned 503"}])]),
    }
    cache.clear()
    return url


def assert_fits_and_accessible(page) -> None:
    """No serious or critical axe-core violation, every control labelled, nothing wider than the window."""
    assert axe_violations(page) == []
    problems = page.evaluate("""() => {
        const found = [];
        for (const control of document.querySelectorAll("main input:not([type=hidden]), main select")) {
            if (!control.labels || control.labels.length === 0) found.push("unlabelled " + control.name);
        }
        const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
        if (new Set(ids).size !== ids.length) found.push("duplicate ids");
        if (document.documentElement.scrollWidth > window.innerWidth + 1) found.push("the page scrolls sideways");
        return found;
    }""")
    assert problems == []


def upload(page, site: str, name: str, kind: str | None = None) -> None:
    page.goto(site + "/bundles/open/")
    page.set_input_files("input[type=file]", str(FIXTURES / name))
    if kind is not None:
        page.select_option("select[name=kind]", kind)
    page.locator("button[type=submit]", has_text="Open bundle").click()


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_a_state_bundle_whose_checks_fail_opens_on_its_checks(page, page_errors, site, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    upload(page, site, "refund.state-bundle.tampered.json")
    page.wait_for_url(re.compile(r"/s/upload-[A-Za-z0-9_-]+/bundles/state/$"))
    expect(page.locator(".inc-bundle-banner")).to_contain_text("integrity fails (3 errors)")
    integrity = page.locator(".open-check").first
    expect(integrity).to_contain_text("fails")
    expect(integrity.locator(".open-errors li")).to_have_count(3)
    expect(page.locator("tr.open-differs")).to_have_count(2)
    assert "sk-live-" not in page.content()
    assert_fits_and_accessible(page)
    screenshot(page, f"docs-open-state{suffix}")
    page.locator("#state-memory").scroll_into_view_if_needed()
    screenshot(page, f"open-state-memory{suffix}")
    page.locator("#state-run a.runid").click()
    page.wait_for_url(re.compile(r"/runs/refund-7f3a/$"))
    expect(page.locator("h1")).to_contain_text("refund-7f3a")
    assert page_errors == []


def test_a_partial_trace_opens_on_its_run_and_says_where_it_was_cut(page, page_errors, site):
    upload(page, site, "refund.partial-trace.json", kind="trace")
    page.wait_for_url(re.compile(r"/runs/refund-7f3a:partial:1795165207000/$"))
    banner = page.locator(".inc-bundle-banner")
    expect(banner).to_contain_text("Uploaded partial trace:")
    expect(banner).to_contain_text("refund-7f3a:checkpoint:1")
    assert_fits_and_accessible(page)
    screenshot(page, "docs-open-partial")
    assert page_errors == []


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_runs_of_two_stores_side_by_side(page, page_errors, site, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(site + "/compare/")
    expect(page.locator("#compare-help")).to_contain_text("staging")
    page.fill("input[name=left]", "staging:refund-42")
    page.fill("input[name=right]", "production:refund-42")
    page.locator("button[type=submit]", has_text="Compare").click()
    page.wait_for_url(re.compile(r"/compare/\?left=staging%3Arefund-42&right=production%3Arefund-42"))
    expect(page.locator(".cmp-store")).to_have_text(["staging", "production"])
    expect(page.locator("#compare-steps")).to_contain_text("payments API returned 503")
    assert "sk-live-" not in page.content()
    assert_fits_and_accessible(page)
    screenshot(page, f"docs-open-compare-stores{suffix}")
    page.locator("#swap-sides").click()
    page.wait_for_url(re.compile(r"left=production%3Arefund-42&right=staging%3Arefund-42"))
    expect(page.locator(".cmp-store")).to_have_text(["production", "staging"])
    assert page_errors == []


def test_an_unknown_store_is_named_on_the_form(page, page_errors, site):
    page.goto(site + "/compare/?left=stagin:refund-42&right=production:refund-42")
    errors = page.locator("#compare-errors")
    expect(errors).to_contain_text("No store is named “stagin” (the stores: default, staging, production)")
    expect(page.locator("input[name=left]")).to_have_attribute("aria-invalid", "true")
    assert_fits_and_accessible(page)
    screenshot(page, "docs-open-compare-unknown-store")
    assert [error for error in page_errors if "status of 400" not in error] == []


def test_the_upload_page_offers_each_kind(page, page_errors, site):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site + "/bundles/open/")
    expect(page.locator("select[name=kind] option")).to_have_text(
        ["Detect from the file", "Trace bundle", "Run or partial trace", "State bundle"])
    assert_fits_and_accessible(page)
    screenshot(page, "docs-open-upload-mobile")
    assert page_errors == []
