"""The lineage graph of a run family: which runs to draw, its DOT text, and its placed geometry.

`load_family` / `family_nodes` pick the runs of one family (same `rootRunId`, or linked
to one by a parent, branch or replay edge) and what kind of derived run each is (branch, replay, partial
replay, partial export, recovery run: `provenance.derivation`), `outside_tree` names those the runtime's
run tree leaves out (it follows `parentRunId` only), `lineage_graph` caps it at `max_nodes` by folding the
smallest completed subtrees into "N more runs" nodes (a fold the reader opened stays open) and marks
the paths to failed runs, `to_dot` writes DOT with stable ordering for
Graphviz, and `place` turns Graphviz's JSON layout back into shapes a template draws.
Every run-provided string that reaches DOT goes through `dot_quote`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime_adapter.js.jsvalues import nullish, prop, to_js_string
from runtime_adapter.present.formatting import clip, short_id, status_label, visible_id
from runtime_adapter.present.provenance import KIND_ORDER, Derivation, derivation, kind_label
from runtime_adapter.queries.scanning import reachable
from runtime_adapter.records import Run, RunStoreError, replay_source

if TYPE_CHECKING:
    from runtime_adapter.queries.scanning import RunStore
    from runtime_adapter.rows import RunRow

# Fills behind white label text: each reads at 4.5:1 or more (WCAG AA; tests/unit/test_lineage_contrast.py).
STATUS_COLOURS = {
    "completed": "#146337",
    "failed": "#a31f2a",
    "running": "#1f4fa6",
    "paused": "#7a4e0b",
    "waiting_for_approval": "#62309f",
    "cancelled": "#474f5c",
    "pending": "#4b5563",
}
OTHER_COLOUR = "#4b5563"
NODE_TEXT = "#ffffff"
MORE_COLOUR = "#dde2e8"
MORE_TEXT = "#1d2330"
EDGE_COLOUR = "#8a94a3"
EDGE_TEXT = "#5f6b7a"
FAILURE_PATH = "#c62f3a"
CURRENT_OUTLINE = "#f5b800"
RECOVERY_COLOUR = "#0f6f7a"
# Runs the reader must always see, with the runs leading to them: never folded.
KEEP_STATUSES = frozenset({"failed", "waiting_for_approval", "paused"})
LABEL_LIMIT = 40
FAMILY_LIMIT = 5000  # rows read for one family graph; larger families are folded anyway
DISPLAY_SCALE = 1.3
OUTSIDE_SHOWN = 100  # runs left out of a tree listed by name; the rest are counted
READ_LIMIT = 200  # whole runs read per graph to find replay sources, derivations and checkpoint labels
# Edges from a run's branch origin, by the derived run's kind; each is drawn its own way (`EDGE_STYLES`).
ORIGIN_KINDS = frozenset({"branch", "partial_replay", "partial_export", "recovery"})
REPLAY_KINDS = frozenset({"replay", "partial_replay", "recovery"})
EDGE_STYLES = {
    "branch": ["style=dashed"],
    "replay": ["style=dotted"],
    "more": ["style=dotted"],
    "partial_replay": ['style="dotted,bold"'],
    "partial_export": ["style=dashed", "arrowhead=onormal"],
    "recovery": ["style=bold", f'color="{RECOVERY_COLOUR}"', f'fontcolor="{RECOVERY_COLOUR}"'],
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class LineageNode:
    id: str
    status: str
    created_at: str
    parent_id: str | None = None
    origin_id: str | None = None
    checkpoint_id: str | None = None
    checkpoint_label: str | None = None
    replay_of: str | None = None
    input_text: str = ""
    kind: str = ""  # how it was derived (provenance.KIND_LABELS), "" for a run started afresh or delegated
    replay_unfinished: bool = False  # a replay persisted without replay_completed

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind) if self.kind else ""

    @property
    def source_id(self) -> str | None:
        """The run it hangs from: its branch origin or replay source, else its parent."""
        return self.origin_id or self.replay_of or self.parent_id

    @property
    def relation(self) -> str:
        """ "partial replay", "branch"…, or "child" for a run started under another."""
        return self.kind_label or "child"


@dataclass(frozen=True)
class MoreNode:
    """Runs folded away to keep the graph readable; `anchor_id` is the run they hang from
    (None: family tops with no parent in the graph). Opening the fold means `open=<anchor_id>`."""

    anchor_id: str | None
    count: int


@dataclass(frozen=True)
class GraphEdge:
    tail: str
    head: str
    kind: str  # parent | more | branch | replay | partial_replay | partial_export | recovery
    label: str | None = None
    failure: bool = False  # on the path from a top to a failed run


@dataclass
class LineageGraph:
    current_id: str | None
    nodes: list[LineageNode]
    more: list[MoreNode]
    edges: list[GraphEdge]
    keys: dict[str, str] = field(default_factory=dict)  # run id (or "more:<anchor>") -> DOT node name
    failure_path: frozenset[str] = frozenset()  # failed runs and every run above one
    opened: frozenset[str | None] = frozenset()  # anchors whose folds the reader opened

    @property
    def hidden(self) -> int:
        return sum(item.count for item in self.more)


def _text(value: Any) -> str | None:
    if nullish(value) or isinstance(value, (dict, list)):
        return None
    text = to_js_string(value)
    return text or None


def checkpoint_labels(run: Run) -> dict[tuple[str, str], str]:
    """(run id, checkpoint id) -> label, for labelling branch edges that start at `run`."""
    labels = {}
    for checkpoint in run["checkpoints"]:
        checkpoint_id = _text(prop(checkpoint, "id"))
        label = _text(prop(checkpoint, "label"))
        if checkpoint_id and label:
            labels[(run["id"], checkpoint_id)] = label
    return labels


def _kind(row: RunRow, replay_of: str | None, derived: Derivation | None) -> str:
    """The run's kind from its whole record when it was read, else what its row and replay source say."""
    if derived is not None:
        return derived.kind
    return "branch" if row.branch_origin_run_id else "replay" if replay_of else ""


