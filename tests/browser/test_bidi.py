"""Bidi controls in Chromium: an id holding U+202E reads as written, and run text cannot reorder the page.

`\u202egnp.exe` obeyed shows as `exe.png`. Ids are shown with such characters escaped
(`\\u202egnp.exe`), and every element that shows run text is its own bidi isolate, so an
override in an input cannot run on into the error, labels or columns beside it.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.browser.conftest import close_context, screenshot
from tests.factories import run_record
from tests.fixtures.crawl import app_urls
from tests.fixtures.hostile import write_run, xss_record

pytestmark = pytest.mark.browser

SPOOF = "\u202egnp.exe"
ROOT = "bidi-root"
ERROR = "timeout after 30 s"
OVERRIDE = "\u202eoverride"
OVERRIDE_RUN = "override-everywhere"

# Left edges of the element's visible characters, in logical order, one list per line box.
CHARACTER_LEFTS = """
(element) => {
  const lines = new Map();
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      if (/\\s/.test(node.data[i]) || /\\p{Cf}/u.test(node.data[i])) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (!box.width) continue;
      const top = Math.round(box.top);
      if (!lines.has(top)) lines.set(top, []);
      lines.get(top).push(box.left);
    }
  }
  return [...lines.values()];
}
"""


# Text nodes holding no format character (the page's own text, or run text without
# controls) whose characters run right to left on a line: reversed by run text before them.
REVERSED_TEXT = """
() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (/\\p{Cf}/u.test(node.data) || !/\\p{L}.*\\p{L}/su.test(node.data)) continue;
    const lines = new Map();
    for (let i = 0; i < node.data.length; i++) {
      if (!/[\\p{L}\\p{N}]/u.test(node.data[i])) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (!box.width) continue;
      const top = Math.round(box.top);
      if (!lines.has(top)) lines.set(top, []);
      lines.get(top).push(box.left);
    }
    const reversed = [...lines.values()].some((line) => line.some((left, i) => i > 0 && left < line[i - 1]));
    if (reversed) found.push(`${node.parentElement.tagName.toLowerCase()}.${node.parentElement.className}: ${node.data.trim().slice(0, 40)}`);
  }
  return found;
}
"""


def reads_left_to_right(locator) -> bool:
    lines = locator.evaluate(CHARACTER_LEFTS)
    return bool(lines) and all(left < right for line in lines for left, right in zip(line, line[1:], strict=False))


@pytest.fixture
def site(live_server, anonymous, settings, tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, run_record(ROOT, status="failed", children=[SPOOF], input="quarterly \u202ereport",
                               errors=[{"name": "ToolError", "message": ERROR}]))
    write_run(runs, run_record(SPOOF, parent=ROOT, root=ROOT, status="failed", input="plain task",
                               errors=[{"name": "ToolError", "message": "spoofed"}]))
    # An override opening every field a page shows, in a run whose id holds one too.
    write_run(runs, xss_record(3, OVERRIDE, run_id=f"\u202e{OVERRIDE_RUN}", parent=ROOT, root=ROOT))
    write_run(runs, xss_record(4, OVERRIDE, run_id=OVERRIDE_RUN))
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()
    return live_server.url


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)])
def test_an_id_with_a_right_to_left_override_reads_as_written(browser, site, viewport):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    try:
        page.goto(site + reverse("runs:detail", args=[SPOOF]))
        heading = page.locator("h1 .runid")
        assert heading.inner_text() == "\\u202egnp.exe"
        assert reads_left_to_right(heading)
        screenshot(page, f"bidi-run-{viewport[0]}")
        page.goto(site + reverse("runs:tree", args=[SPOOF]))
        node = page.locator(".tree-node.current a.runid")
        assert node.inner_text() == "\\u202egnp.exe" and reads_left_to_right(page.locator(".tree-node.current"))
        screenshot(page, f"bidi-tree-{viewport[0]}")
        page.goto(site + reverse("incidents:detail", args=[SPOOF]))
        assert reads_left_to_right(page.locator("h1 .runid"))
        screenshot(page, f"bidi-incident-{viewport[0]}")
    finally:
        close_context(context)


def test_the_escaped_id_links_to_the_real_run(page, site):
    page.goto(site + reverse("runs:list"))
    link = page.locator("a.runid", has_text="\\u202egnp.exe")
    assert link.get_attribute("href") == f"/runs/{quote(SPOOF)}/"
    link.click()
    page.wait_for_url(f"**/runs/{quote(SPOOF)}/")
    assert page.locator("h1 .runid").inner_text() == "\\u202egnp.exe"


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)])
def test_an_override_in_a_checkpoint_label_leaves_its_time_readable(browser, site, viewport):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    try:
        page.goto(site + reverse("incidents:detail", args=[OVERRIDE_RUN]))
        # "<id> · <label> · <status> · <time>": the label opens with U+202E and is never closed.
        panel = page.locator("section.panel", has=page.locator("h2", has_text="Last checkpoint"))
        moment = panel.locator("p span.muted")
        assert moment.inner_text() == "2026-03-01 10:00:04 UTC"
        assert reads_left_to_right(moment)
        screenshot(page, f"bidi-override-incident-{viewport[0]}")
        page.goto(site + reverse("runs:detail", args=[OVERRIDE_RUN]))
        screenshot(page, f"bidi-override-run-{viewport[0]}")
    finally:
        close_context(context)


def test_the_order_checks_see_text_an_override_reversed(page, site):
    page.goto(site + reverse("runs:list"))
    page.evaluate("""document.querySelector("main").insertAdjacentHTML("afterbegin",
        '<p id="probe">\\u202ereversed <span id="after" style="unicode-bidi: normal">after</span></p>')""")
    assert not reads_left_to_right(page.locator("#probe"))
    assert not reads_left_to_right(page.locator("#after"))
    assert "span.: after" in page.evaluate(REVERSED_TEXT)


def test_no_page_shows_its_own_text_reversed_by_an_override_in_run_text(page, site):
    problems = {}
    for run_id in (OVERRIDE_RUN, f"\u202e{OVERRIDE_RUN}"):
        for path in app_urls(run_id, ROOT, search="override"):
            if any(part in path for part in ("/api/", "/export/", ".svg", ".png", ".dot", ".md", "format=text")):
                continue
            response = page.goto(site + path)
            if response.headers.get("content-type", "").startswith("text/html"):
                found = page.evaluate(REVERSED_TEXT)
                if found:
                    problems[path] = found
    assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())
