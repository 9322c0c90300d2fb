from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from runtime_adapter.inspectors import export_bundle
from runtime_adapter.js import jsjson
from runtime_adapter.queries.comparison import comparison_candidates
from runtime_adapter.stores.file import FileRunStore
from tests.browser.conftest import screenshot
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A realistic synthetic store, plus the runs the tests open."""
    directory = tmp_path_factory.mktemp("incident-pages") / "runs"
    summary = write_store(directory, 300, seed=7, now=NOW, big_run_steps=240)
    store = FileRunStore(directory)
    incident, candidate = None, None
    for row in sorted(store.rows(), key=lambda row: row.created_at or "", reverse=True):
        if row.status != "failed" or row.incident_type != "tool_failure":
            continue
        found = [c for c in comparison_candidates(store, store.get_run(row.id)) if c.row.status == "completed"]
        if found:
            incident, candidate = row.id, found[0].id
            break
    assert incident, "the synthetic store has no failed tool run with a completed relative"
    pair = summary["notable"]["bigRunPair"]
    return {"url": directory.as_uri(), "incident": incident, "candidate": candidate,
            "left": pair["leftRunId"], "right": pair["rightRunId"], "runs": store.list_runs()}


@pytest.fixture
def site(anonymous, settings, demo, live_server, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = demo["url"]
    settings.DATA_DIR = tmp_path / "data"
    return live_server.url


def test_incident_pages_load_without_console_errors(page, page_errors, site, demo):
    for path in ("/incidents/", f"/incidents/{demo['incident']}/", "/compare/",
                 f"/compare/?left={demo['left']}&right={demo['right']}", "/bundles/open/"):
        response = page.goto(site + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
    assert page_errors == []


def test_queue_filter_swaps_the_table_and_updates_the_url(page, page_errors, site):
    page.goto(site + "/incidents/")
    page.evaluate("window.__samePage = true")
    page.select_option("select[name=type]", "tool_failure")
    page.wait_for_url(re.compile(r"type=tool_failure"))
    page.wait_for_function("document.querySelectorAll('#queue-table .inc-type').length > 0")
    types = set(page.locator("#queue-table .inc-type").all_inner_texts())
    assert types == {"tool failure"}
    assert page.evaluate("window.__samePage") is True
    screenshot(page, "docs-incidents-filtered")
    assert page_errors == []


def test_queue_screenshot(page, page_errors, site):
    page.goto(site + "/incidents/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#queue-table tbody tr").count() > 10
    screenshot(page, "docs-incidents")
    assert page_errors == []


def test_comparison_picker_loads_the_diff_in_place_and_updates_the_url(page, page_errors, site, demo):
    page.goto(f"{site}/incidents/{demo['incident']}/")
    page.evaluate("window.__samePage = true")
    assert page.locator("#incident-comparison .inc-diff").count() == 0
    page.locator(f"#incident-comparison a[href$='compare={demo['candidate']}']").click()
    page.wait_for_selector("#incident-comparison .inc-diff")
    assert parse_qs(urlsplit(page.url).query)["compare"] == [demo["candidate"]]
    assert page.evaluate("window.__samePage") is True, "the diff must load in place, not by navigating"
    assert page.locator("#incident-comparison li.selected").count() == 1
    assert "compare_to_known_good" in page.locator("#incident-analysis").inner_text()
    page.go_back()
    page.wait_for_function("!location.search.includes('compare=')")
    assert page_errors == []


def test_incident_screenshot(page, page_errors, site, demo):
    page.goto(f"{site}/incidents/{demo['incident']}/?compare={demo['candidate']}")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Incident")
    screenshot(page, "docs-incident")
    page.locator("#incident-comparison").scroll_into_view_if_needed()
    screenshot(page, "docs-incident-comparison")
    assert page_errors == []


def test_copy_as_markdown_puts_the_note_on_the_clipboard(page, page_errors, site, demo):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.goto(f"{site}/incidents/{demo['incident']}/")
    page.locator(".inc-copy-md").click()
    page.wait_for_function("document.querySelector('.inc-copy-md').textContent === 'copied'")
    note = page.evaluate("navigator.clipboard.readText()")
    assert note.startswith(f"# Incident `{demo['incident']}`")
    assert f"{site}/incidents/{demo['incident']}/" in note
    assert page_errors == []


def test_compare_page_highlights_the_first_divergence(page, page_errors, site, demo):
    page.goto(f"{site}/compare/?left={demo['left']}&right={demo['right']}")
    first = page.locator("#first-divergence")
    assert first.count() == 1
    assert "first-divergence" in first.get_attribute("class")
    assert first.locator(".align-marker").inner_text().strip().lower() == "first divergence"
    outline = first.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline == "solid"
    page.locator("a[href='#first-divergence']").click()
    assert first.is_visible()
    screenshot(page, "docs-compare-divergence")
    assert page_errors == []


def test_compare_screenshot(page, page_errors, site, demo):
    page.goto(f"{site}/compare/?left={demo['left']}&right={demo['right']}")
    page.wait_for_load_state("networkidle")
    screenshot(page, "docs-compare")
    assert page_errors == []


def test_swap_sides_exchanges_left_and_right(page, page_errors, site, demo):
    page.goto(f"{site}/compare/?left={demo['left']}&right={demo['right']}")
    page.locator("#swap-sides").click()
    page.wait_for_url(re.compile(r"left=" + re.escape(demo["right"])))
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"left": [demo["right"]], "right": [demo["left"]]}
    assert demo["right"] in page.locator(".inc-side-card").first.inner_text()
    assert page_errors == []


def test_open_bundle_uploads_and_browses_the_bundle(page, page_errors, site, demo, tmp_path):
    bundle = tmp_path / "incident-bundle.json"
    bundle.write_text(jsjson.dumps(export_bundle(demo["runs"][:40])), encoding="utf-8")
    page.goto(site + "/bundles/open/")
    screenshot(page, "docs-open-bundle")
    page.set_input_files("input[type=file]", str(bundle))
    page.locator("button[type=submit]", has_text="Open bundle").click()
    page.wait_for_url(re.compile(r"/s/upload-[A-Za-z0-9_-]+/runs/"))
    assert "incident-bundle.json" in page.locator(".inc-bundle-banner").inner_text()
    page.locator(".mainnav a", has_text="Incidents").click()
    page.wait_for_url(re.compile(r"/s/upload-[A-Za-z0-9_-]+/incidents/"))
    assert page.locator(".inc-bundle-banner").count() == 1
    assert page_errors == []


def test_open_bundle_shows_validation_errors(page, page_errors, site, tmp_path):
    broken = tmp_path / "not-a-bundle.json"
    broken.write_text('{"format": "something-else"}', encoding="utf-8")
    page.goto(site + "/bundles/open/")
    page.set_input_files("input[type=file]", str(broken))
    page.locator("button[type=submit]", has_text="Open bundle").click()
    page.wait_for_selector(".inc-errors")
    assert "Unsupported trace format." in page.locator(".inc-errors").inner_text()
    screenshot(page, "docs-open-bundle-error")
    # The 400 answer itself is logged by Chromium as a failed resource; nothing else may be.
    assert [error for error in page_errors if "status of 400" not in error] == []


def test_pages_work_with_javascript_disabled(no_js_page, site, demo):
    page = no_js_page
    page.goto(site + "/incidents/")
    page.select_option("select[name=type]", "tool_failure")
    page.locator(".inc-filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"type=tool_failure"))
    assert set(page.locator("#queue-table .inc-type").all_inner_texts()) == {"tool failure"}

    page.goto(f"{site}/incidents/{demo['incident']}/")
    page.locator(f"#incident-comparison a[href$='compare={demo['candidate']}']").click()
    page.wait_for_url(re.compile(r"compare="))
    assert page.locator("#incident-comparison .inc-diff").count() == 1

    page.goto(f"{site}/compare/")
    page.fill("input[name=left]", demo["left"])
    page.fill("input[name=right]", demo["right"])
    page.locator(".inc-compare-pick button[type=submit]").click()
    page.wait_for_selector("#first-divergence")
    page.locator("#swap-sides").click()
    page.wait_for_url(re.compile(r"left=" + re.escape(demo["right"])))
    assert page.locator("#compare-steps").count() == 1
