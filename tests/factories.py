"""Small deterministic builders for run records (fixed ids and timestamps)."""

from __future__ import annotations

from typing import Any

from runtime_adapter.records import normalize_run

T0 = "2026-01-01T00:00:00.000Z"


def run_record(run_id: str, *, parent: str | None = None, root: str | None = None, status: str = "completed",
               created: str = T0, **fields: Any) -> dict[str, Any]:
    """A raw run file body as the runtime writes it, with lineage and fixed timestamps."""
    metadata = dict(fields.pop("metadata", {}))
    metadata["lineage"] = {
        "rootRunId": root or run_id,
        "parentRunId": parent,
        "childRunIds": fields.pop("children", []),
        "branchOriginRunId": fields.pop("branch_origin", None),
        "branchCheckpointId": fields.pop("branch_checkpoint", None),
    }
    record = {"id": run_id, "input": fields.pop("input", f"task {run_id}"), "status": status,
              "timestamps": {"createdAt": created, "updatedAt": created}, "metadata": metadata}
    record.update(fields)
    return normalize_run(record)
