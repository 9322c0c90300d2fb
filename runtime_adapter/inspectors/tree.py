"""`RunTreeInspector.build` and `.render`: the lineage forest with subtree metrics.

The runtime links each run under its `parentRunId` when that run is in the store,
sorts children with `(createdAt || id).localeCompare(...)` and sums metrics bottom-up.
Unlike the runtime we terminate on lineage cycles (a self-parented run, A→B→A): the
run that closes a cycle appears as a stub node with `"lineageCycle": true` and no
children, and a cycle unreachable from any root is listed as an extra root marked
the same way (the runtime leaves such runs out and its `render` never returns).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runtime_adapter.inspectors.summary import summarize
from runtime_adapter.js.collation import locale_sort_key
from runtime_adapter.js.jsvalues import UNDEFINED, js_or, plus, prop, to_js_string, truthy
from runtime_adapter.records import Run

Node = dict[str, Any]


def _make_node(run: Run) -> Node:
    lineage = js_or(run["metadata"].get("lineage", UNDEFINED), None)
    return {
        "id": run["id"],
        "status": run["status"],
        "input": run["input"],
        "createdAt": run["timestamps"]["createdAt"],
        "lineage": lineage,
        "summary": summarize(run),
        "subtreeMetrics": None,
        "children": [],
    }


def _sort_key(node: Node) -> object:
    key = js_or(node.get("createdAt"), node["id"])
    return locale_sort_key(key if isinstance(key, str) else to_js_string(key))


def _own_metrics(node: Node) -> dict[str, Any]:
    base = js_or(prop(node.get("summary"), "metrics"), {})
    usage = prop(base, "tokenUsage")
    timings = js_or(prop(base, "timings"), {})
    return {
        "runCount": 1,
        "tokenUsage": {key: js_or(prop(usage, key), 0) for key in ("prompt", "completion", "total")},
        "cost": js_or(prop(base, "cost"), 0),
        "timings": dict(timings) if isinstance(timings, dict) else {},
    }


def _add_child_metrics(aggregate: dict[str, Any], child: dict[str, Any]) -> None:
    aggregate["runCount"] += child["runCount"]
    for key in ("prompt", "completion", "total"):
        aggregate["tokenUsage"][key] = plus(aggregate["tokenUsage"][key], js_or(child["tokenUsage"][key], 0))
    aggregate["cost"] = plus(aggregate["cost"], js_or(child["cost"], 0))
    for key, value in (child["timings"] or {}).items():
        aggregate["timings"][key] = plus(js_or(aggregate["timings"].get(key, UNDEFINED), 0), js_or(value, 0))


def _cycle_stub(node: Node) -> Node:
    return {"id": node["id"], "status": node["status"], "lineageCycle": True, "children": []}


def _finish(entry: Node) -> None:
    """Sum subtree metrics bottom-up from `entry`, breaking the edge that closes a cycle.

    Iterative, so a very deep delegation chain cannot exhaust Python's stack.
    """
    on_path: set[int] = set()
    stack: list[tuple[Node, int]] = [(entry, 0)]
    on_path.add(id(entry))
    while stack:
        node, index = stack[-1]
        children = node["children"]
        if index < len(children):
            stack[-1] = (node, index + 1)
            child = children[index]
            if id(child) in on_path:
                children[index] = _cycle_stub(child)
                continue
            if child["subtreeMetrics"] is not None:
                continue
            on_path.add(id(child))
            stack.append((child, 0))
            continue
        stack.pop()
        on_path.discard(id(node))
        aggregate = _own_metrics(node)
        for child in children:
            if not _is_cycle_stub(child):
                _add_child_metrics(aggregate, child["subtreeMetrics"])
        node["subtreeMetrics"] = aggregate


def build_tree(runs: Iterable[Run], root_run_id: str | None = None) -> list[Node] | Node | None:
    """All roots (a list) or, with `root_run_id`, that run's node (None if absent)."""
    return assemble_tree((_make_node(run) for run in runs), root_run_id)


def assemble_tree(made: Iterable[Node], root_run_id: str | None = None) -> list[Node] | Node | None:
    """`build_tree` over nodes already made: each has `id`, `status`, `createdAt`, `lineage` (its
    `parentRunId` links it), `summary.metrics` (summed into `subtreeMetrics`) and empty `children`.
    Nodes made from listing rows instead of runs give a tree a page can show without reading any run."""
    nodes: dict[Any, Node] = {}
    for node in made:
        nodes[node["id"]] = node

    roots: list[Node] = []
    for node in nodes.values():
        parent_id = js_or(prop(node["lineage"], "parentRunId"), None)
        if truthy(parent_id) and _hashable(parent_id) and parent_id in nodes:
            nodes[parent_id]["children"].append(node)
        else:
            roots.append(node)

    for node in nodes.values():
        if len(node["children"]) > 1:
            node["children"].sort(key=_sort_key)  # stable: ties keep listRuns order

    if root_run_id:
        found = nodes.get(root_run_id) if _hashable(root_run_id) else None
        if found is not None:
            _finish(found)
        return found

    for root in roots:
        _finish(root)
    for node in nodes.values():
        if node["subtreeMetrics"] is None:
            # Only reachable through a lineage cycle: surface the cycle instead of dropping it.
            # Surface a run *on* the cycle, so runs hanging below it are listed once, under it.
            entry = _cycle_entry(node, nodes)
            entry["lineageCycle"] = True
            _finish(entry)
            roots.append(entry)
    return roots


def _cycle_entry(node: Node, nodes: dict[Any, Node]) -> Node:
    """The first run met twice when climbing parent links from `node` (so it lies on the cycle)."""
    seen: set[int] = set()
    while id(node) not in seen:
        seen.add(id(node))
        node = nodes[js_or(prop(node["lineage"], "parentRunId"), None)]
    return node


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _is_cycle_stub(node: Node) -> bool:
    return bool(node.get("lineageCycle")) and "summary" not in node


@dataclass(frozen=True)
class TreeLine:
    """One line of `render_tree`: the box-drawing prefix, then the run."""

    prefix: str
    run_id: str
    status: str
    cycle: bool


def tree_lines(tree: list[Node] | Node | None) -> list[TreeLine]:
    """The lines of `render_tree(tree)` as parts, so pages and notes can link each run id."""
    roots = tree if isinstance(tree, list) else [tree] if tree else []
    lines: list[TreeLine] = []
    # (node, prefix, is_last, is_root) in pre-order; an explicit stack keeps deep trees safe.
    stack = [(root, "", index == len(roots) - 1, True) for index, root in enumerate(roots)]
    stack.reverse()
    while stack:
        node, prefix, is_last, is_root = stack.pop()
        branch = "" if is_root else f"{prefix}{'└─ ' if is_last else '├─ '}"
        lines.append(TreeLine(branch, to_js_string(node["id"]), to_js_string(node["status"]), _is_cycle_stub(node)))
        next_prefix = "" if is_root else f"{prefix}{'   ' if is_last else '│  '}"
        children = node["children"]
        for index in range(len(children) - 1, -1, -1):
            stack.append((children[index], next_prefix, index == len(children) - 1, False))
    return lines


def render_tree(tree: list[Node] | Node | None, include_status: bool = True) -> str:
    """`RunTreeInspector.render`: one line per run with box-drawing branches."""
    return "\n".join(
        f"{line.prefix}{line.run_id}{f' [{line.status}]' if include_status else ''}"
        f"{' (lineage cycle)' if line.cycle else ''}"
        for line in tree_lines(tree)
    )
