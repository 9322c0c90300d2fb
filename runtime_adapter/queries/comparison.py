"""Which runs an operator would compare a run with: its origin, replays, branches, siblings.

Every candidate comes from a store query (`rows_by_id`, `related_rows`, `replay_rows`,
`rows_with_input`), so an indexed store answers them without reading every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime_adapter.js.jsvalues import prop
from runtime_adapter.records import Run, replay_source

if TYPE_CHECKING:
    from runtime_adapter.queries.scanning import RunStore
    from runtime_adapter.rows import RunRow

SIBLING_LIMIT = 10
SAME_INPUT_LIMIT = 1

# Display order: the closest relatives first.
RELATIONS = (
    "branch origin", "replay source", "replay", "branch", "sibling replay", "sibling", "same input, completed",
)


@dataclass(frozen=True)
class Candidate:
    row: RunRow
    relations: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.row.id


def _lineage_id(run: Run, key: str) -> str | None:
    value = prop(run["metadata"].get("lineage"), key)
    return value if isinstance(value, str) and value else None


def merge_candidates(run_id: str, related: list[tuple[str, list[RunRow]]]) -> list[Candidate]:
    """One candidate per run (never `run_id` itself), with every relation that led to it, closest first."""
    rows: dict[str, RunRow] = {}
    relations: dict[str, list[str]] = {}
    for relation, found in related:
        for row in found:
            if row.id == run_id:
                continue
            rows.setdefault(row.id, row)
            labels = relations.setdefault(row.id, [])
            if relation not in labels:
                labels.append(relation)
    rank = {relation: index for index, relation in enumerate(RELATIONS)}
    ordered = sorted(rows, key=lambda rid: min(rank.get(label, len(rank)) for label in relations[rid]))
    return [Candidate(rows[rid], tuple(relations[rid])) for rid in ordered]


def _newest(rows: list[RunRow], limit: int) -> list[RunRow]:
    return sorted(rows, key=lambda row: (row.created_at or "", row.id), reverse=True)[:limit]


def comparison_candidates(store: RunStore, run: Run, input_text: str | None = None) -> list[Candidate]:
    """Runs worth comparing `run` with, each labelled with how it relates to `run`."""
    from runtime_adapter.queries.listing import text_of

    run_id: str = run["id"]
    origin = _lineage_id(run, "branchOriginRunId")
    parent = _lineage_id(run, "parentRunId")
    source = replay_source(run)
    by_id = store.rows_by_id([rid for rid in (origin, source) if rid])
    related: list[tuple[str, list[RunRow]]] = [
        ("branch origin", [by_id[origin]] if origin in by_id else []),
        ("replay source", [by_id[source]] if source in by_id else []),
    ]
    own = store.related_rows(run_id)
    related.append(("replay", _newest(store.replay_rows(run_id), SIBLING_LIMIT)))
    if source:
        related.append(("sibling replay", _newest(store.replay_rows(source), SIBLING_LIMIT)))
    related.append(("branch", _newest(own["branches"], SIBLING_LIMIT)))
    if parent:
        related.append(("sibling", _newest(store.related_rows(parent)["children"], SIBLING_LIMIT + 1)))
    text = input_text if input_text is not None else text_of(run["input"])
    same_input = [row for row in store.rows_with_input(text, limit=SAME_INPUT_LIMIT + 1) if row.id != run_id]
    related.append(("same input, completed", same_input[:SAME_INPUT_LIMIT]))
    return merge_candidates(run_id, related)

