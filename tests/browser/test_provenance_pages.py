"""Provenance in Chromium (issue 13 §5): the handoff panel, the incident page's recovery history and runner notes,
the runs a tree leaves out, and each lineage kind drawn its own way; axe-core audits and screenshots at
1280×800 and 390×844, light and dark (docs-provenance-*.png in test-results/screenshots/)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.browser.conftest import axe_violations, close_context, screenshot, scroll_to, synthetic_store
from tests.fixtures import corpus

pytestmark = pytest.mark.browser

VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
SIDEWAYS = """() => {
  const found = [];
  const main = document.querySelector('main');
  if (main.scrollWidth > main.clientWidth + 1) found.push("the page's content scrolls sideways");
  if (document.documentElement.scrollWidth > window.innerWidth + 1) found.push("the window scrolls sideways");
  for (const element of document.querySelectorAll('#run-handoff *, #incident-recovery *, #tree-outside *, #incident-outside *')) {
    if (element.getBoundingClientRect().right > window.innerWidth + 1) found.push(element.outerHTML.slice(0, 100));
  }
  return found;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return synthetic_store(tmp_path_factory, "provenance", 120)


@pytest.fixture
def site(serve_store, demo):
    return serve_store(demo[0])


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


def queue_failure(demo) -> str:
    return demo[1]["queueWorkerFailureRunId"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_the_handoff_panel_shows_where_a_continuation_came_from(themed, page_errors, site, demo, viewport, scheme):
    page = themed(viewport, scheme)
    page.goto(f"{site}/runs/{quote(queue_failure(demo))}/")
    panel = page.locator("#run-handoff")
    assert panel.locator("h2").inner_text() == "Handoff"
    text = panel.inner_text()
    for expected in ("runtime-job-queue", "worker-b", "Execution identity", "service-a", "orders:read", "crmToken"):
        assert expected in text
    panel.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -80)")
    assert page.evaluate(SIDEWAYS) == []
    assert axe_violations(page, ("#run-handoff",)) == []
    screenshot(page, f"docs-provenance-handoff-{viewport}-{scheme}")
    assert page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_the_incident_page_shows_recovery_attempts_and_the_runners_notes(themed, page_errors, site, demo, viewport, scheme):
    page = themed(viewport, scheme)
    page.goto(f"{site}/incidents/{quote(queue_failure(demo))}/")
    history = page.locator("#incident-recovery")
    attempts = history.locator(".inc-attempt")
    assert attempts.count() == 1
    assert "branch_from_failure_checkpoint" in attempts.first.inner_text()
    assert "Control plane note" in page.locator(".inc-plan").inner_text()
    assert "not part of its run tree" in page.locator("#incident-outside").inner_text()
    history.scroll_into_view_if_needed()
    assert page.evaluate(SIDEWAYS) == []
    assert axe_violations(page) == []
    screenshot(page, f"docs-provenance-incident-{viewport}-{scheme}")
    # The attempt's link opens the recovery run, which says what it recovers.
    attempts.first.locator("a.runid").click()
    page.wait_for_load_state()
    assert "Recovery attempt" in page.locator("#run-handoff").inner_text()
    assert page_errors == []


@pytest.mark.parametrize("viewport", ["1280", "390"])
def test_a_tree_page_names_the_runs_its_tree_leaves_out(themed, page_errors, site, demo, viewport):
    page = themed(viewport, "light")
    page.goto(f"{site}/runs/{quote(queue_failure(demo))}/tree/")
    assert "heads a tree of its own" in page.locator(".tree-head-note").inner_text()
    outside = page.locator("#tree-outside")
    assert outside.locator("li").count() == 1 and "recovery run" in outside.inner_text()
    assert page.evaluate(SIDEWAYS) == []
    assert axe_violations(page) == []
    screenshot(page, f"docs-provenance-tree-{viewport}-light")
    assert page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_each_lineage_kind_is_drawn_its_own_way(themed, page_errors, serve_store, conformance_store_url, scheme):
    site = serve_store(conformance_store_url(corpus.BRANCHES))
    page = themed("1280", scheme)
    page.goto(f"{site}/runs/{corpus.root()}/lineage/")
    styles = page.evaluate("""() => Object.fromEntries(
        ['branch', 'replay', 'partial_replay', 'partial_export'].map((kind) => {
          const path = document.querySelector(`.lin-edge-${kind} path`);
          if (!path) return [kind, null];
          const style = getComputedStyle(path);
          return [kind, `${style.strokeDasharray} ${style.strokeWidth}`];
        }))""")
    assert None not in styles.values(), styles
    assert len(set(styles.values())) == 4, styles  # no two kinds look alike
    legend = page.locator(".lineage .legend").inner_text()
    for name in ("partial replay", "partial export", "recovery run"):
        assert name in legend
    assert axe_violations(page) == []
    scroll_to(page, "#lineage-graph")
    screenshot(page, f"docs-provenance-lineage-1280-{scheme}")
    assert page_errors == []
