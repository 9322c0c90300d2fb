"""Writing a store: files exactly as FileRunStore writes them, optionally from a process pool."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .encoding import dumps_run
from .plan import Built, Group, build, checked, plan
from .recorder import Json, epoch_ms, iso

STATUS_ORDER = ("pending", "running", "waiting_for_approval", "paused", "completed", "failed", "cancelled")


PARALLEL_MIN_RUNS = 5_000  # below this a process pool costs more than it saves
_BATCH_GROUPS = 40
_TREE_KEYS = {"tree": "delegationTree", "big_tree": "bigTree", "deep_tree": "deepestTree", "wide_tree": "widestTree"}
_FAMILY_KEYS = {"branch_resumed": "branchRunId", "branch_paused": "pausedBranchRunId", "replay": "replayRunId",
                "partial_replay": "partialReplayRunId", "branch_of_branch": "branchOfBranchRunId",
                "recovery_branch": "recoveryBranchRunId"}
_STATUS_KEYS = {"failed": "failedRunId", "waiting_for_approval": "waitingRunId", "paused": "pausedRunId",
                "cancelled": "cancelledRunId", "running": "runningRunId", "pending": "pendingRunId"}

# What the summary needs from one written run: id, status, is a root, release label, bytes.
_Facts = tuple[str, str, bool, str | None, int]
_Written = tuple[str, Json, list[_Facts]]


def _release_label(metadata: Json) -> str | None:
    release = metadata.get("release")
    label = release.get("version") if isinstance(release, dict) else release or metadata.get("releaseLabel")
    return label if isinstance(label, str) and label else None


def _write_group(target: Path, built: Built) -> _Written:
    facts: list[_Facts] = []
    for run in built.runs:
        data = dumps_run(run).encode("utf-8")
        # "x": never overwrite, even if two runs were ever given the same id.
        with open(target / f"{run['id']}.json", "xb") as handle:
            handle.write(data)
        metadata = run["metadata"]
        facts.append((run["id"], run["status"], metadata["lineage"]["parentRunId"] is None,
                      _release_label(metadata), len(data)))
    return built.kind, built.info, facts


def _write_batch(job: tuple[str, list[Group], int, int, int, int]) -> list[_Written]:
    """Build and write a batch of groups (in a pool worker, or inline)."""
    directory, groups, count, seed, now_ms, big_run_steps = job
    target = Path(directory)
    return [_write_group(target, checked(group, build(group, count, seed, now_ms, big_run_steps)))
            for group in groups]


@dataclass
class _Summary:
    directory: str
    seed: int
    now: str
    runs: int = 0
    bytes: int = 0
    roots: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    releases: set[str] = field(default_factory=set)
    notable: Json = field(default_factory=dict)

    def add(self, written: _Written) -> None:
        kind, info, facts = written
        for run_id, status, is_root, release, size in facts:
            self.runs += 1
            self.bytes += size
            self.roots += is_root
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if release:
                self.releases.add(release)
            if status in _STATUS_KEYS:
                self.notable.setdefault(_STATUS_KEYS[status], run_id)
        self._note(kind, info)

    def _note(self, kind: str, info: Json) -> None:
        if kind in _TREE_KEYS:
            for key, measure in ((_TREE_KEYS[kind], "depth" if kind == "deep_tree" else "size"),
                                 ("biggestTree", "size")):
                current = self.notable.get(key)
                if current is None or info[measure] > current[measure]:
                    self.notable[key] = info
        elif kind == "big_pair":
            self.notable["bigRunPair"] = info
        elif kind == "branch_family":
            for step, key in _FAMILY_KEYS.items():
                if step in info:
                    self.notable.setdefault(key, info[step])
        elif kind == "distributed":
            self.notable.setdefault("queueWorkerFailureRunId", info["replayRunId"])
        elif kind == "workflow_family":
            self.notable.setdefault("workflowReplayRunId", info["workflowReplayRunId"])
        elif kind == "workflow":
            self.notable.setdefault("workflowRunId", info["workflowRunId"])

    def as_dict(self, seconds: float, workers: int) -> Json:
        return {
            "directory": self.directory, "seed": self.seed, "now": self.now, "runs": self.runs, "files": self.runs,
            "bytes": self.bytes, "seconds": round(seconds, 3), "workers": workers,
            "runsPerSecond": round(self.runs / seconds, 1) if seconds else None, "roots": self.roots,
            "statuses": {status: self.statuses[status] for status in STATUS_ORDER if status in self.statuses},
            "releases": sorted(self.releases), "notable": self.notable,
        }


def _batches(plan: Iterator[Group]) -> Iterator[list[Group]]:
    batch: list[Group] = []
    for group in plan:
        batch.append(group)
        if len(batch) >= _BATCH_GROUPS:
            yield batch
            batch = []
    if batch:
        yield batch


def _default_workers(count: int) -> int:
    if count < PARALLEL_MIN_RUNS:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cpus))


def write_store(directory: Path | str, count: int, *, seed: int = 7, now: datetime | None = None,
                big_run_steps: int = 0, progress: Callable[[int], None] | None = None,
                workers: int | None = None) -> Json:
    """Write `<id>.json` files exactly as the runtime's FileRunStore does into a new directory.

    Refuses (FileExistsError) a directory that exists and is not empty, so a real store is
    never touched. Large stores are written by a small process pool (`workers`, by default
    up to 4 processes from 5,000 runs); the files are the same whatever the worker count.
    Returns a small summary: counts by status, roots, releases and the ids of notable runs
    (biggest tree, big-run pair, one run per status…).
    """
    target = Path(directory)
    if target.exists():
        if not target.is_dir():
            raise FileExistsError(f"{target} exists and is not a directory")
        if any(os.scandir(target)):
            raise FileExistsError(f"{target} is not empty; refusing to write a synthetic store into it")
    target.mkdir(parents=True, exist_ok=True)
    now_ms = epoch_ms(now)
    summary = _Summary(str(target), seed, iso(now_ms))
    workers = workers or _default_workers(count)
    jobs = ((str(target), batch, count, seed, now_ms, big_run_steps)
            for batch in _batches(plan(count, seed, big_run_steps)))
    began = time.perf_counter()
    if workers == 1:
        results: Iterator[list[_Written]] = map(_write_batch, jobs)
        _collect(results, summary, progress)
    else:
        # Ordered results keep the summary (first failed run, …) independent of scheduling.
        with multiprocessing.get_context(_start_method()).Pool(workers) as pool:
            _collect(pool.imap(_write_batch, jobs), summary, progress)
    return summary.as_dict(time.perf_counter() - began, workers)


def _start_method() -> str:
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _collect(results: Iterator[list[_Written]], summary: _Summary, progress: Callable[[int], None] | None) -> None:
    for batch in results:
        for written in batch:
            summary.add(written)
        if progress is not None:
            progress(summary.runs)
