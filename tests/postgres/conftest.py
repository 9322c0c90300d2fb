"""A throw-away database on the real PostgreSQL server for every test session.

The server at 127.0.0.1:5432 (trust auth, user postgres; `scripts/ensure-postgres.sh`
starts it) must be running: when it is not, every test here fails with the reason.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.stores.postgres import PostgresRunStore
from runtime_adapter.stores.registry import open_store
from write_side.postgres_load import LoadResult, create_schema, load_store

SERVER = os.environ.get("CONTROLPLANE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def database_url(name: str) -> str:
    return f"{SERVER}/{name}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(database_url("postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {SERVER} ({str(error).strip()}). "
            "Start it with scripts/ensure-postgres.sh (make test does).",
            pytrace=False,
        )
    name = f"cp_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = database_url(name)
        with psycopg.connect(url, autocommit=True) as connection:
            create_schema(connection)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def empty_db(pg_url: str) -> str:
    """The session database with no runs and no error rows."""
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("TRUNCATE runs, store_errors")
    return pg_url


@pytest.fixture
def load(empty_db: str) -> Callable[..., LoadResult]:
    def load_source(source: str | Path | RunStore, **options) -> LoadResult:
        store = source if isinstance(source, RunStore) else open_store(
            source if isinstance(source, str) else Path(source).as_uri())
        return load_store(store, empty_db, **options)

    return load_source


@pytest.fixture
def pg_store(empty_db: str) -> Iterator[PostgresRunStore]:
    store = PostgresRunStore(empty_db)
    yield store
    store.close()


class Proxy:
    """A TCP forwarder to the server that can be cut and restored: a database going down and up."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up = False
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    forwarder = Proxy()
    yield forwarder
    forwarder.close()
