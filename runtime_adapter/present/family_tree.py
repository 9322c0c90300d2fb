"""The run tree a page shows, made from listing rows instead of runs.

`RunTreeInspector.build` (inspectors.tree.build_tree) summarises every run of a tree whole: a 500-run tree
read and redacted 500 files (2-3 s) before its page could show one line. What the tree page, its text form and
an export's member list show of each run is in its listing row (id, status, input text, creation time, parent,
tokens, cost, timings), so the tree is assembled from the family's rows by the same linking, ordering, cycle
handling and bottom-up sums. A run not in the rows yet (written since an index last looked) falls back to
reading the family. The JSON API keeps `build_tree` over the runs: its payload is the runtime's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime_adapter.inspectors.tree import assemble_tree, build_tree
from runtime_adapter.present.detail import BREADCRUMB_LIMIT, ancestry, tree_root
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import Run
from runtime_adapter.rows import RunRow


def row_node(row: RunRow) -> dict[str, Any]:
    """A tree node as `build_tree` makes one, from what the row keeps (the input as its listed, redacted text)."""
    return {
        "id": row.id,
        "status": row.status,
        "input": row.input_text,
        "createdAt": row.created_at,
        "lineage": {"parentRunId": row.parent_run_id},
        "summary": {"metrics": {
            "tokenUsage": {"prompt": row.prompt_tokens, "completion": row.completion_tokens,
                           "total": row.total_tokens},
            "cost": row.cost,
            "timings": dict(row.timings),
        }},
        "subtreeMetrics": None,
        "children": [],
    }


def tree_of_rows(rows: list[RunRow], root_run_id: str) -> dict[str, Any] | None:
    tree = assemble_tree((row_node(row) for row in rows), root_run_id)
    return tree if isinstance(tree, dict) else None


def root_from_rows(store: RunStore, row: RunRow) -> str:
    """`tree_root(ancestry(...))` walked over rows: the topmost ancestor by parentRunId that the store holds,
    stopping as `ancestry` does on a cycle, a missing run or BREADCRUMB_LIMIT ancestors."""
    top, parent, seen = row.id, row.parent_run_id, {row.id}
    while parent is not None and parent not in seen and len(seen) <= BREADCRUMB_LIMIT:
        seen.add(parent)
        found = store.rows_by_id([parent]).get(parent)
        if found is None:
            break
        top, parent = found.id, found.parent_run_id
    return top


def family_tree(store: RunStore, run_id: str, row: RunRow | None,
                read_run: Callable[[], Run]) -> tuple[str, dict[str, Any] | None]:
    """(root id, tree node) of the tree holding `run_id`; `row` is its listing row when the store keeps rows
    (else the run is read with `read_run` to find its ancestors)."""
    if row is not None:
        root = root_from_rows(store, row)
    else:
        run = read_run()
        root = tree_root(run, ancestry(run, store.get_run))
    rows = store.family_rows(root)
    if any(found.id == root for found in rows):
        return root, tree_of_rows(rows, root)
    tree = build_tree(store.iter_family(root), root)  # not in the rows yet: its file still answers
    return root, tree if isinstance(tree, dict) else None
