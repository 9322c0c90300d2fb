"""The control plane changes nothing: no write endpoint, and run stores stay byte-for-byte the same."""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from runtime_adapter.inspectors import export_bundle
from runtime_adapter.js import jsjson
from runtime_adapter.stores.registry import open_store
from tests.fixtures import readonly
from tests.fixtures.crawl import _kwarg_sets, app_urls, named_patterns
from tests.fixtures.hostile import ALL_SECRETS_ID, broken_store, hostile_store, secret_store

pytestmark = pytest.mark.django_db
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The only addresses that take a POST; none of them touches a run store.
POST_ALLOWED = {"login", "logout", "incidents:open_bundle"}
# A viewer is not staff: every admin write is turned away before the form is read.
ADMIN_WRITES = ["/admin/auth/user/add/", "/admin/auth/group/add/", "/admin/auth/user/1/change/",
                "/admin/auth/user/1/delete/", "/admin/password_change/"]


@pytest.fixture
def stores(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    secret_store(tmp_path / "runs")
    hostile_store(tmp_path / "runs")
    broken_store(tmp_path / "broken")
    settings.CONTROLPLANE_RUN_STORE = (tmp_path / "runs").as_uri()
    settings.CONTROLPLANE_STORES = {"broken": (tmp_path / "broken").as_uri()}
    cache.clear()
    return [tmp_path / "runs", tmp_path / "broken"]


@pytest.fixture
def viewer_client(django_user_model) -> Client:
    user = django_user_model.objects.create_user("viewer", password="a-long-test-password-1")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client = Client()
    client.force_login(user)
    return client


def every_address(run_id: str) -> dict[str, list[str]]:
    """URL name → concrete addresses, for every named pattern; logout comes last (it ends the session)."""
    addresses: dict[str, list[str]] = {"login": [reverse("login")]}
    for name, pattern in named_patterns():
        addresses[name] = [reverse(name, kwargs=kwargs) for kwargs in _kwarg_sets(pattern, run_id)]
    addresses["logout"] = [reverse("logout")]
    return addresses


def test_no_address_but_login_logout_and_upload_accepts_a_write(viewer_client, stores):
    accepting: dict[str, int] = {}
    refused = 0
    for name, addresses in every_address(ALL_SECRETS_ID).items():
        for url in addresses + [f"/s/broken{url}" for url in addresses if name not in POST_ALLOWED]:
            # POST to logout is allowed and ends the session, so it is the very last call.
            for method in sorted(WRITE_METHODS, key=lambda method: method == "POST"):
                status = viewer_client.generic(method, url).status_code
                if status == 405:
                    refused += 1
                elif not (name in POST_ALLOWED and method == "POST"):
                    accepting[f"{method} {url}"] = status
    assert accepting == {}
    assert refused > 200


def test_the_allowed_posts_are_exactly_login_logout_and_upload(viewer_client, stores):
    taking_post = set()
    for name, addresses in every_address(ALL_SECRETS_ID).items():
        if any(viewer_client.post(url).status_code != 405 for url in addresses):
            taking_post.add(name)
    assert taking_post == POST_ALLOWED


def test_without_a_csrf_token_every_write_is_refused(stores, django_user_model):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(django_user_model.objects.create_user("v", password="a-long-test-password-1"))
    statuses = {}
    for addresses in every_address(ALL_SECRETS_ID).values():
        for url in addresses:
            statuses[f"POST {url}"] = browser.post(url).status_code
    for url in ADMIN_WRITES:
        statuses[f"POST {url}"] = browser.post(url).status_code
    assert {call: status for call, status in statuses.items() if status not in (403, 405)} == {}


def test_a_viewer_cannot_write_through_the_admin(viewer_client, stores, django_user_model):
    for url in ADMIN_WRITES:
        response = viewer_client.post(url, {"username": "intruder", "password1": "p" * 20, "password2": "p" * 20,
                                            "name": "intruders"})
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    assert not django_user_model.objects.filter(username="intruder").exists()
    assert not Group.objects.filter(name="intruders").exists()


def write_flags() -> int:
    return os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def test_reading_every_page_leaves_the_stores_byte_for_byte_unchanged(viewer_client, stores, monkeypatch):
    """Every GET and every refused write, over hostile, secret and broken stores: no file changes."""
    before = {store: readonly.snapshot(store) for store in stores}
    roots = tuple(os.fspath(store) for store in stores)
    writes: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def watch_os_open(path, flags, *args, **kwargs):
        if os.fsdecode(path).startswith(roots) and flags & write_flags():
            writes.append(f"os.open {os.fsdecode(path)}")
        return real_os_open(path, flags, *args, **kwargs)

    def watch_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file).startswith(roots) and set(mode) & set("wax+"):
            writes.append(f"open {os.fsdecode(file)} {mode}")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", watch_os_open)
    monkeypatch.setattr(builtins, "open", watch_open)
    monkeypatch.setattr(io, "open", watch_open)  # pathlib opens through io.open
    requests = 0
    for prefix in ("", "/s/broken"):
        for run_id in (ALL_SECRETS_ID, "xss-01", "corrupt", "fifo", "link"):
            for url in app_urls(run_id, "xss-02"):
                viewer_client.get(prefix + url)
                for method in WRITE_METHODS:
                    viewer_client.generic(method, prefix + url)
                requests += 5
    assert requests > 500
    assert writes == []
    assert {str(store): readonly.changes(before[store], readonly.snapshot(store)) for store in stores} == {
        str(store): [] for store in stores}


def test_an_uploaded_bundle_is_kept_in_the_data_directory_not_in_a_run_store(viewer_client, stores, settings):
    before = {store: readonly.snapshot(store) for store in stores}
    runs = open_store(stores[0].as_uri()).list_runs()[:3]
    bundle = jsjson.dumps(export_bundle(runs), 2).encode()
    response = viewer_client.post(reverse("incidents:open_bundle"),
                                  {"bundle": SimpleUploadedFile("b.json", bundle, "application/json")})
    assert response.status_code == 302
    assert any((Path(settings.DATA_DIR) / "uploads").glob("*.json"))
    assert {store: readonly.changes(before[store], readonly.snapshot(store)) for store in stores} == {
        store: [] for store in stores}


# --- the session guard in tests/conftest.py --------------------------------


def test_the_guard_sees_every_kind_of_change(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "a.json").write_text("{}")
    (store / "b.json").write_text("{}")
    (store / "c.json").write_text("{}")
    before = readonly.snapshot(store)
    assert readonly.changes(before, readonly.snapshot(store)) == []
    (store / "a.json").write_text("{ }")
    (store / "b.json").unlink()
    (store / "d.json").write_text("{}")
    os.utime(store / "c.json", ns=(1, 1))
    assert readonly.changes(before, readonly.snapshot(store)) == [
        "added d.json", "removed b.json", "changed a.json", "changed c.json"]


def test_the_guard_covers_the_corpus_and_configured_stores_under_shared_only(tmp_path):
    shared = tmp_path / "shared"
    (shared / "conformance" / "stores").mkdir(parents=True)
    (shared / "other-runs").mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    roots = readonly.guarded_directories(shared, [(shared / "other-runs").as_uri(), outside.as_uri(), "",
                                                  (shared / "conformance" / "stores").as_uri(), "postgresql://db/x"])
    assert roots == [shared / "conformance", (shared / "other-runs").resolve()]
