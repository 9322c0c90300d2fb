"""Runs derived from others: branches from checkpoints, frozen and partial replays, recoveries."""

from __future__ import annotations

from datetime import datetime

from .agents import agent_run, answer
from .recorder import Context, Json, Recorder, iso, new_lineage
from .workflows import workflow_group


def _later(ctx: Context, after_ms: int) -> int:
    # Operators branch or replay minutes to hours later, but never in the future.
    return min(after_ms + ctx.between(30_000, 5_400_000), ctx.now_ms - ctx.between(1_000, 60_000))


def _source_metadata(source: Json) -> Json:
    # A frozen replay copies the source's metadata (lineage included, rebuilt by the caller).
    return {key: value for key, value in source["metadata"].items() if key not in ("lineage", "replay")}


def _derived_metadata(ctx: Context, source: Json, extra: Json) -> Json:
    """Branches and partial replays get the agent's or workflow's own metadata plus the caller's."""
    metadata = source["metadata"]
    if "workflowId" in metadata:
        derived: Json = {"workflowId": metadata["workflowId"], "workflowName": metadata.get("workflowName")}
    else:
        derived = {"description": metadata.get("description", "")}
    derived.update(extra)
    derived.update(ctx.release)
    return derived


def _branch(ctx: Context, source: Json, checkpoint: Json, *, resume: bool, label: str,
            extra: Json | None = None) -> Recorder:
    """`branchRun(sourceRunId, checkpointId)`: a new run seeded from a checkpoint snapshot."""
    source_lineage = source["metadata"]["lineage"]
    run_id = ctx.uuid()
    metadata = _derived_metadata(ctx, source, {"branchLabel": label, **(extra or {})})
    workflow_id = metadata.get("workflowId")
    lineage = new_lineage(source_lineage["rootRunId"], source_lineage["parentRunId"], source["id"], checkpoint["id"])
    start = _later(ctx, _ms_of(source["timestamps"]["updatedAt"]))
    run = Recorder(ctx, run_id, source["input"], start, metadata, lineage, workflow_id=workflow_id)
    run.load_snapshot(checkpoint["snapshot"])
    prefix = "workflow" if workflow_id else "run"
    origin = {"sourceRunId": source["id"], "sourceCheckpointId": checkpoint["id"]}
    payload = {"workflowId": workflow_id, **origin} if workflow_id else origin
    run.event(f"{prefix}_branched", payload)
    pause = {"reason": f'Branched from checkpoint "{checkpoint["label"]}".', "stage": "branch", **origin}
    run.pending_pause = pause
    run.status = "paused"
    run.tick(0, 2)
    run.checkpoint(f"{prefix}_branched", payload)
    run.tick(0, 1)
    if resume and not workflow_id:
        run.resume(pause)
        run.model_turn(answer(ctx, [result["result"] for result in run.tool_results]), [], 1)
        run.complete(run.steps[-1]["output"]["message"])
    return run