def nodes_from_rows(
    rows: Iterable[RunRow],
    root_id: str,
    replay_sources: Mapping[str, str | None] | None = None,
    labels: Mapping[tuple[str, str], str] | None = None,
    derivations: Mapping[str, Derivation | None] | None = None,
) -> list[LineageNode]:
    """The runs of `root_id`'s family among `rows`, ordered by creation time then id.

    Members: the root, every run whose `rootRunId` is the root, and every run linked
    to a member by parentRunId, branchOriginRunId or a replay source, transitively.
    """
    replay_sources = replay_sources or {}
    labels = labels or {}
    derivations = derivations or {}
    by_id: dict[str, RunRow] = {}
    for row in rows:
        by_id.setdefault(row.id, row)
    linked: dict[str, list[str]] = {}
    for run_id, row in by_id.items():
        for source in {row.parent_run_id, row.branch_origin_run_id, replay_sources.get(run_id)}:
            if source and source != run_id:
                linked.setdefault(source, []).append(run_id)
    members = reachable({run_id for run_id, row in by_id.items() if run_id == root_id or row.root_run_id == root_id},
                        linked)

    nodes = []
    for run_id in members:
        row = by_id[run_id]
        origin, checkpoint = row.branch_origin_run_id, row.branch_checkpoint_id
        derived = derivations.get(run_id)
        nodes.append(LineageNode(
            id=run_id,
            status=row.status,
            created_at=row.created_at or "",
            parent_id=row.parent_run_id,
            origin_id=origin,
            checkpoint_id=checkpoint,
            checkpoint_label=labels.get((origin, checkpoint), checkpoint) if origin and checkpoint else checkpoint,
            replay_of=replay_sources.get(run_id),
            input_text=row.input_text[:200],
            kind=_kind(row, replay_sources.get(run_id), derived),
            replay_unfinished=derived is not None and derived.replay_finished is False,
        ))
    nodes.sort(key=lambda node: (node.created_at, node.id))
    return nodes


