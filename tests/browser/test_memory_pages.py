"""The memory page in Chromium: the demo's layers as `make run` writes them, the key search swapping the
layers in place, paging a long layer, a broken layer beside readable ones, no-JS use, the phone layout and
what axe-core finds, at 1280 and 390 px, light and dark.

Screenshots named docs-memory* are the ones the README uses (test-results/screenshots/).
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import PINNED_NOW
from write_side.demo_state.memory import write_demo_memory
from write_side.synthetic import write_store

pytestmark = pytest.mark.browser

LAYOUTS = [("", 1280, 800, "light"), ("-dark", 1280, 800, "dark"), ("-mobile", 390, 844, "light"),
           ("-mobile-dark", 390, 844, "dark")]
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"


@pytest.fixture(scope="session")
def demo_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory-ui")
    write_store(root / "runs", 200, seed=7, now=PINNED_NOW)
    write_demo_memory(root / "memory", root / "runs", seed=7)
    saved = (PINNED_NOW - timedelta(minutes=30)).timestamp()
    for layer in (root / "memory").iterdir():
        os.utime(layer, (saved, saved))  # as if the agent saved them just before the pinned "now"
    return root


def _layers(root, **extra):
    return {**{name: root / "memory" / f"{name}.json" for name in ("working", "profile", "policy")}, **extra}


@pytest.fixture
def site(live_server, anonymous, settings, demo_dirs, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = (demo_dirs / "runs").as_uri()
    settings.CONTROLPLANE_MEMORY_LAYERS = _layers(demo_dirs)
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation, every control labelled, nothing wider than the window."""
    assert axe_violations(page) == []
    problems = page.evaluate("""() => {
        const found = [];
        for (const control of document.querySelectorAll("input:not([type=hidden]), select")) {
            if (!control.labels || control.labels.length === 0) found.push("unlabelled " + control.name);
        }
        const main = document.querySelector("main");
        if (main.scrollWidth > main.clientWidth + 1) found.push("the page's content scrolls sideways");
        for (const cell of document.querySelectorAll(".mem-table th, .mem-table td")) {
            const box = cell.getBoundingClientRect();
            if (box.right > document.documentElement.clientWidth + 1) found.push("a cell runs off the screen");
        }
        return found;
    }""")
    assert problems == []


def test_memory_page_shows_the_demo_layers_with_expired_raw_and_redacted_entries(page, page_errors, site):
    page.goto(f"{site}/memory/")
    expect(page.locator("section.mem-layer h2")).to_have_text(["working", "profile", "policy"])
    working = page.locator("section.mem-layer").nth(0)
    expect(working.locator("tr.mem-expired").first).to_be_visible()
    expect(working.locator("tr.mem-expired .status").first).to_have_text("expired")
    raw = working.locator("tr", has=page.locator("th.mem-key", has_text="MigrationNote"))
    expect(raw.locator(".tag")).to_have_text(["raw value", "not read by Memory"])
    profile = page.locator("section.mem-layer").nth(1)
    expect(profile).to_contain_text("[REDACTED]")
    assert SECRET not in page.content()
    run_link = profile.locator(".mem-meta a.runid").first
    run_link.click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+/$"))
    expect(page.locator("h1")).to_be_visible()
    assert page_errors == []


@pytest.mark.parametrize(("suffix", "width", "height", "scheme"), LAYOUTS)
def test_memory_page_renders_in_each_layout(page, page_errors, site, suffix, width, height, scheme):
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{site}/memory/")
    expect(page.locator("section.mem-layer")).to_have_count(3)
    assert_accessible(page)
    screenshot(page, f"docs-memory{suffix}")
    page.locator("section.mem-layer").nth(1).scroll_into_view_if_needed()
    screenshot(page, f"memory-profile{suffix}")
    assert page_errors == []


def test_key_search_swaps_the_layers_in_place_and_lands_in_the_url(page, page_errors, site):
    page.goto(f"{site}/memory/")
    page.evaluate("window.__notReloaded = true")
    page.locator("#id_memory_q").press_sequentially("CUSTOMER:")
    page.wait_for_url(re.compile(r"q=CUSTOMER"))
    keys = page.locator("th.mem-key bdi").all_inner_texts()
    assert keys and all("customer:" in key for key in keys)
    expect(page.locator("section.mem-layer").nth(0)).to_contain_text("No key in this layer matches")
    page.locator("select[name=state]").select_option("expired")
    page.wait_for_url(re.compile(r"state=expired"))
    expect(page.locator("th.mem-key")).to_have_count(1)
    expect(page.locator("th.mem-key")).to_contain_text(":discount")
    assert page.evaluate("window.__notReloaded") is True
    assert page_errors == []


def test_a_long_layer_pages_with_a_cursor_and_a_broken_layer_says_why(page, page_errors, site, settings, tmp_path):
    long_layer = tmp_path / "long.json"
    long_layer.write_text(json.dumps({f"note:{i:03d}": {"value": i, "createdAt": 1795500000000,
                                                        "updatedAt": 1795500000000, "expiresAt": None,
                                                        "metadata": {}} for i in range(120)}, indent=2))
    broken = tmp_path / "broken.json"
    broken.write_text('["not", "an", "object"]')
    saved = (PINNED_NOW - timedelta(hours=2)).timestamp()
    for path in (long_layer, broken):
        os.utime(path, (saved, saved))
    settings.CONTROLPLANE_MEMORY_LAYERS = {"broken": broken, "missing": tmp_path / "nope.json", "long": long_layer}
    page.goto(f"{site}/memory/")
    errors = page.locator(".mem-error")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("a JSON array, not the JSON object")
    expect(errors.nth(1)).to_contain_text("No file at this path")
    screenshot(page, "memory-broken-layers")
    long_section = page.locator("section.mem-layer").nth(2)
    expect(long_section.locator("th.mem-key")).to_have_count(50)
    long_section.locator("a[rel=next]").click()
    page.wait_for_url(re.compile(r"cursor="))
    assert parse_qs(urlsplit(page.url).query)["layer"] == ["long"]
    expect(page.locator("section.mem-layer")).to_have_count(1)
    expect(page.locator("th.mem-key").first).to_have_text("note:050")
    expect(page.locator("nav.pager")).to_contain_text("51–100 of 120")
    assert page_errors == []


def test_memory_page_works_without_javascript(no_js_page, site):
    no_js_page.goto(f"{site}/memory/")
    no_js_page.locator("#id_memory_q").fill("refund")
    no_js_page.locator("select[name=layer]").select_option("policy")
    no_js_page.locator("#memory-filters button[type=submit]").click()
    no_js_page.wait_for_url(re.compile(r"layer=policy"))
    expect(no_js_page.locator("section.mem-layer")).to_have_count(1)
    expect(no_js_page.locator("section.mem-layer h2")).to_have_text("policy")
    expect(no_js_page.locator("th.mem-key")).to_have_text(["refund_limit"])
