from __future__ import annotations

import shutil
import subprocess

import pytest

from runtime_adapter.present import graphviz_render
from runtime_adapter.present.graphviz_render import GraphvizUnavailable
from runtime_adapter.present.lineage import (
    STATUS_COLOURS,
    dot_quote,
    family_nodes,
    lineage_graph,
    load_family,
    place,
    to_dot,
)
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.factories import run_record


def href(run_id: str) -> str:
    return f"/runs/{run_id}/"


def family() -> list[dict]:
    root = run_record("root", children=["child"], checkpoints=[{"id": "cp-2", "label": "tool_completed"}])
    return [
        root,
        run_record("child", parent="root", root="root", status="failed", created="2026-01-01T00:00:01.000Z"),
        run_record("branch", root="root", status="paused", created="2026-01-01T00:00:02.000Z",
                   branch_origin="root", branch_checkpoint="cp-2"),
        run_record("root:replay:1", root="root", created="2026-01-01T00:00:03.000Z",
                   metadata={"replay": {"sourceRunId": "root"}}),
        run_record("stranger", status="running"),
    ]


def dot_for(runs: list[dict], current: str = "child", limit: int = 300) -> str:
    return to_dot(lineage_graph(family_nodes(runs, "root"), current, limit), href, "/runs/child/tree/")


def test_family_holds_children_branches_and_replays_but_not_strangers():
    ids = [node.id for node in family_nodes(family(), "root")]
    assert ids == ["root", "child", "branch", "root:replay:1"]


def test_store_family_from_rows_matches_the_one_from_records():
    store = InMemoryRunStore(family())
    nodes, left_out = load_family(store, "root")
    assert left_out == 0
    assert [(n.id, n.parent_id, n.origin_id, n.checkpoint_label) for n in nodes] == [
        (n.id, n.parent_id, n.origin_id, n.checkpoint_label) for n in family_nodes(family(), "root")]
    assert next(n for n in nodes if n.id == "root:replay:1").replay_of == "root"


def test_parent_edges_are_solid_and_branch_edges_dashed_with_the_checkpoint_label():
    dot = dot_for(family())
    assert 'n0 -> n1 [id="e0", color="#c62f3a", penwidth=2];' in dot  # child failed: its edge is the failure colour
    assert 'n0 -> n2 [id="e1", style=dashed, label="tool_completed"];' in dot
    assert 'n0 -> n3 [id="e2", style=dotted, label="replay"];' in dot


def test_branch_edges_fall_back_to_the_checkpoint_id():
    runs = family()
    runs[0]["checkpoints"] = []
    assert 'style=dashed, label="cp-2"' in dot_for(runs)


def test_nodes_link_to_their_run_and_are_coloured_by_status():
    dot = dot_for(family())
    assert f'URL="/runs/child/", target="_top", fillcolor="{STATUS_COLOURS["failed"]}"' in dot
    assert f'URL="/runs/branch/", target="_top", fillcolor="{STATUS_COLOURS["paused"]}"' in dot


def test_the_current_run_is_outlined():
    dot = dot_for(family(), current="child")
    line = next(line for line in dot.splitlines() if 'URL="/runs/child/"' in line)
    assert "penwidth=3" in line and 'class="current"' in line
    assert sum("penwidth=3" in line for line in dot.splitlines()) == 1


def test_dot_is_stable_whatever_the_input_order():
    runs = family()
    assert dot_for(runs) == dot_for(list(reversed(runs)))


@pytest.mark.parametrize(("raw", "quoted"), [
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("two\nlines", '"two\\nlines"'),
    ("<b>bold</b> & co", '"&lt;b&gt;bold&lt;/b&gt; &amp; co"'),
    ("bell\x07\u2028end", '"bellend"'),
    ('"];\ndigraph x { a -> b', '"\\"];\\ndigraph x { a -&gt; b"'),
])
def test_dot_quote_escapes_everything_graphviz_would_interpret(raw, quoted):
    assert dot_quote(raw) == quoted


def test_hostile_labels_cannot_break_out_of_dot_strings():
    evil = 'x"] ; evil [URL="javascript:alert(1)"] ; y ["\\'
    runs = [run_record("root", input=evil), run_record(f'c"{evil}', parent="root", root="root", input="<script>alert(1)</script>")]
    dot = to_dot(lineage_graph(family_nodes(runs, "root"), "root"), href, "/tree/")
    assert "<script>" not in dot and "&lt;script&gt;" in dot
    assert 'URL="javascript' not in dot
    if shutil.which("dot"):
        layout = graphviz_render.layout(dot)
        assert {obj["name"] for obj in layout["objects"]} == {"n0", "n1"}


