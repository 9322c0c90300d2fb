"""A FileJobStore directory, read-only: one `<jobId>.json` per job, as `JSON.stringify(job, null, 2)` wrote it,
and the signals an operator needs (overdue, stuck, failed and not rescheduled), computed against a given `now`.

The runtime's semantics, from src/runtime/BackgroundJobScheduler.js and src/runtime/stores/FileJobStore.js:
- `runDueJobs(now)` visits `listJobs()` in file-name order and runs only jobs whose status is `scheduled` and whose
  `new Date(runAt)` is not later than now. It saves `running` before calling the handler, so a job left `running`
  (the process stopped mid-handler) is never picked up again.
- A success appends `{runNumber, status, runAt, result}` to `history` and reschedules when `intervalMs` is truthy
  and `maxRuns === null || runCount < maxRuns`; a failure appends `{runNumber, status, runAt, error}` and is never
  rescheduled. An unregistered handler fails the job without a history entry.
- `listJobs()` parses every `.json` file with `JSON.parse`: one unparseable file makes it throw, so no job runs.

Jobs written by hand through `saveJob` may have any shape; every field is read as it is, and a file that cannot be
a job becomes a `JobError` row with its reason, never an exception that hides the rest.
"""

from __future__ import annotations

import errno
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from runtime_adapter.files import Refused, read_bounded
from runtime_adapter.js.dates import parse_iso
from runtime_adapter.js.jsjson import MAX_NESTING, JSONParseError, NestedTooDeep, loads
from runtime_adapter.js.jsvalues import to_js_string, truthy
from runtime_adapter.records import CorruptRun, RunStoreError
from runtime_adapter.redaction import clean_text, redact_value

SETTING = "CONTROLPLANE_JOB_STORE"
OVERDUE, STUCK, FAILED_NOT_RESCHEDULED = "overdue", "stuck", "failed_not_rescheduled"
SIGNALS = (OVERDUE, STUCK, FAILED_NOT_RESCHEDULED)
ANY_SIGNAL = "any"
# What a listing keeps of each job (Job.as_api()'s fields).
SUMMARY_FIELDS = ("id", "handler", "status", "runAt", "intervalMs", "maxRuns", "runCount", "lastRunAt", "error")
# The statuses BackgroundJobScheduler writes; a hand-written job may hold any other.
STATUSES = ("scheduled", "running", "completed", "failed")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
# Run ids named by one job that are looked up in the run store (each is a store read).
MAX_RUN_MENTIONS = 100
_READ_ATTEMPTS = 3
_BLOCKS_SCHEDULER = ("FileJobStore.listJobs() throws on this file, so BackgroundJobScheduler.runDueJobs() runs no job "
                     "at all until it is fixed or removed.")
# `new Date(ms)` holds at most 8.64e15 ms either side of the epoch.
_MAX_DATE_MS = 8.64e15
_RUN_ID_KEY = re.compile(r"runids?$")


