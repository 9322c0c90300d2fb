"""Hostile run content in a real browser: nothing runs, nothing is injected, the text is shown.

Every vector of tests.fixtures.hostile would call `window.__xss(n)` (or `alert`) if it
ever ran. An init script records those calls; the page fixture records dialogs,
console errors (a CSP refusal is one) and page errors. After each page (and its
HTMX panels) has loaded, the DOM is searched for anything run content could have
added: event-handler attributes, `javascript:` URLs, injected scripts, frames,
`hx-*` attributes aimed at logout or the admin, declarative shadow roots.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.browser.conftest import close_context, screenshot
from tests.fixtures.crawl import app_urls
from tests.fixtures.hostile import ALL_VECTORS_ID, HOSTILE_RUN_IDS, XSS_VECTORS, hostile_store, xss_id

pytestmark = pytest.mark.browser

RECORD_CALLS = """
window.__htmx_pending = 0;
document.addEventListener("htmx:beforeRequest", () => { window.__htmx_pending += 1; });
document.addEventListener("htmx:afterSettle", () => { window.__htmx_pending -= 1; });
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful) window.__htmx_pending -= 1;  // no swap, so no afterSettle
});
window.__xss_calls = [];
window.__xss = (n) => window.__xss_calls.push(String(n));
for (const name of ["alert", "confirm", "prompt"]) {
  const original = window[name];
  window[name] = (message) => { window.__xss_calls.push(name + ":" + message); };
}
"""

FIND_INJECTED = """
() => {
  const found = [];
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      for (const attribute of el.attributes) {
        const name = attribute.name.toLowerCase();
        const value = attribute.value.trim().toLowerCase();
        if (name.startsWith("on") || name.startsWith("hx-on")) found.push(`${tag}[${name}]`);
        if (urlAttributes.includes(name) && (value.startsWith("javascript:") || value.startsWith("data:text/html")))
          found.push(`${tag}[${name}=${value.slice(0, 40)}]`);
        if (name.startsWith("hx-") && (value.includes("logout") || value.includes("/admin") || value.startsWith("javascript:")))
          found.push(`${tag}[${name}=${value.slice(0, 40)}]`);
      }
      if (["iframe", "frame", "object", "embed", "base", "portal"].includes(tag)) found.push(tag);
      if (tag === "meta" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh") found.push("meta refresh");
      if (tag === "script") {
        const src = el.getAttribute("src") || "";
        if (el.textContent.includes("__xss") || (src && !new URL(src, location.href).pathname.startsWith("/static/")))
          found.push(`script ${src || el.textContent.slice(0, 40)}`);
      }
      if (el.shadowRoot) { found.push(`${tag} shadow root`); walk(el.shadowRoot); }
    }
  };
  walk(document);
  return found;
}
"""


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile") / "runs"
    return directory, hostile_store(directory)


@pytest.fixture
def site(live_server, anonymous, settings, hostile_dir, tmp_path):
    settings.CONTROLPLANE_RUN_STORE = hostile_dir[0].as_uri()
    settings.DATA_DIR = tmp_path
    cache.clear()
    return live_server.url


@pytest.fixture
def watched(page):
    """The shared page fixture, with the app's CSP in force, recording vector calls."""
    page.add_init_script(RECORD_CALLS)
    return page


@pytest.fixture
def strict(browser, page_errors):
    """A page with the CSP bypassed: escaping alone must keep every vector inert.

    With the policy on, an escaping bug would mostly show as a refused inline script;
    without it, the vector would really run and be recorded.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.on("console", lambda message: page_errors.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: (page_errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.add_init_script(RECORD_CALLS)
    yield page
    close_context(context)


def settle(page) -> None:
    """Let lazy HTMX panels (`hx-trigger="revealed"`) load and swap in before looking."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(60)  # revealed fires from an IntersectionObserver, a frame later
    # Polled from Python: wait_for_function evaluates its predicate with eval, which the CSP refuses.
    deadline = time.monotonic() + 10
    while page.evaluate("window.__htmx_pending") > 0 and time.monotonic() < deadline:
        page.wait_for_timeout(20)


def real_errors(page_errors: list[str]) -> list[str]:
    """Console errors, less the ones a 4xx page (or the favicon) always logs for itself."""
    return [error for error in page_errors
            if "favicon.ico" not in error and "the server responded with a status of 4" not in error]


def visit(page, site: str, path: str) -> dict[str, object]:
    """Open `path`; problems found on it (empty when the page is clean)."""
    response = page.request.get(site + path)
    content_type = response.headers.get("content-type", "")
    disposition = response.headers.get("content-disposition", "")
    problems: dict[str, object] = {}
    if response.status >= 500:
        problems["status"] = response.status
    if disposition.startswith("attachment"):
        # A download is never rendered; it must simply not claim to be a page.
        if content_type.startswith(("text/html", "image/svg")):
            problems["download served as"] = content_type
        return problems
    page.goto(site + path, wait_until="load")
    if content_type.startswith("text/html") and page.evaluate("typeof window.htmx") != "undefined":
        settle(page)
    calls = page.evaluate("window.__xss_calls || []")
    injected = page.evaluate(FIND_INJECTED)
    if calls:
        problems["script ran"] = calls
    if injected:
        problems["injected"] = injected
    return problems


