"""Faults for `bench/load.py`: a run-file writer, a private PostgreSQL cluster to restart, and probes.

The writer only ever touches a hard-linked copy made by `owned_copy`: new files, and
rewrites that replace a file by rename (a new inode, so the linked original is not
touched) or truncate in place a file whose link was broken first (checked before every
open). Run it as a process of its own:

    python bench/faults.py write CONFIG.json
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime_adapter.js import jsjson  # noqa: E402

REWRITE_MARK = "rewritten"


# The store copy ---------------------------------------------------------------------


def owned_copy(source: Path, target: Path) -> float:
    """A fresh hard-linked copy of `source` at `target` (whatever was there is ours and goes)."""
    started = time.monotonic()
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(source), str(target)], check=True, timeout=600)
    return time.monotonic() - started


def break_link(path: Path) -> None:
    """Give the copy its own inode for `path`, so writing it in place leaves the original alone."""
    temporary = path.with_name(path.name + ".unlink")
    shutil.copyfile(path, temporary)
    os.replace(temporary, path)
    if os.stat(path).st_nlink != 1:
        raise RuntimeError(f"{path} still shares its inode")


# The writer -----------------------------------------------------------------------------


@dataclass
class WriterConfig:
    directory: str
    seconds: float
    journal: str
    prefix: str            # new run ids are f"{prefix}-{n:05d}"
    templates: list[str]   # run ids whose records new runs are made from
    rename_targets: list[str]
    truncate_targets: list[str]  # files whose link was broken (see break_link)
    ops_per_second: float = 12.0
    chunks: int = 4
    chunk_pause: float = 0.02


@dataclass
class Journal:
    created_rename: list[str] = field(default_factory=list)
    created_in_place: list[str] = field(default_factory=list)
    rewritten_rename: dict[str, int] = field(default_factory=dict)     # id -> last rewrite number
    rewritten_truncate: dict[str, int] = field(default_factory=dict)
    refused: int = 0       # truncations skipped because the file was not ours alone
    failures: list[str] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float = 0.0


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _slow_write(fd: int, data: bytes, chunks: int, pause: float) -> None:
    size = max(1, -(-len(data) // chunks))
    for start in range(0, len(data), size):
        view = memoryview(data)[start : start + size]
        while view:
            written = os.write(fd, view)
            view = view[written:]
        time.sleep(pause)


def _rewritten(record: dict[str, Any], mark: str) -> bytes:
    text = record.get("input") if isinstance(record.get("input"), str) else ""
    base = text.split(f" [{REWRITE_MARK} ", 1)[0]
    record["input"] = f"{base} [{REWRITE_MARK} {mark}]"
    timestamps = record.get("timestamps")
    if isinstance(timestamps, dict):
        timestamps["updatedAt"] = _now_iso()
    return jsjson.dumps(record, 2).encode()


class Writer:
    def __init__(self, config: WriterConfig) -> None:
        self.config = config
        self.directory = Path(config.directory)
        self.journal = Journal()
        self.stop = False
        self._templates = [jsjson.loads((self.directory / f"{run_id}.json").read_bytes())
                           for run_id in config.templates]

    def _new_record(self, run_id: str, number: int) -> bytes:
        record = json.loads(json.dumps(self._templates[number % len(self._templates)]))
        record["id"] = run_id
        record["input"] = f"load writer run {number}"
        metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
        metadata.pop("lineage", None)  # a root run: it must not join another run's tree
        metadata["loadWriter"] = True
        record["metadata"] = metadata
        now = _now_iso()
        timestamps = record.get("timestamps") if isinstance(record.get("timestamps"), dict) else {}
        for key in ("createdAt", "startedAt", "updatedAt"):
            timestamps[key] = now
        for key in ("completedAt", "failedAt", "cancelledAt"):
            if timestamps.get(key):
                timestamps[key] = now
        record["timestamps"] = timestamps
        return jsjson.dumps(record, 2).encode()

    def create_rename(self, number: int) -> None:
        run_id = f"{self.config.prefix}-{number:05d}"
        final = self.directory / f"{run_id}.json"
        temporary = final.with_name(final.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            _slow_write(fd, self._new_record(run_id, number), self.config.chunks, self.config.chunk_pause)
        finally:
            os.close(fd)
        os.rename(temporary, final)
        self.journal.created_rename.append(run_id)

    def create_in_place(self, number: int) -> None:
        # fs.writeFile on a new name: the file exists, empty then partial, while it is written.
        run_id = f"{self.config.prefix}-{number:05d}"
        fd = os.open(self.directory / f"{run_id}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            _slow_write(fd, self._new_record(run_id, number), self.config.chunks, self.config.chunk_pause)
        finally:
            os.close(fd)
        self.journal.created_in_place.append(run_id)

    def rewrite_rename(self, run_id: str, number: int) -> None:
        final = self.directory / f"{run_id}.json"
        data = _rewritten(jsjson.loads(final.read_bytes()), f"{self.config.prefix} #{number}")
        temporary = final.with_name(final.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            _slow_write(fd, data, self.config.chunks, self.config.chunk_pause)
        finally:
            os.close(fd)
        os.replace(temporary, final)  # replaces the link: the store we copied keeps its file
        self.journal.rewritten_rename[run_id] = number

    def rewrite_truncate(self, run_id: str, number: int) -> None:
        path = self.directory / f"{run_id}.json"
        data = _rewritten(jsjson.loads(path.read_bytes()), f"{self.config.prefix} #{number}")
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            # Checked on the open descriptor: never truncate an inode another store shares.
            if os.fstat(fd).st_nlink != 1:
                self.journal.refused += 1
                return
            os.ftruncate(fd, 0)
            _slow_write(fd, data, self.config.chunks, self.config.chunk_pause)
        finally:
            os.close(fd)
        self.journal.rewritten_truncate[run_id] = number

    def run(self) -> Journal:
        config = self.config
        self.journal.started_at = time.time()
        deadline = time.monotonic() + config.seconds
        interval = 1.0 / config.ops_per_second
        number = 0
        while not self.stop and time.monotonic() < deadline:
            began = time.monotonic()
            try:
                match number % 4:
                    case 0:
                        self.create_rename(number)
                    case 1:
                        self.create_in_place(number)
                    case 2:
                        targets = config.rename_targets
                        self.rewrite_rename(targets[(number // 4) % len(targets)], number)
                    case _:
                        targets = config.truncate_targets
                        self.rewrite_truncate(targets[(number // 4) % len(targets)], number)
            except OSError as error:
                self.journal.failures.append(f"op {number}: {error}")
            number += 1
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
        self.journal.ended_at = time.time()
        return self.journal


def write_main(config_path: str) -> int:
    config = WriterConfig(**json.loads(Path(config_path).read_text()))
    writer = Writer(config)

    def _stop(*_: object) -> None:
        writer.stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    journal = writer.run()
    Path(config.journal).write_text(json.dumps(journal.__dict__, indent=2))
    return 0


# A PostgreSQL cluster we may stop and start ----------------------------------------------


@dataclass
class Cluster:
    """A Debian PostgreSQL cluster driven by pg_ctlcluster (`cpload` is created on first use)."""

    version: str
    name: str
    port: int
    started_by_us: bool = False

    @classmethod
    def for_name(cls, name: str, port: int) -> Cluster:
        versions = sorted(os.listdir("/etc/postgresql"))
        if not versions:
            raise RuntimeError("no PostgreSQL installed under /etc/postgresql")
        return cls(versions[-1], name, port)

    def _ctl(self, action: str, *extra: str) -> float:
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *extra],
                       check=True, timeout=120, stdout=subprocess.DEVNULL)
        return time.monotonic() - started

    def exists(self) -> bool:
        return Path(f"/etc/postgresql/{self.version}/{self.name}").is_dir()

    def online(self) -> bool:
        return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                              timeout=30).returncode == 0

    def ensure(self) -> None:
        """Create (trust on loopback, never started at boot) and start the cluster when needed."""
        if not self.exists():
            if self.name == "main":
                raise RuntimeError("the main cluster is missing")
            subprocess.run(["pg_createcluster", self.version, self.name, "-p", str(self.port), "--",
                            "--auth-host=trust", "--auth-local=trust"], check=True, timeout=300,
                           stdout=subprocess.DEVNULL)
            Path(f"/etc/postgresql/{self.version}/{self.name}/start.conf").write_text("manual\n")
        if not self.online():
            self.start()
            self.started_by_us = True

    def start(self) -> float:
        return self._ctl("start")

    def stop(self) -> float:
        return self._ctl("stop", "-m", "fast")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


# Probes -------------------------------------------------------------------------------------


@dataclass
class Probe:
    sent: float      # time.monotonic()
    done: float
    status: int      # 0: no answer (connection refused, timeout)
    path: str
    body: bytes = b""  # kept for answers other than 200


class Prober(threading.Thread):
    """Requests `paths` in turn, one at a time, until `deadline`, recording every answer."""

    def __init__(self, port: int, paths: list[str], deadline: float, *, pause: float = 0.05,
                 timeout: float = 60.0) -> None:
        super().__init__(daemon=True, name="prober")
        self.port, self.paths, self.deadline, self.pause, self.timeout = port, paths, deadline, pause, timeout
        self.probes: list[Probe] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        index = 0
        while time.monotonic() < self.deadline and not self.stopped.is_set():
            path = self.paths[index % len(self.paths)]
            index += 1
            sent = time.monotonic()
            status, body = 0, b""
            connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                    timeout=min(self.timeout, max(1.0, self.deadline - sent + 5)))
            try:
                connection.request("GET", path, headers={"Host": "127.0.0.1"})
                response = connection.getresponse()
                status, body = response.status, response.read()
            except (OSError, http.client.HTTPException) as error:
                body = repr(error).encode()
            finally:
                connection.close()
            self.probes.append(Probe(sent, time.monotonic(), status, path, b"" if status == 200 else body))
            self.stopped.wait(self.pause)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        sys.exit(write_main(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