class JobStoreUnavailable(Exception):
    """The configured job store cannot be listed: unset, not a file:// URL, missing, or not a directory."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}" if location else reason)
        self.location = location
        self.reason = reason


class JobNotFound(Exception):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


@dataclass(frozen=True)
class JobError:
    """A `.json` file of the directory that is not a readable job: why, and what the runtime does with it."""

    file: str
    job_id: str
    reason: str
    effect: str = ""
    content: Any = None  # the parsed JSON (redacted) when there was any

    def as_api(self) -> dict[str, Any]:
        return {"file": self.file, "id": self.job_id, "reason": self.reason, "effect": self.effect}


class UnreadableJob(Exception):
    def __init__(self, error: JobError) -> None:
        super().__init__(error.reason)
        self.error = error


@dataclass(frozen=True)
class HistoryEntry:
    """One item of `history`: `{runNumber, status, runAt, result}` or `{…, error}`; anything else kept as `raw`."""

    run_number: Any
    status: Any
    run_at: Any
    result: Any
    error: Any
    has_result: bool
    has_error: bool
    raw: Any

    @property
    def is_record(self) -> bool:
        return isinstance(self.raw, dict)

    def as_api(self) -> dict[str, Any]:
        if not self.is_record:
            return {"raw": self.raw}
        entry = {"runNumber": self.run_number, "status": self.status, "runAt": self.run_at}
        if self.has_result:
            entry["result"] = self.result
        if self.has_error:
            entry["error"] = self.error
        return entry


@dataclass(frozen=True)
class Job:
    """One job file, redacted, with the operator's signals and notes on how the scheduler will treat it."""

    id: str  # the file name without `.json`: the key `getJob(jobId)` reads
    file: str
    record: dict[str, Any]  # every field as the file holds it, redacted
    saved_at: datetime | None  # the file's modification time: when `saveJob` last wrote it
    due_at: datetime | None  # `new Date(runAt)`, when that is a time
    signals: tuple[str, ...]
    notes: tuple[str, ...]
    history: tuple[HistoryEntry, ...]
    history_kind: str  # "list", or what `history` is instead ("missing", "an object", …)

    def field(self, key: str) -> Any:
        return self.record.get(key)

    handler = property(lambda self: self.field("handler"))
    status = property(lambda self: self.field("status"))
    run_at = property(lambda self: self.field("runAt"))
    interval_ms = property(lambda self: self.field("intervalMs"))
    max_runs = property(lambda self: self.field("maxRuns"))
    run_count = property(lambda self: self.field("runCount"))
    last_run_at = property(lambda self: self.field("lastRunAt"))
    error = property(lambda self: self.field("error"))
    result = property(lambda self: self.field("result"))
    payload = property(lambda self: self.field("payload"))
    metadata = property(lambda self: self.field("metadata"))

    def as_api(self) -> dict[str, Any]:
        return {
            "id": self.id, "handler": self.handler, "status": self.status, "runAt": self.run_at,
            "intervalMs": self.interval_ms, "maxRuns": self.max_runs, "runCount": self.run_count,
            "lastRunAt": self.last_run_at, "error": self.error, "signals": list(self.signals),
        }


@dataclass(frozen=True)
class JobQuery:
    status: str = ""
    handler: str = ""
    signal: str = ""  # one of SIGNALS, ANY_SIGNAL, or "" for every job
    offset: int = 0
    limit: int | None = None

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.handler or self.signal)


@dataclass(frozen=True)
class JobListing:
    directory: str
    jobs: list[Job]
    errors: list[JobError]


@dataclass(frozen=True)
class JobPage:
    """The jobs a query selects (one page of them), with what the whole directory holds beside."""

    directory: str
    jobs: list[Job]
    total: int  # jobs the query selects, every page
    all_jobs: int
    errors: list[JobError]
    signal_counts: dict[str, int]
    statuses: list[str]
    handlers: list[str]


@dataclass(frozen=True)
class RunMention:
    run_id: str
    places: tuple[str, ...]  # `result.runId`, `history[2].result.runIds[0]`, `metadata.sourceRunId`
    exists: bool


@dataclass(frozen=True)
class JobDetail:
    directory: str
    job: Job
    runs: list[RunMention] = field(default_factory=list)
    runs_unavailable: str = ""  # why run ids could not be checked against the run store


# Where the store is ------------------------------------------------------------------------------------------

def job_directory(url: str) -> Path:
    """The directory a `file:///dir` job store URL names; JobStoreUnavailable for anything else."""
    if not url.strip():
        raise JobStoreUnavailable("", f"{SETTING} is not set: point it at the FileJobStore directory, as a "
                                      "file:///path URL (the runtime's default is .agnostic-agents/jobs).")
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        raise JobStoreUnavailable(url, f"{SETTING} must be a file:///path URL naming a FileJobStore directory; "
                                       "no other job store is read.")
    # file://relative/dir is a common slip: host and path as a relative path, as run store URLs are read.
    return Path(unquote(parts.netloc + parts.path if parts.netloc not in ("", "localhost") else parts.path))


