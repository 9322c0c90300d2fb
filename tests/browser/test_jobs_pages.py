"""The job pages in Chromium on the demo's job directory: signals, the filter form's HTMX swap and its no-JS
fallback, links to the runs a job produced, what axe-core finds, and layouts at 1280 and 390 px, light and dark.

Screenshots named docs-* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import PINNED_NOW
from write_side.demo_state.jobs import write_demo_jobs
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

LAYOUTS = [("", 1280, 800, "light"), ("-dark", 1280, 800, "dark"), ("-mobile", 390, 844, "light"),
           ("-mobile-dark", 390, 844, "dark")]


@pytest.fixture(scope="session")
def demo_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs-ui")
    write_store(root / "runs", 300, seed=7, now=PINNED_NOW)
    write_demo_jobs(root / "jobs", root / "runs", seed=7)
    return (root / "runs").as_uri(), (root / "jobs").as_uri()


@pytest.fixture
def site(live_server, anonymous, settings, demo_dirs, tmp_path):
    runs, jobs = demo_dirs
    settings.CONTROLPLANE_RUN_STORE = runs
    settings.CONTROLPLANE_JOB_STORE = jobs
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


def assert_fits(page) -> None:
    """No serious or critical axe-core violation, and nothing of the page's content wider than the window."""
    assert axe_violations(page) == []
    assert page.evaluate("() => { const m = document.querySelector('main'); return m.scrollWidth <= m.clientWidth + 1; }")


def test_jobs_page_shows_every_signal_and_the_unreadable_file(page, page_errors, site):
    page.goto(f"{site}/jobs/")
    table = page.locator("#jobs-table .job-table")
    expect(table.locator("tbody tr")).to_have_count(11)
    expect(table.locator("tr", has_text="hourly-incident-digest").locator(".job-signal")).to_have_text("overdue")
    expect(table.locator("tr", has_text="embeddings-reindex").locator(".job-signal")).to_have_text("stuck")
    expect(table.locator("tr", has_text="legacy-export").locator(".job-signal")).to_have_text("failed, not rescheduled")
    errors = page.locator("#jobs-table .job-error-table tbody tr")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("audit-rollup.json")
    expect(errors).to_contain_text("runs no job at all")
    assert_fits(page)
    assert page_errors == []


def test_choosing_a_signal_swaps_the_table_and_the_url_without_a_reload(page, page_errors, site):
    page.goto(f"{site}/jobs/")
    page.evaluate("window.__notReloaded = true")
    page.locator("select[name=signal]").select_option("failed_not_rescheduled")
    page.wait_for_url(re.compile(r"/jobs/\?signal=failed_not_rescheduled$"))
    rows = page.locator("#jobs-table .job-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("th a")).to_have_text(["legacy-export", "refund-reconciliation"])
    assert page.evaluate("window.__notReloaded") is True
    page.go_back()
    expect(page.locator("#jobs-table .job-table tbody tr")).to_have_count(11)
    assert page_errors == []


def test_the_filter_form_works_without_javascript(no_js_page, site):
    no_js_page.goto(f"{site}/jobs/")
    no_js_page.locator("select[name=status]").select_option("running")
    no_js_page.locator("#job-filters button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"status=running"))
    expect(no_js_page.locator("#jobs-table .job-table tbody th a")).to_have_text(["embeddings-reindex"])


def test_a_job_page_links_the_runs_its_results_name(page, page_errors, site):
    page.goto(f"{site}/jobs/refund-reconciliation/")
    expect(page.locator("h1")).to_contain_text("refund-reconciliation")
    expect(page.locator(".job-callout").first).to_contain_text("reschedules only after a success")
    expect(page.locator(".job-history tbody tr").first).to_contain_text("Refund provider returned 503")
    link = page.locator(".job-runs a").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("h1")).to_be_visible()
    assert page_errors == []


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_job_pages_render_in_each_layout(page, page_errors, site, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site}/jobs/")
    expect(page.locator("#jobs-table .job-table tbody tr").first).to_be_visible()
    assert_fits(page)
    screenshot(page, f"docs-jobs{suffix}")
    page.locator(".job-table").scroll_into_view_if_needed()
    screenshot(page, f"jobs-table{suffix}")
    page.goto(f"{site}/jobs/embeddings-reindex/")
    expect(page.locator(".job-callout").first).to_contain_text("Saved as running")
    assert_fits(page)
    screenshot(page, f"docs-job-detail{suffix}")
    page.evaluate("document.getElementById('job-history-title').scrollIntoView()")
    screenshot(page, f"job-detail-history{suffix}")
    page.goto(f"{site}/jobs/daily-health-check/")
    assert_fits(page)
    screenshot(page, f"job-detail-hand-written{suffix}")
    assert page_errors == []
