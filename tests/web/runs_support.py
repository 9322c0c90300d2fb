"""Stores and helpers shared by the run page tests (tests/web/test_runs_*.py, test_api_runs.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runtime_adapter.js import jsjson
from tests.factories import run_record

HOSTILE_INPUT = '<script>alert("in")</script><img src=x onerror=alert(1)>'
HOSTILE_ID = 'evil"<b>&\'x'


def write_store(directory: Path, records: list[dict], corrupt: dict[str, bytes] | None = None) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for record in records:
        (directory / f"{record['id']}.json").write_text(jsjson.dumps(record, 2), encoding="utf-8")
    for name, content in (corrupt or {}).items():
        (directory / name).write_bytes(content)
    return directory.as_uri()


def step(index: int, kind: str, status: str, second: int, duration: int | None) -> dict:
    record = {"id": f"s{index}", "type": kind, "status": status,
              "createdAt": f"2026-01-01T00:00:{second:02d}.000Z", "updatedAt": f"2026-01-01T00:00:{second:02d}.500Z"}
    if duration is not None:
        record["durationMs"] = duration
    return record


def big_run(run_id: str = "big-run", steps: int = 250, events: int = 450) -> dict:
    return run_record(
        run_id,
        status="completed",
        steps=[step(i, "model" if i % 2 else "tool", "completed", i % 60, 20) for i in range(steps)],
        events=[{"id": f"e{i}", "type": "tick" if i % 3 else "tock", "timestamp": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                 "payload": {"n": i}} for i in range(events)],
    )


def htmx(client, url: str, target: str | None = None, **extra):
    headers = {"HTTP_HX_REQUEST": "true", **extra}
    if target:
        headers["HTTP_HX_TARGET"] = target
    return client.get(url, **headers)


def body(response) -> str:
    return response.content.decode()


def json_body(response):
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def redis_test_url() -> str:
    """The Redis database the cache tests use: `CONTROLPLANE_TEST_REDIS`, or database 15 for the first pytest-xdist
    worker, 14 for the second and so on, so that one worker clearing its cache never empties another's."""
    if url := os.environ.get("CONTROLPLANE_TEST_REDIS"):
        return url
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"redis://127.0.0.1:6379/{15 - int(worker.removeprefix('gw') or 0) % 16}"