def _job_files(directory: Path) -> list[str]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        raise JobStoreUnavailable(str(directory), "the directory does not exist (the runtime creates it on its "
                                                  "first saveJob)") from None
    except NotADirectoryError:
        raise JobStoreUnavailable(str(directory), "this is a file, not a directory") from None
    except OSError as error:
        raise JobStoreUnavailable(str(directory), error.strerror or str(error)) from None
    # listJobs() reads every name ending in `.json`, in readdir's order: Node sorts names by their bytes.
    return sorted((name for name in names if name.endswith(".json")),
                  key=lambda name: name.encode("utf-8", "surrogateescape"))


# Reading one file --------------------------------------------------------------------------------------------

class _Unreadable(Exception):
    def __init__(self, reason: str, effect: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.effect = effect


def _read_bytes(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result, bool]:
    """The file's bytes, its status after reading, and whether it changed while it was read (`files.read_bounded`,
    in the job store's words)."""
    try:
        return read_bounded(path, max_bytes)
    except Refused as refused:
        if refused.kind == "error" and refused.errno == errno.ENAMETOOLONG:
            # No file of the directory can have this name.
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path)) from None
        if refused.kind == "symlink":
            raise _Unreadable("a symbolic link: links are not followed here (the runtime would read its "
                              "target)") from None
        if refused.kind == "directory" or (refused.kind == "error" and refused.errno == errno.EISDIR):
            raise _Unreadable("a directory, not a file", _BLOCKS_SCHEDULER) from None
        if refused.kind == "not_regular":
            raise _Unreadable("not a regular file") from None
        if refused.kind == "too_big":
            raise _Unreadable(f"the file is {refused.size:,} bytes, over the {max_bytes:,}-byte limit of "
                              "what is read here") from None
        if refused.kind == "over_limit":
            raise _Unreadable(f"the file is over the {max_bytes:,}-byte limit of what is read here") from None
        raise _Unreadable(refused.detail, _BLOCKS_SCHEDULER) from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object"


def _parse_file(path: Path, max_bytes: int) -> tuple[Any, os.stat_result]:
    """The file parsed as `JSON.parse(readFile(path, 'utf8'))` would, retried while a writer is mid-write."""
    reason = "unreadable"
    for attempt in range(_READ_ATTEMPTS):
        data, info, changed = _read_bytes(path, max_bytes)
        # readFile(…, 'utf8') puts U+FFFD for bytes that are not UTF-8; JSON.parse then reads the text.
        text = data.decode("utf-8", errors="replace")
        if not text.strip():
            reason = "empty file (a write cut short, or one in progress)"
        else:
            try:
                # Fewer brackets than the nesting limit cannot nest past it: most job files skip that walk.
                shallow = text.count("{") + text.count("[") <= MAX_NESTING
                return loads(text, max_nesting=None if shallow else MAX_NESTING), info
            except NestedTooDeep as error:
                raise _Unreadable(str(error)) from None
            except JSONParseError as error:
                reason = f"invalid JSON ({error})"
        if not changed and attempt > 0:
            break
        time.sleep(0.01 * (attempt + 1))
    raise _Unreadable(reason, _BLOCKS_SCHEDULER)


def _not_a_job(value: Any) -> _Unreadable:
    kind = _json_kind(value)
    if value is None:
        return _Unreadable("the JSON is null, not a job object",
                           "BackgroundJobScheduler.runDueJobs() throws when it reaches this file (it reads "
                           "null.status): jobs after it in file-name order are not run on that pass.")
    return _Unreadable(f"the JSON is {kind}, not a job object",
                       "The scheduler skips it: it has no status, so it never runs.")


# Fields as the runtime reads them ----------------------------------------------------------------------------