def family_nodes(runs: Iterable[Run], root_id: str) -> list[LineageNode]:
    """`nodes_from_rows` for full run records (every replay source and label is at hand)."""
    from runtime_adapter.queries.listing import run_row

    records = [run for run in runs if isinstance(run.get("id"), str)]
    labels: dict[tuple[str, str], str] = {}
    for run in records:
        labels.update(checkpoint_labels(run))
    return nodes_from_rows(
        [run_row(run) for run in records], root_id, {run["id"]: replay_source(run) for run in records}, labels,
        {run["id"]: derivation(run) for run in records},
    )


def load_family(store: RunStore, root_id: str, *, limit: int = FAMILY_LIMIT) -> tuple[list[LineageNode], int]:
    """The family of `root_id` from a store's listing index, and how many of its runs were left out.

    Rows come from one query (runs whose id or rootRunId is the root). Only three kinds of
    run are read whole: runs linked to no other member (to find what they replay), runs with
    a branch origin (a branch, partial replay, partial export or recovery run: which one) and
    branch origins (for their checkpoint labels), at most READ_LIMIT of each.
    """
    from runtime_adapter.rows import RunQuery

    page = store.query_runs(RunQuery(correlation_id=root_id, sort="created", descending=False, limit=limit))
    rows = [row for row in page.rows if row.id == root_id or row.root_run_id == root_id]
    ids = {row.id for row in rows}
    loose = [row.id for row in rows
             if row.id != root_id and row.parent_run_id not in ids and row.branch_origin_run_id not in ids]
    derived_ids = [row.id for row in rows if row.branch_origin_run_id and row.id not in loose]
    replay_sources: dict[str, str | None] = {}
    derivations: dict[str, Derivation | None] = {}
    for run_id in [*loose[:READ_LIMIT], *derived_ids[:READ_LIMIT]]:
        try:
            run = store.get_run(run_id)
        except RunStoreError:
            continue
        replay_sources[run_id] = replay_source(run)
        derivations[run_id] = derivation(run)
    labels: dict[tuple[str, str], str] = {}
    origins = sorted({row.branch_origin_run_id for row in rows if row.branch_checkpoint_id and row.branch_origin_run_id in ids})
    for origin in origins[:READ_LIMIT]:
        try:
            labels.update(checkpoint_labels(store.get_run(origin)))
        except RunStoreError:
            continue
    return (nodes_from_rows(rows, root_id, replay_sources, labels, derivations),
            max(0, page.total - len(page.rows)))


@dataclass(frozen=True)
class OutsideTree:
    """Runs derived from a run tree (replays, branches of its root…) that the tree itself leaves out."""

    nodes: list[LineageNode]
    head: LineageNode | None  # the tree's root, when it is itself derived (a replay heads a tree of its own)
    inside_kinds: tuple[str, ...] = ()  # kinds of the derived runs inside the tree, for its legend

    @property
    def inside_labels(self) -> list[tuple[str, str]]:
        return [(kind, kind_label(kind)) for kind in self.inside_kinds]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(node.id for node in self.nodes)

    @property
    def shown(self) -> list[LineageNode]:
        return self.nodes[:OUTSIDE_SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.nodes) - OUTSIDE_SHOWN)

    @property
    def counts(self) -> list[tuple[str, int]]:
        counted: dict[str, int] = {}
        for node in self.nodes:
            counted[node.kind] = counted.get(node.kind, 0) + 1
        return [(kind_label(kind, counted[kind]), counted[kind]) for kind in KIND_ORDER if kind in counted]

    @property
    def summary(self) -> str:
        """ "2 replays and 1 branch", or "" when nothing is left out."""
        parts = [f"{count} {label}" for label, count in self.counts]
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}" if parts else ""

    @property
    def verb(self) -> str:
        return "is" if len(self.nodes) == 1 else "are"


def kinds_of(nodes: Iterable[LineageNode]) -> dict[str, str]:
    return {node.id: node.kind for node in nodes if node.kind}


