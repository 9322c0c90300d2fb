"""Write a synthetic run store for benchmarks.

    python bench/generate.py DIR --runs 10000 [--big-run-steps 5000] [--seed 7] [--workers N]

Shows a progress line (runs, rate, ETA) on stderr and prints the summary JSON on stdout.
DIR must not exist or be empty.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from write_side.synthetic import write_store  # noqa: E402


class Progress:
    """A single stderr line rewritten in place, at most a few times a second."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.began = time.perf_counter()
        self.shown = 0.0

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self.shown < 0.25:
            return
        self.shown = now
        elapsed = now - self.began
        rate = done / elapsed if elapsed else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        sys.stderr.write(f"\r{done:>9,}/{self.total:,} runs  {rate:8,.0f} runs/s  ETA {eta:5.0f}s ")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic run store in the runtime's file format.")
    parser.add_argument("directory", type=Path, help="new (or empty) directory for the <runId>.json files")
    parser.add_argument("--runs", type=int, required=True, help="number of runs, e.g. 1000, 10000 or 100000")
    parser.add_argument("--big-run-steps", type=int, default=0,
                        help="also write a pair of runs with this many steps (for the compare benchmark)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None,
                        help="writer processes (default: up to 4 from 5,000 runs, else 1)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        summary = write_store(args.directory, args.runs, seed=args.seed, big_run_steps=args.big_run_steps,
                              progress=Progress(args.runs), workers=args.workers)
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