def due_time(record: dict[str, Any]) -> datetime | None:
    """`new Date(record.runAt)` when that is a time: ISO text, epoch milliseconds, or null (the epoch)."""
    if "runAt" not in record:
        return None
    value = record["runAt"]
    if value is None or isinstance(value, bool):
        value = int(value or 0)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or abs(value) > _MAX_DATE_MS:
            return None
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
        except OverflowError:
            return None
    if isinstance(value, str):
        return parse_iso(value)
    return None


def job_signals(record: dict[str, Any], now: datetime) -> tuple[str, ...]:
    """What needs an operator, as BackgroundJobScheduler would treat this job (the raw record, not redacted)."""
    status = record.get("status")
    signals = []
    if status == "scheduled":
        due = due_time(record)
        if due is not None and due < now:
            signals.append(OVERDUE)
    if status == "running":
        signals.append(STUCK)
    if status == "failed" and truthy(record.get("intervalMs")):
        signals.append(FAILED_NOT_RESCHEDULED)
    return tuple(signals)


def _quoted(value: Any, secrets: bool, limit: int = 80) -> str:
    text = clean_text(to_js_string(value), secrets=secrets)
    return f'"{text[:limit - 1]}…"' if len(text) > limit else f'"{text}"'


def job_notes(record: dict[str, Any], *, secrets: bool = True) -> tuple[str, ...]:
    """How the scheduler will treat a job whose shape is not what `schedule()` writes (hand-written jobs)."""
    notes = []
    status = record.get("status")
    if "status" not in record:
        notes.append('No status: the scheduler runs only jobs saved as "scheduled", so this one never runs.')
    elif status not in STATUSES:
        notes.append(f"Status {_quoted(status, secrets)} is not one the scheduler writes; it runs only "
                     '"scheduled" jobs, so this one never runs.')
    if status == "scheduled":
        if "runAt" not in record:
            notes.append("No runAt: the scheduler reads it as due (new Date(undefined) is never later than now), "
                         "so the job runs at the next pass.")
        elif due_time(record) is None:
            notes.append(f"runAt {_quoted(record['runAt'], secrets)} is not a timestamp read here; if JavaScript's "
                         "Date cannot read it either, the scheduler treats the job as due and runs it at the next "
                         "pass.")
        if not isinstance(record.get("history"), list):
            notes.append("No history list: once the handler has run, runDueJobs() throws while recording the "
                         'outcome, leaves the job saved as "running" for good, and runs no job after it in '
                         "file-name order on that pass.")
        if truthy(record.get("intervalMs")) and "maxRuns" not in record:
            notes.append("Recurring without a maxRuns field: the scheduler reschedules only when maxRuns is null "
                         "or not yet reached, so after its next run this job is marked completed.")
    return tuple(notes)


def _history_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    return "missing" if value is None else _json_kind(value)


def _history(value: Any) -> tuple[tuple[HistoryEntry, ...], str]:
    if not isinstance(value, list):
        return (), _history_kind(value)
    entries = []
    for item in value:
        if isinstance(item, dict):
            entries.append(HistoryEntry(item.get("runNumber"), item.get("status"), item.get("runAt"),
                                        item.get("result"), item.get("error"), "result" in item, "error" in item,
                                        item))
        else:
            entries.append(HistoryEntry(None, None, None, None, None, False, False, item))
    return tuple(entries), "list"


def _redacted(record: dict[str, Any], secrets: bool) -> dict[str, Any]:
    shown: dict[str, Any] = redact_value(record, secrets=secrets)
    if isinstance(record.get("id"), str):
        # The job's own id is its address (the file name): never rewritten, only scrubbed, as run ids are.
        shown["id"] = clean_text(record["id"], secrets=False)
    return shown