def _ms_of(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _frozen_replay(ctx: Context, source: Json, *, purpose: str | None = None) -> Recorder:
    """`replay(runId)` in frozen-trace mode: a copy of the source under `<src>:replay:<ms>`."""
    start = _later(ctx, _ms_of(source["timestamps"]["updatedAt"]))
    metadata = _source_metadata(source)
    if purpose:
        metadata["purpose"] = purpose
    lineage = dict(source["metadata"]["lineage"], childRunIds=[])
    run = Recorder(ctx, f"{source['id']}:replay:{start}", source["input"], start, metadata, lineage,
                   workflow_id=metadata.get("workflowId"))
    run.after_lineage = {"replay": {"mode": "frozen_trace", "sourceRunId": source["id"], "sourceCheckpointId": None,
                                    "replayedAt": iso(start)}}
    run.load_snapshot({"state": source["state"], "messages": source["messages"], "steps": source["steps"],
                       "toolCalls": source["toolCalls"], "toolResults": source["toolResults"],
                       "metrics": source["metrics"]})
    run.errors = source["errors"][:]
    run.output = source["output"]
    run.begin()
    origin = {"sourceRunId": source["id"], "sourceCheckpointId": None}
    run.event("replay_started", dict(origin, mode="frozen_trace"))
    run.tick(0, 2)
    run.checkpoint("replay_started", dict(origin, mode="frozen_trace"))
    run.tick(1, 3)
    run.status = source["status"]
    if run.status == "completed":
        run.completed_ms = run.ms
    elif run.status == "failed":
        run.failed_ms = run.ms
    run.event("replay_completed", dict(origin, status=run.status))
    run.tick(0, 2)
    run.checkpoint("replay_completed", dict(origin, status=run.status))
    run.tick(0, 1)
    return run


def _partial_replay(ctx: Context, source: Json, checkpoint: Json, *, extra: Json | None = None) -> Recorder:
    """A replay prepared from a checkpoint and left paused (stage `replay` / `workflow_replay`)."""
    start = _later(ctx, _ms_of(source["timestamps"]["updatedAt"]))
    source_lineage = source["metadata"]["lineage"]
    metadata = _derived_metadata(ctx, source, extra or {})
    workflow_id = metadata.get("workflowId")
    lineage = new_lineage(source_lineage["rootRunId"], None, source["id"], checkpoint["id"])
    run = Recorder(ctx, f"{source['id']}:partial-replay:{start}", source["input"], start, metadata, lineage,
                   workflow_id=workflow_id)
    run.after_lineage = {"replay": {"mode": "partial_frozen_trace", "sourceRunId": source["id"],
                                    "sourceCheckpointId": checkpoint["id"], "replayedAt": iso(start)}}
    run.load_snapshot(checkpoint["snapshot"])
    run.begin()
    prefix, stage, what = ("workflow_replay", "workflow_replay", "Frozen workflow replay") if workflow_id else (
        "replay", "replay", "Frozen replay")
    origin: Json = {"workflowId": workflow_id} if workflow_id else {}
    origin.update({"sourceRunId": source["id"], "sourceCheckpointId": checkpoint["id"]})
    run.event(f"{prefix}_started", dict(origin, mode="partial_frozen_trace"))
    run.tick(0, 2)
    run.checkpoint(f"{prefix}_started", dict(origin, mode="partial_frozen_trace"))
    run.tick(1, 3)
    run.status = "paused"
    run.pending_pause = {"reason": f'{what} prepared from checkpoint "{checkpoint["id"]}".', "stage": stage,
                         "sourceRunId": source["id"], "sourceCheckpointId": checkpoint["id"]}
    run.event(f"{prefix}_completed", dict(origin, status="paused"))
    run.tick(0, 2)
    run.checkpoint(f"{prefix}_completed", dict(origin, status="paused"))
    run.tick(0, 1)
    return run


def _checkpoint_with(run: Json, labels: tuple[str, ...]) -> Json:
    matching = [cp for cp in run["checkpoints"] if cp["label"] in labels and "snapshot" in cp]
    chosen: Json = matching[-1] if matching else run["checkpoints"][0]
    return chosen


def branch_family(ctx: Context, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A tool run, then what operators derived from it: branches, a branch of a branch, replays."""
    failed_source = ctx.chance(0.3)
    source = agent_run(ctx, "fail_tool" if failed_source else "tools", start_ms).to_json()
    runs = [source]
    info: Json = {"sourceRunId": source["id"]}
    plan = ["branch_resumed", "branch_paused", "replay", "partial_replay", "branch_of_branch"]
    if failed_source:
        plan = ["recovery_branch", "replay", "branch_paused", "partial_replay", "branch_of_branch"]
    for step in plan[: size - 1]:
        if step == "branch_resumed":
            derived = _branch(ctx, source, _checkpoint_with(source, ("tool_completed", "model_response")), resume=True,
                              label=ctx.pick(("post-tool-investigation", "rerun-final-answer", "try-new-prompt")))
        elif step == "recovery_branch":
            derived = _branch(ctx, source, _checkpoint_with(source, ("model_response",)), resume=True,
                              label="recovery", extra={"recovery": {"sourceRunId": source["id"],
                                                                    "action": "branch_from_failure_checkpoint"}})
        elif step == "branch_paused":
            derived = _branch(ctx, source, source["checkpoints"][0], resume=False, label="edited-input")
        elif step == "replay":
            derived = _frozen_replay(ctx, source, purpose=ctx.pick((None, "regression-check")))
        elif step == "partial_replay":
            derived = _partial_replay(ctx, source, _checkpoint_with(source, ("tool_completed", "model_response")),
                                      extra={"purpose": "partial"})
        else:
            base = next((run for run in runs if run["metadata"].get("branchLabel") and run["status"] == "completed"),
                        source)
            derived = _branch(ctx, base, _checkpoint_with(base, ("model_response", "run_completed")), resume=True,
                              label="second-order")
        runs.append(derived.to_json())
        info.setdefault(step, derived.id)
    return runs, info


def distributed_group(ctx: Context, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A queue handoff whose remote continuation failed (`QueueWorkerError`), then its recovery branch.

    The producing agent runs under an execution identity with auth bindings (`Agent.run` records them as
    `executionIdentity` and `distributedAuthScope`); `createDistributedEnvelope` copies both into the envelope
    ahead of the caller's metadata, `DistributedRunEnvelope.create` adds `sourceRunId` last, and the worker's
    `replayRun` merges it all into the continued run's metadata.
    """
    identity = {"actorId": f"user-{ctx.between(1, 99)}", "serviceId": "service-a", "tenantId": ctx.tenant,
                "sessionId": f"sess-{ctx.between(1, 999)}", "scopes": ["orders:read", "crm:write"]}
    source = agent_run(ctx, "plain", start_ms,
                       extra={"executionIdentity": identity, "distributedAuthScope": ["crmToken"]}).to_json()
    checkpoint = _checkpoint_with(source, ("model_response",))
    correlation = {"traceId": source["metadata"]["lineage"]["rootRunId"], "spanId": source["id"],
                   "parentSpanId": None, "checkpointId": checkpoint["id"], "status": source["status"],
                   "originService": "service-a", "runtimeKind": "agent", "action": "replay",
                   "destinationWorker": "worker-b"}
    envelope = {key: source["metadata"][key] for key in ("executionIdentity", "distributedAuthScope")
                if key in source["metadata"]}
    envelope.update({"transport": "queue", "queue": "runtime-job-queue", "workerId": "worker-b",
                     "correlation": correlation, "sourceRunId": source["id"]})
    replay = _partial_replay(ctx, source, checkpoint, extra=envelope)
    # referenceDistributedIncident forces the paused replay to failed: a failed run with pendingPause.
    replay.steps.append({"id": f"{replay.id}:step:recovery-target", "type": "tool", "status": "failed",
                         "output": None})
    replay.errors.append({"name": "QueueWorkerError", "message": "Simulated remote continuation failure."})
    replay.status = "failed"
    replay.tick(1, 3)
    replay.failed_ms = replay.ms
    replay_json = replay.to_json()
    runs = [source, replay_json]
    info: Json = {"sourceRunId": source["id"], "replayRunId": replay.id}
    if size >= 3:
        branch = _branch(ctx, replay_json, replay_json["checkpoints"][-1], resume=True, label="recovery",
                         extra={"recovery": {"sourceRunId": replay.id, "action": "branch_from_failure_checkpoint",
                                             "incidentType": "queue_worker_failure"}})
        runs.append(branch.to_json())
        info["recoveryRunId"] = branch.id
    return runs, info


def workflow_family(ctx: Context, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A completed workflow, a partial workflow replay left paused, and maybe a branch left paused."""
    runs, workflow = workflow_group(ctx, 1, start_ms, outcome="completed")
    source = runs[-1]
    checkpoint = _checkpoint_with(source, ("workflow_step_completed",))
    replay = _partial_replay(ctx, source, checkpoint)
    runs.append(replay.to_json())
    info: Json = {"workflowRunId": source["id"], "workflowReplayRunId": replay.id}
    if size >= 3:
        branch = _branch(ctx, source, source["checkpoints"][-1], resume=False, label="after-collect")
        runs.append(branch.to_json())
        info["workflowBranchRunId"] = branch.id
    return runs, info
