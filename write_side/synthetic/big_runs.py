"""The big-run pair for the compare benchmark."""

from __future__ import annotations

from typing import Any

from .recorder import Context, Json, Recorder

BIG_RUN_CHECKPOINT_EVERY = 250


def _big_run(ctx: Context, run_id: str, start_ms: int, steps: int, *, variant: bool) -> Recorder:
    """A long batch workflow with `steps` steps (two events each, plus start and end).

    Checkpoints are kept every few hundred steps and without snapshots, as in the
    runtime's seeded reference runs: a snapshot per step would make the file quadratic.
    """
    metadata: Json = {"workflowId": "bulk-reindex", "workflowName": "Bulk reindex",
                      "releaseLabel": "v3.2.0" if variant else "v3.1.4"}
    task = {"index": "documents", "batches": steps}
    run = Recorder(ctx, run_id, task, start_ms, metadata, workflow_id="bulk-reindex")
    run.state = {"workflow": {"workflowId": "bulk-reindex", "results": {}, "completedStepIds": [], "compensations": []}}
    run.begin()
    run.event("workflow_started", {"workflowId": "bulk-reindex", "input": run.input})
    run.checkpoint("workflow_started", {"workflowId": "bulk-reindex"}, snapshot=False)
    batch = 0
    changed = {steps // 3, (2 * steps) // 3}
    while len(run.steps) < steps:
        batch += 1
        key = f"batch-{batch}"
        if variant and batch == steps // 2 and len(run.steps) + 2 <= steps:
            _big_step(run, key, failed=True)  # inserted: a batch that failed once, then retried
        _big_step(run, key, output={"indexed": 199 if variant and batch in changed else 200, "batch": batch})
        if len(run.steps) % BIG_RUN_CHECKPOINT_EVERY == 0:
            run.checkpoint("workflow_step_completed", {"workflowId": "bulk-reindex", "stepId": key}, snapshot=False)
    run.output = {"batches": batch, "indexed": 200 * batch - (2 if variant else 0)}
    run.tick(1, 3)
    run.status = "completed"
    run.completed_ms = run.ms
    run.event("workflow_completed", {"workflowId": "bulk-reindex", "results": run.output})
    run.checkpoint("workflow_completed", {"workflowId": "bulk-reindex"}, snapshot=False)
    run.tick(0, 1)
    return run


def _big_step(run: Recorder, key: str, *, failed: bool = False, output: Any = None) -> None:
    run.tick(1, 3)
    created = run.ms
    run.event("workflow_step_started", {"workflowId": "bulk-reindex", "stepId": key})
    run.ms += 40 + (created % 37)
    payload = {"workflowId": "bulk-reindex", "stepId": key, "dependsOn": []}
    if failed:
        run.event("workflow_step_failed", {"workflowId": "bulk-reindex", "stepId": key, "message": "shard busy"})
        run.add_step("workflow_step", created, payload, status="failed",
                     error={"name": "Error", "message": "shard busy"}, key=key)
        return
    run.event("workflow_step_completed", {"workflowId": "bulk-reindex", "stepId": key, "result": output})
    run.add_step("workflow_step", created, payload, output=output, key=key)
    run.state["workflow"]["completedStepIds"].append(key)


def big_pair(ctx: Context, steps: int, start_ms: int) -> tuple[list[Json], Json]:
    left = _big_run(ctx, ctx.uuid(), start_ms, steps, variant=False)
    right = _big_run(ctx, ctx.uuid(), left.ms + 3_600_000, steps, variant=True)
    info = {"leftRunId": left.id, "rightRunId": right.id, "steps": len(left.steps), "events": len(left.events),
            "rightSteps": len(right.steps), "rightEvents": len(right.events)}
    return [left.to_json(), right.to_json()], info
