"""Playwright driving Debian's Chromium against Django's live server.

The browser is never downloaded (`playwright install` cannot work here): we launch
/usr/bin/chromium. A missing browser fails the tests loudly instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import warnings
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
# fixtures in the same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CONTROLPLANE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# How long closing a browser context may take. Chromium now and then never answers Playwright's
# Target.disposeBrowserContext (seen in a whole-suite run: a context.close() after a passing test hung until
# pytest-timeout failed it 300 s later; likely also what stalled a CI run for 90 minutes inside a browser test before
# pytest-timeout was added). Past this deadline the browser is killed, the close returns, and the next test gets a
# new browser.
CLOSE_DEADLINE_S = 30.0


def _launch(playwright):
    # Chromium keeps the machine's real clock when the suite runs under faketime (moving the server's
    # clock a year ahead): its network stack stalls on a preloaded fake clock, and a browser whose clock
    # differs from the server's is a case the pages must handle anyway.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("FAKETIME") and not (key == "LD_PRELOAD" and "faketime" in value)}
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=env)


def _chromium_pids() -> list[int]:
    """This process's descendant processes that run Chromium (its browser, zygotes and renderers)."""
    parents: dict[int, int] = {}
    executables: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            executables[int(entry)] = os.readlink(f"/proc/{entry}/exe")
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'.
        parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
    me, found = os.getpid(), []
    for pid in parents:
        ancestor, hops = parents.get(pid), 0
        while ancestor not in (None, 0, 1, me) and hops < 64:
            ancestor, hops = parents.get(ancestor), hops + 1
        if ancestor == me and "chrom" in os.path.basename(executables.get(pid, "")):
            found.append(pid)
    return found


def _kill_chromium() -> None:
    for pid in _chromium_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _within_deadline(close) -> bool:
    """Call `close`; if it has not returned within CLOSE_DEADLINE_S, kill Chromium so it does. False if killed."""
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        _kill_chromium()

    watchdog = threading.Timer(CLOSE_DEADLINE_S, kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        close()
    except Exception:
        if not killed.is_set():
            raise
    finally:
        watchdog.cancel()
    return not killed.is_set()


def close_context(context) -> None:
    """Close a browser context, killing the browser if Chromium does not answer within CLOSE_DEADLINE_S
    (the test has finished by then: a warning says so, and the next test launches a new browser)."""
    def leave_then_close() -> None:
        # Leaving every page first settles what it still had in flight (e.g. htmx's history restore after a
        # "back"): closing a context with that in flight is what hung, about one close in four, in a loop.
        for page in context.pages:
            try:
                page.goto("about:blank", timeout=CLOSE_DEADLINE_S * 1000)
            except Exception:  # a page already closed or crashed: closing the context is all that is left
                pass
        context.close()

    if not _within_deadline(leave_then_close):
        warnings.warn(f"Chromium did not close a browser context within {CLOSE_DEADLINE_S:.0f} s and was killed; "
                      "the next test launches a new one", stacklevel=2)


class _Browsers:
    """One browser per test process, launched again when the previous one had to be killed."""

    def __init__(self, playwright) -> None:
        self.playwright = playwright
        self.current = None

    def live(self):
        if self.current is None or not self.current.is_connected():
            if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
                pytest.fail(f"Chromium not found at {CHROMIUM}; run `make test` (it installs Debian's chromium).")
            self.current = _launch(self.playwright)
        return self.current


@pytest.fixture(scope="session")
def _browsers():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browsers = _Browsers(playwright)
        yield browsers
        if browsers.current is not None and browsers.current.is_connected():
            _within_deadline(browsers.current.close)


@pytest.fixture
def browser(_browsers):
    return _browsers.live()


@pytest.fixture
def page_errors():
    """Console errors and page errors seen during a test; assert it stays empty."""
    return []


@pytest.fixture
def page(browser, page_errors, settings):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda message: page_errors.append(f"console {message.type}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: (page_errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    close_context(context)


@pytest.fixture
def no_js_page(browser, page_errors):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    yield page
    close_context(context)


@pytest.fixture
def serve_store(live_server, anonymous, settings, tmp_path):
    """Serve a run store (a URL) from the live server, login off, with a data directory of its own."""
    from django.core.cache import cache

    def serve(url: str) -> str:
        settings.CONTROLPLANE_RUN_STORE = url
        settings.DATA_DIR = tmp_path
        cache.clear()
        return live_server.url

    return serve


def synthetic_store(tmp_path_factory, name: str, size: int, **options) -> tuple[str, dict]:
    """A synthetic store of `size` runs dated up to the pinned clock: its URL and its notable runs."""
    from tests.conftest import PINNED_NOW
    from write_side.synthetic import write_store

    directory = tmp_path_factory.mktemp(name) / "runs"
    summary = write_store(directory, size, now=PINNED_NOW, **options)
    return directory.as_uri(), summary["notable"]


@pytest.fixture
def anonymous(settings):
    """Browser tests read the demo-like store without a login unless they test login."""
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    return settings


def screenshot(page, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


# Nothing is left out of audits any more: badges, primary buttons and the top bar reach AA in both themes
# (tests/browser/test_accessibility.py checks every page).
AXE_SHARED_EXCLUDE: tuple[str, ...] = ()


def axe_violations(page, include: tuple[str, ...] = ("main",), *, exclude: tuple[str, ...] = AXE_SHARED_EXCLUDE,
                   impacts: tuple[str, ...] | None = ("serious", "critical"),
                   tags: tuple[str, ...] | None = None, rules: tuple[str, ...] | None = None) -> list[str]:
    """axe-core's violations inside `include` (the copy bundled with axe-playwright-python).

    `impacts=None` keeps every impact; `tags` limits the rules (e.g. WCAG 2.1 A/AA and best practice), `rules`
    to those named (e.g. color-contrast).
    """
    try:
        import axe_playwright_python
    except ImportError:
        pytest.fail("axe-playwright-python is not installed (it ships axe-core for these audits): make test installs it",
                    pytrace=False)
    page.evaluate((Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8"))
    options = {"resultTypes": ["violations"]}
    if tags:
        options["runOnly"] = {"type": "tag", "values": list(tags)}
    if rules:
        options["runOnly"] = {"type": "rule", "values": list(rules)}
    result = page.evaluate(
        "([context, options]) => axe.run(context, options)",
        [{"include": [[selector] for selector in include], "exclude": [[selector] for selector in exclude]}, options])
    return [f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
            for violation in result["violations"] if impacts is None or violation["impact"] in impacts]


def scroll_to(page, selector: str) -> None:
    """Scroll the element `selector` finds now into view. For panels htmx replaces whole when revealed
    (`hx-swap="outerHTML"`: the lineage graph, a run's audit panel): Playwright's scroll_into_view_if_needed holds
    the element it found, and fails with "not attached to the DOM" when the swap lands while it waits."""
    page.wait_for_selector(selector, state="attached")
    page.evaluate("(selector) => document.querySelector(selector).scrollIntoView({block: 'center'})", selector)
