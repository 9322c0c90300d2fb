"""Delegation trees: supervisors whose `delegate_task` runs children, and fan-out hubs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .agents import agent_metadata, correlate, tool_call
from .encoding import compact
from .recorder import Context, Json, Recorder, new_lineage
from .vocabulary import LEAD_ROLES, SUPERVISOR_TASKS, WORKER_ROLES, WORKER_TASKS

Shape = list[Any]  # a tree shape: the list of its children's shapes; a leaf is []


def random_shape(ctx: Context, size: int, max_fanout: int) -> Shape:
    """A random tree with exactly `size` nodes."""
    if size <= 1:
        return []
    rest = size - 1
    fanout = min(rest, ctx.between(2, max_fanout) if rest >= 2 else 1)
    cuts = sorted(ctx.rng.sample(range(1, rest), fanout - 1)) if fanout > 1 else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, rest], strict=True)]
    return [random_shape(ctx, part, max_fanout) for part in parts]


def deep_shape(ctx: Context, size: int, depth: int) -> Shape:
    """A chain `depth` levels deep with the remaining nodes hung off it as leaves."""
    spine: list[Shape] = [[] for _ in range(depth + 1)]
    for upper, lower in zip(spine, spine[1:], strict=False):
        upper.append(lower)
    for _ in range(size - depth - 1):
        ctx.pick(spine[:-1]).insert(0, [])
    return spine[0]


def shape_depth(shape: Shape) -> int:
    return 1 + max((shape_depth(child) for child in shape), default=0)


@dataclass
class _Tree:
    runs: list[Json] = field(default_factory=list)


def _delegating_agent(ctx: Context, shape: Shape, start_ms: int, lineage: Json | None, role: str, task: str,
                      parent: Recorder | None, fail_last: bool, tree: _Tree) -> Recorder:
    """An agent whose `delegate_task` tool runs `DelegationRuntime.delegate` for each child shape.

    Only the last child may fail (`fail_last`), so a failure never drops planned runs; a
    failed child fails its parent's tool call, and so the parent, as in the runtime.
    """
    run_id = ctx.uuid()
    lineage = lineage or new_lineage(run_id)
    extra: Json = {"assignee": role, "delegatedBy": "lead"} if parent else {}
    if parent is None:
        description = "Supervisor"
    elif role.endswith("_lead"):
        description = role.replace("_", " ").capitalize()
    else:
        description = f"{role} worker"
    run = Recorder(ctx, run_id, task, start_ms, agent_metadata(ctx, description, extra=extra), lineage)
    correlate(ctx, run, parent)
    run.start_agent(description)
    if not shape:
        _leaf_work(run, ctx, failing=fail_last)
        tree.runs.append(run.to_json())
        return run
    number = 0
    remaining = list(shape)
    while remaining:
        width = min(len(remaining), ctx.between(1, 3))
        batch, remaining = remaining[:width], remaining[width:]
        calls = []
        for child_shape in batch:
            number += 1
            assignee = ctx.pick(LEAD_ROLES if child_shape else WORKER_ROLES)
            arguments = {"assignee": assignee, "task": ctx.text(ctx.pick(WORKER_TASKS))}
            calls.append((child_shape, {"name": "delegate_task", "arguments": arguments, "id": f"delegate_{number}"}))
        run.model_turn(None, [call for _, call in calls], 1)
        for position, (child_shape, call) in enumerate(calls):
            last = not remaining and position == len(calls) - 1
            if _delegate(ctx, run, call, child_shape, fail_last and last, tree):
                tree.runs.append(run.to_json())
                return run
    run.model_turn(f"Lead summary of {number} delegated results.", [], 1)
    run.complete(run.steps[-1]["output"]["message"])
    tree.runs.append(run.to_json())
    return run


def _delegate(ctx: Context, run: Recorder, call: Json, child_shape: Shape, fail_child: bool, tree: _Tree) -> bool:
    """Run one delegated child inside the parent's tool call; True when the parent failed."""
    record = run.request_tool(call)
    started = run.start_tool(record)
    assignee, task = call["arguments"]["assignee"], call["arguments"]["task"]
    contract = "research-contract" if assignee == "researcher" else None
    run.tick(1, 6)
    run.event("delegation_runtime_started", {"assignee": assignee, "prompt": task, "contract": contract})
    child_lineage = new_lineage(run.lineage["rootRunId"], run.id)
    child = _delegating_agent(ctx, child_shape, run.ms + 1, child_lineage, assignee, task, run, fail_child, tree)
    run.lineage["childRunIds"].append(child.id)
    run.ms = child.ms + ctx.between(1, 4)
    if child.status == "failed":
        message = child.errors[-1]["message"]
        run.event("tool_failed", {"toolName": "delegate_task", "message": message})
        run.add_step("tool", started, {"toolName": "delegate_task", "arguments": call["arguments"]}, status="failed",
                     error={"name": "Error", "message": message})
        run.fail("ToolExecutionError", f'Tool "delegate_task" failed: {message}')
        return True
    run.event("delegation_runtime_completed", {"assignee": assignee, "agentRunId": child.id, "status": child.status,
                                               "contractId": contract})
    aggregate(run, child, {"scope": "delegation_runtime", "assignee": assignee, "contractId": contract})
    result = {"agentRunId": child.id, "status": child.status, "output": child.output}
    run.tick(0, 1)
    run.finish_tool(record, started, result)
    return False


