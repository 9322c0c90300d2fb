"""Lineage graphs of big families: which runs fold, which never do, opened folds, and the paths to failures."""

from __future__ import annotations

from runtime_adapter.present.detail import tree_entries
from runtime_adapter.present.lineage import FAILURE_PATH, LineageNode, MoreNode, lineage_graph, open_value, to_dot


def node(run_id: str, parent: str | None = None, status: str = "completed", index: int = 0) -> LineageNode:
    return LineageNode(id=run_id, status=status, created_at=f"2026-01-01T00:00:00.{index:06d}", parent_id=parent)


def hubs(count: int = 30, statuses: dict[str, str] | None = None) -> list[LineageNode]:
    """root -> hub01..hubNN, hub h having h leaves: 1 + 30 + 465 = 496 runs for 30 hubs."""
    statuses = statuses or {}
    nodes = [node("root")]
    for h in range(1, count + 1):
        nodes.append(node(f"hub{h:02d}", "root", statuses.get(f"hub{h:02d}", "completed"), len(nodes)))
        for leaf in range(h):
            run_id = f"hub{h:02d}-{leaf:02d}"
            nodes.append(node(run_id, f"hub{h:02d}", statuses.get(run_id, "completed"), len(nodes)))
    return nodes


def boxes(graph) -> int:
    return len(graph.nodes) + len(graph.more)


def folds(graph) -> dict[str | None, int]:
    return {item.anchor_id: item.count for item in graph.more}


def href(run_id: str) -> str:
    return f"/runs/{run_id}/"


def test_the_smallest_completed_subtrees_fold_first_and_only_until_under_the_cap():
    graph = lineage_graph(hubs(), "root", 300)
    assert boxes(graph) == 300
    # hub02..hub20 fold whole (saving 1 + 2 + … + 19 = 190 boxes), hub21 only as far as needed (6 more).
    assert folds(graph) == {**{f"hub{h:02d}": h for h in range(2, 21)}, "hub21": 7}
    kept = {item.id for item in graph.nodes}
    assert {f"hub30-{leaf:02d}" for leaf in range(30)} <= kept  # the biggest subtrees stay drawn
    assert "hub01-00" in kept  # a lone leaf saves nothing by folding
    assert graph.hidden == 496 - len(graph.nodes)


def test_a_family_never_folds_into_its_root_alone():
    graph = lineage_graph(hubs(), "root", 300)
    assert "root" not in folds(graph) and len(graph.nodes) > 250


def test_failed_waiting_and_paused_runs_and_the_paths_to_them_never_fold():
    statuses = {"hub05-03": "failed", "hub09-00": "waiting_for_approval", "hub12-11": "paused"}
    graph = lineage_graph(hubs(statuses=statuses), "root", 300)
    kept = {item.id for item in graph.nodes}
    assert {"hub05", "hub05-03", "hub09", "hub09-00", "hub12", "hub12-11"} <= kept
    # Their completed siblings still fold beside them.
    assert folds(graph)["hub05"] == 4 and folds(graph)["hub12"] == 11
    assert boxes(graph) <= 300


def test_the_current_run_and_its_ancestors_never_fold():
    graph = lineage_graph(hubs(), "hub03-01", 300)
    kept = {item.id for item in graph.nodes}
    assert {"root", "hub03", "hub03-01"} <= kept and boxes(graph) <= 300


def test_an_opened_fold_is_drawn_open_and_other_folds_make_room():
    closed = lineage_graph(hubs(), "root", 300)
    assert "hub10" in folds(closed)
    graph = lineage_graph(hubs(), "root", 300, opened=["hub10"])
    kept = {item.id for item in graph.nodes}
    assert {f"hub10-{leaf:02d}" for leaf in range(10)} <= kept
    assert "hub10" not in folds(graph) and boxes(graph) <= 300
    assert graph.opened == frozenset({"hub10"})


def test_an_opened_fold_stays_open_whatever_the_folds_around_it():
    nodes = [node("root"), node("a", "root", index=1)]
    nodes += [node(f"a{i}", "a", index=2 + i) for i in range(5)]
    nodes += [node(f"a0-{i}", "a0", index=10 + i) for i in range(5)]
    assert folds(lineage_graph(nodes, "root", 3)) == {"a": 10}
    graph = lineage_graph(nodes, "root", 3, opened=["a"])
    assert {"a", "a0", "a4"} <= {item.id for item in graph.nodes} and folds(graph) == {"a0": 5}
    graph = lineage_graph(nodes, "root", 3, opened=["a", "a0"])
    assert graph.more == [] and len(graph.nodes) == 12


def test_the_tops_fold_opens_with_an_empty_value():
    assert open_value(None) == "" and open_value("hub01") == "hub01"


def test_paths_to_failed_runs_are_marked_on_edges_and_ancestors():
    nodes = [node("root"), node("mid", "root", index=1), node("bad", "mid", "failed", 2), node("ok", "root", index=3)]
    graph = lineage_graph(nodes, "ok", 300)
    assert graph.failure_path == frozenset({"root", "mid", "bad"})
    assert {(edge.tail, edge.head) for edge in graph.edges if edge.failure} == {("root", "mid"), ("mid", "bad")}
    dot = to_dot(graph, href, lambda item: f"/open/{item.anchor_id}")
    assert f'n0 -> n1 [id="e0", color="{FAILURE_PATH}", penwidth=2];' in dot
    mid = next(line for line in dot.splitlines() if 'URL="/runs/mid/"' in line)
    assert f'color="{FAILURE_PATH}"' in mid and 'class="fail-path"' in mid
    ok = next(line for line in dot.splitlines() if 'URL="/runs/ok/"' in line)
    assert FAILURE_PATH not in ok


def test_fold_links_in_the_dot_open_that_fold():
    graph = lineage_graph(hubs(), "root", 300)
    dot = to_dot(graph, href, lambda item: f"/lin/?open={open_value(item.anchor_id)}")
    assert 'label="7 more runs"' in dot and 'URL="/lin/?open=hub21"' in dot
    assert isinstance(graph.more[0], MoreNode)


def test_tree_entries_count_the_failures_below_each_run():
    def tree_node(run_id: str, status: str, *children: dict) -> dict:
        return {"id": run_id, "status": status, "summary": {}, "children": list(children)}

    tree = tree_node("root", "completed",
                     tree_node("a", "failed", tree_node("a1", "failed"), tree_node("a2", "completed")),
                     tree_node("b", "completed", tree_node("b1", "completed", tree_node("b11", "failed"))))
    counts = {entry.id: entry.failed_below for entry in tree_entries(tree) if entry.id}
    assert counts == {"root": 3, "a": 1, "a1": 0, "a2": 0, "b": 1, "b1": 1, "b11": 0}
