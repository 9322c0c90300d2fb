"""`WorkflowRunner` runs, with `AgentWorkflowStep` children."""

from __future__ import annotations

from typing import Any

from .agents import agent_metadata, correlate
from .recorder import Context, Json, Recorder, new_lineage
from .trees import aggregate
from .vocabulary import PEOPLE, WORKFLOWS


def _workflow_definition(ctx: Context, agent_steps: int) -> tuple[str, str, tuple[str, ...]]:
    fitting = [wf for wf in WORKFLOWS if sum(step.endswith("*") for step in wf[2]) == agent_steps]
    chosen: tuple[str, str, tuple[str, ...]] = ctx.pick(fitting) if fitting else ctx.pick(WORKFLOWS[:3])
    return chosen


def _workflow_input(ctx: Context, workflow_id: str) -> Any:
    if ctx.chance(0.5):
        return {"ticket": f"OPS-{ctx.between(100, 9999)}", "env": ctx.pick(("staging", "prod", "eu-west-1")),
                "requestedBy": ctx.pick(PEOPLE)}
    return ctx.text(ctx.pick(("nightly batch {warehouse}", "deploy v3.2.0 to {customer}", "triage {topic} incident",
                              "reconcile {customer} invoices")))


def _start_workflow(ctx: Context, start_ms: int, workflow_id: str, name: str, *, run_id: str | None = None) -> Recorder:
    metadata: Json = {"workflowId": workflow_id, "workflowName": name}
    metadata.update(ctx.release)
    run_id = run_id or ctx.uuid()
    run = Recorder(ctx, run_id, _workflow_input(ctx, workflow_id), start_ms, metadata, workflow_id=workflow_id)
    correlate(ctx, run)
    run.state = {"workflow": {"workflowId": workflow_id, "results": {}, "completedStepIds": [], "compensations": []}}
    run.begin()
    run.event("workflow_started", {"workflowId": workflow_id, "input": run.input})
    run.tick(0, 2)
    run.checkpoint("workflow_started", {"workflowId": workflow_id})
    return run


def _workflow_step_done(run: Recorder, key: str, created: int, depends: list[str], output: Any) -> None:
    workflow = run.state["workflow"]
    run.event("workflow_step_completed", {"workflowId": run.workflow_id, "stepId": key, "result": output})
    run.add_step("workflow_step", created, {"workflowId": run.workflow_id, "stepId": key, "dependsOn": depends},
                 output=output, key=key)
    run.timings["workflowMs"] += run.ms - created
    workflow["results"][key] = output
    workflow["completedStepIds"].append(key)
    run.tick(0, 2)
    run.checkpoint("workflow_step_completed", {"workflowId": run.workflow_id, "stepId": key})


def _function_output(ctx: Context, key: str, run: Recorder) -> Any:
    return ctx.pick(({"rows": ctx.between(10, 90_000)}, {"ok": True, "step": key},
                     {"input": run.input if isinstance(run.input, str) else run.input.get("ticket")}, "ok"))


# The agent an AgentWorkflowStep hands each step to.
_AGENTS = {"research": "researcher", "write": "writer", "analyze": "analyst", "review": "reviewer",
           "classify": "classifier", "draft": "writer"}


def _agent_step(ctx: Context, run: Recorder, key: str, depends: list[str], prompt: str, *, outcome: str) -> Recorder:
    """An `AgentWorkflowStep`: a child agent run recorded inside the workflow step."""
    created = run.ms
    agent = _AGENTS.get(key, key)
    run.tick(0, 2)
    run.event("agent_step_started", {"workflowId": run.workflow_id, "stepId": key, "agent": agent, "prompt": prompt})
    child_id = ctx.uuid()
    child = Recorder(ctx, child_id, prompt, run.ms + 1, agent_metadata(ctx, f"{agent} agent"),
                     new_lineage(run.lineage["rootRunId"], run.id))
    correlate(ctx, child, run)
    child.start_agent(f"{agent} agent")
    if outcome == "running":
        child.stuck_model_call()
    elif outcome == "failed":
        child.stuck_model_call()
        child.ms += ctx.between(1000, 20_000)
        child.fail("Error", ctx.pick(("upstream model outage", "Rate limit exceeded (429), attempt 3")))
    else:
        child.model_turn(f"{agent}: {prompt}", [], 0)
        child.complete(child.steps[-1]["output"]["message"])
    run.lineage["childRunIds"].append(child_id)
    run.ms = child.ms + ctx.between(1, 4)
    if child.status == "completed":
        run.event("agent_step_completed", {"workflowId": run.workflow_id, "stepId": key, "agent": agent,
                                           "agentRunId": child_id, "output": child.output})
        aggregate(run, child, {"scope": "workflow_child", "workflowId": run.workflow_id, "stepId": key,
                               "assignee": agent})
        run.timings["modelMs"] += child.timings["modelMs"]
        run.tick(0, 1)
        run.checkpoint("agent_step_completed", {"workflowId": run.workflow_id, "stepId": key, "agent": agent,
                                                "agentRunId": child_id})
        output = {"agentRunId": child_id, "output": child.output, "status": "completed", "metrics": child.metrics()}
        run.tick(0, 2)
        _workflow_step_done(run, key, created, depends, output)
    return child


