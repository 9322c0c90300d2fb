"""What a newcomer meets first (issue 12, item 11, and the skip link of item 8): `make run`'s demo login,
the sign-in page, the top bar of a signed-out visitor, the store picker, and the skip link."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import html5lib
import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import write_store

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-test-password-1"
NAV_PATHS = ("/", "/runs/", "/incidents/", "/releases/", "/compare/", "/bundles/open/")


@pytest.fixture
def site(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [run_record("run-1")])
    cache.clear()
    return settings


@pytest.fixture
def viewer(django_user_model):
    return django_user_model.objects.create_user("viewer", password=PASSWORD)


def with_stores(settings, tmp_path, count: int) -> list[str]:
    """`count` stores in all: the default one and count - 1 named ones."""
    names = [f"store-{index}" for index in range(1, count)]
    settings.CONTROLPLANE_STORES = {name: write_store(tmp_path / name, [run_record(f"{name}-run")]) for name in names}
    cache.clear()
    return ["default", *names]


def hrefs(content: bytes) -> set[str]:
    return set(re.findall(r'href="([^"]*)"', content.decode()))


# -- 11a: `make run` prints the demo login last, after the server's start banner ------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_lines(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def sign_in_page_status(port: int) -> int:
    for _ in range(20):  # unless the autoreloader is restarting it just now
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as page:
                return page.status
        except OSError:
            time.sleep(0.5)
    return 0


def test_make_run_prints_the_demo_login_last_after_the_servers_start_banner(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONTROLPLANE_", "DJANGO_"))}
    env.update(CONTROLPLANE_DATA_DIR=str(tmp_path / "data"), PORT=str(port),
               CONTROLPLANE_RUN_STORE=write_store(tmp_path / "runs", [run_record("run-1")]))
    env.pop("PYTHONUNBUFFERED", None)  # a pipe, as `make run | tee` would be: the login must not wait in a buffer
    server = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(server.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120  # set-up (migrations of a new database) included
        while not any(line.startswith("|  ") and "password" in line for line in output):
            if any("Starting development server" in line for line in output):
                deadline = min(deadline, time.monotonic() + 15)
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("no framed demo login after the start banner:\n" + "".join(output))
            assert line is not None, "".join(output)
            output.append(line)
        output.append(lines.get(timeout=10))  # the frame's closing rule
        time.sleep(1)  # anything printed after the login would show up now
        while not lines.empty() and (line := lines.get()) is not None:
            output.append(line)
        assert sign_in_page_status(port) == 200  # the server was listening when it printed the login
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    password = (tmp_path / "data" / "demo-password").read_text().strip()
    # The autoreloader restarts the server when a source file changes (and prints it all again): each start counts.
    starts = [start for start in re.split(r"^.* changed, reloading\.$", "".join(output), flags=re.M)
              if password in start]
    assert starts, "".join(output)
    for number, start in enumerate(starts, 1):
        banner = start.index(f"Starting development server at http://127.0.0.1:{port}/")
        login = start.index(f"password  {password}")
        assert banner < login, start
        assert start.count(password) == 1, start  # printed once, nowhere else
        assert "username  demo" in start and f"Open http://127.0.0.1:{port}/" in start
        last = [line.strip() for line in start.splitlines() if line.strip()][-1]
        if number < len(starts) or start is starts[0]:
            assert last.startswith("+--") and last.endswith("-+"), start  # the frame closes the output


def test_the_demo_server_says_when_login_is_off(site):
    from controlplane.demo import login_notice

    site.CONTROLPLANE_LOGIN_REQUIRED = False
    notice = login_notice("http://127.0.0.1:8000/")
    assert "CONTROLPLANE_LOGIN_REQUIRED=0" in notice and "password" not in notice


# -- 11b: the sign-in page says where the demo password comes from --------------------------------------------


def test_the_login_page_says_make_run_printed_the_demo_login(client, site):
    from controlplane.demo import ensure_demo_user

    password = ensure_demo_user()
    page = client.get(reverse("login"))
    body = page.content.decode()
    assert "<code>make run</code> printed the login" in body and "CONTROLPLANE_DATA_DIR/demo-password" in body
    assert "ask the operator who runs this control plane" in body and "CONTROLPLANE_LOGIN_REQUIRED" in body
    assert password not in body
    assert_valid_html(page.content)


def test_without_a_demo_login_the_login_page_sends_visitors_to_the_operator(client, site):
    body = client.get(reverse("login")).content.decode()
    assert "make run" not in body and "demo-password" not in body
    assert "Ask the operator who runs this control plane for an account" in body


# -- 11c: signed-out visitors see no navigation that only loops back to the sign-in page ----------------------


def test_signed_out_visitors_see_no_navigation_while_login_is_required(client, site, tmp_path):
    with_stores(site, tmp_path, 6)
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert hrefs(page.content) & set(NAV_PATHS) == set()
    body = page.content.decode()
    assert 'class="mainnav"' not in body and "store-picker" not in body and "/s/store-1/" not in body
    assert "Agent runs" in body  # the brand stays, as text


def test_signed_in_viewers_and_anonymous_readers_without_login_see_the_navigation(client, site, viewer):
    client.force_login(viewer)
    assert hrefs(client.get("/runs/").content) >= set(NAV_PATHS)
    client.logout()
    site.CONTROLPLANE_LOGIN_REQUIRED = False
    assert hrefs(client.get("/runs/").content) >= set(NAV_PATHS)
    assert hrefs(client.get(reverse("login")).content) >= set(NAV_PATHS)


# -- 11d: the store picker is links for a few stores, a select with a Go button for many ----------------------


def test_a_few_stores_are_picked_with_links(client, site, tmp_path, viewer):
    with_stores(site, tmp_path, 4)
    client.force_login(viewer)
    body = client.get("/s/store-2/runs/").content.decode()
    assert '<select id="store-picker-choice"' not in body
    assert '<a href="/s/store-2/" aria-current="true">store-2</a>' in body
    assert {"/", "/s/store-1/", "/s/store-3/"} <= hrefs(body.encode())


def test_many_stores_are_picked_with_a_select_and_a_go_button(client, site, tmp_path, viewer):
    names = with_stores(site, tmp_path, 5)
    client.force_login(viewer)
    page = client.get("/s/store-2/runs/")
    body = page.content.decode()
    form = body.split('class="store-picker store-picker-select"')[1].split("</form>")[0]
    assert 'method="get"' in form and 'action="/s/store-2/stores/"' in form
    assert re.findall(r'<option value="([^"]*)"', form) == names
    assert '<option value="store-2" selected>' in form
    assert '<button type="submit">Go</button>' in form
    assert "/s/store-1/" not in hrefs(page.content)
    assert_valid_html(page.content)


def test_the_picker_form_opens_the_chosen_store(client, site, tmp_path, viewer):
    with_stores(site, tmp_path, 5)
    client.force_login(viewer)
    assert client.get("/s/store-2/stores/", {"store": "store-4"})["Location"] == "/s/store-4/"
    assert client.get("/stores/", {"store": "default"})["Location"] == "/"
    assert client.get("/stores/", {"store": "no-such-store"}).status_code == 400
    assert client.get("/stores/").status_code == 400


def test_the_picker_form_is_behind_the_login_like_every_page(client, site, tmp_path):
    with_stores(site, tmp_path, 5)
    response = client.get("/stores/", {"store": "store-1"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_open_uploaded_bundle_counts_as_a_store_in_the_picker(client, site, tmp_path, viewer, monkeypatch):
    from controlplane import stores

    with_stores(site, tmp_path, 4)
    open_upload = "upload-" + "a" * 24
    monkeypatch.setattr(stores, "uploaded_bundle_path", lambda name: tmp_path if name == open_upload else None)
    assert stores.picker_store_names(open_upload)[-1] == open_upload
    assert stores.picker_store_names("store-1") == ["default", "store-1", "store-2", "store-3"]
    client.force_login(viewer)
    assert client.get("/s/store-1/stores/", {"store": open_upload}).status_code == 400  # other uploads stay unlisted


# -- 8: a skip link is the first thing Tab reaches on every page -----------------------------------------------

FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}


def first_focusable(content: bytes):
    document = html5lib.parse(content.decode(), namespaceHTMLElements=False)
    for element in document.find("body").iter():
        if element.tag in FOCUSABLE and element.get("type") != "hidden" and (element.tag != "a" or element.get("href")):
            return element
    return None


@pytest.mark.parametrize("path", ["/", "/runs/", "/runs/run-1/", "/incidents/", "/releases/", "/compare/",
                                  "/bundles/open/", "/runs/no-such-run/", "/accounts/login/"])
def test_every_page_starts_with_a_skip_link_to_main(client, site, viewer, path):
    if path != "/accounts/login/":
        client.force_login(viewer)
    page = client.get(path)
    first = first_focusable(page.content)
    assert first is not None and first.tag == "a" and first.get("href") == "#main", path
    assert "".join(first.itertext()) == "Skip to main content"
    assert re.search(rb'<main id="main"', page.content), path
