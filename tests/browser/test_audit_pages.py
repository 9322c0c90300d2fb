"""The audit log in Chromium: the page at 1280×800 and 390×844 in both themes (screenshots docs-audit-*), an
axe-core audit, filtering and paging by htmx, the run page's panel loading when scrolled to, and both without
JavaScript."""

from __future__ import annotations

import json
import re
from collections import Counter
from urllib.parse import quote

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from runtime_adapter.durable import audit
from tests.browser.conftest import axe_violations, close_context, screenshot, scroll_to
from tests.conftest import PINNED_NOW
from write_side.demo_state.audit import write_demo_audit
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo-like run store and its demo audit log; the run with the most entries."""
    root = tmp_path_factory.mktemp("audit-ui")
    runs = root / "runs"
    write_store(runs, 300, seed=7, now=PINNED_NOW)
    log = root / "demo-audit.jsonl"
    write_demo_audit(log, runs, seed=7)
    ids = {json.loads(path.read_text())["id"] for path in runs.glob("*.json")}
    counts = Counter(json.loads(line)["runId"] for line in log.read_text().split("\n")[:-1]
                     if line.count('{"timestamp"') == 1)
    busiest = max((run_id for run_id in counts if run_id in ids), key=lambda run_id: (counts[run_id], run_id))
    # A run of the CRM agent (kept in another store) whose tool arguments carry an API key, unredacted in the file.
    secret = next(json.loads(line) for line in log.read_text().split("\n")[:-1]
                  if '"eventType":"tool_started"' in line and "sk-live-" in line and line.count('{"timestamp"') == 1)
    return {"runs": runs.as_uri(), "log": log, "run": busiest, "entries": counts[busiest], "secret_run": secret["runId"],
            "secret": secret["payload"]["arguments"]["apiKey"]}


@pytest.fixture
def site(live_server, anonymous, settings, demo, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = demo["runs"]
    settings.CONTROLPLANE_AUDIT_LOG = demo["log"]
    settings.DATA_DIR = tmp_path
    audit.LINE_MARKS.clear()
    cache.clear()
    return live_server.url


@pytest.fixture
def themed(browser, page_errors):
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


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_the_audit_page_reads_well_and_passes_an_accessibility_audit(themed, page_errors, site, viewport, scheme):
    page = themed(viewport, scheme)
    page.goto(f"{site}/audit/")
    expect(page.locator("#audit-entries .audit-unreadable").first).to_contain_text("truncated")
    expect(page.locator("#audit-entries tbody tr")).to_have_count(50)
    screenshot(page, f"docs-audit-{viewport}-{scheme}")
    if viewport == "390":
        page.locator("#audit-entries").scroll_into_view_if_needed()
        screenshot(page, f"docs-audit-entries-{viewport}-{scheme}")
    assert page_width(page) <= VIEWPORTS[viewport]["width"]
    assert axe_violations(page) == []
    assert page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_opened_entry_shows_its_payload_with_the_secret_redacted(themed, page_errors, site, demo, scheme):
    page = themed("1280", scheme)
    page.goto(f"{site}/audit/?runId={quote(demo['secret_run'], safe='')}")
    row = page.locator("#audit-entries tbody tr", has=page.locator(".audit-event", has_text="tool_started"))
    expect(row.locator(".tag", has_text="not in store")).to_be_visible()  # its run lives in another store
    row.locator("summary").click()
    expect(row.locator("pre")).to_contain_text('"apiKey": "[REDACTED]"')
    assert demo["secret"] not in page.content()
    screenshot(page, f"docs-audit-entry-1280-{scheme}")
    assert axe_violations(page) == []
    assert page_errors == []


def test_typing_a_run_id_filters_in_place_and_puts_it_in_the_url(page, page_errors, site, demo):
    page.goto(f"{site}/audit/")
    page.evaluate("window.__notReloaded = true")
    page.locator("#id_runId").press_sequentially(demo["run"])
    page.wait_for_url(re.compile(r"/audit/\?runId=" + re.escape(quote(demo["run"], safe=""))))
    rows = page.locator("#audit-entries tbody tr")
    expect(rows).to_have_count(demo["entries"])
    for link in rows.locator("a.runid").all():
        assert link.get_attribute("href") == f"/runs/{demo['run']}/"
    assert page.evaluate("window.__notReloaded") is True
    page.locator("#id_eventType").press_sequentially("policy_decision")
    expect(page.locator("#audit-entries .table-head")).to_contain_text("matching line")
    page.wait_for_url(re.compile(r"eventType=policy_decision"))
    assert page_errors == []


def test_older_pages_swap_in_place_and_newest_goes_back(page, page_errors, site):
    page.goto(f"{site}/audit/")
    first = page.locator("#audit-entries tbody tr td.num").first.inner_text()
    page.locator("#audit-entries a[rel=next]").click()
    page.wait_for_url(re.compile(r"cursor="))
    expect(page.locator("#audit-entries tbody tr td.num").first).not_to_have_text(first)
    expect(page.locator("#audit-entries .table-head")).to_contain_text("continued")
    page.locator("#audit-entries nav.pager a", has_text="Newest").click()
    expect(page.locator("#audit-entries tbody tr td.num").first).to_have_text(first)
    assert page_errors == []


@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_a_runs_page_loads_its_audit_entries_when_scrolled_to(themed, page_errors, site, demo, viewport):
    page = themed(viewport, "light")
    page.goto(f"{site}/runs/{demo['run']}/")
    panel = page.locator("#run-audit")
    scroll_to(page, "#run-audit")
    expect(panel.locator("tbody tr")).to_have_count(demo["entries"])
    expect(panel.locator("h2")).to_have_text("Audit log")
    scroll_to(page, "#run-audit")
    screenshot(page, f"docs-audit-run-panel-{viewport}-light")
    assert page_width(page) <= VIEWPORTS[viewport]["width"]
    assert axe_violations(page, ("#run-audit",)) == []
    assert page_errors == []


def test_without_javascript_the_run_page_links_to_its_audit_entries(no_js_page, site, demo):
    no_js_page.goto(f"{site}/runs/{demo['run']}/")
    no_js_page.locator("#run-audit a", has_text="Open this run's audit log entries").click()
    no_js_page.wait_for_url(re.compile(r"/audit/\?runId="))
    expect(no_js_page.locator("#audit-entries tbody tr")).to_have_count(demo["entries"])


def test_without_javascript_filters_and_paging_work(no_js_page, site):
    no_js_page.goto(f"{site}/audit/")
    no_js_page.locator("select[name=status]").select_option("failed")
    no_js_page.locator("#audit-filters button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"status=failed"))
    statuses = no_js_page.locator("#audit-entries tbody tr:not(.audit-unreadable) .status").all_inner_texts()
    assert statuses and set(statuses) == {"failed"}
    no_js_page.goto(f"{site}/audit/")
    no_js_page.locator("#audit-entries a[rel=next]").click()
    no_js_page.wait_for_url(re.compile(r"cursor="))
    expect(no_js_page.locator("#audit-entries tbody tr").first).to_be_visible()
