"""A comparison depends on its two runs only: writing another run must not throw it away.

Found under load (bench/load.py): with a writer adding run files, every refresh of the
index changed the store-wide marker, so the compare page of two 5,000-step runs (3 s)
was recomputed about once a second by every thread that asked for it, and the server
answered 0.6 requests a second instead of 60.
"""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from runtime_adapter.js import jsjson
from tests.factories import run_record


def write(directory, record) -> None:
    (directory / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")


def steps(outputs: list[str]) -> list[dict]:
    return [{"id": f"step-{index}", "type": "tool", "status": "completed", "payload": {"toolName": "search"},
             "output": {"answer": output}} for index, output in enumerate(outputs)]


@pytest.fixture
def pair(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    cache.clear()
    runs = tmp_path / "runs"
    runs.mkdir()
    write(runs, run_record("left", steps=steps(["alpha", "beta"])))
    write(runs, run_record("right", status="failed", steps=steps(["alpha", "gamma"])))
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    return runs


@pytest.fixture
def diffs(monkeypatch):
    """Counts how often a comparison is computed (the page and the API each call the differ once)."""
    import incidents.api
    import incidents.compare

    calls: list[str] = []
    for module, function in ((incidents.compare, "compare_runs"), (incidents.api, "compare_payload")):
        real = getattr(module, function)

        def counted(*args, real=real, name=module.__name__, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, function, counted)
    return calls


def test_the_compare_page_is_not_recomputed_when_another_run_is_written(client, pair, diffs):
    assert client.get("/compare/", {"left": "left", "right": "right"}).status_code == 200
    write(pair, run_record("unrelated", created="2026-01-01T00:00:09.000Z"))
    assert client.get("/api/runs/", {"q": "unrelated"}).content.count(b"unrelated") >= 1  # the store did change
    response = client.get("/compare/", {"left": "left", "right": "right"})
    assert response.status_code == 200
    assert diffs == ["incidents.compare"]


def test_the_compare_api_is_not_recomputed_when_another_run_is_written(client, pair, diffs):
    assert client.get("/api/compare/", {"left": "left", "right": "right"}).status_code == 200
    write(pair, run_record("unrelated", created="2026-01-01T00:00:09.000Z"))
    assert client.get("/api/compare/", {"left": "left", "right": "right"}).status_code == 200
    assert diffs == ["incidents.api"]


def test_the_compare_page_shows_a_run_rewritten_in_place(client, pair, diffs):
    assert b"delta" not in client.get("/compare/", {"left": "left", "right": "right"}).content
    path = pair / "right.json"
    inode = os.stat(path).st_ino
    with path.open("r+", encoding="utf-8") as handle:  # truncated and written again, as fs.writeFile does
        handle.truncate(0)
        handle.write(jsjson.dumps(run_record("right", status="failed", steps=steps(["alpha", "delta"])), 2))
    assert os.stat(path).st_ino == inode
    assert b"delta" in client.get("/compare/", {"left": "left", "right": "right"}).content
    assert len(diffs) == 2


def test_the_compare_page_shows_a_run_replaced_by_rename(client, pair, diffs):
    assert b"zeta" not in client.get("/compare/", {"left": "left", "right": "right"}).content
    temporary = pair / "left.json.tmp"
    # Same size as before, so only the new inode tells the versions apart.
    temporary.write_text(jsjson.dumps(run_record("left", steps=steps(["alpha", "zeta"])), 2), encoding="utf-8")
    os.replace(temporary, pair / "left.json")
    assert b"zeta" in client.get("/compare/", {"left": "left", "right": "right"}).content
    assert len(diffs) == 2


def test_a_compare_of_a_missing_run_is_a_404_and_not_cached(client, pair, diffs):
    assert client.get("/compare/", {"left": "left", "right": "later"}).status_code == 404
    write(pair, run_record("later", steps=steps(["alpha"])))
    assert client.get("/compare/", {"left": "left", "right": "later"}).status_code == 200


def test_a_payload_missing_from_the_cache_is_computed_by_one_thread_while_the_others_wait(pair):
    """Under load a cold worker got the same 3-5 s comparison computed by each of its threads at once."""
    import threading
    import time

    from controlplane.caching import cached_for_runs
    from controlplane.stores import get_run_store

    store = get_run_store()
    calls: list[int] = []
    results: list[object] = []
    start = threading.Barrier(4)

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"answer": len(calls)}

    def request():
        start.wait()
        results.append(cached_for_runs(store, "slow", ("left", "right"), (), compute))

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert calls == [1]
    assert results == [{"answer": 1}] * 4


def test_a_failing_computation_is_not_cached_and_the_waiters_see_the_error(pair):
    import threading

    from controlplane.caching import cached_for_runs
    from controlplane.stores import get_run_store

    store = get_run_store()
    errors: list[str] = []

    def compute():
        raise LookupError("broken")

    def request():
        try:
            cached_for_runs(store, "broken", ("left",), (), compute)
        except LookupError as error:
            errors.append(str(error))

    threads = [threading.Thread(target=request) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == ["broken"] * 3
