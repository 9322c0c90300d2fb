"""The same input in other releases: for a run, the newest run of each other release given that input.

One store query (`rows_with_input`, answered from an index by indexed stores) finds the newest
runs whose listed input text equals the run's; the input key (a hash of the whole input) then
keeps only those given exactly the same input, as the release comparison pairs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime_adapter.port import RunQueries
from runtime_adapter.rows import RunRow

# Runs with the input read per run page: the newest this many; a release whose runs with this
# input are all older is not offered (a run page must stay one small query).
SCAN_LIMIT = 500
RELEASE_LIMIT = 6


@dataclass(frozen=True)
class SameInput:
    """The newest run of each other release with the input, newest first; `more` releases not listed."""

    rows: list[RunRow]
    more: int = 0


def same_input_in_other_releases(store: RunQueries, row: RunRow, *, limit: int = RELEASE_LIMIT,
                                 scan: int = SCAN_LIMIT) -> SameInput:
    """For the run of `row`, the newest run (any status) of every release but its own that had the same input."""
    if not row.input_key:
        return SameInput([])  # a run without an input shares it with no other run
    # The few columns of up to `scan` runs, then the whole rows of the newest of each release only (at a million
    # runs an input the agents repeat had 500 runs, whose whole rows were most of a run page's time).
    newest: dict[str, str] = {}
    found = store.input_matches(row.input_text, limit=scan)
    for other in sorted(found, key=lambda other: (other.created_at or "", other.id), reverse=True):
        if other.id == row.id or other.input_key != row.input_key or not other.release or other.release == row.release:
            continue
        newest.setdefault(other.release, other.id)
    rows_by_id = store.rows_by_id(list(newest.values()))
    rows = [rows_by_id[run_id] for run_id in newest.values() if run_id in rows_by_id]
    return SameInput(rows[:limit], max(0, len(rows) - limit))
