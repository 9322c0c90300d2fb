"""The demo's FileJobStore directory: `<jobId>.json` files exactly as the runtime writes them.

Each job is built the way BackgroundJobScheduler builds it (`schedule()`'s normalised shape and key order, then
what each `runDueJobs()` pass changes) and saved as `FileJobStore.saveJob` does: `JSON.stringify(job, null, 2)`,
no trailing newline. Every status and every operator signal is covered: a healthy recurring job, an overdue one
(the scheduler stopped passing), a stuck one (saved as `running`), recurring jobs that failed and so stopped, one
with an unregistered handler, finished ones, one written by hand through `saveJob` with the runtime's own
example shape, and a file cut short mid-write. Results name real runs of the demo run directory, the run nearest
each pass. Times are relative to the newest run there, so a seed and a run directory give the same files.
"""

from __future__ import annotations

import bisect
import json
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime_adapter.js.dates import iso_ms, parse_iso
from runtime_adapter.js.jsjson import dumps

HOUR = 3_600_000
DAY = 24 * HOUR
_FALLBACK_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

Job = dict[str, Any]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Runs:
    """Root runs of the demo directory by creation time: the runs a job's handler could have started."""

    def __init__(self, runs_dir: Path) -> None:
        self.by_status: dict[str, list[tuple[datetime, str]]] = {}
        self.releases: list[str] = []
        self.newest: datetime | None = None
        for path in sorted(runs_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                continue
            created = parse_iso(_object(record.get("timestamps")).get("createdAt"))
            if created is None:
                continue
            self.newest = created if self.newest is None else max(self.newest, created)
            metadata = _object(record.get("metadata"))
            if _object(metadata.get("lineage")).get("parentRunId") or ":" in record["id"]:
                continue
            self.by_status.setdefault(str(record.get("status")), []).append((created, record["id"]))
            release = metadata.get("release")
            if isinstance(release, str) and release not in self.releases:
                self.releases.append(release)
        for runs in self.by_status.values():
            runs.sort()
        self.used: set[str] = set()

    def near(self, moment: datetime, status: str = "completed") -> str | None:
        """The first unused run of `status` created at or after `moment` (else the last before it)."""
        runs = self.by_status.get(status, [])
        start = bisect.bisect_left(runs, (moment, ""))
        for _created, run_id in runs[start:] + runs[:start][::-1]:
            if run_id not in self.used:
                self.used.add(run_id)
                return run_id
        return None


# BackgroundJobScheduler, step by step --------------------------------------------------------------------------

def _schedule(job_id: str, handler: str, run_at: datetime, *, interval_ms: int | None = None,
              max_runs: int | None = None, metadata: dict[str, Any] | None = None,
              payload: dict[str, Any] | None = None) -> Job:
    """`schedule(job)`'s normalised job, in its key order."""
    return {
        "id": job_id, "handler": handler, "runAt": iso_ms(run_at), "intervalMs": interval_ms, "maxRuns": max_runs,
        "runCount": 0, "status": "scheduled", "metadata": dict(metadata or {}), "payload": dict(payload or {}),
        "result": None, "error": None, "lastRunAt": None, "history": [],
    }


def _succeeded(job: Job, at: datetime, result: Any) -> None:
    job["runCount"] += 1
    job["result"] = result
    job["error"] = None
    job["lastRunAt"] = iso_ms(at)
    job["history"].append({"runNumber": job["runCount"], "status": "completed", "runAt": job["lastRunAt"],
                           "result": result})
    if job["intervalMs"] and (job["maxRuns"] is None or job["runCount"] < job["maxRuns"]):
        job["status"] = "scheduled"
        job["runAt"] = iso_ms(at + timedelta(milliseconds=job["intervalMs"]))
    else:
        job["status"] = "completed"


def _failed(job: Job, at: datetime, message: str) -> None:
    job["runCount"] += 1
    job["status"] = "failed"
    job["error"] = message
    job["lastRunAt"] = iso_ms(at)
    job["history"].append({"runNumber": job["runCount"], "status": "failed", "runAt": job["lastRunAt"],
                           "error": message})


def _unregistered(job: Job) -> None:
    job["status"] = "failed"
    job["error"] = f'Background job handler "{job["handler"]}" is not registered.'


def _passes(job: Job, until: datetime, rng: random.Random,
            outcome: Callable[[datetime], Any]) -> datetime:
    """Successful passes whenever the job is due, until `until`; the time of the last save."""
    saved = parse_iso(job["runAt"]) or until
    while job["status"] == "scheduled":
        due = parse_iso(job["runAt"])
        assert due is not None
        if due > until:
            break
        # runDueJobs(now) is called a little after the job is due; now is what the job records.
        at = due + timedelta(seconds=rng.randint(2, 50))
        _succeeded(job, at, outcome(at))
        saved = at
    return saved


# The demo jobs ------------------------------------------------------------------------------------------------

def demo_jobs(runs: _Runs, now: datetime, rng: random.Random) -> list[tuple[str, str, datetime]]:
    """(file name, file text, when it was last saved) for every demo file, in a fixed order."""
    files: list[tuple[str, str, datetime]] = []

    def save(job: Job, saved: datetime) -> None:
        files.append((f"{job['id']}.json", dumps(job, 2), saved))

    def run_result(extra: Callable[[], dict[str, Any]]) -> Callable[[datetime], Any]:
        def result(at: datetime) -> dict[str, Any]:
            run_id = runs.near(at)
            return {**({"runId": run_id} if run_id else {}), **extra()}
        return result

    # Healthy: daily, next run later today (the demo is read some hours after its newest run).
    job = _schedule("nightly-crm-sync", "crm_sync", now + timedelta(hours=16) - timedelta(days=5), interval_ms=DAY,
                    metadata={"owner": "revops", "team": "growth"},
                    payload={"crm": "hubspot", "objects": ["contacts", "deals"],
                             "apiKey": "sk-live-4f9b2c7e1a3d5f8b0c6e2a9d"})
    save(job, _passes(job, now, rng, run_result(lambda: {"synced": rng.randint(180, 420), "skipped": rng.randint(0, 9)})))

    # Overdue: hourly, but nothing has called runDueJobs() since a little over four hours ago.
    job = _schedule("hourly-incident-digest", "incident_digest", now - timedelta(hours=11, minutes=20),
                    interval_ms=HOUR, metadata={"channel": "#ops-incidents",
                                                "webhook": "https://hooks.slack.com/services/T0DEMO/B0DEMO/x9Kd2LmQ7pRt"},
                    payload={"window": "1h", "minSeverity": "high"})
    save(job, _passes(job, now - timedelta(hours=4, minutes=20), rng,
                      run_result(lambda: {"incidents": rng.randint(0, 6)})))

    # Failed and not rescheduled: every 6 h, three good passes, then the refund provider failed.
    failed_run = runs.near(now - timedelta(hours=30), "failed")
    job = _schedule("refund-reconciliation", "refund_reconcile", now - timedelta(hours=48), interval_ms=6 * HOUR,
                    metadata={"owner": "payments", **({"sourceRunId": failed_run} if failed_run else {})},
                    payload={"provider": "stripe", "lookbackHours": 24})
    last = _passes(job, now - timedelta(hours=31), rng,
                   run_result(lambda: {"matched": rng.randint(40, 90), "mismatched": rng.randint(0, 2)}))
    failed_at = parse_iso(job["runAt"]) or last
    failed_at += timedelta(seconds=rng.randint(2, 50))
    _failed(job, failed_at, f"Refund provider returned 503 for batch {failed_at:%Y%m%d}-{rng.randint(10, 99)} "
                            f"(request {rng.getrandbits(32):08x})")
    save(job, failed_at)

    # Completed: a weekly-style report limited to two runs.
    release = runs.releases[-1] if runs.releases else "2026.11.3"
    job = _schedule("release-report", "release_report", now - timedelta(days=6, hours=3), interval_ms=2 * DAY,
                    max_runs=2, metadata={"owner": "release-eng"}, payload={"release": release, "format": "markdown"})
    save(job, _passes(job, now, rng, run_result(lambda: {"release": release, "pages": rng.randint(2, 5)})))

    # Stuck: its third pass saved "running", then the worker was killed before the handler returned.
    job = _schedule("embeddings-reindex", "reindex_embeddings", now - timedelta(days=3, hours=2), interval_ms=DAY,
                    metadata={"owner": "search"}, payload={"index": "support-articles", "batchSize": 500})
    _passes(job, now - timedelta(hours=27), rng, run_result(lambda: {"documents": rng.randint(9000, 12000)}))
    job["status"] = "running"
    stuck_at = (parse_iso(job["runAt"]) or now) + timedelta(seconds=rng.randint(2, 50))
    save(job, stuck_at)

    # Completed once: a delayed follow-up (no interval).
    job = _schedule("send-followup-email", "send_followup", now - timedelta(days=2, hours=5),
                    metadata={"campaign": "refund-followup"},
                    payload={"to": "customer@example.com", "template": "refund_followup",
                             "smtp": "smtp://mailer:hunter2-demo@smtp.example.com:587"})
    save(job, _passes(job, now, rng, run_result(lambda: {"messageId": f"<{rng.getrandbits(40):010x}@mail.example>"})))

    # Failed once, no interval: a one-shot escalation that gave up (no signal: a one-shot failure is final).
    waiting_run = runs.near(now - timedelta(days=1), "waiting_for_approval")
    job = _schedule("approval-escalation", "escalate_approval", now - timedelta(hours=20),
                    metadata={"toolName": "issue_refund", **({"runId": waiting_run} if waiting_run else {})},
                    payload={"escalateTo": "payments-oncall"})
    at = now - timedelta(hours=20) + timedelta(seconds=rng.randint(2, 50))
    _failed(job, at, "Approval for issue_refund still pending after 24 h; pager escalation rejected (403)")
    save(job, at)

    # Upcoming, never run yet.
    job = _schedule("memory-gc", "memory_gc", now + timedelta(hours=20), interval_ms=12 * HOUR,
                    payload={"layers": ["working"], "dryRun": False})
    save(job, now - timedelta(hours=8))

    # Healthy: twice a day, three passes so far.
    job = _schedule("support-backlog-digest", "backlog_digest", now - timedelta(hours=26), interval_ms=12 * HOUR,
                    metadata={"queue": "support-tier1"})
    save(job, _passes(job, now, rng, run_result(lambda: {"open": rng.randint(12, 60), "escalated": rng.randint(0, 4)})))

    # Failed and not rescheduled: a handler no worker registers any more.
    job = _schedule("legacy-export", "export_v1", now - timedelta(days=1, hours=1), interval_ms=DAY,
                    metadata={"owner": "data"}, payload={"bucket": "s3://exports-legacy/runs/"})
    _unregistered(job)
    save(job, now - timedelta(days=1, hours=1) + timedelta(seconds=rng.randint(2, 50)))

    # Written by hand through saveJob, as the runtime's own file-backed example does: no runAt, no history.
    files.append(("daily-health-check.json",
                  dumps({"id": "daily-health-check", "status": "scheduled", "handler": "health-check"}, 2),
                  now - timedelta(days=1, hours=6)))

    # FileJobStore writes in place: a worker killed mid-write leaves the file cut short.
    cut = _schedule("audit-rollup", "audit_rollup", now + timedelta(hours=1), interval_ms=DAY)
    text = dumps(cut, 2)
    files.append(("audit-rollup.json", text[: text.index('"intervalMs"') + 8], now - timedelta(minutes=40)))
    return files


def write_demo_jobs(target: Path, runs_dir: Path, *, seed: int = 7) -> dict[str, Any]:
    """Write the demo job files that are missing under `target`; existing files are never touched."""
    runs = _Runs(runs_dir)
    now = runs.newest or _FALLBACK_NOW
    files = demo_jobs(runs, now, random.Random(seed))
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, text, saved in files:
        path = target / name
        try:
            with path.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        # The file's time is when saveJob last wrote it (a stuck job's page says since when it is running).
        stamp = saved.timestamp()
        os.utime(path, (stamp, stamp))
        written += 1
    if not written:
        return {}
    return {"directory": str(target), "written": written, "kept": len(files) - written}
