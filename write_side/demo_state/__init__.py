"""The demo's durable state beside its runs, in the runtime's exact formats: a FileJobStore directory,
a FileAuditSink JSONL log and FileLayerStore files. Each part writes only what is missing, never over a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from write_side.demo_state import audit, jobs, memory


def write_demo_state(data_dir: Path, runs_dir: Path, *, seed: int = 7) -> dict[str, Any]:
    """Write the demo job store, audit log and memory layers under `data_dir`, naming runs of `runs_dir`."""
    return {
        "jobs": jobs.write_demo_jobs(data_dir / "demo-jobs", runs_dir, seed=seed),
        "audit": audit.write_demo_audit(data_dir / "demo-audit.jsonl", runs_dir, seed=seed),
        "memory": memory.write_demo_memory(data_dir / "demo-memory", runs_dir, seed=seed),
    }
