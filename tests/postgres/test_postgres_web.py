"""Pages served from a PostgreSQL store, beside a file store, and a clear 503 when it is down."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import write_store

pytestmark = pytest.mark.postgres


@pytest.fixture
def web(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    cache.clear()
    return settings


def test_a_postgresql_store_and_a_file_store_are_served_side_by_side(client, web, load, empty_db, tmp_path):
    source = tmp_path / "mirrored"
    write_store(source, [
        run_record("pg-root", children=["pg-child"]),
        run_record("pg-child", parent="pg-root", root="pg-root", status="failed",
                   errors=[{"name": "ToolError", "message": "mirrored failure"}]),
    ])
    load(source, redact_rows=True)  # as load_runs writes them for a control plane that redacts
    web.CONTROLPLANE_STORES = {"prod": empty_db, "local": write_store(tmp_path / "local", [run_record("file-run")])}
    listing = client.get("/s/prod/runs/")
    assert listing.status_code == 200
    assert b"pg-root" in listing.content and b"file-run" not in listing.content
    assert 'href="/s/prod/runs/pg-child/"' in listing.content.decode()
    assert_valid_html(listing.content)
    for path in ["runs/pg-child/", "runs/pg-root/tree/", "incidents/", "incidents/pg-child/", "runs/pg-root/lineage.svg"]:
        response = client.get(f"/s/prod/{path}")
        assert response.status_code == 200, path
    assert b"mirrored failure" in client.get("/s/prod/incidents/pg-child/").content
    assert b"file-run" in client.get("/s/local/runs/").content


def test_rows_loaded_without_redaction_make_the_list_a_503_page_that_says_what_to_run(client, web, load, empty_db,
                                                                                      tmp_path):
    load(write_store(tmp_path / "raw", [run_record("raw-run", input="loaded with redaction off")]))
    web.CONTROLPLANE_RUN_STORE = empty_db
    listing = client.get("/runs/", {"q": "redaction"})
    assert listing.status_code == 503
    assert b"load_runs" in listing.content and b"CONTROLPLANE_REDACT_SECRETS=1" in listing.content
    assert client.get("/api/runs/raw-run/trace/").status_code == 200  # a run's trace reads only the document
    web.CONTROLPLANE_REDACT_SECRETS = False
    assert client.get("/runs/", {"q": "redaction"}).status_code == 200


def test_a_database_that_is_down_is_a_503_page(client, web):
    web.CONTROLPLANE_RUN_STORE = "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=1"
    response = client.get("/runs/")
    assert response.status_code == 503
    assert b"unavailable" in response.content
    assert_valid_html(response.content)
    assert client.get("/api/runs/").status_code == 503


def test_a_workers_warm_up_keeps_connections_open_for_a_first_page_that_reads_on_several(web, load, empty_db, tmp_path):
    """A release comparison's first request reads its two sides and its pairs at once: each connection it had to
    open cost 5-30 ms of it. The warm-up has the pool keep WARM_CONNECTIONS open; a store built elsewhere (a test,
    a command) keeps its one."""
    import time

    from controlplane import warmup
    from controlplane.instruments import innermost
    from controlplane.stores import get_run_store, reset_stores

    load(write_store(tmp_path / "source", [run_record("pg-run")]), redact_rows=True)
    web.CONTROLPLANE_RUN_STORE = empty_db
    reset_stores()
    store = innermost(get_run_store())
    store.change_marker()
    assert store._pool.get_stats()["pool_size"] < warmup.WARM_CONNECTIONS
    warmup.warm_up()
    deadline = time.monotonic() + 10
    while store._pool.get_stats()["pool_size"] < warmup.WARM_CONNECTIONS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store._pool.get_stats()["pool_size"] >= warmup.WARM_CONNECTIONS
    reset_stores()
