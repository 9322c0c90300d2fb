"""/readyz with a PostgreSQL run store on the real server: 503 while the database is cut off, 200 once it is back.

The database goes down the way a client sees an outage: its connections are cut and new
ones refused (the TCP forwarder of tests/postgres, between the store and the server at
127.0.0.1:5432). That server must be running; these tests fail when it is not.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from controlplane import health
from runtime_adapter.stores.registry import open_store
from tests.factories import run_record
from tests.postgres.conftest import SERVER, Proxy
from tests.web.runs_support import write_store
from write_side.postgres_load import create_schema, load_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def database() -> Iterator[str]:
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {SERVER} ({str(error).strip()}); "
                    "start it with scripts/ensure-postgres.sh (make test does).", pytrace=False)
    name = f"cp_test_readyz_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as connection:
            create_schema(connection)
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    forwarder = Proxy()
    yield forwarder
    forwarder.close()


@pytest.fixture(autouse=True)
def fresh_probes(monkeypatch):
    health.reset()
    monkeypatch.setattr(health, "READY_CACHE_SECONDS", 0.0)
    monkeypatch.setattr(health, "PROBE_TIMEOUT_SECONDS", 1.0)
    yield
    health.reset()


def readyz(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, json.loads(response.content)


def wait_for(client, status: int, seconds: float = 30) -> tuple[int, dict, float]:
    started = time.monotonic()
    while True:
        answer, body = readyz(client)
        if answer == status or time.monotonic() - started > seconds:
            return answer, body, time.monotonic() - started
        time.sleep(0.25)


def test_readyz_is_503_while_postgresql_is_down_and_200_once_it_is_back(client, runs_settings, database, proxy,
                                                                       tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"
    source = open_store(write_store(tmp_path / "runs", [run_record("pg-ready-1"), run_record("pg-ready-2")]))
    load_store(source, f"{SERVER}/{database}", redact_rows=True)
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "files", [run_record("file-run")])
    runs_settings.CONTROLPLANE_STORES = {"pg": url}
    status, body, _ = wait_for(client, 200)  # once the file store's index is first built
    assert status == 200, body
    assert body["checks"]["store:pg"] == {"ok": True, "detail": "postgresql store answers"}

    proxy.cut()
    status, body, seconds = wait_for(client, 503)
    assert status == 503, body
    assert body["notReady"] == ["store:pg"]
    assert body["checks"]["store:default"]["ok"] and body["checks"]["database"]["ok"]
    assert str(proxy.port) not in json.dumps(body) and database not in json.dumps(body)
    assert seconds < 5  # the first probe after the cut already says so, within its deadline

    proxy.restore()
    status, body, seconds = wait_for(client, 200)
    assert status == 200, body
    assert body["checks"]["store:pg"]["ok"]
    assert b"pg-ready-1" in client.get("/s/pg/runs/").content  # and the pages read it again
