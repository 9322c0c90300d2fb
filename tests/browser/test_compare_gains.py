"""Compare two runs in Chromium: tick two runs on the list and compare them (with and without JavaScript),
"compare with the same input in release X" on a run page, each run's release and measures in the summary and
per-step deltas in the aligned view; axe finds nothing, at 1280×800 and 390×844, light and dark.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.factories import run_record
from tests.web.runs_support import write_store

pytestmark = pytest.mark.browser

LAYOUTS = [("", 1280, 800, "light"), ("-dark", 1280, 800, "dark"), ("-mobile", 390, 844, "light"),
           ("-mobile-dark", 390, 844, "dark")]
REFUND = "Refund order 1234: the customer was charged twice for the same blender"
HOSTILE_RELEASE = '<img src=x onerror="window.__owned=1">'


def _stamp(day: int, minute: int, ms: int) -> tuple[str, str]:
    start = f"2026-11-{day:02d}T09:{minute:02d}:00.000Z"
    seconds, millis = divmod(ms, 1000)
    return start, f"2026-11-{day:02d}T09:{minute + seconds // 60:02d}:{seconds % 60:02d}.{millis:03d}Z"


def _model(index: int, ms: int, tokens: int, cost: float, answer: str | None) -> dict:
    output = {"message": answer, "toolCalls": [] if answer else [{"name": "lookup_order", "arguments": {"orderId": "1234"}}],
              "usage": {"prompt": tokens - 120, "completion": 120, "total": tokens}, "cost": cost}
    return {"id": f"step-{index}", "type": "model", "status": "completed", "durationMs": ms, "output": output}


def _tool(index: int, name: str, ms: int, output: object = None, error: str | None = None) -> dict:
    step = {"id": f"step-{index}", "type": "tool", "status": "failed" if error else "completed", "durationMs": ms,
            "payload": {"toolName": name, "arguments": {"orderId": "1234"}}, "output": output}
    if error:
        step["error"] = {"name": "ProviderError", "message": error}
    return step


def _run(run_id: str, release: str | None, day: int, minute: int, steps: list[dict], *, status: str = "completed",
         input_: str = REFUND) -> dict:
    ms = sum(step["durationMs"] for step in steps) + 140
    tokens = sum(step["output"]["usage"]["total"] for step in steps if step["type"] == "model")
    cost = round(sum(step["output"]["cost"] for step in steps if step["type"] == "model"), 6)
    start, end = _stamp(day, minute, ms)
    stamps = {"createdAt": start, "startedAt": start, "updatedAt": end, "completedAt" if status == "completed" else "failedAt": end}
    metadata = {"release": {"version": release}} if release else {}
    errors = [step["error"] for step in steps if "error" in step]
    return run_record(run_id, status=status, input=input_, created=start, metadata=metadata, timestamps=stamps,
                      steps=[{**step, "id": f"{run_id}:{step['id']}"} for step in steps], errors=errors,
                      output=next((step["output"]["message"] for step in reversed(steps) if step["type"] == "model"), None),
                      metrics={"tokenUsage": {"prompt": tokens - 240, "completion": 240, "total": tokens}, "cost": cost})


def _refund_steps(*, model_ms: int, tokens: int, refund_ms: int, refund_error: str | None = None) -> list[dict]:
    steps = [
        _model(0, model_ms, tokens, tokens / 100_000, None),
        _tool(1, "lookup_order", 310, {"orderId": "1234", "charges": 2, "amount": 89.9}),
        _tool(2, "issue_refund", refund_ms, None if refund_error else {"refundId": "rf_77", "amount": 89.9}, refund_error),
    ]
    if not refund_error:
        steps.append(_model(3, 610, 940, 0.0094, "Refunded the duplicate charge of €89.90."))
    return steps


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    records = [
        _run("refund-2026-11-1-a", "2026.11.1", 20, 0, _refund_steps(model_ms=820, tokens=900, refund_ms=450)),
        _run("refund-2026-11-1-b", "2026.11.1", 21, 5, _refund_steps(model_ms=790, tokens=910, refund_ms=430)),
        _run("refund-2026-11-2", "2026.11.2", 22, 10, _refund_steps(model_ms=1250, tokens=1210, refund_ms=300,
             refund_error="Refund provider returned 429 for order 1234"), status="failed"),
        _run("refund-2026-11-3", "2026.11.3", 23, 15, _refund_steps(model_ms=780, tokens=880, refund_ms=1900)),
        _run("refund-hostile", HOSTILE_RELEASE, 19, 20, _refund_steps(model_ms=800, tokens=900, refund_ms=440)),
        _run("refund-unlabelled", None, 23, 25, _refund_steps(model_ms=800, tokens=900, refund_ms=440)),
    ]
    for index, (task, release) in enumerate((("Where is order 98?", "2026.11.3"), ("Cancel order 555", "2026.11.2"),
                                             ("Change the delivery address of order 77", "2026.11.1"))):
        records.append(_run(f"other-{index}", release, 23, 30 + index * 5, [_model(0, 700 + index * 90, 600, 0.006, "Done.")],
                            input_=task))
    return write_store(tmp_path_factory.mktemp("compare-gains") / "runs", records)


@pytest.fixture
def site(live_server, anonymous, settings, store_url, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = store_url
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


def assert_axe_clean(page, *regions: str) -> None:
    """Every impact of the WCAG 2.1 A/AA and best-practice rules over the regions this feature adds (the shared
    status pills and diff colours are outside its scope)."""
    assert axe_violations(page, regions, exclude=(), impacts=None,
                          tags=("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")) == []


def tick(page, *run_ids: str) -> None:
    for run_id in run_ids:
        page.locator(f'#list-table input[name=run][value="{run_id}"]').check()


def test_ticking_two_runs_enables_compare_and_opens_the_older_on_the_left(page, page_errors, site):
    page.goto(f"{site}/runs/")
    button = page.locator("#compare-pick button[type=submit]")
    expect(button).to_be_disabled()
    tick(page, "refund-2026-11-3")
    expect(button).to_be_disabled()
    expect(page.locator(".compare-pick-status")).to_have_text("1 run ticked: tick one more.")
    tick(page, "refund-2026-11-2")
    expect(button).to_be_enabled()
    expect(page.locator(".compare-pick-status")).to_have_text("2 runs ticked: compare them side by side.")
    button.click()
    page.wait_for_url(re.compile(r"/compare/\?left="))
    assert parse_qs(urlsplit(page.url).query) == {"left": ["refund-2026-11-2"], "right": ["refund-2026-11-3"]}
    expect(page.locator(".cmp-measures")).to_contain_text("2026.11.2")
    assert page_errors == []


def test_a_third_tick_disables_compare_until_one_is_unticked(page, page_errors, site):
    page.goto(f"{site}/runs/")
    tick(page, "refund-2026-11-1-a", "refund-2026-11-2", "refund-2026-11-3")
    expect(page.locator("#compare-pick button[type=submit]")).to_be_disabled()
    expect(page.locator(".compare-pick-status")).to_have_text("3 runs ticked: untick 1 to compare two.")
    page.locator('#list-table input[name=run][value="refund-2026-11-1-a"]').uncheck()
    expect(page.locator("#compare-pick button[type=submit]")).to_be_enabled()
    assert page_errors == []


def test_ticking_still_works_after_the_table_is_swapped_by_a_filter(page, page_errors, site):
    page.goto(f"{site}/runs/")
    page.evaluate("window.__notReloaded = true")
    page.locator("select[name=release]").select_option("2026.11.1")
    page.wait_for_url(re.compile(r"release=2026.11.1"))
    expect(page.locator("#list-table tbody tr")).to_have_count(3)
    tick(page, "refund-2026-11-1-a", "refund-2026-11-1-b")
    expect(page.locator("#compare-pick button[type=submit]")).to_be_enabled()
    assert page.evaluate("window.__notReloaded") is True
    assert page_errors == []


def test_tick_two_and_compare_works_without_javascript(no_js_page, site):
    no_js_page.goto(f"{site}/runs/")
    tick(no_js_page, "refund-2026-11-1-a", "refund-2026-11-3")
    no_js_page.locator("#compare-pick button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"/compare/\?left="))
    assert parse_qs(urlsplit(no_js_page.url).query) == {"left": ["refund-2026-11-1-a"], "right": ["refund-2026-11-3"]}
    expect(no_js_page.locator(".cmp-measures")).to_contain_text("2026.11.3")


def test_ticking_one_run_without_javascript_says_to_tick_two(no_js_page, site):
    no_js_page.goto(f"{site}/runs/")
    tick(no_js_page, "refund-2026-11-3")
    no_js_page.locator("#compare-pick button[type=submit]").click()
    expect(no_js_page.locator("#pick-error")).to_contain_text("Tick exactly two runs to compare; 1 run was ticked.")


def test_run_page_compares_with_the_same_input_in_another_release(page, page_errors, site):
    page.goto(f"{site}/runs/refund-2026-11-3/")
    links = page.locator("nav.same-input a")
    expect(links).to_have_count(3)
    expect(links.nth(0)).to_have_text("Compare with release 2026.11.2")
    expect(links.nth(2)).to_have_text(f"Compare with release {HOSTILE_RELEASE}")
    links.nth(0).click()
    page.wait_for_url(re.compile(r"/compare/\?"))
    assert parse_qs(urlsplit(page.url).query) == {"left": ["refund-2026-11-3"], "right": ["refund-2026-11-2"]}
    assert page.evaluate("window.__owned") is None
    assert page_errors == []


def test_the_aligned_view_shows_what_each_step_cost_more_or_less(page, page_errors, site):
    page.goto(f"{site}/compare/?left=refund-2026-11-1-a&right=refund-2026-11-2")
    first = page.locator("#compare-steps .align-row[data-row='0'] .align-changes")
    expect(first).to_have_text(re.compile(r"latency \+430 ms \(\+52%\) slower\s+tokens \+310 \(\+34%\) more\s+cost \+\$0\.0031 \(\+34%\) more"))
    duration = page.locator(".cmp-measures tr", has=page.locator("th", has_text="Duration"))
    expect(duration).to_contain_text("\u2212330 ms (\u221214%) faster")  # the failed run stopped early
    assert page_errors == []


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_compare_gains_render_in_each_layout(page, page_errors, site, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site}/runs/")
    tick(page, "refund-2026-11-1-a", "refund-2026-11-2")
    assert_axe_clean(page, "#compare-pick", "#list-table input.pick")
    screenshot(page, f"compare-gains-list{suffix}")
    page.goto(f"{site}/runs/refund-2026-11-3/")
    assert_axe_clean(page, "nav.same-input")
    screenshot(page, f"compare-gains-run{suffix}")
    page.goto(f"{site}/compare/?left=refund-2026-11-1-a&right=refund-2026-11-2")
    assert_axe_clean(page, ".cmp-measures", ".cmp-run-release", "#compare-steps .align-changes")
    page.evaluate("document.querySelector('.cmp-measures').scrollIntoView(); window.scrollBy(0, -90)")
    screenshot(page, f"compare-gains-summary{suffix}")
    page.evaluate("document.getElementById('compare-steps').scrollIntoView(); window.scrollBy(0, -70)")
    screenshot(page, f"compare-gains-steps{suffix}")
    assert page_errors == []
