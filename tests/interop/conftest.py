"""Real third-party receivers started as subprocesses on 127.0.0.1: Arize Phoenix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Phoenix migrates its SQLite database and loads its UI before it answers: tens of seconds on two busy cores.
START_SECONDS = 240


@dataclass(frozen=True)
class Phoenix:
    url: str
    log: Path

    @property
    def traces_endpoint(self) -> str:
        return f"{self.url}/v1/traces"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """A Phoenix server of its own (SQLite in a temporary working directory), stopped after its module."""
    executable = Path(sys.executable).with_name("phoenix")
    if not executable.exists():
        pytest.fail(f"Arize Phoenix is not installed ({executable} is missing): run `make test` (it installs requirements-interop.txt) "
                    "(requirements.txt pins arize-phoenix).", pytrace=False)
    workdir = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(workdir), "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(port),
           "PHOENIX_GRPC_PORT": str(free_port()), "PHOENIX_SQL_DATABASE_URL": f"sqlite:///{workdir}/phoenix.db",
           "PHOENIX_TELEMETRY_ENABLED": "false"}
    log = workdir / "phoenix.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([str(executable), "serve"], env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=workdir)
    server = Phoenix(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(f"{server.url}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"Phoenix did not start on {server.url} (exit code {process.poll()}):\n{tail}", pytrace=False)
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
