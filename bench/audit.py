"""Audit log timings on a generated FileAuditSink log of 1M lines: the reader never reads the whole file.

    python bench/audit.py [--lines 1000000] [--repeat 7]

Writes the log once under $CONTROLPLANE_DATA_DIR/bench/ (reused later; ~0.5 GB at 1M lines), then times the
core reader (`read_audit_page`) and the whole page and API through Django's test client: the first page with
line numbering not yet counted, then warm; a page 1,000 pages deep; filters that fill a page quickly and
one that matches nothing (the scan stops at its budget); the bytes each request read. The file is in the
page cache after it is written (the timings are not of a cold disk). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime_adapter.durable import audit  # noqa: E402
from runtime_adapter.durable.audit import AuditQuery, Cursor, read_audit_page  # noqa: E402
from runtime_adapter.js.jsjson import dumps  # noqa: E402

EVENTS = (("tool_requested", 20), ("policy_decision", 35), ("tool_started", 18), ("tool_completed", 15),
          ("run_completed", 8), ("tool_failed", 2), ("run_failed", 1), ("approval_requested", 0.7),
          ("approval_resolved", 0.3))
END = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TOOLS = ("send_email", "update_crm_contact", "issue_refund", "create_ticket", "rotate_webhook_secret")


def generate(path: Path, lines: int, seed: int = 13) -> None:
    """`lines` FileAuditSink lines over 100k runs, one second apart (ending 2026-11-24T12:00Z)."""
    rng = random.Random(seed)
    names, weights = zip(*EVENTS, strict=True)
    start = int(END.timestamp() * 1000) - lines * 1000  # ms
    partial = path.with_suffix(".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        for n in range(lines):
            kind = rng.choices(names, weights)[0]
            run = f"run-{rng.randrange(100_000):05d}"
            tool = TOOLS[n % len(TOOLS)]
            ms = start + n * 1000
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
            payload: dict[str, Any] = {"toolName": tool, "arguments": {"orderId": f"A-{n}", "amount": n % 500,
                                                                      "note": "x" * rng.randrange(40, 240)},
                                       "metadata": {"sideEffectLevel": "external_write", "executionPolicy": "auto"}}
            if n % 97 == 0:
                payload["arguments"]["apiKey"] = f"sk-live-{n:024d}"
            status = {"run_completed": "completed", "run_failed": "failed",
                      "approval_requested": "waiting_for_approval"}.get(kind, "running")
            handle.write(dumps({"timestamp": stamp, "eventType": kind, "runId": run, "status": status,
                                "payload": payload}) + "\n")
    partial.rename(path)


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), result


class ReadCounter:
    """Bytes the reader asked the file for during one call."""

    def __init__(self) -> None:
        self.total = 0
        original = audit._File.read

        def counting(log: Any, offset: int, length: int) -> bytes:
            self.total += length
            return original(log, offset, length)

        audit._File.read = counting  # type: ignore[method-assign]

    def measure(self, action: Callable[[], Any]) -> int:
        self.total = 0
        action()
        return self.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data_dir = Path(os.environ.get("CONTROLPLANE_DATA_DIR", Path(__file__).resolve().parent.parent / "var"))
    path = data_dir / "bench" / f"audit-{args.lines}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        began = time.perf_counter()
        generate(path, args.lines)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - began:.1f} s")
    size = path.stat().st_size
    counter = ReadCounter()
    rows: list[tuple[str, float, int, str]] = []

    def row(name: str, query: AuditQuery, *, repeat: int = args.repeat, cold: bool = False) -> Any:
        if cold:
            audit.LINE_MARKS.clear()
        read = counter.measure(lambda: read_audit_page(path, query))
        if cold:
            audit.LINE_MARKS.clear()
        ms, page = timed(lambda: read_audit_page(path, query), 1 if cold else repeat)
        note = f"{len(page.items)} items, {page.scanned_lines:,} lines scanned{', stopped' if page.stopped else ''}"
        note += f", first line number {page.items[0].line}" if page.items else ""
        rows.append((name, ms, read, note))
        return page

    row("first page, its line number not yet counted", AuditQuery(), cold=True)
    row("first page, while counting (32 MiB a request)", AuditQuery())
    cursor = None
    for _ in range(1000):
        cursor = Cursor.decode(read_audit_page(path, AuditQuery(cursor=cursor)).next_cursor)
    row("page 1,001 (from its cursor)", AuditQuery(cursor=cursor))
    row("first page, once its lines are counted", AuditQuery())
    recent = read_audit_page(path, AuditQuery(limit=1)).items[0].entry["runId"]
    row("filter: runId of a recent run (~10 lines spread over the log)", AuditQuery(run_id=recent))
    row("filter: eventType=policy_decision", AuditQuery(event_type="policy_decision"))
    row("filter: eventType=approval_resolved (0.3%)", AuditQuery(event_type="approval_resolved"))
    row("filter: status=failed (1%)", AuditQuery(status="failed"))
    row("filter: last hour (time range)", AuditQuery(after=END - timedelta(hours=1)))
    row("filter: a run id in no line (stops at the scan budget)", AuditQuery(run_id="run-none"))
    row("filter: a time range in no line (stops at the scan budget)",
        AuditQuery(before=datetime(2020, 1, 1, tzinfo=UTC)))

    # The page and the API, rendered by Django (login off, an empty run store for the run links).
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(CONTROLPLANE_DATA_DIR=str(Path(scratch, "data")),
                          CONTROLPLANE_RUN_STORE=Path(scratch, "runs").as_uri(),
                          CONTROLPLANE_AUDIT_LOG=str(path), CONTROLPLANE_LOGIN_REQUIRED="0",
                          CONTROLPLANE_ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="controlplane.settings")
        Path(scratch, "runs").mkdir()
        Path(scratch, "data").mkdir()
        import django

        django.setup()
        from django.test import Client

        client = Client()
        for name, url in (("page /audit/", "/audit/"), ("API /api/audit/", "/api/audit/"),
                          ("page /audit/?eventType=run_failed", "/audit/?eventType=run_failed"),
                          ("API /api/audit/?runId=(recent run)", f"/api/audit/?runId={recent}")):
            read = counter.measure(lambda url=url: client.get(url))
            ms, response = timed(lambda url=url: client.get(url), args.repeat)
            assert response.status_code == 200, response.content[:300]
            rows.append((name, ms, read, f"HTTP {response.status_code}, {len(response.content):,} bytes"))

    print(f"\n{args.lines:,} lines, {size / 1e6:.0f} MB; median of {args.repeat} (the cold row: one request)\n")
    print("| request | ms | bytes read | |\n|---|---:|---:|---|")
    for name, ms, read, note in rows:
        print(f"| {name} | {ms:.1f} | {read / 1e6:.1f} MB | {note} |")


if __name__ == "__main__":
    main()
