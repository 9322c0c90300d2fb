"""Load and faults against the real server on 127.0.0.1 (`make load`).

    python bench/load.py [--size 100000] [--seconds 30] [--connections 64]
                         [--scenarios file,writer,postgres,pg-restart] [--quick]

Four scenarios, each `--seconds` of Debian's `wrk` at `--connections` connections on a
fixed mix of list, detail, incident and compare pages (ids from the store's summary and
the API), against gunicorn (2 workers x 4 threads, login off):

- file: the indexed file store, on a hard-linked copy of the benchmark store (ours);
- writer: the same while a writer process adds run files to the copy and rewrites
  others (temporary file + rename, and in-place truncation written slowly in chunks);
  afterwards the new runs must be listed, searchable and readable by id;
- postgres: a PostgreSQL copy of the store in a cluster of our own (`cpload`, port 5433,
  created on first use, never started at boot, stopped again at the end);
- pg-restart: the same while that cluster is stopped for `--outage` seconds mid-run;
  requests meanwhile must be 503 pages (not tracebacks) and service must come back
  within 5 s of `pg_ctlcluster start` returning, with the same worker processes.

Requirements checked: no socket errors and no 5xx (file, writer, postgres); only clear
503s during the outage. Prints a table and appends it to bench/results/load-<date>.md.
Everything is bounded: every loop has a deadline and every process started here is
stopped on exit, Ctrl-C or error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.faults import REWRITE_MARK, Cluster, Prober, WriterConfig, break_link, owned_copy  # noqa: E402
from bench.server import ROOT, Server  # noqa: E402
from bench.stores import bench_dir, synthetic_store  # noqa: E402
from runtime_adapter.stores.indexed import FULL_SCAN_FACTOR, FULL_SCAN_SECONDS  # noqa: E402
from runtime_adapter.stores.sqlite_index import index_path_for, schema_version  # noqa: E402

MARK_503 = "Run store unavailable"
RECOVERY_TARGET_S = 5.0
NEW_RUNS_TARGET_S = 10.0  # "after the next index refresh": a quick refresh starts about every second, takes seconds under load
WRK_TIMEOUT_S = 30
LUA = r"""
local paths = {%(paths)s}
local counter = 0
-- Globals: thread:get() reads a thread's globals.
statuses = {}
bad = 0
sampled = {}
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("offset", next_id * 37)
  table.insert(threads, thread)
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Host"] = "127.0.0.1"})
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 400 and not sampled[status] then
    sampled[status] = true
    local file = io.open("%(sample)s-" .. status .. "-" .. offset .. ".html", "w")
    if file then file:write(body) file:close() end
  end
  if status >= 500 then
    if status ~= 503 or not string.find(body, "%(mark)s", 1, true) or string.find(body, "Traceback", 1, true) then
      bad = bad + 1
    end
  end
end