def outside_tree(nodes: Iterable[LineageNode], tree_ids: Iterable[str], root_id: str | None = None) -> OutsideTree:
    """The family's runs reached from the tree by a branch, replay or parent link but not in the tree.

    The runtime's RunTreeInspector links runs by parentRunId only: a replay has none, and a branch
    of a root copies its origin's (none), so each heads a tree of its own (as do their children).
    """
    members = set(tree_ids)
    below: dict[str, list[LineageNode]] = {}
    by_id: dict[str, LineageNode] = {}
    for node in nodes:
        by_id[node.id] = node
        for source in {node.parent_id, node.origin_id, node.replay_of}:
            if source and source != node.id:
                below.setdefault(source, []).append(node)
    reached: set[str] = set(members)
    pending = list(members)
    found: list[LineageNode] = []
    while pending:
        for node in below.get(pending.pop(), ()):
            if node.id not in reached:
                reached.add(node.id)
                pending.append(node.id)
                found.append(node)
    found.sort(key=lambda node: (node.created_at, node.id))
    head = by_id.get(root_id) if root_id else None
    inside = {by_id[run_id].kind for run_id in members if run_id in by_id}
    return OutsideTree(found, head if head is not None and head.kind else None,
                       tuple(kind for kind in KIND_ORDER if kind and kind in inside))


def _primary_parent(node: LineageNode, present: set[str]) -> str | None:
    for candidate in (node.parent_id, node.origin_id, node.replay_of):
        if candidate and candidate != node.id and candidate in present:
            return candidate
    return None