def _fail_workflow(run: Recorder, ctx: Context, key: str, created: int, depends: list[str], message: str,
                   compensate: list[str]) -> None:
    workflow = run.state["workflow"]
    for done in reversed(compensate):
        run.tick(1, 20)
        workflow["compensations"].append(done)
        run.event("workflow_compensation_completed", {"workflowId": run.workflow_id, "stepId": done})
        run.checkpoint("workflow_compensation_completed", {"workflowId": run.workflow_id, "stepId": done})
    run.tick(1, 3)
    run.event("workflow_step_failed", {"workflowId": run.workflow_id, "stepId": key, "message": message})
    run.add_step("workflow_step", created, {"workflowId": run.workflow_id, "stepId": key, "dependsOn": depends},
                 status="failed", error={"name": "Error", "message": message}, key=key)
    run.tick(0, 1)
    run.errors.append({"name": "Error", "message": message, "stepId": key})
    run.status = "failed"
    run.failed_ms = run.ms
    run.event("workflow_failed", {"workflowId": run.workflow_id, "stepId": key, "message": message})
    run.tick(0, 2)
    run.checkpoint("workflow_failed", {"workflowId": run.workflow_id, "stepId": key})
    run.tick(0, 1)


def workflow_group(ctx: Context, size: int, start_ms: int, *,
                   outcome: str | None = None) -> tuple[list[Json], Recorder]:
    """A WorkflowRunner run with `size - 1` agent children; returns every run and the workflow."""
    workflow_id, name, steps = _workflow_definition(ctx, size - 1)
    run = _start_workflow(ctx, start_ms, workflow_id, name)
    outcome = outcome or ctx.rng.choices(("completed", "failed", "paused", "cancelled", "running"),
                                         weights=(78, 12, 5, 3, 2))[0]
    agent_keys = [step for step in steps if step.endswith("*")][: size - 1]
    runs: list[Json] = []
    previous: list[str] = []
    for position, raw in enumerate(steps):
        key = raw.rstrip("*")
        last = position == len(steps) - 1 or (agent_keys and raw == agent_keys[-1] and outcome in ("failed", "running"))
        run.tick(1, 4)
        created = run.ms
        run.event("workflow_step_started", {"workflowId": workflow_id, "stepId": key})
        if raw in agent_keys:
            child_outcome = outcome if raw == agent_keys[-1] and outcome in ("failed", "running") else "completed"
            child = _agent_step(ctx, run, key, previous[-1:], ctx.text(f"{key.capitalize()} the {{topic}} findings"),
                                outcome=child_outcome)
            runs.append(child.to_json())
            if child.status == "failed":
                _fail_workflow(run, ctx, key, created, previous[-1:], child.errors[-1]["message"], [])
                break
            if child.status == "running":
                run.add_step("workflow_step", created, {"workflowId": workflow_id, "stepId": key,
                                                        "dependsOn": previous[-1:]}, status="running", key=key)
                break
        elif last and outcome == "failed":
            run.ms += ctx.between(100, 5000)
            _fail_workflow(run, ctx, key, created, previous[-1:], f"health check failed: {ctx.pick((503, 500, 429))}",
                           previous[-2:] if ctx.chance(0.6) else [])
            break
        elif last and outcome == "running":
            run.ms += ctx.between(5, 500)
            run.add_step("workflow_step", created, {"workflowId": workflow_id, "stepId": key,
                                                    "dependsOn": previous[-1:]}, status="running", key=key)
            break
        elif last and outcome in ("paused", "cancelled"):
            _pause_workflow(run, ctx, key, created, previous[-1:], outcome)
            break
        else:
            run.ms += ctx.between(20, 30_000)
            _workflow_step_done(run, key, created, previous[-1:], _function_output(ctx, key, run))
        previous.append(key)
    if run.status == "running" and outcome == "completed":
        run.complete(dict(run.state["workflow"]["results"]), kind="workflow")
    runs.append(run.to_json())
    return runs, run


def _pause_workflow(run: Recorder, ctx: Context, key: str, created: int, depends: list[str], outcome: str) -> None:
    run.ms += ctx.between(5, 200)
    reason = ctx.pick(("awaiting change window", "stop here", "manual gate: security review"))
    run.add_step("workflow_step", created, {"workflowId": run.workflow_id, "stepId": key, "dependsOn": depends},
                 status="paused", key=key)
    payload = {"workflowId": run.workflow_id, "reason": reason, "stepId": key}
    run.event("workflow_paused", payload)
    run.pending_pause = {"reason": reason, "workflowId": run.workflow_id, "stepId": key}
    run.status = "paused"
    run.tick(0, 2)
    run.checkpoint("workflow_paused", payload)
    if outcome == "cancelled":
        run.ms += ctx.between(60_000, 7_200_000)
        run.event("workflow_cancelled", {"workflowId": run.workflow_id, "reason": "Cancelled manually."})
        run.pending_pause = None
        run.status = "cancelled"
        run.cancelled_ms = run.ms
        run.tick(0, 2)
        run.checkpoint("workflow_cancelled", {"workflowId": run.workflow_id, "reason": "Cancelled manually."})
    run.tick(0, 1)
