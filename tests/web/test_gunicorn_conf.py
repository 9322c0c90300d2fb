"""controlplane/gunicorn_conf.py: what `make serve` (and the bench and load servers) start gunicorn with."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured


def load_conf(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("CONTROLPLANE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import controlplane.gunicorn_conf as conf

    return importlib.reload(conf)


def test_each_worker_holds_a_bounded_share_of_the_connections(monkeypatch, tmp_path):
    """Unbounded, 64 keep-alive clients could pile onto one of two workers (make load: half the throughput)."""
    assert load_conf(monkeypatch, tmp_path).worker_connections == 32
    assert load_conf(monkeypatch, tmp_path, CONTROLPLANE_WORKER_CONNECTIONS="100").worker_connections == 100
    with pytest.raises(ImproperlyConfigured, match="CONTROLPLANE_WORKER_CONNECTIONS"):
        load_conf(monkeypatch, tmp_path, CONTROLPLANE_WORKER_CONNECTIONS="lots")


def test_workers_keep_one_malloc_arena_unless_told_otherwise(monkeypatch, tmp_path):
    """Each thread's arena held memory the others could not reuse: ~10% more peak RSS per worker (bench, 100k)."""
    assert load_conf(monkeypatch, tmp_path).malloc_arenas == 1
    conf = load_conf(monkeypatch, tmp_path, CONTROLPLANE_MALLOC_ARENAS="0")
    assert conf.malloc_arenas == 0 and conf.limit_malloc_arenas(0) is False
    assert conf.limit_malloc_arenas(1) is True  # glibc, as on the machines this runs on
    with pytest.raises(ImproperlyConfigured, match="CONTROLPLANE_MALLOC_ARENAS"):
        load_conf(monkeypatch, tmp_path, CONTROLPLANE_MALLOC_ARENAS="one")


def test_gunicorns_access_log_stays_off_unless_asked_for(monkeypatch, tmp_path):
    """It prints query strings unredacted: silenced by default, written only when a command line asks for it."""
    assert "gunicorn.access" in load_conf(monkeypatch, tmp_path).logconfig_dict["loggers"]
    asked = load_conf(monkeypatch, tmp_path, GUNICORN_CMD_ARGS="--access-logfile /tmp/x.log")
    assert "gunicorn.access" not in asked.logconfig_dict["loggers"]


def test_a_worker_imports_compiles_and_opens_its_stores_before_its_first_request(settings, tmp_path, caplog):
    """post_worker_init's warm-up: every module and template of the site, and the configured stores; a store that
    cannot be opened is logged and left to the first page to report, never a worker that fails to start."""
    from pathlib import Path

    from controlplane import warmup
    from controlplane.stores import reset_stores

    templates = list((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
    assert warmup._compile_templates() == len(templates) > 50
    assert warmup._import_modules() > 100
    settings.CONTROLPLANE_RUN_STORE = "nosuch://store"  # opening it raises UnknownStoreScheme
    reset_stores()
    with caplog.at_level(logging.WARNING, logger="controlplane.warmup"):
        warmup.warm_up()
    assert "Warming up the worker failed" in caplog.text and "nosuch" in caplog.text


def test_the_warm_up_opens_a_file_stores_index_without_reading_a_run(settings, tmp_path):
    """A worker's first page paid ~90 ms opening the index database and (in a large store) the directory watch,
    ~70 ms for a PostgreSQL pool; the warm-up opens them, as /readyz does, and reads no run."""
    from controlplane import warmup
    from controlplane.instruments import innermost
    from controlplane.stores import get_run_store, reset_stores
    from runtime_adapter.stores.indexed import IndexedFileRunStore
    from tests.factories import run_record
    from tests.parity import write_run

    directory = tmp_path / "runs"
    directory.mkdir()
    write_run(directory, run_record("only-run"))
    settings.CONTROLPLANE_RUN_STORE = directory.as_uri()
    reset_stores()
    inner = innermost(get_run_store())
    assert isinstance(inner, IndexedFileRunStore)
    assert not inner.index._ready
    read: list[str] = []
    original = inner.get_run
    inner.get_run = lambda run_id: read.append(run_id) or original(run_id)  # type: ignore[method-assign]
    warmup.warm_up()
    assert inner.index._ready
    assert read == []


def test_the_warm_up_opens_the_cache_client(settings):
    """A worker's first page that used the Redis cache imported redis-py and connected (120 ms of a first
    comparison, profiled); the warm-up does, and stores nothing."""
    from django.core.cache import caches

    from controlplane import warmup
    from tests.web.runs_support import redis_test_url

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_test_url(), "KEY_PREFIX": "warm-up-test"}}
    cache = caches["default"]
    assert "_cache" not in cache.__dict__
    warmup.warm_up()
    assert "_cache" in cache.__dict__  # the client, made and connected
    assert cache.get("controlplane:warm-up") is None


def test_a_worker_freezes_what_it_holds_after_warming_up(monkeypatch, tmp_path):
    """Full collections during a page walked the ~105,000 objects every worker holds for good (100k runs: the first
    releases page 300-330 ms, 175-190 ms with them frozen)."""
    import gc

    from controlplane import warmup

    conf = load_conf(monkeypatch, tmp_path)
    order = []
    monkeypatch.setattr(warmup, "warm_up", lambda: order.append(gc.get_freeze_count()))
    gc.unfreeze()
    try:
        conf.post_worker_init(None)
        assert order == [0]  # frozen after the warm-up, so that what it loaded is frozen too
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
