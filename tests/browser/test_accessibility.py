"""Every page, light and dark, at 1280 px: every text reaches WCAG AA contrast (axe-core's color-contrast rule) in
the whole document, top bar, status badges, buttons and the compare page's diff colours included."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from runtime_adapter.queries.failure_signature import failure_signature
from tests.browser.conftest import axe_violations, close_context, screenshot, synthetic_store
from write_side.synthetic.vocabulary import REGRESSED_RELEASE

pytestmark = pytest.mark.browser

REFUND_CLUSTER = failure_signature(
    incident_type="tool_failure", step_type="tool", tool_name="issue_refund", error_name="ToolExecutionError",
    message='Tool "issue_refund" failed: Refund provider returned 429 for order A-1 (request 0000…)').cluster_id


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return synthetic_store(tmp_path_factory, "a11y", 160, seed=5, big_run_steps=120)


@pytest.fixture
def site(serve_store, demo):
    return serve_store(demo[0])


def pages(notable: dict) -> list[str]:
    failed = quote(notable["failedRunId"])
    root = quote(notable["biggestTree"]["rootRunId"])
    return [
        "/", "/runs/", "/runs/?status=failed", f"/runs/{failed}/", f"/runs/{failed}/?tab=steps",
        f"/runs/{root}/tree/", f"/runs/{root}/lineage/", "/incidents/", f"/incidents/{failed}/",
        "/incidents/clusters/", f"/incidents/clusters/{REFUND_CLUSTER}/", "/releases/",
        "/releases/compare/?" + urlencode({"base": "2026.11.2", "head": REGRESSED_RELEASE}),
        f"/compare/?{urlencode({'left': notable['failedRunId'], 'right': notable['biggestTree']['rootRunId']})}",
        "/compare/", "/bundles/open/",
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_on_every_page_reaches_aa_contrast(page, page_errors, site, demo, scheme):
    page.emulate_media(color_scheme=scheme)
    found = {}
    for path in pages(demo[1]):
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page, ("body",), exclude=(), impacts=None, rules=("color-contrast",))
        if violations:
            found[path] = violations
        if path in ("/runs/", "/incidents/clusters/") or path.startswith("/compare/"):
            screenshot(page, f"contrast-{scheme}-{path.strip('/').split('/')[0].split('?')[0] or 'overview'}")
    assert found == {}, "\n".join(f"{path}: {v}" for path, items in found.items() for v in items)
    assert page_errors == []


def test_no_page_scrolls_sideways_on_a_phone(browser, site, demo):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        wide = {}
        for path in pages(demo[1]):
            page.goto(site + path)
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                culprits = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
                    .filter(e => e.getBoundingClientRect().right > 392 && getComputedStyle(e).position !== 'fixed')
                    .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > 392))
                    .slice(0, 4).map(e => e.tagName.toLowerCase() + '.' + e.className)""")
                wide[path] = (width, culprits)
            if path in ("/runs/", "/") or path.startswith("/incidents/dea") or path.startswith("/runs/") and "tab" in path:
                screenshot(page, f"phone-{path.strip('/').replace('/', '-').split('?')[0][:40] or 'overview'}")
        assert wide == {}, "\n".join(f"{path}: {width}px {culprits}" for path, (width, culprits) in wide.items())
    finally:
        close_context(context)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_or_critical_accessibility_violation_on_any_page(page, page_errors, site, demo, scheme):
    page.emulate_media(color_scheme=scheme)
    found = {}
    for path in pages(demo[1]):
        page.goto(site + path)
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page, ("body",), exclude=())
        if violations:
            found[path] = violations
    assert found == {}, "\n".join(f"{path}: {v}" for path, items in found.items() for v in items)
    assert page_errors == []
