"""The runtime's checks of a portable state bundle (`agnostic-agents-state-bundle`, schema 1.0).

`StateBundleSerializer.validate`, `StateIntegrityChecker.check` (with the default
`StateContractRegistry`) and `StateConsistencyChecker.check`, key for key: the answers
serialise with `jsjson` exactly as the JS classes' do (tests/fixtures/traces holds the
goldens the JS classes computed). A bundle is read as plain JSON, never as a `StateBundle`
instance, so `bundle.toJSON` is never called.

Where the runtime throws, we answer instead: a damaged run normalises as `normalize_run`
does, and a `null` entry in `memoryGovernance.audit` (which makes the JS consistency check
read `null.key`) is passed over like any entry without a key.
"""

from __future__ import annotations

from typing import Any

from runtime_adapter.js.jsvalues import UNDEFINED, js_or, prop, same_value_zero, spread_object, to_js_string, truthy
from runtime_adapter.records import Run, normalize_run

STATE_FORMAT = "agnostic-agents-state-bundle"
STATE_SCHEMA_VERSION = "1.0"

_CORE_MEMORY_SURFACES = ("runtime", "workflow", "coordination", "learning", "operator")
_ACTIVE_STATUSES = ("running", "paused", "waiting_for_approval")


def state_bundle_contract() -> dict[str, list[str]]:
    """`new StateContractRegistry().describe('state_bundle')`."""
    return {
        "authoritative": [
            "run.id", "run.status", "run.state", "run.messages", "run.steps", "run.toolCalls", "run.toolResults",
            "run.checkpoints", "run.metrics", "run.metadata.lineage", "memory",
        ],
        "derived": [
            "summary.runId", "summary.status", "summary.checkpointCount", "summary.messageCount",
            "summary.toolCallCount", "summary.memoryLayers",
        ],
        "restorationCritical": ["run.id", "run.status", "run.state", "run.checkpoints", "run.metadata.lineage"],
    }


def _object_keys(value: Any) -> list[str]:
    """`Object.keys(value)` for a JSON value (numbers and booleans have none)."""
    return list(spread_object(value))