def test_big_families_fold_completed_runs_only_until_under_the_cap():
    runs = [run_record("root", children=[f"k{i:03d}" for i in range(400)])]
    runs += [run_record(f"k{i:03d}", parent="root", root="root", created=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z",
                        status="failed" if i == 7 else "completed") for i in range(400)]
    graph = lineage_graph(family_nodes(runs, "root"), "k399", 300)
    kept = [node.id for node in graph.nodes]
    assert len(kept) + len(graph.more) == 300
    assert [(more.anchor_id, more.count) for more in graph.more] == [("root", 102)]
    assert {"root", "k007", "k399"} <= set(kept)
    dot = to_dot(graph, href, "/runs/k399/tree/")
    assert 'label="102 more runs"' in dot and 'URL="/runs/k399/tree/"' in dot
    assert dot.count("fillcolor") == 300


def test_small_families_are_never_folded():
    graph = lineage_graph(family_nodes(family(), "root"), "child", 4)
    assert graph.more == [] and len(graph.nodes) == 4


def test_folding_keeps_the_current_runs_ancestry_even_when_all_completed():
    runs = [run_record("root")]
    runs += [run_record(f"a{i}", parent="root", root="root", created=f"2026-01-01T00:00:{i:02d}.000Z") for i in range(30)]
    runs += [run_record("deep", parent="a5", root="root", created="2026-01-01T00:01:00.000Z")]
    graph = lineage_graph(family_nodes(runs, "root"), "deep", 10)
    kept = {node.id for node in graph.nodes}
    assert {"root", "a5", "deep"} <= kept and len(kept) + len(graph.more) <= 10


def test_lineage_cycles_do_not_hang_the_graph():
    runs = [run_record("a", parent="b", root="a"), run_record("b", parent="a", root="a")]
    graph = lineage_graph(family_nodes(runs, "a"), "a", 1)
    assert {node.id for node in graph.nodes} | {m.anchor_id for m in graph.more} >= {"a"}
    to_dot(graph, href, "/t/")


def test_place_turns_the_graphviz_layout_into_boxes_and_paths():
    assert shutil.which("dot"), "Graphviz's dot is missing: make test installs Debian's graphviz"
    graph = lineage_graph(family_nodes(family(), "root"), "child")
    layout = place(graphviz_render.layout(to_dot(graph, href, "/t/")), graph)
    assert {node.run_id for node in layout.nodes} == {"root", "child", "branch", "root:replay:1"}
    assert all(0 <= node.x and node.x + node.width <= layout.width + 0.01 for node in layout.nodes)
    assert [edge.kind for edge in layout.edges] == ["parent", "branch", "replay"]
    assert all(edge.path.startswith("M") and " C" in edge.path and edge.arrow for edge in layout.edges)
    assert next(node for node in layout.nodes if node.current).run_id == "child"
    assert layout.view_box.startswith("-4 -4 ")


def test_missing_graphviz_binary_raises_unavailable():
    with pytest.raises(GraphvizUnavailable, match="not installed"):
        graphviz_render.render("digraph { a }", "svg", binary="/nonexistent/dot")


def test_graphviz_errors_and_timeouts_raise_unavailable(monkeypatch):
    if shutil.which("dot"):
        with pytest.raises(GraphvizUnavailable, match="failed"):
            graphviz_render.render("digraph { a -> }", "svg")

    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired("dot", 1)

    monkeypatch.setattr(subprocess, "run", slow)
    with pytest.raises(GraphvizUnavailable, match="longer than"):
        graphviz_render.render("digraph { a }", "svg", timeout=1)


def test_unknown_formats_are_refused():
    with pytest.raises(ValueError):
        graphviz_render.render("digraph { a }", "pdf")


@pytest.mark.parametrize("size", [400, 3000])
def test_folding_accounts_for_every_run_and_keeps_failures_in_deep_mixed_trees(size):
    from runtime_adapter.present.lineage import LineageNode

    nodes = [LineageNode(id="r", status="completed", created_at="2026")]
    for i in range(size):
        parent = nodes[(i * 7919) % len(nodes)].id  # a fixed, irregular mix of deep and wide
        status = "failed" if i % 11 == 0 else "paused" if i % 13 == 0 else "completed"
        nodes.append(LineageNode(id=f"n{i}", status=status, created_at=f"2026-{i:05d}", parent_id=parent))
    current = f"n{size - 1}"
    graph = lineage_graph(nodes, current, 300)
    assert len(graph.nodes) + graph.hidden == len(nodes)
    kept = {node.id for node in graph.nodes}
    assert current in kept
    assert {node.id for node in nodes if node.status in ("failed", "paused")} <= kept
    if size == 400:
        assert len(graph.nodes) + len(graph.more) <= 300
    assert all(more.anchor_id in kept for more in graph.more if more.anchor_id is not None)
    to_dot(graph, href, "/t/")