def shared_paths() -> set[str]:
    """Addresses that do not depend on the run (overview, list, queue…)."""
    return {path for path in app_urls("RUN-A", "RUN-B", search="window") if "RUN-A" not in path and "RUN-B" not in path}


def crawl(page, site: str, run_ids: list[str], *, per_run_only: bool = False) -> dict[str, object]:
    """Every address of each run; `per_run_only` leaves out shared pages and machine formats."""
    problems: dict[str, object] = {}
    seen: set[str] = shared_paths() if per_run_only else set()
    for index, run_id in enumerate(run_ids):
        other = run_ids[(index + 1) % len(run_ids)]
        for path in app_urls(run_id, other, search="window"):
            if path in seen or per_run_only and ("/api/" in path or "/export/" in path or ".png" in path):
                continue
            seen.add(path)
            found = visit(page, site, path)
            if found:
                problems[path] = found
    return problems


def test_no_vector_runs_on_any_page_of_a_vector_run(strict, page_errors, site):
    """Every page, panel, export and API answer of runs carrying vectors and hostile ids."""
    problems = crawl(strict, site, [xss_id(1), HOSTILE_RUN_IDS[0], xss_id(3), "xss-status", "xss-branch"])
    assert problems == {}
    assert real_errors(page_errors) == []


def test_no_vector_runs_on_the_pages_of_any_hostile_id(strict, page_errors, site):
    problems = crawl(strict, site, list(HOSTILE_RUN_IDS[1:]), per_run_only=True)
    assert problems == {}
    assert real_errors(page_errors) == []


def test_every_vector_in_every_field_is_inert_on_every_page(strict, page_errors, site):
    """The run holding all vectors in all fields, on every page; then each vector's own run."""
    problems = crawl(strict, site, [ALL_VECTORS_ID, xss_id(2)], per_run_only=True)
    for index in range(1, len(XSS_VECTORS) + 1):
        for path in (reverse("runs:detail", args=[xss_id(index)]), reverse("incidents:detail", args=[xss_id(index)])):
            found = visit(strict, site, path)
            if found:
                problems[path] = found
    assert problems == {}
    assert real_errors(page_errors) == []


def test_the_list_and_search_show_every_vector_as_text(watched, page_errors, site):
    problems = {}
    for path in ("/runs/?q=window", "/runs/?q=window&page=2", "/", "/incidents/"):
        found = visit(watched, site, path)
        if found:
            problems[path] = found
    assert problems == {}
    watched.goto(f"{site}/runs/?q=__xss")
    shown = watched.evaluate("document.body.innerText")
    assert "<script>window.__xss(1)</script>" in shown
    assert '"><img src=x onerror=window.__xss(3)>' in shown
    screenshot(watched, "hostile-list")
    assert real_errors(page_errors) == []


def test_the_raw_text_of_a_vector_is_visible_on_its_run_page(watched, page_errors, site):
    watched.goto(f"{site}{reverse('runs:detail', args=[xss_id(1)])}")
    settle(watched)
    shown = watched.evaluate("document.body.innerText")
    assert "<script>window.__xss(1)</script>" in shown
    watched.goto(f"{site}{reverse('runs:detail', args=[HOSTILE_RUN_IDS[0]])}")
    assert HOSTILE_RUN_IDS[0] in watched.evaluate("document.body.innerText")
    screenshot(watched, "hostile-run")
    assert watched.evaluate("window.__xss_calls") == []
    assert real_errors(page_errors) == []


def test_the_lineage_graph_embedded_and_opened_directly_stays_inert(strict, page_errors, site):
    for run_id in (xss_id(1), HOSTILE_RUN_IDS[0], HOSTILE_RUN_IDS[8]):
        for path in (reverse("runs:lineage", args=[run_id]), reverse("runs:tree", args=[run_id]),
                     reverse("runs:lineage_file", kwargs={"run_id": run_id, "fmt": "svg"})):
            assert visit(strict, site, path) == {}, path
    strict.goto(f"{site}{reverse('runs:detail', args=[xss_id(1)])}")
    settle(strict)
    assert strict.locator("svg").count() >= 1
    for link in strict.locator("svg a").all()[:5]:
        href = link.get_attribute("href") or link.get_attribute("xlink:href") or ""
        assert not href.strip().lower().startswith("javascript:")
    assert strict.evaluate("window.__xss_calls") == []
    assert real_errors(page_errors) == []


def test_an_injected_element_would_be_caught_and_csp_would_still_block_it(watched, page_errors, site):
    """The detectors themselves: an element injected into a page is reported twice over."""
    watched.goto(f"{site}/runs/")
    watched.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__xss(99)\">')")
    watched.wait_for_timeout(300)
    assert watched.evaluate(FIND_INJECTED) == ["img[onerror]"]
    # script-src 'self' refuses inline handlers: the call never happens, the refusal is a console error.
    assert watched.evaluate("window.__xss_calls") == []
    assert any("Content Security Policy" in error for error in page_errors)


def test_with_the_policy_bypassed_an_injected_handler_really_runs(strict, site):
    """So the strict crawls above would record any vector that escaped escaping."""
    strict.goto(f"{site}/runs/")
    strict.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__xss(98)\">')")
    deadline = time.monotonic() + 5
    while not strict.evaluate("window.__xss_calls.length") and time.monotonic() < deadline:
        strict.wait_for_timeout(20)
    assert strict.evaluate("window.__xss_calls") == ["98"]
