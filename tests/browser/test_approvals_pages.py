"""The approvals pages in Chromium: the inbox and the resolved approvals at 1280 and 390 px, light and dark,
the copy buttons, the filters swapping the results in place (and working without JavaScript), no console
errors, no serious axe-core violation and nothing wider than the window.

Screenshots named docs-approvals* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot, synthetic_store
from tests.unit.test_approvals import SECRET, at, waiting_run
from tests.web.runs_support import write_store

pytestmark = pytest.mark.browser

LAYOUTS = [("", 1280, 800, "light"), ("-dark", 1280, 800, "dark"), ("-mobile", 390, 844, "light"),
           ("-mobile-dark", 390, 844, "dark")]


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    """A synthetic store like `make run`'s demo: a dozen runs waiting for approval among 600."""
    url, _ = synthetic_store(tmp_path_factory, "approvals-ui", 600)
    return url


@pytest.fixture
def demo(serve_store, demo_store):
    return serve_store(demo_store)


@pytest.fixture
def hostile(serve_store, tmp_path_factory):
    """Two waiting runs: one with a secret and a right-to-left override in its arguments and reason."""
    records = [
        waiting_run("wait-secret", tool="send_email", reason=f"password={SECRET}", requested=at(300),
                    arguments={"to": "ops@example.com", "body": f"use {SECRET}", "note": "\u202eevil"}),
        waiting_run("wait-deploy", tool="deploy", side_effect="destructive", arguments={"env": "prod"},
                    requested=at(30)),
    ]
    return serve_store(write_store(tmp_path_factory.mktemp("approvals-hostile") / "runs", records))


def assert_fits(page) -> None:
    """No serious axe violation, labelled controls, and nothing of the page's content wider than the window."""
    assert axe_violations(page) == []
    problems = page.evaluate("""() => {
        const found = [];
        for (const control of document.querySelectorAll("main input:not([type=hidden]), main select")) {
            if (!control.labels || control.labels.length === 0) found.push("unlabelled " + control.name);
        }
        const main = document.querySelector("main");
        if (main.scrollWidth > main.clientWidth + 1) found.push("the page's content scrolls sideways");
        if (document.documentElement.scrollWidth > window.innerWidth + 1) found.push("the window scrolls sideways");
        return found;
    }""")
    assert problems == []


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_approvals_pages_render_in_each_layout(page, page_errors, demo, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{demo}/approvals/")
    expect(page.locator("article.appr-card").first).to_be_visible()
    assert_fits(page)
    screenshot(page, f"docs-approvals{suffix}")
    page.locator("article.appr-card .appr-resolve").first.scroll_into_view_if_needed()
    screenshot(page, f"approvals-resolve{suffix}")
    page.goto(f"{demo}/approvals/history/")
    expect(page.locator("table.appr-history tbody tr").first).to_be_visible()
    assert_fits(page)
    screenshot(page, f"docs-approvals-history{suffix}")
    assert page_errors == []


def test_the_copy_button_puts_the_resume_call_on_the_clipboard(page, page_errors, demo):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo)
    page.goto(f"{demo}/approvals/")
    card = page.locator("article.appr-card").first
    run_id = card.locator("a.runid").first.get_attribute("title")
    card.get_by_role("button", name="Copy the call that approves it").click()
    expect(card.get_by_role("button", name="Copy the call that approves it")).to_have_text("copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f'await agent.resumeRun("{run_id}", {{ approved: true, reason: "Approved after review" }});'
    assert page_errors == []


def test_filters_swap_the_results_in_place_and_keep_them_in_the_url(page, page_errors, demo):
    page.goto(f"{demo}/approvals/")
    total = page.locator("article.appr-card").count()
    tool = page.locator("article.appr-card h2 code").first.inner_text()
    page.get_by_label("Tool").fill(tool)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"tool="))
    expect(page.locator("#list-results")).to_contain_text("match")
    tools = page.locator("article.appr-card h2 code").all_inner_texts()
    assert tools and set(tools) == {tool} and len(tools) < total
    page.get_by_label("Waiting").select_option("7d")
    page.wait_for_url(re.compile(r"age=7d"))
    page.go_back()
    page.wait_for_url(re.compile(r"tool=(?!.*age)"))
    assert page_errors == []


def test_the_inbox_works_without_javascript(no_js_page, demo):
    no_js_page.goto(f"{demo}/approvals/")
    no_js_page.get_by_label("Side-effect level").fill("none")
    no_js_page.get_by_role("button", name="Apply").click()
    levels = no_js_page.locator("article.appr-card .appr-level").all_inner_texts()
    assert levels and all(level == "side effect: none" for level in levels)
    no_js_page.get_by_role("link", name="Resolved").click()
    expect(no_js_page.locator("table.appr-history")).to_be_visible()


def test_secrets_are_redacted_and_bidi_text_is_isolated_in_the_browser(page, page_errors, hostile):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{hostile}/approvals/")
    expect(page.locator("article.appr-card")).to_have_count(2)
    content = page.content()
    assert SECRET not in content
    assert "[REDACTED]" in page.locator("article.appr-card").first.inner_text()
    # The override inside the arguments cannot reorder the card's header.
    head = page.locator("article.appr-card .appr-card-head").first.inner_text()
    assert head.startswith("send_email")
    assert_fits(page)
    screenshot(page, "approvals-hostile-mobile")
    assert page_errors == []
