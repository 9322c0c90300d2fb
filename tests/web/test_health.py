"""/healthz and /readyz: what a load balancer sees, with real stores, a real index lock and a real Redis."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from controlplane import health, stores
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.stores.sqlite_index import index_path_for
from tests.factories import run_record
from tests.web.runs_support import redis_test_url, write_store

pytestmark = pytest.mark.django_db

SECRET_INPUT = "deploy with sk-live-4eC39HqLyjWDarjtT1zdp7dc and the plan codenamed heliotrope-ledger"
REDIS_URL = redis_test_url()


@pytest.fixture(autouse=True)
def fresh_probes(monkeypatch):
    health.reset()
    monkeypatch.setattr(health, "READY_CACHE_SECONDS", 0.0)
    yield
    health.reset()


@pytest.fixture
def runs_dir(runs_settings, tmp_path) -> Path:
    directory = tmp_path / "runs"
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(directory, [
        run_record("health-run-1", input=SECRET_INPUT),
        run_record("health-run-2", status="failed"),
    ])
    return directory


def readyz(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, json.loads(response.content)


def test_healthz_answers_without_a_login_and_without_opening_a_store(client, settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.CONTROLPLANE_RUN_STORE = (tmp_path / "nowhere").as_uri()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert stores._stores == {}  # noqa: SLF001 - no store was opened to answer


def test_readyz_is_200_and_names_every_check_when_all_answer(client, runs_dir):
    status, body = readyz(client)
    assert status == 200, body
    assert body["status"] == "ready" and body["notReady"] == []
    assert set(body["checks"]) == {"store:default", "index:default", "database", "cache"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["index:default"]["detail"].startswith("0.0 s behind")


def test_readyz_needs_no_login_and_shows_no_run_data_or_paths(client, runs_dir, settings):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    response = client.get("/readyz")
    text = response.content.decode()
    assert response.status_code == 200
    for hidden in ("health-run-1", "sk-live", "heliotrope", str(runs_dir), str(settings.DATA_DIR)):
        assert hidden not in text
    assert client.get("/runs/").status_code == 302  # the pages still ask for a login


def test_readyz_is_503_naming_the_store_whose_directory_is_gone_without_saying_where(client, runs_dir):
    assert readyz(client)[0] == 200
    runs_dir.rename(runs_dir.with_name("moved"))
    status, body = readyz(client)
    assert status == 503
    assert body["status"] == "not ready" and body["notReady"] == ["store:default"]
    assert body["checks"]["store:default"] == {"ok": False, "detail": "does not answer"}
    assert str(runs_dir) not in json.dumps(body)
    runs_dir.with_name("moved").rename(runs_dir)
    assert readyz(client)[0] == 200


def test_readyz_names_the_one_named_store_that_is_down(client, runs_dir, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_STORES = {"alpha": write_store(tmp_path / "alpha", [run_record("a-1")]),
                                         "beta": (tmp_path / "beta-missing").as_uri()}
    status, body = readyz(client)
    assert status == 503
    assert body["notReady"] == ["store:beta"]
    assert body["checks"]["store:alpha"]["ok"] and body["checks"]["store:default"]["ok"]


def test_readyz_is_503_while_the_index_falls_behind_and_200_once_it_catches_up(client, runs_dir, runs_settings):
    runs_settings.CONTROLPLANE_READY_MAX_INDEX_LAG = 1
    assert readyz(client)[0] == 200
    # Another process (an `index_runs`, a stuck worker) holds the index's writer lock: no refresh can run.
    lock_path = index_path_for(runs_settings.DATA_DIR, runs_dir).with_suffix(".lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        write_store(runs_dir, [run_record("health-run-3")])
        time.sleep(1.3)
        status, body = readyz(client)
        assert status == 503, body
        assert body["notReady"] == ["index:default"]
        detail = body["checks"]["index:default"]["detail"]
        assert "s behind (at most 1 s)" in detail and "1 file pending" in detail
        assert body["checks"]["store:default"]["ok"]
    finally:
        os.close(descriptor)
    status, body = readyz(client)
    assert status == 200, body
    assert b"health-run-3" in client.get("/runs/").content


def test_readyz_keeps_its_answer_for_about_a_second(client, runs_dir, monkeypatch):
    monkeypatch.setattr(health, "READY_CACHE_SECONDS", 1.0)
    assert readyz(client)[0] == 200
    runs_dir.rename(runs_dir.with_name("moved"))
    assert readyz(client)[0] == 200  # the answer of a moment ago: no new probe
    time.sleep(1.1)
    assert readyz(client)[0] == 503


def test_readyz_is_503_naming_the_cache_when_redis_does_not_answer(client, runs_dir, settings):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{closed_port}/0"}}
    status, body = readyz(client)
    assert status == 503
    assert body["notReady"] == ["cache"]
    assert str(closed_port) not in json.dumps(body)


def test_readyz_reads_and_writes_a_real_redis(client, runs_dir, settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server.", pytrace=False)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    status, body = readyz(client)
    assert status == 200, body
    assert body["checks"]["cache"] == {"ok": True, "detail": "RedisCache answers"}
    cache.clear()


class SlowStore(RunStore):
    """A plugged-in backend whose server hangs: each change-marker call waits `seconds`."""

    calls = 0
    seconds = 3.0

    def __init__(self, url: str, **_: object) -> None:
        self.url = url

    def change_marker(self) -> str:
        type(self).calls += 1
        time.sleep(self.seconds)
        return "slow"


def test_a_hung_store_makes_readyz_answer_503_within_the_deadline_with_one_probe_at_a_time(
        client, runs_settings, monkeypatch):
    monkeypatch.setattr(health, "PROBE_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(SlowStore, "calls", 0)
    monkeypatch.setattr(SlowStore, "seconds", 3.0)
    runs_settings.CONTROLPLANE_STORE_BACKENDS = {"slow": f"{__name__}:SlowStore"}
    runs_settings.CONTROLPLANE_RUN_STORE = "slow://server"
    answers: list[tuple[int, dict, float]] = []
    for _ in range(3):
        started = time.monotonic()
        status, body = readyz(client)
        answers.append((status, body, time.monotonic() - started))
    for status, body, seconds in answers:
        assert status == 503 and body["notReady"] == ["store:default"]
        assert body["checks"]["store:default"]["detail"].startswith("no answer after")
        assert seconds < 1.5
    assert SlowStore.calls == 1  # the later probes waited on the first instead of piling up threads
    SlowStore.seconds = 0.0  # the server recovers; the call under way still takes its time
    deadline = time.monotonic() + 10
    while (status := readyz(client)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert status == 200
    assert SlowStore.calls == 2


def test_the_probes_answer_over_plain_http_where_pages_redirect_to_https(client, runs_dir, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/runs/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
