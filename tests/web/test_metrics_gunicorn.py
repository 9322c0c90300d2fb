"""The real server: gunicorn with 2 workers and controlplane/gunicorn_conf.py, as `make serve` starts it.

Requests answered by both workers add up in one scrape, whichever worker answers it;
files an earlier server left are not counted; gunicorn's and the application's log lines
are one JSON object each with CONTROLPLANE_LOG_FORMAT=json.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import multiprocess
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import run_record
from tests.web.runs_support import write_store

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
TOKEN = "gunicorn-metrics-token-51c2"
RUN_IDS = [f"g-{number}" for number in range(6)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def detail_requests_by_worker(directory: Path) -> dict[int, float]:
    """runs:detail 2xx requests counted in each worker's own file."""
    counted: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in multiprocess.MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if (sample.name == "controlplane_http_requests_total" and sample.labels.get("view") == "runs:detail"
                        and sample.labels.get("status") == "2xx"):
                    counted[pid] = counted.get(pid, 0) + sample.value
    return {pid: count for pid, count in counted.items() if count}


def scraped_detail_requests(port: int) -> float:
    status, body = get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if (sample.name == "controlplane_http_requests_total" and sample.labels.get("view") == "runs:detail"
                    and sample.labels.get("status") == "2xx"):
                return sample.value
    return 0.0


@pytest.fixture
def server(tmp_path):
    data = tmp_path / "data"
    stale = data / "prometheus"
    stale.mkdir(parents=True)
    (stale / "counter_999999.db").write_bytes(b"left by an earlier server")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CONTROLPLANE_", "DJANGO_", "PROMETHEUS_"))}
    env.update(CONTROLPLANE_DATA_DIR=str(data), CONTROLPLANE_LOGIN_REQUIRED="0", CONTROLPLANE_METRICS_TOKEN=TOKEN,
               CONTROLPLANE_LOG_FORMAT="json", CONTROLPLANE_ALLOWED_HOSTS="127.0.0.1",
               CONTROLPLANE_RUN_STORE=write_store(tmp_path / "runs", [run_record(run_id) for run_id in RUN_IDS]))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", "controlplane/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield port, stale, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_requests_answered_by_both_workers_add_up_in_every_scrape(server):
    port, directory, log = server
    assert not (directory / "counter_999999.db").exists()  # the master emptied it when it started
    # One request first builds the file index: both workers creating it at once failed one start in
    # about twenty with "no such table: meta" (runtime_adapter/stores/sqlite_index.py; reported).
    assert get(port, "/runs/")[0] == 200
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(20):  # until both workers have answered some (gunicorn does not promise a split)
            statuses = list(pool.map(lambda index: get(port, f"/runs/{RUN_IDS[index % len(RUN_IDS)]}/")[0],
                                     range(24)))
            assert statuses == [200] * 24
            sent += 24
            if len(detail_requests_by_worker(directory)) >= 2:
                break
    by_worker = detail_requests_by_worker(directory)
    assert len(by_worker) == 2, by_worker
    assert sum(by_worker.values()) == sent
    # Each scrape is answered by one worker or the other; every one counts both.
    assert [scraped_detail_requests(port) for _ in range(6)] == [float(sent)] * 6

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]  # every line, gunicorn's own included, is one JSON object
    assert any(item["logger"] == "gunicorn.error" and "Booting worker" in item["message"] for item in objects)
    requests = [item for item in objects if item["logger"] == "controlplane.request" and item["view"] == "runs:detail"]
    assert len(requests) == sent
    assert len({item["request_id"] for item in requests}) == sent
