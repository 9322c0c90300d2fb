"""Deterministic synthetic run stores, byte for byte in the runtime's file format.

Runs are recorded the way the runtime's `Agent`, `WorkflowRunner`, `DelegationRuntime`,
`branchRun` and replay code append steps, events and checkpoints: field names, value
formats and ordering are copied from the conformance stores, so views and benchmarks see
data shaped like production. Every run comes out already in `Run.fromJSON(x).toJSON()`
form and is written as `JSON.stringify(run, null, 2)` without a trailing newline.

Runs are built in independent groups (a delegation tree, a branch family, one agent run…),
each from its own seeded random source, so output is reproducible for a (seed, now) pair
and memory stays bounded by the largest group, whatever the store size.

Modules, from the bottom up: `encoding` (fast `JSON.stringify`), `vocabulary` (what runs
talk about), `recorder` (one run's steps, events and checkpoints), `agents`, `trees`,
`workflows`, `derived` (branches and replays), `big_runs`, `plan` (the mix) and `writing`.
"""

from .encoding import dumps_run
from .plan import BIG_TREE_SIZE, MEDIUM_TREE_SIZE, generate_runs
from .writing import PARALLEL_MIN_RUNS, write_store

__all__ = ["BIG_TREE_SIZE", "MEDIUM_TREE_SIZE", "PARALLEL_MIN_RUNS", "dumps_run", "generate_runs", "write_store"]
