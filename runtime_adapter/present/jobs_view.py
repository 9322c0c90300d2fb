"""What the job pages show of a FileJobStore's jobs (runtime_adapter.durable.jobs): signal badges with the reason
an operator should care, intervals as durations, history newest first, and the job's JSON as the runtime prints it.

Pure formatting; the pages and the tests read the same strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime_adapter.durable.jobs import (
    ANY_SIGNAL,
    FAILED_NOT_RESCHEDULED,
    OVERDUE,
    SIGNALS,
    STATUSES,
    STUCK,
    HistoryEntry,
    Job,
    JobDetail,
    RunMention,
)
from runtime_adapter.js.dates import parse_iso
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import to_js_string
from runtime_adapter.present.formatting import DASH, clip, duration, finite_number, relative_time

SIGNAL_LABELS = {OVERDUE: "overdue", STUCK: "stuck", FAILED_NOT_RESCHEDULED: "failed, not rescheduled"}
SIGNAL_CHOICES = [("", "all jobs"), (ANY_SIGNAL, "any signal"), *((name, SIGNAL_LABELS[name]) for name in SIGNALS)]
# The history table shows the newest entries; the API has every one.
HISTORY_SHOWN = 200
ERROR_CLIP = 160


@dataclass(frozen=True)
class SignalBadge:
    name: str
    label: str
    explanation: str


def signal_badges(job: Job, now: datetime) -> list[SignalBadge]:
    badges = []
    for name in job.signals:
        if name == OVERDUE:
            due = relative_time(job.due_at, now) if job.due_at else DASH
            text = (f"Due {due} and still scheduled: runDueJobs() runs a due job only when it is called, and it has "
                    "not been since.")
        elif name == STUCK:
            saved = f" {relative_time(job.saved_at, now)}" if job.saved_at else ""
            text = (f"Saved as running{saved}: the scheduler picks up only scheduled jobs, so this one never runs "
                    "again. The process running it stopped (or runDueJobs() threw) before the outcome was saved.")
        else:
            text = ("A recurring job (intervalMs) whose last run failed: the scheduler reschedules only after a "
                    "success, so it has stopped for good.")
        badges.append(SignalBadge(name, SIGNAL_LABELS[name], text))
    return badges


def status_class(status: Any) -> str:
    """A badge class for the statuses the scheduler writes; anything else keeps the neutral badge."""
    return f"status-{status}" if status in STATUSES and status != "scheduled" else "status-pending"


def value_text(value: Any) -> str:
    """A field as one line: strings as they are, other JSON as the runtime prints it, the dash for null."""
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    return dumps(value) if isinstance(value, (dict, list)) else to_js_string(value)


def interval_text(value: Any) -> str:
    ms = finite_number(value)
    if value is None:
        return DASH
    return f"every {duration(ms)}" if ms is not None and ms > 0 else value_text(value)


def pretty_json(value: Any) -> str:
    """`JSON.stringify(value, null, 2)`; strings as they are."""
    return value if isinstance(value, str) else dumps(value, 2)


@dataclass(frozen=True)
class JobRow:
    job: Job
    handler: str
    status: str
    status_class: str
    interval: str
    max_runs: str
    run_count: str
    error: str
    signals: list[SignalBadge]
    run_at_is_time: bool
    last_run_at_is_time: bool


def job_row(job: Job, now: datetime) -> JobRow:
    error = value_text(job.error) if job.error is not None else ""
    return JobRow(
        job=job, handler=value_text(job.handler), status=value_text(job.status), status_class=status_class(job.status),
        interval=interval_text(job.interval_ms), max_runs=value_text(job.max_runs),
        run_count=value_text(job.run_count), error=clip(" ".join(error.split()), ERROR_CLIP),
        signals=signal_badges(job, now), run_at_is_time=is_time(job.run_at),
        last_run_at_is_time=is_time(job.last_run_at),
    )


def job_rows(jobs: list[Job], now: datetime) -> list[JobRow]:
    return [job_row(job, now) for job in jobs]


def is_time(value: Any) -> bool:
    """Whether a field is a timestamp the `<time>` element can show (else it is shown as text)."""
    return isinstance(value, str) and parse_iso(value) is not None


@dataclass(frozen=True)
class HistoryRow:
    number: int  # its place in `history`, from 1
    entry: HistoryEntry
    run_number: str
    status: str
    status_class: str
    run_at_is_time: bool
    outcome: str  # the error, or the result as JSON, or the whole item when it is not a history record
    failed: bool


def history_rows(job: Job) -> list[HistoryRow]:
    """Newest first, at most HISTORY_SHOWN."""
    rows = []
    start = max(0, len(job.history) - HISTORY_SHOWN)
    for index in range(len(job.history) - 1, start - 1, -1):
        entry = job.history[index]
        if not entry.is_record:
            outcome, failed = pretty_json(entry.raw), False
        elif entry.has_error:
            outcome, failed = value_text(entry.error), True
        elif entry.has_result:
            outcome, failed = pretty_json(entry.result), False
        else:
            outcome, failed = pretty_json(entry.raw), False
        rows.append(HistoryRow(
            number=index + 1, entry=entry, run_number=value_text(entry.run_number) if entry.is_record else DASH,
            status=value_text(entry.status) if entry.is_record else "not a history record",
            status_class=status_class(entry.status), run_at_is_time=is_time(entry.run_at), outcome=outcome,
            failed=failed,
        ))
    return rows


@dataclass(frozen=True)
class JobView:
    row: JobRow
    history: list[HistoryRow]
    history_hidden: int
    runs: list[RunMention]
    runs_unavailable: str
    payload: str
    metadata: str
    result: str
    record: str


def job_view(detail: JobDetail, now: datetime) -> JobView:
    job = detail.job
    return JobView(
        row=job_row(job, now), history=history_rows(job), history_hidden=max(0, len(job.history) - HISTORY_SHOWN),
        runs=detail.runs, runs_unavailable=detail.runs_unavailable,
        payload=pretty_json(job.payload) if "payload" in job.record else "",
        metadata=pretty_json(job.metadata) if "metadata" in job.record else "",
        result=pretty_json(job.result) if job.result is not None else "",
        record=dumps(job.record, 2),
    )