def lineage_graph(nodes: list[LineageNode], current_id: str | None = None, max_nodes: int = 300,
                  opened: Iterable[str | None] = ()) -> LineageGraph:
    """Fold subtrees into "N more runs" nodes until at most `max_nodes` boxes remain.

    Each run hangs from its primary parent (parent, else branch origin, else replay source).
    Completed subtrees fold first, smallest first: the children of the run with the fewest
    completed runs below it, its smallest child first, and folding stops as soon as the graph
    fits. Then subtrees of other runs, smallest first, then stray tops. Never folded: the
    current run and its ancestors, failed, waiting and paused runs and their ancestors, and
    a run in `opened` with its ancestors and children (None opens the tops' fold). When these
    alone exceed `max_nodes`, the graph is drawn bigger than the cap.
    """
    order = {node.id: index for index, node in enumerate(nodes)}
    present = set(order)
    parent_of = {node.id: _primary_parent(node, present) for node in nodes}
    children: dict[str | None, list[str]] = {}
    # Break primary-parent cycles: a node whose ancestry loops becomes a top.
    for node in nodes:
        seen = {node.id}
        cursor = parent_of[node.id]
        while cursor is not None and cursor not in seen:
            seen.add(cursor)
            cursor = parent_of[cursor]
        if cursor is not None:
            parent_of[node.id] = None
    for node in nodes:
        children.setdefault(parent_of[node.id], []).append(node.id)

    status = {node.id: node.status for node in nodes}
    size: dict[str, int] = {}
    done: dict[str, bool] = {}
    for run_id in _postorder(children):
        kids = children.get(run_id, [])
        size[run_id] = 1 + sum(size[kid] for kid in kids)
        done[run_id] = status[run_id] == "completed" and all(done[kid] for kid in kids)

    def with_ancestors(starts: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for start in starts:
            cursor: str | None = start
            while cursor is not None and cursor not in found:
                found.add(cursor)
                cursor = parent_of[cursor]
        return found

    failure_path = with_ancestors(node.id for node in nodes if node.status == "failed")
    opened = frozenset(opened)
    # An opened fold's run stays drawn too, or a fold further up could swallow what was just opened.
    protected = failure_path | with_ancestors(
        [node.id for node in nodes if node.status in KEEP_STATUSES]
        + [run_id for run_id in (current_id, *opened) if run_id in present])

    hidden: set[str] = set()
    folded: dict[str | None, int] = {}

    def visible() -> int:
        return len(nodes) - len(hidden) + len(folded)

    def fold_smallest(predicate: Callable[[str], bool], anchors: Iterable[str | None]) -> None:
        groups = []
        for anchor in anchors:
            if anchor in opened:
                continue
            kids = sorted((kid for kid in children.get(anchor, []) if kid not in protected and predicate(kid)),
                          key=lambda kid: (size[kid], order[kid]))
            total = sum(size[kid] for kid in kids)
            if kids:
                groups.append((total, order.get(anchor or "", -1), anchor, kids))
        for total, _, anchor, kids in sorted(groups, key=lambda group: group[:2]):
            if anchor is not None and anchor in hidden:
                continue
            if total <= (0 if anchor in folded else 1):
                continue
            for kid in kids:
                if visible() <= max_nodes:
                    return
                if kid in hidden:
                    continue
                folded[anchor] = folded.get(anchor, 0) + size[kid]
                for inner in _subtree(kid, children):
                    hidden.add(inner)
                    # A fold made earlier inside what is now hidden is counted in this one.
                    folded.pop(inner, None)

    if visible() > max_nodes:
        anchors: list[str | None] = [node.id for node in nodes]
        fold_smallest(lambda kid: done[kid], anchors)
        fold_smallest(lambda kid: True, anchors)
        fold_smallest(lambda kid: True, [None])

    kept = [node for node in nodes if node.id not in hidden]
    more = [MoreNode(anchor, count) for anchor, count in sorted(folded.items(), key=lambda item: order.get(item[0] or "", -1))]
    graph = LineageGraph(current_id=current_id, nodes=kept, more=more, edges=[],
                         failure_path=frozenset(failure_path), opened=opened)
    for index, node in enumerate(kept):
        graph.keys[node.id] = f"n{index}"
    for index, item in enumerate(more):
        graph.keys[f"more:{item.anchor_id or ''}"] = f"m{index}"
    kept_ids = {node.id for node in kept}

    def on_path(tail: str, head: str) -> bool:
        return head in failure_path and parent_of[head] == tail

    for node in kept:
        if node.parent_id in kept_ids and node.parent_id != node.id:
            graph.edges.append(GraphEdge(node.parent_id, node.id, "parent", failure=on_path(node.parent_id, node.id)))
        if node.origin_id in kept_ids and node.origin_id != node.id:
            kind = node.kind if node.kind in ORIGIN_KINDS else "branch"
            graph.edges.append(GraphEdge(node.origin_id, node.id, kind,
                                         edge_label(kind, node.checkpoint_label or node.checkpoint_id),
                                         failure=on_path(node.origin_id, node.id)))
        elif node.replay_of in kept_ids and node.replay_of != node.id and node.replay_of != node.parent_id:
            kind = node.kind if node.kind in REPLAY_KINDS else "replay"
            graph.edges.append(GraphEdge(node.replay_of, node.id, kind, edge_label(kind, None),
                                         failure=on_path(node.replay_of, node.id)))
    for item in more:
        if item.anchor_id is not None:
            graph.edges.append(GraphEdge(item.anchor_id, f"more:{item.anchor_id}", "more"))
    return graph


def edge_label(kind: str, checkpoint: str | None) -> str | None:
    """A branch edge names its checkpoint; other derived runs say what they are, then the checkpoint."""
    if kind == "branch":
        return checkpoint
    name = "recovery" if kind == "recovery" else kind_label(kind)
    return f"{name} · {checkpoint}" if checkpoint else name


def _postorder(children: dict[str | None, list[str]]) -> list[str]:
    result: list[str] = []
    stack: list[tuple[str, bool]] = [(kid, False) for kid in reversed(children.get(None, []))]
    while stack:
        run_id, expanded = stack.pop()
        if expanded:
            result.append(run_id)
            continue
        stack.append((run_id, True))
        stack.extend((kid, False) for kid in reversed(children.get(run_id, [])))
    return result


def _subtree(run_id: str, children: dict[str | None, list[str]]) -> list[str]:
    found, stack = [], [run_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def dot_quote(value: object, limit: int | None = None) -> str:
    """A DOT double-quoted string whose content Graphviz shows literally.

    Backslashes and quotes are escaped, control characters dropped, newlines become
    DOT's `\\n` line break, and `&`, `<`, `>` become entities so that no label is read
    as HTML-like text or an entity by Graphviz.
    """
    text = "" if value is None else str(value)
    if limit is not None:
        text = clip(text, limit)
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _title(node: LineageNode) -> str:
    shown = visible_id(node.id)
    return shown if not node.input_text else f"{shown}\n{node.input_text}"


def node_lines(node: LineageNode) -> list[str]:
    return [short_id(node.id), status_label(node.status)]


def more_label(item: MoreNode) -> str:
    return f"{item.count} more run{'' if item.count == 1 else 's'}"


def more_title(item: MoreNode) -> str:
    return f"{more_label(item)} folded, none failed, waiting or paused: open to show them"


def open_value(anchor_id: str | None) -> str:
    """The `open=` value that opens the fold hanging from `anchor_id` ("" for the tops' fold)."""
    return anchor_id or ""


def to_dot(graph: LineageGraph, href: Callable[[str], str], more_href: str | Callable[[MoreNode], str]) -> str:
    """DOT text for `graph`: parent edges solid, branch edges dashed with the checkpoint
    label, replay edges dotted, partial replays bold dotted, partial exports dashed with a hollow head,
    recovery runs bold in their own colour, edges leading to a failed run in the failure colour; nodes
    filled with their status colour and linked to their run, folds linked to `more_href`."""
    lines = [
        "digraph lineage {",
        '  graph [rankdir=LR, bgcolor="transparent", nodesep=0.18, ranksep=0.5, fontname="Helvetica"];',
        f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, fontcolor="{NODE_TEXT}",'
        ' color="#ffffff00", penwidth=0, margin="0.12,0.05", height=0.3];',
        f'  edge [color="{EDGE_COLOUR}", arrowsize=0.6, fontname="Helvetica", fontsize=9, fontcolor="{EDGE_TEXT}"];',
    ]
    for node in graph.nodes:
        key = graph.keys[node.id]
        tooltip = _title(node)
        attributes = [
            f"id={dot_quote(key)}",
            f"label={dot_quote(chr(10).join(node_lines(node)))}",
            f"tooltip={dot_quote(tooltip, 300)}",
            f"URL={dot_quote(href(node.id))}",
            'target="_top"',
            f"fillcolor={dot_quote(STATUS_COLOURS.get(node.status, OTHER_COLOUR))}",
        ]
        if node.id == graph.current_id:
            attributes += [f"color={dot_quote(CURRENT_OUTLINE)}", "penwidth=3", 'class="current"']
        elif node.id in graph.failure_path and node.status != "failed":
            attributes += [f"color={dot_quote(FAILURE_PATH)}", "penwidth=2", 'class="fail-path"']
        lines.append(f"  {key} [{', '.join(attributes)}];")
    for item in graph.more:
        key = graph.keys[f"more:{item.anchor_id or ''}"]
        link = more_href if isinstance(more_href, str) else more_href(item)
        lines.append(
            f"  {key} [id={dot_quote(key)}, label={dot_quote(more_label(item))}, tooltip={dot_quote(more_title(item))}, "
            f'URL={dot_quote(link)}, target="_top", fillcolor="{MORE_COLOUR}", fontcolor="{MORE_TEXT}", style="rounded,filled,dashed"];'
        )
    for index, edge in enumerate(graph.edges):
        tail, head = graph.keys[edge.tail], graph.keys[edge.head]
        attributes = [f'id="e{index}"', *EDGE_STYLES.get(edge.kind, [])]
        if edge.failure:
            attributes += [f"color={dot_quote(FAILURE_PATH)}", "penwidth=2"]
        if edge.label:
            attributes.append(f"label={dot_quote(edge.label, LABEL_LIMIT)}")
        lines.append(f"  {tail} -> {head} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# Placing Graphviz's layout (`dot -Tjson`) for a template to draw.

@dataclass(frozen=True)
class PlacedNode:
    key: str
    x: float
    y: float
    width: float
    height: float
    lines: list[str]
    status: str
    run_id: str | None
    current: bool
    title: str
    fail_path: bool = False  # a run above a failed one
    href: str | None = None  # a fold: the link that opens it

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def text_rows(self) -> list[tuple[float, str]]:
        """(baseline y, text) for each label line, centred vertically in the box."""
        middle = self.y + self.height / 2
        count = len(self.lines)
        return [(round(middle + (index - (count - 1) / 2) * 12 + 4, 2), line) for index, line in enumerate(self.lines)]


@dataclass(frozen=True)
class PlacedEdge:
    path: str
    arrow: str
    kind: str
    label: str | None
    label_x: float
    label_y: float
    failure: bool = False


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]

    @property
    def view_box(self) -> str:
        return f"-4 -4 {self.width + 8:g} {self.height + 8:g}"

    @property
    def display_width(self) -> float:
        """Graphviz works in points; drawn a third larger the labels read like the page text."""
        return round((self.width + 8) * DISPLAY_SCALE, 2)

    @property
    def display_height(self) -> float:
        return round((self.height + 8) * DISPLAY_SCALE, 2)


def _floats(text: Any) -> list[float]:
    try:
        return [float(part) for part in str(text).split(",")]
    except ValueError:
        return []


def place(layout_json: dict[str, Any], graph: LineageGraph,
          more_href: Callable[[MoreNode], str] | None = None) -> Layout:
    """Shapes in SVG coordinates (y grows downwards) from Graphviz's JSON output."""
    bounds = _floats(layout_json.get("bb", "0,0,0,0"))
    height = bounds[3] if len(bounds) == 4 else 0.0
    width = bounds[2] if len(bounds) == 4 else 0.0

    def flip(point: list[float]) -> tuple[float, float]:
        return round(point[0], 2), round(height - point[1], 2)

    by_key: dict[str, tuple[LineageNode | None, MoreNode | None]] = {}
    for node in graph.nodes:
        by_key[graph.keys[node.id]] = (node, None)
    for item in graph.more:
        by_key[graph.keys[f"more:{item.anchor_id or ''}"]] = (None, item)

    nodes: list[PlacedNode] = []
    for obj in layout_json.get("objects", []):
        name = obj.get("name")
        if name not in by_key or "pos" not in obj:
            continue
        placed_run, placed_more = by_key[name]
        centre = _floats(obj["pos"])
        box_w = float(obj.get("width", 0)) * 72
        box_h = float(obj.get("height", 0)) * 72
        cx, cy = flip(centre)
        nodes.append(PlacedNode(
            key=name, x=round(cx - box_w / 2, 2), y=round(cy - box_h / 2, 2), width=round(box_w, 2), height=round(box_h, 2),
            lines=node_lines(placed_run) if placed_run else [more_label(placed_more)] if placed_more else [],
            status=placed_run.status if placed_run else "more",
            run_id=placed_run.id if placed_run else None,
            current=bool(placed_run and placed_run.id == graph.current_id),
            title=_title(placed_run) if placed_run else more_title(placed_more) if placed_more else "",
            fail_path=bool(placed_run and placed_run.id in graph.failure_path and placed_run.status != "failed"),
            href=more_href(placed_more) if placed_more and more_href else None,
        ))
    edges: list[PlacedEdge] = []
    for obj in layout_json.get("edges", []):
        edge_id = str(obj.get("id", ""))
        if not edge_id.startswith("e") or not edge_id[1:].isdigit() or int(edge_id[1:]) >= len(graph.edges):
            continue
        edge = graph.edges[int(edge_id[1:])]
        path, arrow, label_at = "", "", (0.0, 0.0)
        for op in obj.get("_draw_", []):
            if op.get("op") in ("b", "B") and op.get("points"):
                points = [flip(point) for point in op["points"]]
                path = f"M{points[0][0]},{points[0][1]}" + "".join(
                    f" C{a[0]},{a[1]} {b[0]},{b[1]} {c[0]},{c[1]}"
                    for a, b, c in zip(points[1::3], points[2::3], points[3::3], strict=False)
                )
        for op in obj.get("_hdraw_", []):
            if op.get("op") in ("p", "P") and op.get("points"):
                arrow = " ".join(f"{x},{y}" for x, y in (flip(point) for point in op["points"]))
        for op in obj.get("_ldraw_", []):
            if op.get("op") == "T" and op.get("pt"):
                label_at = flip(op["pt"])
        edges.append(PlacedEdge(path=path, arrow=arrow, kind=edge.kind, label=edge.label, label_x=label_at[0],
                                label_y=label_at[1], failure=edge.failure))
    return Layout(width=round(width, 2), height=round(height, 2), nodes=nodes, edges=edges)