function done(summary, latency, requests)
  local all, bad_total = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      all[status] = (all[status] or 0) + count
    end
    bad_total = bad_total + thread:get("bad")
  end
  local parts = {}
  for status, count in pairs(all) do
    table.insert(parts, string.format('"%%d": %%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d,' ..
    ' "max_us": %%d, "mean_us": %%f, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d,' ..
    ' "bad_5xx": %%d, "statuses": {%%s}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    bad_total, table.concat(parts, ", ")))
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every `finally` below


# The page mix ---------------------------------------------------------------------------------


@dataclass
class Mix:
    lists: list[str]
    details: list[str]
    incidents: list[str]
    compares: list[str]
    detail_ids: list[str]
    failed_ids: list[str]
    pairs: list[tuple[str, str]]
    templates: list[str]

    SHARES = {"lists": 25, "details": 35, "incidents": 25, "compares": 15}

    def cycle(self) -> list[str]:
        """100 requests in the shares above, in a fixed shuffled order."""
        slots: list[str] = []
        for kind, share in self.SHARES.items():
            paths = getattr(self, kind)
            slots += [paths[index % len(paths)] for index in range(share)]
        random.Random(7).shuffle(slots)
        return slots

    def unique(self) -> list[str]:
        return list(dict.fromkeys(self.lists + self.details + self.incidents + self.compares))


def _ids(server: Server, query: str) -> list[str]:
    status, body = server.get(f"/api/runs/?{query}")
    if status != 200:
        raise RuntimeError(f"/api/runs/?{query} answered {status}")
    return [row["id"] for row in json.loads(body)["runs"]]


def choose_mix(server: Server, summary: dict[str, Any]) -> Mix:
    """Ids from the store summary and from the API (deterministic for a given store)."""
    notable = summary["notable"]
    quote = urllib.parse.quote
    everyone = _ids(server, "limit=500&sort=created&order=asc")
    failed = _ids(server, "status=failed&limit=200&sort=created&order=asc")
    completed = _ids(server, "status=completed&limit=200&sort=created&order=asc")
    detail_ids = list(dict.fromkeys([*everyone[::17][:24], notable["failedRunId"], notable["runningRunId"],
                                     notable["waitingRunId"], notable["pausedRunId"], notable["workflowRunId"],
                                     notable["replayRunId"]]))
    failed_ids = list(dict.fromkeys([notable["failedRunId"], notable["queueWorkerFailureRunId"], *failed[::13][:13]]))
    pairs = [(failed[index], completed[index]) for index in range(1, 5)]
    big = notable.get("bigRunPair")
    compare_pairs = ([(big["leftRunId"], big["rightRunId"])] * 5 if big else []) + pairs * 2
    lists = ["/runs/", "/runs/?status=failed", "/runs/?status=running&status=paused", "/runs/?page=3",
             "/runs/?" + urllib.parse.urlencode({"status": "failed", "q": "rate limit"})]
    incidents = [f"/incidents/{quote(run_id, safe='')}/" for run_id in failed_ids]
    incidents += ["/incidents/"] * max(1, len(incidents) // 4)
    return Mix(
        lists=lists,
        details=[f"/runs/{quote(run_id, safe='')}/" for run_id in detail_ids],
        incidents=incidents,
        compares=["/compare/?" + urllib.parse.urlencode({"left": left, "right": right}) for left, right in compare_pairs],
        detail_ids=detail_ids, failed_ids=failed_ids, pairs=pairs,
        templates=[completed[0], failed[0], everyone[0]],
    )


# wrk and the measurements around it ---------------------------------------------------------------


@dataclass
class Outcome:
    scenario: str
    store: str
    runs: int
    seconds: float = 0.0
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    bad_5xx: int = 0                 # a 5xx other than a clear 503 page
    load_mean: float = 0.0
    load_max: float = 0.0
    server_cpu_cores: float = 0.0    # gunicorn CPU seconds / wall seconds
    log_errors: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)  # server-side times from the access log

    @property
    def count_5xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if status.startswith("5"))

    @property
    def count_4xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if status.startswith("4"))


class LoadSampler(threading.Thread):
    def __init__(self, deadline: float) -> None:
        super().__init__(daemon=True, name="loadavg")
        self.deadline, self.samples, self.stopped = deadline, [os.getloadavg()[0]], threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(2.0) and time.monotonic() < self.deadline:
            self.samples.append(os.getloadavg()[0])


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def log_offset(server: Server) -> int:
    return server.log.stat().st_size if server.log.exists() else 0


# gunicorn reads extra options from the environment: an access log with the time each request took.
ACCESS_FORMAT = '%(s)s %(D)s "%(r)s"'


def access_log(data_dir: Path) -> Path:
    return data_dir / "access.log"


def page_kind(path: str) -> str:
    if path.startswith("/compare/"):
        return "compare"
    if path.startswith("/incidents/"):
        return "incident queue" if path == "/incidents/" else "incident"
    if path.startswith("/runs/") and (path == "/runs/" or path.startswith("/runs/?")):
        return "list"
    if path.startswith("/runs/"):
        return "detail"
    return "other"