def read_job_file(directory: Path, name: str, *, now: datetime, secrets: bool = True,
                  max_bytes: int = DEFAULT_MAX_FILE_BYTES, summary: bool = False) -> Job | JobError:
    """One `<id>.json` file as a Job, or a JobError saying why it cannot be one. FileNotFoundError if gone.

    A `summary` job (a listing's) keeps only the fields a list shows, redacted, and no history: redacting every
    payload and history of a large directory on each listing would cost seconds.
    """
    stem = name[: -len(".json")]
    shown_stem = clean_text(stem, secrets=False)
    if not stem:
        return JobError(name, shown_stem, "the file is named .json: no job id",
                        "The scheduler reads it as a job all the same.")
    try:
        parsed, info = _parse_file(directory / name, max_bytes)
        if not isinstance(parsed, dict):
            raise _not_a_job(parsed)
    except _Unreadable as error:
        return JobError(name, shown_stem, error.reason, error.effect)
    if "id" not in parsed:
        return JobError(name, shown_stem, "the job names no id",
                        "FileJobStore.getJob() finds it under no id, and the scheduler saves its next state to "
                        "undefined.json, leaving this file as it is.", None if summary else _redacted(parsed, secrets))
    if to_js_string(parsed["id"]) != stem:
        inside = _quoted(parsed["id"], secrets)
        return JobError(name, shown_stem, f"the job inside names id {inside}, not the file's name",
                        f"FileJobStore.getJob({_quoted(stem, False)}) returns a job whose id is {inside}, and the "
                        f"scheduler saves its next state to {inside[:-1]}.json\", leaving this file as it is.",
                        None if summary else _redacted(parsed, secrets))
    history: tuple[HistoryEntry, ...] = ()
    if summary:
        content = _redacted({key: parsed[key] for key in SUMMARY_FIELDS if key in parsed}, secrets)
        history_kind = _history_kind(parsed.get("history"))
    else:
        content = _redacted(parsed, secrets)
        history, history_kind = _history(content.get("history"))
    return Job(
        id=stem, file=name, record=content,
        saved_at=datetime.fromtimestamp(info.st_mtime, UTC),
        due_at=due_time(parsed), signals=job_signals(parsed, now), notes=job_notes(parsed, secrets=secrets),
        history=history, history_kind=history_kind,
    )


# The directory -----------------------------------------------------------------------------------------------