def _is(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value == expected


def _unique(values: list[Any]) -> list[Any]:
    """`[...new Set(values)]`."""
    kept: list[Any] = []
    for value in values:
        if not any(same_value_zero(value, seen) for seen in kept):
            kept.append(value)
    return kept


class _Restored:
    """`StateBundle.fromJSON(payload)`: the fields its checks read."""

    def __init__(self, payload: Any) -> None:
        run = prop(payload, "run")
        self.run: Run | None = normalize_run(run) if truthy(run) else None
        memory, governance = prop(payload, "memory"), prop(payload, "memoryGovernance")
        self.memory = memory if truthy(memory) else None
        self.memory_governance = governance if truthy(governance) else None
        self.metadata = spread_object(js_or(prop(payload, "metadata"), {}))

    def summarize(self) -> dict[str, Any]:
        run, governance = self.run, self.memory_governance
        contracts = prop(governance, "accessContracts")
        return {
            "runId": js_or(run["id"], None) if run else None,
            "status": js_or(run["status"], None) if run else None,
            "checkpointCount": js_or(len(run["checkpoints"]), 0) if run else 0,
            "messageCount": js_or(len(run["messages"]), 0) if run else 0,
            "toolCallCount": js_or(len(run["toolCalls"]), 0) if run else 0,
            "memoryLayers": _object_keys(self.memory) if self.memory is not None else [],
            "memoryGovernanceEvents": js_or(prop(prop(governance, "audit"), "length"), 0),
            "memoryContractSurfaces": _object_keys(contracts) if truthy(contracts) else [],
            "metadata": self.metadata,
        }


def validate_state_bundle(payload: Any = UNDEFINED) -> dict[str, Any]:
    """`StateBundleSerializer.validate(payload)`."""
    if payload is UNDEFINED:
        payload = {}
    errors: list[str] = []
    if not truthy(payload) or not isinstance(payload, (dict, list)):
        errors.append("State bundle payload must be an object.")
        return {"valid": False, "errors": errors}
    if not _is(prop(payload, "format"), STATE_FORMAT):
        errors.append("Unsupported state bundle format.")
    version = prop(payload, "schemaVersion")
    if not _is(version, STATE_SCHEMA_VERSION):
        errors.append(f'Unsupported state bundle schemaVersion "{to_js_string(version)}".')
    if not (isinstance(payload, dict) and "run" in payload):
        errors.append("run is required.")
    return {"valid": not errors, "errors": errors}


def check_state_integrity(bundle: Any) -> dict[str, Any]:
    """`new StateIntegrityChecker().check(bundle)` for a bundle read from JSON."""
    payload = bundle if truthy(bundle) else {}
    validation = validate_state_bundle(payload)
    errors: list[str] = list(validation["errors"])
    warnings: list[str] = []
    if not validation["valid"]:
        return {"valid": False, "errors": errors, "warnings": warnings, "contract": state_bundle_contract()}

    restored = _Restored(payload)
    summary = restored.summarize()
    recorded = payload.get("summary")
    if truthy(recorded):
        for key, message in (
            ("runId", "summary.runId does not match run.id."),
            ("status", "summary.status does not match run.status."),
            ("checkpointCount", "summary.checkpointCount does not match run.checkpoints length."),
            ("messageCount", "summary.messageCount does not match run.messages length."),
            ("toolCallCount", "summary.toolCallCount does not match run.toolCalls length."),
        ):
            if not same_value_zero(prop(recorded, key), summary[key]):
                errors.append(message)

    run = restored.run
    if run is not None:
        child_runs = run["metrics"]["childRuns"]
        if not same_value_zero(child_runs["count"], len(child_runs["items"])):
            errors.append("run.metrics.childRuns.count does not match childRuns.items length.")
    if run is None or not truthy(run["metadata"]["lineage"]["rootRunId"]):
        errors.append("run.metadata.lineage.rootRunId is required for portable restoration.")
    if run is not None and truthy(run["pendingApproval"]) and not _is(run["status"], "waiting_for_approval"):
        warnings.append("Run has pendingApproval but status is not waiting_for_approval.")
    if run is not None and truthy(run["pendingPause"]) and not _is(run["status"], "paused"):
        warnings.append("Run has pendingPause but status is not paused.")

    return {"valid": not errors, "errors": errors, "warnings": warnings, "contract": state_bundle_contract(),
            "summary": summary}


def _normalize_jobs(jobs: Any, warnings: list[str]) -> list[Any]:
    if jobs is None or jobs is UNDEFINED:
        return []
    if not isinstance(jobs, list):
        warnings.append("bundle metadata.jobs should be an array when provided.")
        return []
    seen: list[Any] = []
    normalized: list[Any] = []
    for entry in jobs:
        if not truthy(entry) or not isinstance(entry, (dict, list)):
            warnings.append("bundle metadata.jobs contains a non-object entry.")
            continue
        job_id = prop(entry, "id")
        if not truthy(job_id):
            warnings.append("bundle metadata.jobs contains an entry without an id.")
            continue
        if any(same_value_zero(job_id, other) for other in seen):
            warnings.append(f'bundle metadata.jobs contains duplicate job id "{to_js_string(job_id)}".')
            continue
        seen.append(job_id)
        normalized.append(entry)
    return normalized


def _referenced_job_ids(run: Run | None) -> list[Any]:
    if run is None:
        return []
    metadata, state = run["metadata"], run["state"]
    candidates = [
        prop(metadata, "jobId"), prop(prop(metadata, "scheduler"), "jobId"),
        prop(state, "jobId"), prop(prop(state, "scheduler"), "jobId"),
        prop(run["pendingPause"], "jobId"),
    ]
    return _unique([candidate for candidate in candidates if truthy(candidate)])


def check_state_consistency(bundle: Any) -> dict[str, Any]:
    """`new StateConsistencyChecker().check(bundle)` for a bundle read from JSON."""
    restored = _Restored(bundle if truthy(bundle) else {})
    run = restored.run
    memory = restored.memory if restored.memory is not None else {}
    governance = restored.memory_governance if restored.memory_governance is not None else {}
    metadata = restored.metadata
    errors: list[str] = []
    warnings: list[str] = []

    working = js_or(prop(memory, "working"), {})
    semantic = js_or(prop(memory, "semantic"), {})
    contracts = js_or(prop(governance, "accessContracts"), None)
    audit_value = prop(governance, "audit")
    audit: list[Any] = audit_value if isinstance(audit_value, list) else []
    jobs = _normalize_jobs(prop(metadata, "jobs"), warnings)
    referenced = _referenced_job_ids(run)
    resolved = [job for job in (next((job for job in jobs if same_value_zero(prop(job, "id"), job_id)), None)
                                for job_id in referenced) if job is not None]
    status = run["status"] if run is not None else UNDEFINED

    if any(_is(status, active) for active in _ACTIVE_STATUSES) and not _object_keys(working):
        warnings.append("Run is active but the portable state bundle has no working-memory context.")
    if _object_keys(memory) and not audit:
        warnings.append("Portable state bundle includes memory layers but no memory governance audit trail.")
    if truthy(contracts) and not all(truthy(prop(contracts, surface)) for surface in _CORE_MEMORY_SURFACES):
        warnings.append("memoryGovernance.accessContracts does not cover all core surfaces: runtime, workflow, "
                        "coordination, learning, operator.")
    if run is not None and truthy(prop(prop(run["state"], "recovery"), "required")) \
            and not truthy(prop(semantic, "last_incident")):
        warnings.append("Run requires recovery but semantic memory does not record the last incident context.")
    active_task = prop(working, "active_task")
    run_input = run["input"] if run is not None else UNDEFINED
    if truthy(active_task) and isinstance(run_input, str) and run_input:
        wanted, task = run_input.lower(), to_js_string(active_task).lower()
        if task not in wanted and wanted not in task:
            warnings.append("working.active_task does not appear to align with the current run input.")

    audit_keys = [key for key in (prop(entry, "key") for entry in audit) if truthy(key)]
    bundle_keys = _unique([*_object_keys(js_or(prop(memory, "working"), {})),
                           *_object_keys(js_or(prop(memory, "profile"), {})),
                           *_object_keys(js_or(prop(memory, "policy"), {}))])
    for key in bundle_keys:
        if audit and not any(same_value_zero(key, audit_key) for audit_key in audit_keys):
            warnings.append(f'Memory key "{key}" exists in the bundle without a matching governance audit record.')

    for job_id in referenced:
        if not any(same_value_zero(prop(job, "id"), job_id) for job in jobs):
            errors.append(f'Referenced job "{to_js_string(job_id)}" is missing from bundle metadata.jobs.')
    run_id = run["id"] if run is not None else UNDEFINED
    for job in jobs:
        job_run = prop(job, "runId")
        if truthy(job_run) and truthy(run_id) and not same_value_zero(job_run, run_id):
            warnings.append(f'Job "{to_js_string(prop(job, "id"))}" references run "{to_js_string(job_run)}" '
                            f'instead of "{to_js_string(run_id)}".')
    if any(_is(prop(job, "status"), "failed") for job in resolved) and _is(status, "completed"):
        warnings.append("Run is completed but a referenced background job is marked failed.")
    if any(_is(prop(job, "status"), "completed") for job in resolved) and _is(status, "failed"):
        warnings.append("Run is failed but a referenced background job is marked completed.")

    return {
        "valid": not errors,
        "errors": errors,
        "warnings": warnings,
        "summary": {
            "runId": js_or(run["id"], None) if run is not None else None,
            "runStatus": js_or(run["status"], None) if run is not None else None,
            "memoryLayers": _object_keys(memory),
            "memoryGovernanceEvents": len(audit),
            "memoryContractSurfaces": _object_keys(contracts) if truthy(contracts) else [],
            "referencedJobIds": referenced,
            "resolvedJobIds": [prop(job, "id") for job in resolved],
        },
    }
