"""Page-time benchmarks of the real server over synthetic stores (`make bench`).

    python bench/run.py [--sizes 1000,10000,100000] [--backends file,postgres] [--quick] [--repeat 20]
    python bench/run.py --sizes 1000000 --backends postgres   # the 1M-run PostgreSQL figures

For each size: generate the store once under $CONTROLPLANE_DATA_DIR/bench (reused
later), build the index from cold (file store) or load it (PostgreSQL), start gunicorn
(2 workers x 4 threads, login off), time every page (median and p95 of `--repeat`
requests after two warm-ups), time an incremental refresh after 1,000 changed files
(on a hard-linked copy: the benchmark store itself is never modified) and read the
server processes' peak RSS. Prints a table and writes bench/results/<date>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import ROOT, Server, Timing  # noqa: E402
from bench.stores import bench_dir, synthetic_store  # noqa: E402
from runtime_adapter.js import jsjson  # noqa: E402
from runtime_adapter.queries.failure_signature import failure_signature  # noqa: E402
from runtime_adapter.rows import SORTS  # noqa: E402
from runtime_adapter.stores.file import FileRunStore  # noqa: E402
from runtime_adapter.stores.indexed import IndexedFileRunStore  # noqa: E402
from runtime_adapter.stores.sqlite_index import index_path_for  # noqa: E402
from write_side.postgres_load import create_schema, default_workers, load_store  # noqa: E402
from write_side.synthetic.vocabulary import REGRESSED_RELEASE  # noqa: E402

PG_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
JS_INCIDENT_SECONDS_10K = 1.70  # the runtime's own report at 10k runs (re-reads every run file)
CHANGED_FILES = 1000
TARGET_PAGE_MS = 50
TARGET_MILLION_MS = 100  # PostgreSQL with 1M runs: list, detail and incident pages
MILLION_PAGES = ("runs list", "run detail", "incident")
FLEET_PAGES = ("clusters", "cluster (refund regression)", "release comparison")  # < 100 ms warm, < 1 s first
LINEAGE_MAX_NODES = 500  # the benchmark's lineage graph draws every run of the biggest (500-run) tree
# The search matrix (issue 16): every selectivity, alone and among failed runs, in every sort order (`RunQuery`'s
# SORTS), < TARGET_SEARCH_MS warm at 100k runs (file store) and 1M (PostgreSQL).
SEARCH_TERMS = (("selective (0.2%)", "a-72"), ("medium (3.4%)", "churn metrics"), ("broad (24%)", "summary"),
                ("near-universal (78%)", "re"))
SEARCH_FILTERS: tuple[tuple[str, dict[str, str]], ...] = (("alone", {}), ("failed", {"status": "failed"}))
TARGET_SEARCH_MS = 50


# The synthetic stores' regression (write_side/synthetic/agents.py): the refund provider's failures,
# one cluster whatever the status, order and request id in their messages.
REFUND_CLUSTER = failure_signature(
    incident_type="tool_failure", step_type="tool", tool_name="issue_refund", error_name="ToolExecutionError",
    message='Tool "issue_refund" failed: Refund provider returned 429 for order A-1 (request 0000…)').cluster_id


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pages(summary: dict[str, Any]) -> list[tuple[str, str]]:
    notable = summary["notable"]
    failed = notable["failedRunId"]
    tree_root = notable["biggestTree"]["rootRunId"]
    pair = notable.get("bigRunPair") or {}
    found = [
        ("overview", "/"),
        ("runs list", "/runs/"),
        ("filtered list", "/runs/?" + urlencode({"status": "failed"})),
        ("searched list", "/runs/?" + urlencode({"q": "churn metrics"})),
        # Searches of every selectivity (issue 16): a selective term, a broad one and a near-universal one,
        # and the broad one with a filter and another sort order.
        ("search selective (0.2%)", "/runs/?" + urlencode({"q": "a-72"})),
        ("search broad (24%)", "/runs/?" + urlencode({"q": "summary"})),
        ("search near-universal (78%)", "/runs/?" + urlencode({"q": "re"})),
        ("search broad, failed, by cost", "/runs/?" + urlencode({"q": "summary", "status": "failed", "sort": "cost"})),
        ("run detail", f"/runs/{quote(failed)}/"),
        (f"tree ({notable['biggestTree']['size']} runs)", f"/runs/{quote(tree_root)}/tree/"),
        # Drawn whole (LINEAGE_MAX_NODES below): folded, this family is two boxes.
        (f"lineage svg ({notable['biggestTree']['size']} runs)", f"/runs/{quote(tree_root)}/lineage.svg"),
        ("incident", f"/incidents/{quote(failed)}/"),
        ("incident queue", "/incidents/"),
    ]
    found += [
        ("clusters", "/incidents/clusters/"),
        ("cluster (refund regression)", f"/incidents/clusters/{REFUND_CLUSTER}/"),
        ("releases", "/releases/"),
        ("release comparison", "/releases/compare/?" + urlencode({"base": "2026.11.2", "head": REGRESSED_RELEASE})),
    ]
    if pair:
        found.append((f"compare ({pair['steps']:,} steps)",
                      "/compare/?" + urlencode({"left": pair["leftRunId"], "right": pair["rightRunId"]})))
    return found


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def manage(*args: str, env: dict[str, str]) -> tuple[float, float]:
    """Run a management command; (wall seconds, CPU seconds of it and its workers)."""
    cpu, started = children_cpu(), time.monotonic()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env}, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - started, children_cpu() - cpu


def redis_available() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.flushdb()  # db 14 belongs to the benchmark
        return True
    except Exception:
        return False


# Incremental refresh ---------------------------------------------------------------


def _rewrite(path: Path, stamp: int) -> None:
    """Replace a run file with an edited copy (a new inode: the hard-linked original is untouched)."""
    record = jsjson.loads(path.read_bytes())
    record["input"] = f"{record['input']} (edited {stamp})" if isinstance(record.get("input"), str) else record.get("input")
    record.setdefault("metadata", {})["benchEdit"] = stamp
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(jsjson.dumps(record, 2), encoding="utf-8")
    os.replace(temporary, path)


def changed_copy(store_dir: Path, size: int) -> tuple[Path, list[str]]:
    """A hard-linked copy of the store with CHANGED_FILES files rewritten."""
    copy = bench_dir() / f"copy-{size}"
    if copy.exists():
        shutil.rmtree(copy)
    subprocess.run(["cp", "-al", str(store_dir), str(copy)], check=True)
    names = sorted(name for name in os.listdir(copy) if name.endswith(".json"))
    step = max(1, len(names) // CHANGED_FILES)
    changed = names[::step][:CHANGED_FILES]
    for index, name in enumerate(changed):
        _rewrite(copy / name, index)
    return copy, changed


def incremental_file(store_dir: Path, data_dir: Path, size: int, workers: int) -> dict[str, float]:
    copy, changed = changed_copy(store_dir, size)
    source_index = index_path_for(data_dir, store_dir)
    target_index = index_path_for(bench_dir() / "copy-data", copy)
    target_index.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{source_index}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target_index}{suffix}")
    # Rows of redacted runs, as servers index them with redaction on (the default).
    store = IndexedFileRunStore(copy, index_path=target_index, background=False, redact_rows=True)
    try:
        # As `manage.py index_runs` does it (its --workers defaults to the CPU count).
        result = store.refresh(workers=workers)
        again = store.refresh(workers=workers)
    finally:
        store.close()
        shutil.rmtree(copy)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target_index}{suffix}").unlink(missing_ok=True)
    return {"refresh_s": result.seconds, "read": result.read, "nochange_s": again.seconds, "changed": len(changed)}


def incremental_postgres(store_dir: Path, url: str, size: int) -> dict[str, float]:
    copy, changed = changed_copy(store_dir, size)
    only_changed = bench_dir() / f"changed-{size}"
    original = bench_dir() / f"original-{size}"
    for directory, source in ((only_changed, copy), (original, store_dir)):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir()
        for name in changed:
            os.link(source / name, directory / name)
    try:
        # In this process, like the file store's refresh: the command's own start-up is not the store's cost.
        # With load_runs' default workers (up to 4, the CPU count here).
        result = load_store(FileRunStore(only_changed), url, workers=default_workers(), redact_rows=True)
        load_store(FileRunStore(original), url, workers=default_workers(), redact_rows=True)  # put the originals back
        seconds = result.seconds
    finally:
        for directory in (copy, only_changed, original):
            shutil.rmtree(directory)
    return {"refresh_s": seconds, "read": len(changed), "changed": len(changed)}


# One backend at one size ------------------------------------------------------------


def postgres_url(size: int) -> str:
    return f"{PG_SERVER}/cp_bench_{size}"


def postgres_settings() -> str:
    """The server settings a refresh and a first request depend on (the defaults suit a small machine, not 1M runs)."""
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as db:
            found = db.execute("SELECT name, setting, unit FROM pg_settings WHERE name IN"
                               " ('server_version', 'shared_buffers', 'work_mem', 'max_wal_size') ORDER BY name")
            return ", ".join(f"{name} {_with_unit(setting, unit)}" for name, setting, unit in found)
    except psycopg.Error as error:
        return f"settings not read ({error})"


def _with_unit(setting: str, unit: str | None) -> str:
    if unit == "8kB":
        return f"{int(setting) * 8 // 1024} MB"
    if unit in ("kB", "MB"):
        return f"{int(setting) // 1024} MB" if unit == "kB" else f"{setting} MB"
    return setting


def ensure_postgres(store_dir: Path, size: int, reload: bool) -> tuple[str, float | None, float | None]:
    import psycopg

    url = postgres_url(size)
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (f"cp_bench_{size}",)).fetchone()
        if exists and reload:
            admin.execute(f'DROP DATABASE "cp_bench_{size}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "cp_bench_{size}"')
    with psycopg.connect(url, autocommit=True) as connection:
        try:
            count = connection.execute("SELECT count(*) FROM runs").fetchone()[0]  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            count = 0
        if count:
            create_schema(connection)  # a copy loaded by older code gets new indexes, as load_runs would add them
    if count >= size:
        return url, None, None
    log(f"  loading {size:,} runs into {url} …")
    # Reading a million cold files is bound by the disk's latency, not the two cores: more readers in flight.
    wall, cpu = manage("load_runs", store_dir.as_uri(), url, "--workers", "8", env={})
    return url, wall, cpu


def search_matrix(server: Server, repeat: int) -> list[dict[str, Any]]:
    """Each term of SEARCH_TERMS, alone and with each filter, in each sort order (descending, as a list sorts)."""
    found = []
    for label, term in SEARCH_TERMS:
        for among, extra in SEARCH_FILTERS:
            for sort in SORTS:
                path = "/runs/?" + urlencode({"q": term, **extra, **({"sort": sort} if sort != "created" else {})})
                timing = server.measure(f"{label} {among} by {sort}", path, repeat)
                log(f"  search {timing.name:<40} {timing.status} median {timing.median:7.1f} ms"
                    f"  first {timing.first_ms:7.1f} ms")
                found.append({"term": label, "among": among, "sort": sort, "timing": timing})
    return found


def bench_backend(backend: str, size: int, store_dir: Path, summary: dict[str, Any], args: argparse.Namespace,
                  cache_url: str) -> dict[str, Any]:
    data_dir = bench_dir() / f"server-{backend}-{size}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"CONTROLPLANE_DATA_DIR": str(data_dir), "CONTROLPLANE_CACHE_URL": cache_url,
           "CONTROLPLANE_LINEAGE_MAX_NODES": str(LINEAGE_MAX_NODES)}
    load = os.getloadavg()[0]
    result: dict[str, Any] = {"backend": backend, "size": size, "load_before": load}
    if backend == "file":
        url = store_dir.as_uri()
        index = index_path_for(data_dir, store_dir)
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)
        log(f"  cold index of {size:,} files …")
        result["build_s"], result["build_cpu_s"] = manage(
            "index_runs", "--store", url, "--workers", str(args.workers), env=env)
    else:
        url, result["build_s"], result["build_cpu_s"] = ensure_postgres(store_dir, size, args.reload)
    env["CONTROLPLANE_RUN_STORE"] = url
    server = Server(env, log=data_dir / "gunicorn.log")
    try:
        server.wait_ready()
        timings: list[Timing] = []
        for name, path in pages(summary):
            timing = server.measure(name, path, args.repeat)
            log(f"  {name:<22} {timing.status} median {timing.median:8.1f} ms  p95 {timing.p95:8.1f} ms"
                f"  first {timing.first_ms:8.1f} ms")
            timings.append(timing)
        result["pages"] = timings
        if args.search_repeat > 0:
            result["searches"] = search_matrix(server, args.search_repeat)
        result["rss_mb"] = server.peak_rss_mb()
    finally:
        server.stop()
    log("  incremental refresh after 1,000 changed files …")
    if backend == "file":
        result["incremental"] = incremental_file(store_dir, data_dir, size, args.workers)
    else:
        result["incremental"] = incremental_postgres(store_dir, url, size)
    result["load_after"] = os.getloadavg()[0]
    return result


# Report -------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def report(results: list[dict[str, Any]], args: argparse.Namespace, cache_url: str) -> str:
    now = datetime.now(UTC)
    lines = [
        f"# Benchmark {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}. Server: gunicorn 2 workers x 4 threads, login off, cache "
        f"{'Redis' if cache_url else 'local memory'}. {args.repeat} requests per page after 2 warm-ups; "
        "times are client wall time on 127.0.0.1 in ms (median / p95; first = the first, uncached request).",
        *([f"PostgreSQL: {postgres_settings()}."] if any(r["backend"] == "postgres" for r in results) else []),
        "",
    ]
    names = [timing.name for timing in results[0]["pages"]] if results else []
    header = "| store | runs | " + " | ".join(names) + " |"
    lines += [header, "|" + "---|" * (len(names) + 2)]
    for result in results:
        cells = [f"{t.median:.1f} / {t.p95:.1f} ({t.first_ms:.0f})" + ("" if t.status == 200 else f" HTTP {t.status}")
                 for t in result["pages"]]
        lines.append(f"| {result['backend']} | {result['size']:,} | " + " | ".join(cells) + " |")
    lines += ["", "| store | runs | cold build s (CPU s) | refresh after 1,000 changes s | no-change rescan s "
              "| peak RSS MB per process (sum) | load avg before/after |", "|---|---|---|---|---|---|---|"]
    for result in results:
        inc = result["incremental"]
        rss = result["rss_mb"]
        lines.append(
            f"| {result['backend']} | {result['size']:,} | {_fmt(result['build_s'])} ({_fmt(result['build_cpu_s'])}) "
            f"| {inc['refresh_s']:.2f} ({inc['read']:,} read) | {_fmt(inc.get('nochange_s'), 2)} "
            f"| {', '.join(f'{v:.0f}' for v in rss.values())} ({sum(rss.values()):.0f}) "
            f"| {result['load_before']:.1f} / {result['load_after']:.1f} |"
        )
    searched = [result for result in results if result.get("searches")]
    if searched:
        lines += ["", f"Searches (issue 16): warm median ms of {args.search_repeat} requests (first request), by sort "
                  "order, descending.", "", "| store | runs | term | among | " + " | ".join(SORTS) + " |",
                  "|" + "---|" * (len(SORTS) + 4)]
        for result in searched:
            for label, _term in SEARCH_TERMS:
                for among, _extra in SEARCH_FILTERS:
                    by_sort = {entry["sort"]: entry["timing"] for entry in result["searches"]
                             if entry["term"] == label and entry["among"] == among}
                    lines.append(f"| {result['backend']} | {result['size']:,} | {label} | {among} | " + " | ".join(
                        f"{by_sort[sort].median:.1f} ({by_sort[sort].first_ms:.0f})"
                        + ("" if by_sort[sort].status == 200 else f" HTTP {by_sort[sort].status}") for sort in SORTS) + " |")
    lines += ["", "## Targets", ""]
    for result in searched:
        if result["size"] in (100_000, 1_000_000):
            slow = [f"{entry['timing'].name} {entry['timing'].median:.1f} ms" for entry in result["searches"]
                    if entry["timing"].median >= TARGET_SEARCH_MS or entry["timing"].status != 200]
            lines.append(f"- {result['backend']} {result['size']:,}: every search < {TARGET_SEARCH_MS} ms warm: "
                         f"{'yes' if not slow else 'no (' + '; '.join(slow) + ')'}")
    for result in results:
        if result["size"] != 100_000:
            continue
        slow = [t.name for t in result["pages"] if t.median >= TARGET_PAGE_MS]
        inc = result["incremental"]["refresh_s"]
        rss = max(result["rss_mb"].values(), default=0)
        lines.append(f"- {result['backend']} 100k: pages median < {TARGET_PAGE_MS} ms: "
                     f"{'yes' if not slow else 'no (' + ', '.join(slow) + ')'}; refresh of 1,000 < 2 s: "
                     f"{'yes' if inc < 2 else 'no'} ({inc:.2f} s); cold build < 90 s: "
                     f"{'—' if result['build_s'] is None else ('yes' if result['build_s'] < 90 else 'no')}"
                     f"; worker RSS < 300 MB: {'yes' if rss < 300 else 'no'} ({rss:.0f} MB)")
    for result in results:
        if result["size"] >= 1_000_000:
            million = [t for t in result["pages"] if t.name in MILLION_PAGES]
            slow = [t.name for t in million if t.median >= TARGET_MILLION_MS]
            lines.append(f"- {result['backend']} {result['size']:,}: list, detail and incident median < "
                         f"{TARGET_MILLION_MS} ms: {'yes' if not slow else 'no (' + ', '.join(slow) + ')'} ("
                         + ", ".join(f"{t.name} {t.median:.1f} ms" for t in million) + ")")
    for result in results:
        if result["size"] == 10_000:
            incident = next(t for t in result["pages"] if t.name == "incident")
            lines.append(f"- {result['backend']} 10k: incident page {incident.median:.1f} ms vs JS report "
                         f"{JS_INCIDENT_SECONDS_10K * 1000:.0f} ms: {JS_INCIDENT_SECONDS_10K * 1000 / incident.median:.0f}x "
                         "(target >= 30x)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated store sizes")
    parser.add_argument("--no-postgres", action="store_true", help="benchmark the file store only")
    parser.add_argument("--backends", default="file,postgres",
                        help="comma-separated: file, postgres (e.g. --sizes 1000000 --backends postgres)")
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 5 requests per page")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="index build processes")
    parser.add_argument("--reload", action="store_true", help="reload the PostgreSQL copies from scratch")
    parser.add_argument("--search-repeat", type=int, default=9,
                        help="requests per search of the search matrix (0: skip it)")
    parser.add_argument("--no-redis", action="store_true", help="local-memory cache instead of Redis")
    args = parser.parse_args(argv)
    sizes = [1000] if args.quick else [int(size.replace("_", "")) for size in args.sizes.split(",") if size]
    if args.quick:
        args.repeat = min(args.repeat, 5)
        args.search_repeat = min(args.search_repeat, 3)
    backends = [name for name in args.backends.split(",") if name and not (args.no_postgres and name == "postgres")]
    if not backends or set(backends) - {"file", "postgres"}:
        parser.error("--backends takes file and/or postgres")
    cache_url = "" if args.no_redis or not redis_available() else REDIS_URL
    results = []
    for size in sizes:
        store_dir, summary = synthetic_store(size, log=log)
        for backend in backends:
            log(f"{backend} store, {size:,} runs")
            results.append(bench_backend(backend, size, store_dir, summary, args, cache_url))
    text = report(results, args, cache_url)
    print(text)
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    (out.with_suffix(".json")).write_text(json.dumps(
        [{**r, "pages": [{"name": t.name, "path": t.path, "status": t.status, "median_ms": t.median, "p95_ms": t.p95,
                          "first_ms": t.first_ms, "bytes": t.size} for t in r["pages"]],
          "searches": [{"term": e["term"], "among": e["among"], "sort": e["sort"], "status": e["timing"].status,
                        "median_ms": e["timing"].median, "first_ms": e["timing"].first_ms}
                       for e in r.get("searches", [])],
          "rss_mb": list(r["rss_mb"].values())} for r in results], indent=2))
    log(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
