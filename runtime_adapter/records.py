"""Run records, normalised exactly as the runtime's `Run.fromJSON(data).toJSON()`.

A run is kept as the plain dict `toJSON()` returns (same keys, same order), so every
inspector works on JSON-shaped data and its output is ready to serialise.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime_adapter.js.jsvalues import LONE_SURROGATE, UNDEFINED, js_or, prop, spread_array, spread_object, truthy

Run = dict[str, Any]

RUN_KEYS = (
    "id", "input", "state", "messages", "steps", "toolCalls", "toolResults", "checkpoints",
    "errors", "events", "timestamps", "status", "output", "pendingApproval", "pendingPause",
    "metrics", "metadata",
)
TIMING_KEYS = ("retrievalMs", "modelMs", "toolMs", "workflowMs", "verifierMs")
TIMESTAMP_KEYS = ("createdAt", "startedAt", "updatedAt", "completedAt", "failedAt", "cancelledAt")


class RunStoreError(Exception):
    """Base class for every error a store or inspector raises on purpose."""


class RunNotFound(RunStoreError, LookupError):
    def __init__(self, run_id: str, message: str | None = None) -> None:
        super().__init__(message or f'Run "{run_id}" not found.')
        self.run_id = run_id


class InvalidRunId(RunStoreError, ValueError):
    """A run id that is not a plain file name (path separators, dot names, NUL...)."""


class CorruptRun(RunStoreError):
    """A stored record that cannot be read as a run (bad JSON, not an object, too big...)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreUnavailable(RunStoreError):
    """The store itself cannot be read (missing directory, no permission, database down)."""


MAX_RUN_ID_BYTES = 250  # a file name is at most 255 bytes, and ".json" takes five


@dataclass(frozen=True)
class StoreEntry:
    """One listing row: a run, or the reason the record behind `source` could not be read."""

    source: str
    run: Run | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.run is not None


def check_run_id(run_id: object) -> str:
    """Refuse ids that are not a plain file name before any file is touched."""
    if not isinstance(run_id, str) or not run_id:
        raise InvalidRunId("A run id must be a non-empty string.")
    if run_id in (".", "..") or any(ch in run_id for ch in ("/", "\\", "\x00")):
        raise InvalidRunId(f"Run id {run_id!r} is not a plain file name.")
    if LONE_SURROGATE.search(run_id):
        # A file name that is not UTF-8 (read with surrogate escapes), or a JSON \ud800: no URL can name it.
        raise InvalidRunId("Run id holds an unpaired surrogate (a name that is not UTF-8).")
    if len(run_id.encode("utf-8", "surrogatepass")) > MAX_RUN_ID_BYTES:
        raise InvalidRunId("Run id is too long.")
    return run_id


def replay_source(run: Run) -> str | None:
    """The run this one replays: metadata.replay.sourceRunId, else metadata.replaySourceRunId.

    Only a non-empty string names a run; any other value is not an id and is passed over.
    """
    metadata = run["metadata"]
    for value in (prop(metadata.get("replay"), "sourceRunId"), metadata.get("replaySourceRunId")):
        if isinstance(value, str) and truthy(value):
            return value
    return None


def _now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _or_now(value: Any) -> Any:
    # The JS constructor stamps a missing createdAt/updatedAt with the current time.
    return value if truthy(value) else _now_iso()


def _or_zero(value: Any) -> Any:
    return js_or(value, 0)


def normalize_run(data: Any) -> Run:
    """`Run.fromJSON(data).toJSON()`: defaults, rebuilt timestamps, metrics and lineage.

    Where the JS constructor would throw (a null `timestamps`, a non-iterable
    `steps`...) we use the empty default instead: a damaged record still displays.
    """
    if not isinstance(data, dict):
        data = {}
    get = data.get
    run_id = get("id", UNDEFINED)
    if run_id is UNDEFINED:
        run_id = str(uuid.uuid4())
    timestamps = get("timestamps")
    metrics = get("metrics")
    metadata = get("metadata")
    if metadata is UNDEFINED or metadata is None:
        metadata = {}
    token_usage = prop(metrics, "tokenUsage")
    timings = prop(metrics, "timings")
    child_runs = prop(metrics, "childRuns")
    lineage = prop(metadata, "lineage")

    normalized_metadata = spread_object(metadata)
    normalized_metadata["lineage"] = {
        "rootRunId": js_or(prop(lineage, "rootRunId"), run_id),
        "parentRunId": js_or(prop(lineage, "parentRunId"), None),
        "childRunIds": spread_array(js_or(prop(lineage, "childRunIds"), [])),
        "branchOriginRunId": js_or(prop(lineage, "branchOriginRunId"), None),
        "branchCheckpointId": js_or(prop(lineage, "branchCheckpointId"), None),
    }
    return {
        "id": run_id,
        "input": get("input", ""),
        "state": spread_object(get("state", {})),
        "messages": spread_array(get("messages", [])),
        "steps": spread_array(get("steps", [])),
        "toolCalls": spread_array(get("toolCalls", [])),
        "toolResults": spread_array(get("toolResults", [])),
        "checkpoints": spread_array(get("checkpoints", [])),
        "errors": spread_array(get("errors", [])),
        "events": spread_array(get("events", [])),
        "timestamps": {
            "createdAt": _or_now(prop(timestamps, "createdAt")),
            "startedAt": js_or(prop(timestamps, "startedAt"), None),
            "updatedAt": _or_now(prop(timestamps, "updatedAt")),
            "completedAt": js_or(prop(timestamps, "completedAt"), None),
            "failedAt": js_or(prop(timestamps, "failedAt"), None),
            "cancelledAt": js_or(prop(timestamps, "cancelledAt"), None),
        },
        "status": get("status", "pending"),
        "output": get("output", None),
        "pendingApproval": get("pendingApproval", None),
        "pendingPause": get("pendingPause", None),
        "metrics": {
            "tokenUsage": {
                "prompt": _or_zero(prop(token_usage, "prompt")),
                "completion": _or_zero(prop(token_usage, "completion")),
                "total": _or_zero(prop(token_usage, "total")),
            },
            "cost": _or_zero(prop(metrics, "cost")),
            "timings": {key: _or_zero(prop(timings, key)) for key in TIMING_KEYS},
            "childRuns": {
                "count": _or_zero(prop(child_runs, "count")),
                "items": spread_array(js_or(prop(child_runs, "items"), [])),
            },
            "debug": js_or(prop(metrics, "debug"), {}),
        },
        "metadata": normalized_metadata,
    }

