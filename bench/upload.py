"""Upload a large trace bundle to the real server and time it: upload, first page, later pages, worker memory.

    python bench/upload.py [--runs 100000] [--bundles 1] [--shape small|synthetic] [--keep]

`small` traces are a few hundred bytes each (100k runs make a ~30 MB bundle, the shape
of issue 9's report); `synthetic` ones come from write_side.synthetic (~30 KB each,
so use a few thousand). gunicorn runs one worker with four threads, login off, in a
scratch data directory that is deleted afterwards (with the bundle) unless --keep.
Prints one JSON object: seconds per upload and page, and the worker's resident memory.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import Server  # noqa: E402

STATUSES = ("completed", "completed", "completed", "failed", "running", "waiting_for_approval", "paused", "cancelled")


def small_runs(count: int) -> list[dict[str, Any]]:
    """Runs with every listing column set and families of ten (a root and nine children)."""
    runs = []
    for index in range(count):
        status = STATUSES[index % len(STATUSES)]
        run_id = f"run-{index:07d}"
        root = f"run-{index - index % 10:07d}"
        created = f"2026-11-{1 + index % 28:02d}T{index % 24:02d}:{index % 60:02d}:00.000Z"
        lineage: dict[str, Any] = {"rootRunId": root}
        if run_id != root:
            lineage["parentRunId"] = root
        run: dict[str, Any] = {
            "id": run_id, "input": f"question {index % 977} about order {index}", "status": status,
            "output": f"answer {index}" if status == "completed" else None,
            "timestamps": {"createdAt": created, "updatedAt": created},
            "metrics": {"promptTokens": index % 900, "completionTokens": index % 300, "totalTokens": index % 1200},
            "metadata": {"lineage": lineage, "release": f"r{index % 5}"},
        }
        if status == "failed":
            run["errors"] = [{"message": f"tool timed out after {index % 30} s"}]
        runs.append(run)
    return runs


def synthetic_runs(count: int) -> list[dict[str, Any]]:
    from write_side.synthetic import generate_runs

    return list(itertools.islice(generate_runs(count), count))


def write_bundle(path: Path, runs: list[dict[str, Any]], broken_every: int = 5000) -> None:
    traces: list[Any] = []
    for index, run in enumerate(runs):
        traces.append({"schemaVersion": "1.1", "format": "agnostic-agents-run-trace", "traceType": "run",
                       "exportedAt": "2026-11-30T00:00:00.000Z", "metadata": {}, "run": run})
        if index % broken_every == broken_every - 1:
            traces.append({"format": "agnostic-agents-run-trace", "run": {"id": f"broken-{index}"}})
    bundle = {"schemaVersion": "1.1", "format": "agnostic-agents-trace-bundle", "traceType": "bundle",
              "exportedAt": "2026-11-30T00:00:00.000Z", "metadata": {"bench": True}, "traces": traces}
    path.write_text(json.dumps(bundle, separators=(",", ":")), encoding="utf-8")


def request(server: Server, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.perf_counter() - started
    finally:
        connection.close()


def upload(server: Server, bundle: Path) -> tuple[str, float]:
    status, headers, body, _ = request(server, "GET", "/bundles/open/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    cookie = re.search(r"csrftoken=([^;]+)", headers.get("set-cookie", ""))
    if status != 200 or not token or not cookie:
        raise RuntimeError(f"no upload form ({status})")
    boundary = uuid.uuid4().hex
    payload = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'.encode(),
        token.group(1), b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="{bundle.name}"\r\n'
        "Content-Type: application/json\r\n\r\n".encode(),
        bundle.read_bytes(), f"\r\n--{boundary}--\r\n".encode(),
    ])
    status, headers, body, seconds = request(server, "POST", "/bundles/open/", payload, {
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": f"csrftoken={cookie.group(1)}"})
    if status != 302:
        raise RuntimeError(f"upload answered {status}: {body[:2000].decode('utf-8', 'replace')}")
    return headers["location"], seconds


def worker_rss_mb(server: Server) -> float:
    """Resident memory of gunicorn's (only) worker now, in MB."""
    worker = server.pids()[-1]
    for line in Path(f"/proc/{worker}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--bundles", type=int, default=1, help="upload (and browse) this many copies")
    parser.add_argument("--shape", choices=("small", "synthetic"), default="small")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    (scratch / "runs").mkdir()
    bundle = scratch / f"bundle-{args.runs}.json"
    write_bundle(bundle, small_runs(args.runs) if args.shape == "small" else synthetic_runs(args.runs))
    size = bundle.stat().st_size
    limit = str(max(size * 2, 50 * 1024 * 1024))
    env = {"CONTROLPLANE_DATA_DIR": str(scratch / "data"), "CONTROLPLANE_RUN_STORE": (scratch / "runs").as_uri(),
           "CONTROLPLANE_MAX_UPLOAD_BYTES": limit, "CONTROLPLANE_MAX_UPLOAD_RUNS": str(args.runs * 2),
           "CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES": str(size * 20 * args.bundles)}
    server = Server(env, workers=1, threads=4, log=scratch / "server.log")
    result: dict[str, Any] = {"runs": args.runs, "shape": args.shape, "bundle_bytes": size, "bundles": []}
    try:
        server.wait_ready()
        request(server, "GET", "/runs/")
        result["worker_rss_mb_before"] = round(worker_rss_mb(server), 1)
        middle = f"run-{args.runs // 2:07d}" if args.shape == "small" else None
        for _ in range(args.bundles):
            location, upload_s = upload(server, bundle)
            figures: dict[str, Any] = {"upload_s": round(upload_s, 2),
                                       "worker_rss_mb_after_upload": round(worker_rss_mb(server), 1)}
            status, _, _, first = request(server, "GET", location)
            figures["first_page_s"] = round(first, 2)
            prefix = location[: -len("runs/")]
            pages = {"runs again": "runs/", "runs page 50": "runs/?page=50", "failed by cost": "runs/?status=failed&sort=cost",
                     "search": "runs/?q=order+4242", "incidents": "incidents/"}
            if middle:
                pages["run detail"] = f"runs/{middle}/"
                pages["run tree"] = f"runs/run-{args.runs // 2 - args.runs // 2 % 10:07d}/tree/"
            timings = {}
            for name, path in pages.items():
                status, _, _, seconds = request(server, "GET", prefix + path)
                if status != 200:
                    raise RuntimeError(f"{prefix + path} answered {status}")
                timings[name] = round(seconds, 3)
            figures["pages_s"] = timings
            figures["worker_rss_mb_after_pages"] = round(worker_rss_mb(server), 1)
            result["bundles"].append(figures)
        uploads = scratch / "data" / "uploads"
        result["upload_dir_bytes"] = sum(p.stat().st_size for p in uploads.rglob("*") if p.is_file())
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