def server_times(log_path: Path, offset: int) -> dict[str, dict[str, float]]:
    """Per page kind: count, median and p99 of the server's own time (queueing in gunicorn excluded)."""
    times: dict[str, list[float]] = {}
    with log_path.open("rb") as handle:
        handle.seek(offset)
        for line in handle.read().decode("utf-8", "replace").splitlines():
            found = re.match(r'(\d{3}) (\d+) "GET (\S+) HTTP', line)
            if found:
                times.setdefault(page_kind(found.group(3)), []).append(int(found.group(2)) / 1000)
    result = {}
    for kind, values in sorted(times.items()):
        values.sort()
        result[kind] = {"n": len(values), "p50_ms": round(values[len(values) // 2], 1),
                        "p99_ms": round(values[min(len(values) - 1, int(0.99 * len(values)))], 1)}
    return result


def log_errors(server: Server, offset: int) -> list[str]:
    with server.log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines()
            if re.search(r"Traceback|\[ERROR\]|Exception|Error:", line)][:20]


def run_wrk(server: Server, paths: list[str], outcome: Outcome, args: argparse.Namespace, work_dir: Path,
            seconds: int | None = None) -> None:
    seconds = seconds or args.seconds
    script = work_dir / "mix.lua"
    for old in work_dir.glob("sample-*.html"):
        old.unlink()
    script.write_text(LUA % {"paths": ", ".join(json.dumps(path) for path in paths), "mark": MARK_503,
                             "sample": work_dir / "sample"})
    pids = server.pids()
    cpu_before, started = cpu_seconds(pids), time.monotonic()
    sampler = LoadSampler(started + seconds + 120)
    sampler.start()
    offset = log_offset(server)
    access = access_log(server.log.parent)
    access_offset = access.stat().st_size if access.exists() else 0
    command = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{seconds}s",
               "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(script), f"http://127.0.0.1:{server.port}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=seconds + WRK_TIMEOUT_S + 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        sampler.stopped.set()
    wall = time.monotonic() - started
    outcome.server_cpu_cores = (cpu_seconds(pids) - cpu_before) / wall
    outcome.load_mean = sum(sampler.samples) / len(sampler.samples)
    outcome.load_max = max(sampler.samples)
    found = re.search(r"^WRKJSON (.*)$", output, re.MULTILINE)
    if not found:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    data = json.loads(found.group(1))
    outcome.seconds = data["duration_us"] / 1e6
    outcome.requests = data["requests"]
    outcome.rps = data["requests"] / outcome.seconds if outcome.seconds else 0.0
    outcome.p50_ms, outcome.p90_ms, outcome.p99_ms, outcome.max_ms = (
        data[key] / 1000 for key in ("p50_us", "p90_us", "p99_us", "max_us"))
    outcome.statuses = {str(status): count for status, count in sorted(data["statuses"].items())}
    outcome.socket_errors = {key: data[key] for key in ("connect", "read", "write", "timeout") if data[key]}
    outcome.bad_5xx = data["bad_5xx"]
    outcome.log_errors = log_errors(server, offset)
    if access.exists():
        outcome.by_kind = server_times(access, access_offset)
    # The first page of each error status each wrk thread received (see the Lua script).
    for sample in sorted(work_dir.glob("sample-*.html")):
        status = sample.name.split("-")[1]
        if f"wrk_{status}_page" in outcome.checks:
            continue
        text = sample.read_text(encoding="utf-8", errors="replace")
        found = re.search(r'<h1>(.*?)</h1>.*?<p class="error-message">(.*?)</p>', text, re.S)
        outcome.checks[f"wrk_{status}_page"] = (f"{found.group(1).strip()}: {found.group(2).strip()}" if found
                                                else text[:200])
        outcome.checks[f"wrk_{status}_traceback"] = "Traceback" in text
    log(f"  {outcome.requests:,} requests in {outcome.seconds:.1f} s = {outcome.rps:,.1f}/s, p50 {outcome.p50_ms:.0f} ms,"
        f" p99 {outcome.p99_ms:.0f} ms, statuses {outcome.statuses}, socket errors {outcome.socket_errors or 0},"
        f" load {outcome.load_mean:.1f} (max {outcome.load_max:.1f}), server CPU {outcome.server_cpu_cores:.2f} cores")


def warm_up(server: Server, mix: Mix, args: argparse.Namespace, work: Path,
            notes: dict[str, Any], name: str) -> dict[str, tuple[int, float]]:
    """One request per distinct page, then unmeasured load so every worker has filled its caches.

    Any answer but 200 to the single requests stops the run.
    """
    timings: dict[str, tuple[int, float]] = {}
    for path in mix.unique():
        started = time.perf_counter()
        status, _ = server.get(path)
        timings[path] = (status, (time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"warm-up: {path} answered {status}")
    slow = sorted(timings.items(), key=lambda item: -item[1][1])[:3]
    log("  warm-up: " + ", ".join(f"{path[:60]} {ms:.0f} ms" for path, (_, ms) in slow) + " (slowest)")
    if args.warmup_seconds:
        outcome = Outcome("warm-up", name, args.size)
        run_wrk(server, mix.cycle(), outcome, args, work, seconds=args.warmup_seconds)
        notes[f"{name} warm-up"] = (f"{args.warmup_seconds} s: {outcome.rps:.1f} req/s, p50 {outcome.p50_ms:.0f} ms, "
                                    f"p99 {outcome.p99_ms:.0f} ms, statuses {outcome.statuses}")
    return timings


# The file store ----------------------------------------------------------------------------


def seed_index(store_dir: Path, copy: Path, data_dir: Path, size: int) -> str:
    """Start the copy's index from the benchmark's index of the original when that one is complete.

    Hard links share mtimes, so the copied rows match the copy's files and the refresh
    that follows reads only what differs; otherwise the refresh builds it from cold.
    """
    target = index_path_for(data_dir, copy)
    source = index_path_for(bench_dir() / f"server-file-{size}", store_dir)
    if target.exists():
        return "kept"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        return "cold"
    try:
        origin = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            meta = dict(origin.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema") != schema_version(True) or not meta.get("complete") or meta.get("bulk"):
                return "cold"
            destination = sqlite3.connect(target)
            try:
                origin.backup(destination)  # a consistent snapshot even if the benchmark writes meanwhile
            finally:
                destination.close()
        finally:
            origin.close()
    except sqlite3.Error as error:
        log(f"  could not copy the benchmark index ({error}); building from cold")
        target.unlink(missing_ok=True)
        return "cold"
    return "copied"


def prepare_file_store(store_dir: Path, size: int, work: Path) -> tuple[Path, Path, dict[str, Any]]:
    copy = work / f"runs-{size}-copy"
    data_dir = work / f"server-file-{size}"
    log(f"  hard-linked copy of {store_dir} …")
    copy_s = owned_copy(store_dir, copy)
    seeded = seed_index(store_dir, copy, data_dir, size)
    log(f"  copy in {copy_s:.1f} s; index {seeded}; refreshing it …")
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "index_runs", "--store", copy.as_uri()], cwd=ROOT, check=True,
                   env={**os.environ, "CONTROLPLANE_DATA_DIR": str(data_dir)}, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return copy, data_dir, {"copy_s": round(copy_s, 1), "index": seeded,
                            "index_refresh_s": round(time.monotonic() - started, 1)}


def writer_scenario(server: Server, mix: Mix, copy: Path, outcome: Outcome, args: argparse.Namespace,
                    work: Path) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    prefix = f"load-{stamp}"
    # Half the hot runs are rewritten by rename, half in place; in-place targets get their own inode first.
    hot = [*mix.detail_ids, *mix.failed_ids, *(left for left, _ in mix.pairs)]
    hot = list(dict.fromkeys(hot))
    rename_targets, truncate_targets = hot[0::2], hot[1::2]
    for run_id in truncate_targets:
        break_link(copy / f"{run_id}.json")
    time.sleep(1.5)  # let the server's quick refresh see the unlinked files before the clock starts
    journal_path = work / "writer-journal.json"
    journal_path.unlink(missing_ok=True)
    config = WriterConfig(directory=str(copy), seconds=args.seconds, journal=str(journal_path), prefix=prefix,
                          templates=mix.templates, rename_targets=rename_targets, truncate_targets=truncate_targets,
                          ops_per_second=args.writer_ops)
    config_path = work / "writer.json"
    config_path.write_text(json.dumps(asdict(config)))
    writer = subprocess.Popen([sys.executable, str(ROOT / "bench" / "faults.py"), "write", str(config_path)], cwd=ROOT)
    try:
        run_wrk(server, mix.cycle(), outcome, args, work)
        writer.wait(timeout=args.seconds + 30)
    finally:
        if writer.poll() is None:
            writer.terminate()
            try:
                writer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                writer.kill()
                writer.wait()
    journal = json.loads(journal_path.read_text())
    outcome.checks.update(verify_writes(server, journal, prefix, index_path_for(server.log.parent, copy)))


def full_scan_bound(index: Path) -> float:
    """How long a change only a full scan sees may take: the index's own schedule (see `indexed`)."""
    connection = sqlite3.connect(f"{index.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        scan = float(dict(connection.execute("SELECT key, value FROM meta").fetchall()).get("scan_seconds") or 0)
    finally:
        connection.close()
    return max(FULL_SCAN_SECONDS, FULL_SCAN_FACTOR * scan) + scan


def verify_writes(server: Server, journal: dict[str, Any], prefix: str, index: Path) -> dict[str, Any]:
    """New runs are listed and searchable after the next refresh, and readable by id.

    A quick refresh (about every second) sees new names and live or recent runs; a file
    rewritten in place (or replaced by rename) whose run had ended is seen by the next
    full scan, which the index schedules every max(30 s, 20 x the last scan's time).
    Rewrites get that long, from the bound read when the writer stops, up to 240 s.
    """
    created = journal["created_rename"] + journal["created_in_place"]
    rewritten = {**journal["rewritten_rename"], **journal["rewritten_truncate"]}
    ended = time.monotonic()
    bound = full_scan_bound(index)
    deadline = ended + min(bound + 15, 240)
    new_s = rewrites_s = None
    new_listed = found_rewrites = -1
    errors: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        status, body = server.get("/api/runs/?" + urllib.parse.urlencode({"q": prefix, "limit": 500}))
        page = json.loads(body) if status == 200 else {}
        # The search matches new runs by id and rewritten ones by their edited input.
        rows = page.get("runs", [])
        new_listed = sum(1 for row in rows if row["id"].startswith(prefix))
        found_rewrites = sum(1 for row in rows if row["id"] in rewritten and
                             f"[{REWRITE_MARK} {prefix} #{rewritten[row['id']]}]" in (row.get("input") or ""))
        errors = [entry for entry in page.get("errors", []) if entry["source"].startswith(prefix)
                  or entry["source"][: -len(".json")] in rewritten]
        now = time.monotonic() - ended
        if new_s is None and new_listed == len(created) and not any(
                entry["source"].startswith(prefix) for entry in errors):
            new_s = now
        if rewrites_s is None and found_rewrites == len(rewritten) and not errors:
            rewrites_s = now
        if new_s is not None and rewrites_s is not None:
            break
        time.sleep(0.2)
    by_id = sum(1 for run_id in created if (answer := server.get(f"/runs/{run_id}/"))[0] == 200
                and run_id.encode() in answer[1])
    newest = created[-1] if created else ""
    first_page = server.get("/runs/")
    last_version = sum(
        1 for run_id, number in rewritten.items()
        if f"[{REWRITE_MARK} {prefix} #{number}]".encode() in server.get(f"/runs/{run_id}/")[1])
    result = {
        "created": len(created), "created_in_place": len(journal["created_in_place"]),
        "rewrites_rename": len(journal["rewritten_rename"]), "rewrites_truncate": len(journal["rewritten_truncate"]),
        "refused_truncations": journal["refused"], "writer_failures": journal["failures"][:5],
        "new_listed": new_listed, "new_listed_after_s": None if new_s is None else round(new_s, 2),
        "rewrites_indexed": found_rewrites, "rewrites_indexed_after_s": None if rewrites_s is None else round(rewrites_s, 2),
        "full_scan_bound_s": round(bound, 1),
        "error_rows_left": errors[:5],
        "readable_by_id": by_id, "newest_on_first_page": first_page[0] == 200 and newest.encode() in first_page[1],
        "rewrites_show_last_version": last_version, "rewrites": len(rewritten),
    }
    log(f"  writer: {result}")
    return result


# PostgreSQL ------------------------------------------------------------------------------------


def ensure_database(cluster: Cluster, store_dir: Path, size: int) -> tuple[str, dict[str, Any]]:
    import psycopg

    name = f"cp_load_{size // 1000}k" if size % 1000 == 0 else f"cp_load_{size}"
    cluster.ensure()
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    url = cluster.url(name)
    with psycopg.connect(url, autocommit=True) as connection:
        try:
            count = connection.execute("SELECT count(*) FROM runs").fetchone()[0]  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            count = 0
    if count >= size:
        return url, {"database": name, "loaded_s": None}
    log(f"  loading {size:,} runs into {url} …")
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "load_runs", store_dir.as_uri(), url, "--workers", "2"], cwd=ROOT,
                   check=True, timeout=1800, stdout=subprocess.DEVNULL)
    return url, {"database": name, "loaded_s": round(time.monotonic() - started, 1)}


def restart_scenario(server: Server, mix: Mix, cluster: Cluster, outcome: Outcome, args: argparse.Namespace,
                     work: Path) -> None:
    pids_before = sorted(server.pids())
    marks: dict[str, float] = {}
    failure: list[BaseException] = []

    def outage() -> None:
        try:
            time.sleep(args.stop_after)
            marks["stop_sent"] = time.monotonic()
            cluster.stop()
            marks["stopped"] = time.monotonic()
            time.sleep(args.outage)
            marks["start_sent"] = time.monotonic()
            watcher = threading.Thread(target=watch_accepting, daemon=True, name="accepting")
            watcher.start()
            cluster.start()
            marks["started"] = time.monotonic()
            watcher.join(timeout=60)
        except BaseException as error:  # reported below; the cluster is started again in main()
            failure.append(error)

    def watch_accepting() -> None:
        # pg_ctlcluster returns a while after the server accepts connections: note when it does.
        import psycopg

        limit = time.monotonic() + 60
        while time.monotonic() < limit:
            try:
                psycopg.connect(cluster.url("postgres"), connect_timeout=1).close()
            except psycopg.Error:
                time.sleep(0.05)
                continue
            marks["accepting"] = time.monotonic()
            return

    begin = time.monotonic()
    deadline = begin + args.seconds + 2
    # Detail pages and the list: each reads the database (the cache key asks for its generation too).
    probe_paths = [*mix.details[:6], "/runs/", *mix.incidents[:3], "/api/runs/?limit=5"]
    probers = [Prober(server.port, probe_paths[index::3], deadline) for index in range(3)]
    for prober in probers:
        prober.start()
    fault = threading.Thread(target=outage, daemon=True, name="outage")
    fault.start()
    try:
        run_wrk(server, mix.cycle(), outcome, args, work)
    finally:
        for prober in probers:
            prober.stopped.set()
        fault.join(timeout=args.stop_after + args.outage + 180)  # it starts the cluster again
        for prober in probers:
            prober.join(timeout=120)
    if failure:
        raise RuntimeError(f"pg_ctlcluster failed: {failure[0]}")
    probes = sorted((probe for prober in probers for probe in prober.probes), key=lambda probe: probe.done)
    started = marks["started"]
    after = [probe for probe in probes if probe.done >= started and probe.status == 200]
    sent_after = [probe for probe in probes if probe.sent >= started and probe.status == 200]
    first_200_after_accepting = next((probe for probe in probes if probe.status == 200 and "accepting" in marks
                                      and probe.done >= marks["accepting"]), None)
    back = marks.get("accepting", started)
    in_outage = [probe for probe in probes if marks["stop_sent"] <= probe.done <= back]
    bad = [probe for probe in probes if probe.status != 200 and not (
        probe.status == 503 and clear_503(probe.path, probe.body))]
    sample_503 = next((probe.body for probe in probes if probe.status == 503 and not probe.path.startswith("/api/")),
                      b"")
    sample_api = next((probe.body for probe in probes if probe.status == 503 and probe.path.startswith("/api/")), b"")
    message = re.search(rb'<p class="error-message">(.*?)</p>', sample_503, re.S)
    outcome.checks.update({
        "stop_at_s": round(marks["stop_sent"] - begin, 1), "stop_s": round(marks["stopped"] - marks["stop_sent"], 2),
        "down_s": round(started - marks["stopped"], 2), "start_s": round(started - marks["start_sent"], 2),
        "accepting_before_start_returned_s": (round(started - marks["accepting"], 2) if "accepting" in marks
                                              else None),
        "recovery_s": round(after[0].done - started, 2) if after else None,
        "recovery_from_accepting_s": (round(first_200_after_accepting.done - marks["accepting"], 2)
                                      if "accepting" in marks and first_200_after_accepting else None),
        "recovery_sent_after_s": round(sent_after[0].done - started, 2) if sent_after else None,
        "probes": len(probes), "probes_in_outage": len(in_outage),
        "probe_statuses_in_outage": _count(probe.status for probe in in_outage),
        "probes_bad": [(probe.status, probe.path, probe.body[:120].decode("utf-8", "replace")) for probe in bad[:5]],
        "sample_503_message": message.group(1).decode("utf-8", "replace").strip() if message else None,
        "sample_503_api": sample_api[:200].decode("utf-8", "replace") or None,
        "same_workers": sorted(server.pids()) == pids_before,
        "first_200_after": _first_200_path(after),
    })
    log(f"  restart: {outcome.checks}")


def clear_503(path: str, body: bytes) -> bool:
    """A page that says the store is unavailable (JSON under /api/), and no traceback."""
    if b"Traceback" in body:
        return False
    if path.startswith("/api/"):
        try:
            return "unavailable" in json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            return False
    return MARK_503.encode() in body


def _count(values: Any) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[str(value)] = counted.get(str(value), 0) + 1
    return counted


def _first_200_path(probes: list[Any]) -> str | None:
    return probes[0].path if probes else None


# One backend ----------------------------------------------------------------------------------


def serve(env: dict[str, str], data_dir: Path, args: argparse.Namespace) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    # Local-memory cache (the default): each worker caches for itself, as `make serve` does.
    access_log(data_dir).unlink(missing_ok=True)
    extra = f"--access-logfile {access_log(data_dir)} --access-logformat '{ACCESS_FORMAT}'"
    server = Server({**env, "CONTROLPLANE_DATA_DIR": str(data_dir), "CONTROLPLANE_CACHE_URL": "",
                     "GUNICORN_CMD_ARGS": extra},
                    workers=args.workers, threads=args.threads, log=data_dir / "gunicorn.log")
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def file_scenarios(store_dir: Path, summary: dict[str, Any], args: argparse.Namespace, work: Path,
                   outcomes: list[Outcome], notes: dict[str, Any]) -> Mix | None:
    copy, data_dir, notes["file_setup"] = prepare_file_store(store_dir, args.size, work)
    server = serve({"CONTROLPLANE_RUN_STORE": copy.as_uri()}, data_dir, args)
    try:
        mix = choose_mix(server, summary)
        notes["warm_up_file"] = warm_up(server, mix, args, work, notes, "file")
        if "file" in args.scenarios:
            log(f"file store, {args.size:,} runs: {args.seconds} s at {args.connections} connections")
            outcome = Outcome("read load", "file (indexed)", args.size)
            run_wrk(server, mix.cycle(), outcome, args, work)
            outcomes.append(outcome)
        if "writer" in args.scenarios:
            log("file store with a writer")
            outcome = Outcome("read load + writer", "file (indexed), copy", args.size)
            writer_scenario(server, mix, copy, outcome, args, work)
            outcomes.append(outcome)
    finally:
        server.stop()
    return mix


def postgres_scenarios(store_dir: Path, summary: dict[str, Any], args: argparse.Namespace, work: Path,
                       outcomes: list[Outcome], notes: dict[str, Any], cluster: Cluster) -> None:
    url, notes["postgres_setup"] = ensure_database(cluster, store_dir, args.size)
    server = serve({"CONTROLPLANE_RUN_STORE": url}, work / f"server-postgres-{args.size}", args)
    try:
        mix = choose_mix(server, summary)
        notes["warm_up_postgres"] = warm_up(server, mix, args, work, notes, "postgres")
        if "postgres" in args.scenarios:
            log(f"PostgreSQL store, {args.size:,} runs: {args.seconds} s at {args.connections} connections")
            outcome = Outcome("read load", f"PostgreSQL ({cluster.name})", args.size)
            run_wrk(server, mix.cycle(), outcome, args, work)
            outcomes.append(outcome)
        if "pg-restart" in args.scenarios:
            log(f"PostgreSQL restart: stopped {args.stop_after:.0f} s in, for {args.outage:.0f} s")
            outcome = Outcome("read load + PG restart", f"PostgreSQL ({cluster.name})", args.size)
            restart_scenario(server, mix, cluster, outcome, args, work)
            outcomes.append(outcome)
    finally:
        server.stop()


# Report -------------------------------------------------------------------------------------------


def verdict(outcome: Outcome) -> list[str]:
    problems = []
    if outcome.socket_errors:
        problems.append(f"socket errors {outcome.socket_errors}")
    if outcome.scenario.endswith("PG restart"):
        if outcome.bad_5xx or outcome.checks.get("probes_bad"):
            problems.append("a 5xx other than a clear 503 page")
        recovery = outcome.checks.get("recovery_s")
        if recovery is None or recovery > RECOVERY_TARGET_S:
            problems.append(f"recovery {recovery} s > {RECOVERY_TARGET_S:.0f} s")
        if not outcome.checks.get("same_workers"):
            problems.append("workers restarted")
    elif outcome.count_5xx:
        problems.append(f"{outcome.count_5xx} 5xx")
    if outcome.scenario.endswith("writer"):
        checks = outcome.checks
        if checks["new_listed_after_s"] is None or checks["readable_by_id"] != checks["created"]:
            problems.append("new runs missing")
        elif checks["new_listed_after_s"] > NEW_RUNS_TARGET_S:
            problems.append(f"new runs listed after {checks['new_listed_after_s']} s")
        if checks["rewrites_indexed_after_s"] is None or checks["error_rows_left"]:
            problems.append(f"rewrites not listed within the full-scan bound ({checks['full_scan_bound_s']} s)")
        if checks["rewrites_show_last_version"] != checks["rewrites"]:
            problems.append("a detail page shows an old version")
        if not checks["newest_on_first_page"]:
            problems.append("newest run not on the first page")
    return problems


def report(outcomes: list[Outcome], notes: dict[str, Any], args: argparse.Namespace, mix: Mix | None) -> str:
    now = datetime.now(UTC)
    lines = [
        f"# Load and faults {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs shared with other work, Python {platform.python_version()}. "
        f"Server: gunicorn {args.workers} workers x {args.threads} threads on 127.0.0.1, login off, local-memory cache. "
        f"Load: wrk {args.wrk_threads} threads, {args.connections} connections, {args.seconds} s per scenario, "
        f"{WRK_TIMEOUT_S} s request timeout, closed loop (each connection waits for its answer), wrk on the same "
        f"2 cores. Mix of 100 requests: {', '.join(f'{share}% {kind}' for kind, share in Mix.SHARES.items())}"
        + (f" ({len(mix.unique())} distinct pages, caches warmed by one request each)." if mix else "."),
        "",
        "| scenario | store | runs | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | 2xx | 4xx | 5xx | socket errors "
        "| load avg (mean / max) | server CPU cores | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        ok = sum(count for status, count in outcome.statuses.items() if status.startswith("2"))
        fives = ", ".join(f"{status}: {count}" for status, count in outcome.statuses.items() if status.startswith("5"))
        problems = verdict(outcome)
        lines.append(
            f"| {outcome.scenario} | {outcome.store} | {outcome.runs:,} | {outcome.requests:,} | {outcome.rps:,.1f} "
            f"| {outcome.p50_ms:,.0f} | {outcome.p90_ms:,.0f} | {outcome.p99_ms:,.0f} | {outcome.max_ms:,.0f} | {ok:,} "
            f"| {outcome.count_4xx:,} | {fives or 0} | {sum(outcome.socket_errors.values())} "
            f"| {outcome.load_mean:.1f} / {outcome.load_max:.1f} | {outcome.server_cpu_cores:.2f} "
            f"| {'ok' if not problems else 'FAIL: ' + '; '.join(problems)} |")
    kinds = sorted({kind for outcome in outcomes for kind in outcome.by_kind})
    if kinds:
        lines += ["", "Server time per page kind (gunicorn access log: from the worker taking the request to its "
                  "response, so without the wait in the listen queue), median / p99 ms (requests):", "",
                  "| scenario | store | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
        for outcome in outcomes:
            cells = [(f"{found['p50_ms']:,.0f} / {found['p99_ms']:,.0f} ({found['n']:,})"
                      if (found := outcome.by_kind.get(kind)) else "—") for kind in kinds]
            lines.append(f"| {outcome.scenario} | {outcome.store} | " + " | ".join(cells) + " |")
    lines.append("")
    for outcome in outcomes:
        if outcome.checks:
            lines.append(f"- {outcome.scenario}: " + ", ".join(f"{key} {value}" for key, value in outcome.checks.items()))
        if outcome.log_errors:
            lines.append(f"- {outcome.scenario}: server log errors: {outcome.log_errors[:3]}")
    for key in ("file_setup", "postgres_setup", "file warm-up", "postgres warm-up"):
        if key in notes:
            lines.append(f"- {key.replace('_', ' ')}: {notes[key]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="store size (a synthetic store, made once)")
    parser.add_argument("--seconds", type=int, default=30, help="load per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup-seconds", type=int, default=10, help="unmeasured load after start-up (0: none)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--scenarios", default="file,writer,postgres,pg-restart")
    parser.add_argument("--writer-ops", type=float, default=12.0, help="writer operations per second")
    parser.add_argument("--stop-after", type=float, default=8.0, help="seconds into the load before the stop")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--pg-cluster", default="cpload",
                        help="Debian cluster to load, stop and start (created on first use; 'main' is the shared one)")
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--quick", action="store_true", help="10,000 runs, 15 s per scenario, 3 s outage")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.seconds, args.stop_after, args.outage, args.warmup_seconds = 10_000, 15, 3.0, 3.0, 5
    args.scenarios = {name.strip() for name in args.scenarios.split(",") if name.strip()}
    unknown = args.scenarios - {"file", "writer", "postgres", "pg-restart"}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.pg_cluster == "main" and args.pg_port == 5433:
        args.pg_port = 5432
    if shutil.which("wrk") is None:
        parser.error("Debian's wrk is missing: apt-get install -y wrk (make load installs it)")
    if args.stop_after + args.outage + 5 > args.seconds:
        parser.error("--stop-after + --outage must leave at least 5 s of load after the restart")

    # Ctrl-C and kill both unwind through the `finally` blocks (a background job starts with SIGINT ignored).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    work = bench_dir() / "load"
    work.mkdir(parents=True, exist_ok=True)
    store_dir, summary = synthetic_store(args.size, log=log)
    outcomes: list[Outcome] = []
    notes: dict[str, Any] = {"load_at_start": os.getloadavg()}
    mix = None
    cluster = Cluster.for_name(args.pg_cluster, args.pg_port)
    try:
        if args.scenarios & {"file", "writer"}:
            mix = file_scenarios(store_dir, summary, args, work, outcomes, notes)
        if args.scenarios & {"postgres", "pg-restart"}:
            postgres_scenarios(store_dir, summary, args, work, outcomes, notes, cluster)
    finally:
        if cluster.exists() and not cluster.online():
            log(f"starting the {cluster.name} cluster again")
            cluster.start()
        if cluster.started_by_us:
            cluster.stop()  # as we found it
    text = report(outcomes, notes, args, mix)
    print(text)
    out = ROOT / "bench" / "results" / f"load-{datetime.now(UTC):%Y-%m-%d}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(
        {"outcomes": [{**asdict(outcome), "verdict": verdict(outcome)} for outcome in outcomes],
         "notes": {key: value for key, value in notes.items() if not key.startswith("warm_up")},
         "warm_up_ms": {key: {path: round(ms, 1) for path, (_, ms) in value.items()}
                        for key, value in notes.items() if key.startswith("warm_up")}},
        indent=2, default=str))
    log(f"written to {out}")
    return 0 if all(not verdict(outcome) for outcome in outcomes) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as interrupt:
        log(f"interrupted ({interrupt}); the server, wrk and the writer are stopped")
        sys.exit(130)
