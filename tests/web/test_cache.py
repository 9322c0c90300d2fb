"""Trees and lineage graphs go through controlplane.caching, keyed on the store's change marker.

Checked with the local-memory cache and with a real Redis on 127.0.0.1:6379 (the
multi-instance set-up); Redis must be running, these tests fail when it is not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache

from controlplane.caching import cache_key, cached
from controlplane.stores import get_run_store
from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.web.runs_support import redis_test_url, write_store

REDIS_URL = redis_test_url()
ROOT = Path(__file__).resolve().parents[2]


def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server for these tests.",
                    pytrace=False)
    return client


@pytest.fixture(params=["locmem", "redis"])
def backend(request, settings):
    prefix = f"cp-test-{uuid.uuid4().hex[:10]}"
    if request.param == "redis":
        client = redis_client()
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    else:
        client = None
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                       "LOCATION": prefix}}
    if client is None:
        cache.clear()
    yield request.param, client, prefix
    if client is not None:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def family(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    directory = tmp_path / "runs"
    settings.CONTROLPLANE_RUN_STORE = write_store(directory, [
        run_record("root", children=["child-a"]),
        run_record("child-a", parent="root", root="root", created="2026-01-01T00:00:01.000Z"),
    ])
    return directory


def add_child(directory: Path, run_id: str) -> None:
    record = run_record(run_id, parent="root", root="root", created="2026-01-01T00:00:05.000Z")
    (directory / f"{run_id}.json").write_text(jsjson.dumps(record, 2))


def test_a_payload_is_computed_once_per_store_state(backend, family):
    store = get_run_store()
    calls = []

    def compute():
        calls.append(1)
        return {"runs": sorted(run["id"] for run in store.iter_family("root"))}

    assert cached(store, "tree", ("root",), compute) == {"runs": ["child-a", "root"]}
    assert cached(store, "tree", ("root",), compute) == {"runs": ["child-a", "root"]}
    assert len(calls) == 1
    add_child(family, "child-b")
    assert cached(store, "tree", ("root",), compute) == {"runs": ["child-a", "child-b", "root"]}
    assert len(calls) == 2


def test_payloads_are_stored_in_the_configured_backend(backend, family):
    name, client, prefix = backend
    store = get_run_store()
    cached(store, "tree", ("root",), lambda: {"ok": True})
    key = cache_key(store, "tree", "root")
    assert cache.get(key) == {"ok": True}
    if client is not None:
        assert any(key in stored.decode() for stored in client.scan_iter(f"{prefix}:*"))


def test_a_new_run_changes_the_cache_key(backend, family):
    store = get_run_store()
    before = cache_key(store, "tree", "root")
    assert cache_key(store, "tree", "root") == before
    add_child(family, "child-b")
    assert cache_key(store, "tree", "root") != before


def test_the_tree_page_never_serves_a_stale_tree(client, backend, family):
    first = client.get("/runs/root/tree/")
    assert first.status_code == 200
    assert b"child-a" in first.content and b"child-b" not in first.content
    add_child(family, "child-b")
    second = client.get("/runs/root/tree/")
    assert b"child-b" in second.content


def test_the_lineage_svg_never_serves_a_stale_graph(client, backend, family):
    first = client.get("/runs/root/lineage.svg")
    assert first.status_code == 200
    assert b"child-b" not in first.content
    assert client.get("/runs/root/lineage.svg").content == first.content
    add_child(family, "child-b")
    second = client.get("/runs/root/lineage.svg")
    assert b"child-b" in second.content


def test_cache_url_setting_selects_redis():
    redis_client()
    code = ("import django; django.setup(); from django.core.cache import cache; "
            "cache.set('cp-settings-probe', 1, 5); print(type(cache._cache).__module__, cache.get('cp-settings-probe'))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "controlplane.settings", "CONTROLPLANE_CACHE_URL": REDIS_URL}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.cache.backends.redis", "1"]


def test_sessions_are_kept_in_redis_when_redis_is_the_cache():
    redis_client()
    code = "import django; django.setup(); from django.conf import settings; print(settings.SESSION_ENGINE)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "controlplane.settings", "CONTROLPLANE_CACHE_URL": REDIS_URL}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "django.contrib.sessions.backends.cache", result.stderr


def test_the_tree_page_survives_writes_to_other_families_and_follows_its_own(client, backend, family, monkeypatch):
    from runs import common

    builds = []
    real_build = common.family_tree

    def counting_build(*args, **kwargs):
        builds.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(common, "family_tree", counting_build)
    assert b"child-a" in client.get("/runs/child-a/tree/").content
    assert len(builds) == 1
    (family / "elsewhere.json").write_text(jsjson.dumps(run_record("elsewhere"), 2))  # another family
    assert client.get("/runs/elsewhere/").status_code == 200  # the store has seen it
    assert b"child-a" in client.get("/runs/child-a/tree/").content
    assert len(builds) == 1  # not rebuilt
    add_child(family, "child-b")
    assert b"child-b" in client.get("/runs/child-a/tree/").content
    assert len(builds) == 2
