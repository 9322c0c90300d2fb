"""Which groups of runs, in what order, summing to exactly `count` runs; building each group."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from .agents import agent_run
from .big_runs import big_pair
from .derived import branch_family, distributed_group, workflow_family
from .recorder import Context, Json, epoch_ms
from .trees import deep_shape, random_shape, tree_group, wide_group
from .workflows import workflow_group

DAY_MS = 86_400_000
WINDOW_MS = 7 * DAY_MS
BIG_TREE_SIZE = 500  # count >= 10,000
MEDIUM_TREE_SIZE = 320  # count >= 1,000


@dataclass(frozen=True)
class Group:
    index: int
    kind: str
    size: int
    offset: int  # runs generated before this group: sets its place in the 7-day window
    variant: str | None = None


# Every feature once, first, so even a 120-run demo shows all of them.
_SHOWCASE: tuple[tuple[str, int, str | None], ...] = (
    ("tree", 9, None), ("agent", 1, "approval_waiting"), ("branch_family", 5, None), ("agent", 1, "fail_tool_retry"),
    ("workflow", 2, "failed"), ("agent", 1, "pause_before_tool"), ("deep_tree", 8, None),
    ("agent", 1, "fail_rate_limit"), ("agent", 1, "cancel_waiting"), ("agent", 1, "running_tool"),
    ("wide_tree", 16, None), ("distributed", 3, None), ("agent", 1, "fail_verifier_deny"),
    ("workflow_family", 3, None), ("agent", 1, "approval_approved"), ("agent", 1, "pause_after_model"),
    ("agent", 1, "tools"), ("agent", 1, "pending"), ("agent", 1, "pause_manual_waiting"),
    ("agent", 1, "fail_verifier_throws"), ("agent", 1, "running_model"), ("workflow", 1, "paused"),
    ("agent", 1, "approval_denied"), ("agent", 1, "pause_confidence"), ("agent", 1, "approval_waiting"),
)
_KINDS = ("agent", "workflow", "workflow_family", "tree", "branch_family", "distributed", "deep_tree", "wide_tree")
_KIND_WEIGHTS = (700, 70, 15, 60, 45, 15, 5, 3)


def _random_group(rng: random.Random, count: int) -> tuple[str, int]:
    kind = rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
    if kind == "workflow":
        return kind, rng.choice((1, 1, 2, 3))
    if kind == "workflow_family":
        return kind, rng.randint(2, 3)
    if kind == "tree":
        return kind, rng.randint(3, 16)
    if kind == "branch_family":
        return kind, rng.randint(2, 6)
    if kind == "distributed":
        return kind, rng.randint(2, 3)
    if kind == "deep_tree":
        return kind, rng.randint(7, 14)
    if kind == "wide_tree":
        return kind, rng.randint(20, 80 if count >= 1000 else 30)
    return kind, 1


def _specials(count: int, big_run_steps: int) -> list[tuple[int, str, int]]:
    """(offset at which to place it, kind, size) for the benchmark fixtures."""
    specials = []
    if count >= 10_000:
        specials.append((count // 2, "big_tree", BIG_TREE_SIZE))
    elif count >= 1_000:
        specials.append((count // 2, "big_tree", MEDIUM_TREE_SIZE))
    if big_run_steps > 0 and count >= 2:
        specials.append(((3 * count) // 4, "big_pair", 2))
    return specials


def plan(count: int, seed: int, big_run_steps: int) -> Iterator[Group]:
    rng = random.Random(f"agnostic-synthetic-plan:{seed}")
    specials = _specials(count, big_run_steps)
    reserved = sum(size for _, _, size in specials)
    showcase = list(_SHOWCASE)
    emitted = index = 0
    while emitted < count:
        free = count - emitted - reserved
        if specials and (emitted >= specials[0][0] or free <= 0):
            _, kind, size = specials.pop(0)
            reserved -= size
            yield Group(index, kind, size, emitted)
        elif showcase and showcase[0][1] <= free:
            kind, size, variant = showcase.pop(0)
            yield Group(index, kind, size, emitted, variant)
        else:
            showcase = []
            kind, size = _random_group(rng, count)
            if size > free:
                kind, size = "agent", 1
            yield Group(index, kind, size, emitted)
        emitted += size
        index += 1


# --------------------------------------------------------------------------------------------
# Building groups


@dataclass
class Built:
    kind: str
    runs: list[Json]
    info: Json


def build(group: Group, count: int, seed: int, now_ms: int, big_run_steps: int) -> Built:
    phase = group.offset / max(count, 1)
    ctx = Context(seed, group.index, phase, now_ms)
    # Groups start in order across the window, with jitter; the last hours leave room for long
    # trees, late approvals and derived runs, so nothing ends after `now`.
    span = WINDOW_MS - 6 * 3_600_000
    start = now_ms - WINDOW_MS + int(phase * span) + ctx.between(0, max(1, span // max(count, 1)))
    kind = group.kind
    if kind == "agent":
        run = agent_run(ctx, group.variant, start)
        return Built(kind, [run.to_json()], {"scenario": group.variant, "runId": run.id})
    if kind == "workflow":
        runs, workflow = workflow_group(ctx, group.size, start, outcome=group.variant)
        return Built(kind, runs, {"workflowRunId": workflow.id, "status": workflow.status})
    if kind in ("tree", "big_tree"):
        shape = random_shape(ctx, group.size, 3 if kind == "tree" else 9)
        runs, info = tree_group(ctx, shape, start, may_fail=kind == "tree")
        return Built(kind, runs, info)
    if kind == "deep_tree":
        depth = ctx.between(6, min(9, group.size - 1))
        runs, info = tree_group(ctx, deep_shape(ctx, group.size, depth), start, may_fail=False)
        return Built(kind, runs, info)
    builders: dict[str, Callable[[Context, int, int], tuple[list[Json], Json]]] = {
        "wide_tree": wide_group, "branch_family": branch_family, "distributed": distributed_group,
        "workflow_family": workflow_family,
    }
    if kind == "big_pair":
        runs, info = big_pair(ctx, big_run_steps, start)
        return Built(kind, runs, info)
    runs, info = builders[kind](ctx, group.size, start)
    return Built(kind, runs, info)


def checked(group: Group, built: Built) -> Built:
    if len(built.runs) != group.size:
        raise AssertionError(f"group {group} produced {len(built.runs)} runs")
    return built


def built_groups(count: int, seed: int, now: datetime | None, big_run_steps: int) -> Iterator[Built]:
    now_ms = epoch_ms(now)
    for group in plan(count, seed, big_run_steps):
        yield checked(group, build(group, count, seed, now_ms, big_run_steps))


def generate_runs(count: int, *, seed: int = 7, now: datetime | None = None, big_run_steps: int = 0) -> Iterator[Json]:
    """Yield `count` runs in normalised `toJSON()` form, deterministic for (count, seed, now, big_run_steps)."""
    for built in built_groups(count, seed, now, big_run_steps):
        yield from built.runs