def aggregate(parent: Recorder, child: Recorder, metadata: Json) -> None:
    # `aggregateChildRun`: the child's usage and cost are added to the parent's own.
    prompt, completion, total = child.usage
    parent.usage = [parent.usage[0] + prompt, parent.usage[1] + completion, parent.usage[2] + total]
    parent.cost += child.cost
    parent.child_items.append({"runId": child.id, "status": child.status,
                               "tokenUsage": {"prompt": prompt, "completion": completion, "total": total},
                               "cost": child.cost, "timings": dict(child.timings), "metadata": metadata})


def _leaf_work(run: Recorder, ctx: Context, *, failing: bool) -> None:
    if failing:
        run.stuck_model_call()
        run.ms += ctx.between(500, 20_000)
        name, message = ctx.pick((("Error", f"{run.metadata.get('assignee', 'worker')} model endpoint unreachable"),
                                  ("RateLimitError", "Rate limit exceeded (429), attempt 3")))
        run.fail(name, message)
        return
    if ctx.chance(0.3):
        call = tool_call(ctx, ctx.pick(("search_docs", "research", "fetch_page")), 1)
        run.model_turn(None, [call], 1)
        result = run.call_tool(call)
        run.model_turn(f"{run.metadata.get('assignee', 'worker')}: {run.input} ({compact(result)[:60]})", [], 1)
    else:
        run.model_turn(f"{run.metadata.get('assignee', 'worker')}: {run.input}", [], 0)
    run.complete(run.steps[-1]["output"]["message"])


def tree_group(ctx: Context, shape: Shape, start_ms: int, *, may_fail: bool = True) -> tuple[list[Json], Json]:
    tree = _Tree()
    task = ctx.text(ctx.pick(SUPERVISOR_TASKS))
    fail = may_fail and ctx.chance(0.12)
    root = _delegating_agent(ctx, shape, start_ms, None, "supervisor", task, None, fail, tree)
    return tree.runs, {"rootRunId": root.id, "size": len(tree.runs), "depth": shape_depth(shape)}


def wide_group(ctx: Context, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A fan-out hub whose children are linked through lineage config, as s05's hub is."""
    hub = Recorder(ctx, ctx.uuid(), ctx.text("Fan out {topic} checks to every region"), start_ms,
                   agent_metadata(ctx, "Fan-out hub"))
    correlate(ctx, hub)
    hub.start_agent("Fan-out hub")
    hub.model_turn(f"Dispatching {size - 1} regional checks.", [], 0, duration=ctx.between(200, 900))
    hub.complete(hub.steps[-1]["output"]["message"])
    runs = []
    clock = hub.ms
    for number in range(1, size):
        child = Recorder(ctx, ctx.uuid(), f"fan-out {ctx.fields['topic']} check #{number}", clock + ctx.between(1, 40),
                         agent_metadata(ctx, "", extra={"region": f"region-{number}"}), new_lineage(hub.id, hub.id))
        correlate(ctx, child, hub)
        child.start_agent("")
        if ctx.chance(0.06):
            child.stuck_model_call()
            child.ms += ctx.between(1000, 9000)
            child.fail("Error", "upstream model outage")
        else:
            child.model_turn(f"fast: region-{number} ok", [], 0, duration=ctx.between(150, 1500))
            child.complete(child.steps[-1]["output"]["message"])
        hub.lineage["childRunIds"].append(child.id)
        runs.append(child.to_json())
        clock = child.created_ms
    runs.append(hub.to_json())
    return runs, {"rootRunId": hub.id, "size": size, "depth": 2}
