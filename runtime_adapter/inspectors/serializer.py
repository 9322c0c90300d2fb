"""`TraceSerializer` (schema 1.1): portable run traces and bundles, and their validation."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from runtime_adapter.js.jsvalues import UNDEFINED, js_or, prop, to_js_string, truthy
from runtime_adapter.records import Run, normalize_run

SCHEMA_VERSION = "1.1"
RUN_FORMAT = "agnostic-agents-run-trace"
BUNDLE_FORMAT = "agnostic-agents-trace-bundle"

# String.prototype.trim removes WhiteSpace and LineTerminator code points (not Python's set).
_JS_WHITESPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


class InvalidTrace(ValueError):
    def __init__(self, message: str, errors: list[str]) -> None:
        super().__init__(message)
        self.errors = errors


def iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def describe_schema() -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "runFormat": RUN_FORMAT,
        "bundleFormat": BUNDLE_FORMAT,
        "requiredRunFields": ["schemaVersion", "format", "exportedAt", "metadata", "run"],
        "requiredBundleFields": ["schemaVersion", "format", "exportedAt", "metadata", "traces"],
    }


def export_run(run: Run, metadata: Any = None, *, exported_at: str | None = None) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "format": RUN_FORMAT,
        "traceType": "run",
        "exportedAt": exported_at or iso_now(),
        "metadata": {} if metadata is None else metadata,
        "run": normalize_run(run),
    }


def branch_from_checkpoint(run: Run, checkpoint: dict[str, Any], *, branch_id: str, metadata: dict[str, Any]) -> Run:
    """`Run.branchFromCheckpoint`, computed only: the new run is returned, never saved."""
    snapshot = checkpoint.get("snapshot") if truthy(checkpoint.get("snapshot")) else _snapshot(run)
    lineage = run["metadata"]["lineage"]
    now = iso_now()
    branch = normalize_run({
        "id": branch_id,
        "input": run["input"],
        "state": js_or(prop(snapshot, "state"), {}),
        "messages": js_or(prop(snapshot, "messages"), []),
        "steps": js_or(prop(snapshot, "steps"), []),
        "toolCalls": js_or(prop(snapshot, "toolCalls"), []),
        "toolResults": js_or(prop(snapshot, "toolResults"), []),
        "metrics": js_or(prop(snapshot, "metrics"), {}),
        "timestamps": {"createdAt": now, "updatedAt": now},
        "metadata": {
            **metadata,
            "lineage": {
                "rootRunId": js_or(lineage.get("rootRunId"), run["id"]),
                "parentRunId": js_or(lineage.get("parentRunId"), None),
                "childRunIds": [],
                "branchOriginRunId": run["id"],
                "branchCheckpointId": checkpoint.get("id", UNDEFINED),
            },
        },
    })
    branch["pendingApproval"] = None
    branch["pendingPause"] = {
        "reason": f'Branched from checkpoint "{to_js_string(checkpoint.get("label", UNDEFINED))}".',
        "stage": "branch",
        "sourceRunId": run["id"],
        "sourceCheckpointId": checkpoint.get("id", UNDEFINED),
    }
    branch["status"] = "paused"
    return branch


def _snapshot(run: Run) -> dict[str, Any]:
    return {
        "state": run["state"],
        "messages": run["messages"],
        "steps": run["steps"],
        "toolCalls": run["toolCalls"],
        "toolResults": run["toolResults"],
        "metrics": run["metrics"],
    }


def find_checkpoint(run: Run, checkpoint_id: str | None) -> dict[str, Any] | None:
    """`Run.getCheckpoint`: the last checkpoint, or the first with that id."""
    checkpoints = run["checkpoints"]
    if not checkpoint_id:
        found = checkpoints[-1] if checkpoints else None
    else:
        found = next((cp for cp in checkpoints if isinstance(cp, dict) and cp.get("id") == checkpoint_id), None)
    return found if truthy(found) and isinstance(found, dict) else None


def export_partial_run(
    run: Run, checkpoint_id: str | None = None, metadata: dict[str, Any] | None = None, *, now_ms: int | None = None
) -> dict[str, Any]:
    source = normalize_run(run)
    checkpoint = find_checkpoint(source, checkpoint_id)
    if checkpoint is None:
        if checkpoint_id:
            raise LookupError(f'Checkpoint "{checkpoint_id}" not found on run "{source["id"]}".')
        raise LookupError(f'Run "{source["id"]}" has no checkpoints to export from.')
    stamp = now_ms if now_ms is not None else int(time.time() * 1000)
    partial = branch_from_checkpoint(
        source,
        checkpoint,
        branch_id=f"{source['id']}:partial:{stamp}",
        metadata={"replaySourceRunId": source["id"], "replayCheckpointId": checkpoint.get("id", UNDEFINED)},
    )
    return {
        "schemaVersion": SCHEMA_VERSION,
        "format": RUN_FORMAT,
        "traceType": "partial",
        "exportedAt": iso_now(),
        "metadata": {
            **(metadata or {}),
            "mode": "partial",
            "sourceRunId": source["id"],
            "checkpointId": checkpoint.get("id", UNDEFINED),
        },
        "run": partial,
    }


def export_bundle(runs: Iterable[Run], metadata: Any = None, *, exported_at: str | None = None) -> dict[str, Any]:
    traces = [export_run(run, exported_at=exported_at) for run in runs]
    return {
        "schemaVersion": SCHEMA_VERSION,
        "format": BUNDLE_FORMAT,
        "traceType": "bundle",
        "exportedAt": exported_at or iso_now(),
        "metadata": {} if metadata is None else metadata,
        "index": [
            {"runId": js_or(prop(trace["run"], "id"), None), "status": js_or(prop(trace["run"], "status"), None)}
            for trace in traces
        ],
        "traces": traces,
    }


def validate_trace(trace: Any = UNDEFINED, allow_bundle: bool = False) -> dict[str, Any]:
    if trace is UNDEFINED:
        trace = {}  # the JS signature defaults a missing argument to {}
    errors: list[str] = []
    warnings: list[str] = []
    if not truthy(trace) or not isinstance(trace, (dict, list)):
        errors.append("Trace payload must be an object.")
        return {"valid": False, "errors": errors, "warnings": warnings}

    version = prop(trace, "schemaVersion") if isinstance(trace, dict) else UNDEFINED
    if not isinstance(version, str) or not version.strip(_JS_WHITESPACE):
        errors.append("schemaVersion is required.")
    if truthy(version) and not (isinstance(version, str) and version == SCHEMA_VERSION):
        warnings.append(
            f'Trace schemaVersion "{to_js_string(version)}" differs from supported version "{SCHEMA_VERSION}".'
        )

    trace_format = trace.get("format") if isinstance(trace, dict) else UNDEFINED
    if trace_format == RUN_FORMAT and isinstance(trace_format, str):
        assert isinstance(trace, dict)
        if not truthy(trace.get("exportedAt")):
            errors.append("exportedAt is required.")
        if "metadata" not in trace:
            errors.append("metadata is required.")
        run = trace.get("run")
        if not truthy(run) or not isinstance(run, (dict, list)):
            errors.append("run is required.")
        else:
            if not truthy(prop(run, "id") if isinstance(run, dict) else UNDEFINED):
                errors.append("run.id is required.")
            if not truthy(prop(run, "status") if isinstance(run, dict) else UNDEFINED):
                errors.append("run.status is required.")
    elif trace_format == BUNDLE_FORMAT and isinstance(trace_format, str):
        assert isinstance(trace, dict)
        if not allow_bundle:
            errors.append("Bundle format is not allowed in this context.")
        traces = trace.get("traces")
        if not isinstance(traces, list):
            errors.append("traces must be an array.")
        else:
            for index, child in enumerate(traces):
                child_result = validate_trace(child)
                if not child_result["valid"]:
                    errors.append(f"traces[{index}] is invalid: {', '.join(child_result['errors'])}")
                warnings.extend(child_result["warnings"])
    else:
        errors.append("Unsupported trace format.")
    return {"valid": not errors, "errors": errors, "warnings": warnings}


def import_run(trace: Any) -> Run:
    result = validate_trace(trace)
    if not result["valid"]:
        raise InvalidTrace(f"Invalid run trace format: {'; '.join(result['errors'])}", result["errors"])
    return normalize_run(trace.get("run") or {})


def import_bundle(bundle: Any) -> list[Run]:
    result = validate_trace(bundle, allow_bundle=True)
    if not result["valid"] or prop(bundle, "format") != BUNDLE_FORMAT:
        raise InvalidTrace(f"Invalid trace bundle format: {'; '.join(result['errors'])}", result["errors"])
    return [import_run(trace) for trace in bundle.get("traces") or []]