def read_jobs(url: str, *, now: datetime, secrets: bool = True,
              max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> JobListing:
    """Every job of the store (summaries: see `read_job_file`), in the order runDueJobs() visits them, and every
    file that is not a job."""
    directory = job_directory(url)
    jobs: list[Job] = []
    errors: list[JobError] = []
    for name in _job_files(directory):
        try:
            item = read_job_file(directory, name, now=now, secrets=secrets, max_bytes=max_bytes, summary=True)
        except FileNotFoundError:
            continue  # removed since the directory was listed
        if isinstance(item, Job):
            jobs.append(item)
        else:
            errors.append(item)
    return JobListing(str(directory), jobs, errors)


def _selected(job: Job, query: JobQuery) -> bool:
    if query.status and to_js_string(job.status) != query.status:
        return False
    if query.handler and to_js_string(job.handler) != query.handler:
        return False
    if query.signal == ANY_SIGNAL:
        return bool(job.signals)
    return not query.signal or query.signal in job.signals


def _labels(values: Iterator[Any]) -> list[str]:
    return sorted({to_js_string(value) for value in values if value is not None})


def list_jobs(url: str, query: JobQuery, *, now: datetime, secrets: bool = True,
              max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> JobPage:
    """The jobs `query` selects, one page of them, with the directory's signal counts and unreadable files."""
    listing = read_jobs(url, now=now, secrets=secrets, max_bytes=max_bytes)
    selected = [job for job in listing.jobs if _selected(job, query)]
    end = None if query.limit is None else query.offset + query.limit
    counts = {signal: sum(signal in job.signals for job in listing.jobs) for signal in SIGNALS}
    counts[ANY_SIGNAL] = sum(bool(job.signals) for job in listing.jobs)
    return JobPage(
        directory=listing.directory, jobs=selected[query.offset:end], total=len(selected),
        all_jobs=len(listing.jobs), errors=listing.errors, signal_counts=counts,
        statuses=sorted(set(STATUSES) | set(_labels(job.status for job in listing.jobs))),
        handlers=_labels(job.handler for job in listing.jobs),
    )


def _checked_stem(job_id: str) -> str:
    # getJob(jobId) reads `${jobId}.json` in the directory; an id that would leave it is no job of this store.
    if not job_id or "/" in job_id or "\\" in job_id or "\x00" in job_id or job_id in (".", ".."):
        raise JobNotFound(job_id)
    return job_id


def read_job(url: str, job_id: str, *, now: datetime, secrets: bool = True,
             max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Job:
    """The job `getJob(job_id)` reads; JobNotFound, or UnreadableJob with the reason."""
    directory = job_directory(url)
    if not directory.is_dir():
        _job_files(directory)  # raises JobStoreUnavailable with the reason
    try:
        item = read_job_file(directory, f"{_checked_stem(job_id)}.json", now=now, secrets=secrets,
                             max_bytes=max_bytes)
    except FileNotFoundError:
        raise JobNotFound(job_id) from None
    if isinstance(item, JobError):
        raise UnreadableJob(item)
    return item


def _mentions(value: Any, place: str) -> Iterator[tuple[str, str]]:
    """(run id, place) for every string under a key named like `runId`, `sourceRunId`, `runIds`, nested too."""
    stack: list[tuple[Any, str]] = [(value, place)]
    while stack:
        current, where = stack.pop(0)
        if isinstance(current, dict):
            for key, item in current.items():
                here = f"{where}.{key}"
                normal = str(key).lower().replace("_", "").replace("-", "")
                if _RUN_ID_KEY.search(normal):
                    if isinstance(item, str) and item:
                        yield item, here
                        continue
                    if isinstance(item, list):
                        for index, element in enumerate(item):
                            if isinstance(element, str) and element:
                                yield element, f"{here}[{index}]"
                        continue
                if isinstance(item, (dict, list)):
                    stack.append((item, here))
        elif isinstance(current, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(current)
                         if isinstance(item, (dict, list)))


def run_mentions(job: Job) -> list[tuple[str, tuple[str, ...]]]:
    """The run ids the job's result, its history's results and its metadata name, first mention first."""
    found: dict[str, list[str]] = {}
    sources: list[tuple[Any, str]] = [(job.result, "result")]
    sources += [(entry.result, f"history[{index}].result") for index, entry in enumerate(job.history)
                if entry.has_result]
    sources.append((job.metadata, "metadata"))
    for value, place in sources:
        for run_id, where in _mentions(value, place):
            if run_id in found:
                found[run_id].append(where)
            elif len(found) < MAX_RUN_MENTIONS:
                found[run_id] = [where]
    return [(run_id, tuple(places)) for run_id, places in found.items()]


def job_detail(url: str, job_id: str, *, now: datetime, run_exists: Callable[[str], bool], secrets: bool = True,
               max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> JobDetail:
    """One job with the runs it names, each checked with `run_exists` (a run store's `has_run`)."""
    job = read_job(url, job_id, now=now, secrets=secrets, max_bytes=max_bytes)
    mentions: list[RunMention] = []
    unavailable = ""
    for run_id, places in run_mentions(job):
        exists = False
        if not unavailable:
            try:
                exists = run_exists(run_id)
            except CorruptRun:
                exists = True  # its file is there: the run page says why it cannot be read
            except RunStoreError as error:  # the run store is down or misconfigured: say so, show the ids
                unavailable = str(error)
        mentions.append(RunMention(run_id, places, exists))
    return JobDetail(str(job_directory(url)), job, mentions, unavailable)
