"""Run the real server (gunicorn) against a store and time its pages."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Timing:
    name: str
    path: str
    status: int = 0
    first_ms: float = 0.0
    samples_ms: list[float] = field(default_factory=list)
    size: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def p95(self) -> float:
        if not self.samples_ms:
            return float("nan")
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Server:
    """gunicorn on 127.0.0.1 (a free port), login off, as `make serve` starts it."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 4, log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "CONTROLPLANE_LOGIN_REQUIRED": "0", "CONTROLPLANE_DEBUG": "0"}
        self.log = log
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env,
                       check=True)
        self.process = subprocess.Popen(
            # The settings `make serve` uses (controlplane/gunicorn_conf.py: connections per worker, logging, metrics).
            [str(VENV_BIN / "gunicorn"), "-c", "controlplane/gunicorn_conf.py", "controlplane.wsgi",
             "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "300"],
            cwd=ROOT, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see {self.log}")
            try:
                status, _ = self.get("/static/css/app.css")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log}")

    def get(self, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            connection.request("GET", path, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def measure(self, name: str, path: str, repeat: int, warmup: int = 2) -> Timing:
        timing = Timing(name, path)
        for index in range(warmup + repeat):
            started = time.perf_counter()
            status, body = self.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            timing.status, timing.size = status, len(body)
            if index == 0:
                timing.first_ms = elapsed
            if index >= warmup:
                timing.samples_ms.append(elapsed)
        return timing

    def pids(self) -> list[int]:
        found = [self.process.pid]
        try:
            output = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True,
                                    text=True, check=False).stdout
            found += [int(pid) for pid in output.split()]
        except OSError:
            pass
        return found

    def peak_rss_mb(self) -> dict[int, float]:
        """VmHWM (peak resident set) of the master and each worker, in MB."""
        peaks: dict[int, float] = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1]) / 1024
            except OSError:
                continue
        return peaks

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
