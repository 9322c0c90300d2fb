"""Benchmark stores: synthetic run directories (made once, then reused) and their PostgreSQL copies."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from write_side.synthetic import write_store  # noqa: E402

BIG_RUN_STEPS = 5000


def bench_dir() -> Path:
    data = Path(os.environ.get("CONTROLPLANE_DATA_DIR", ROOT / "var")).resolve()
    return data / "bench"


def synthetic_store(size: int, *, log: Any = print) -> tuple[Path, dict[str, Any]]:
    """The store of `size` runs under <data>/bench, generated on first use.

    The summary is written last, so a directory without one is an interrupted run of
    ours (bench/ only holds what this script made) and is generated again.
    """
    directory = bench_dir() / f"runs-{size}"
    summary_path = bench_dir() / f"runs-{size}.summary.json"
    if summary_path.exists() and directory.is_dir():
        return directory, json.loads(summary_path.read_text())
    if directory.exists():
        shutil.rmtree(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    log(f"generating {size:,} runs in {directory} …")
    started = time.monotonic()
    summary = write_store(directory, size, seed=7, big_run_steps=BIG_RUN_STEPS,
                          workers=max(1, min(2, os.cpu_count() or 1)))
    log(f"  {summary['runs']:,} runs, {summary['bytes'] / 1e6:,.0f} MB in {time.monotonic() - started:.0f} s")
    summary_path.write_text(json.dumps(summary, indent=2))
    return directory, summary


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        synthetic_store(int(arg))
