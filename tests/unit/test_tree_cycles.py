"""Lineage cycles: the runtime's render recurses forever; ours terminates and says so."""

from runtime_adapter.inspectors import build_tree, render_tree
from runtime_adapter.js import jsjson
from tests.factories import run_record


def test_self_parented_run_appears_as_a_marked_root_and_renders():
    runs = [run_record("a"), run_record("self", parent="self")]
    forest = build_tree(runs)
    ids = [node["id"] for node in forest]
    assert ids == ["a", "self"]
    assert forest[1]["lineageCycle"] is True
    assert render_tree(forest).splitlines() == ["a [completed]", "self [completed]", "└─ self [completed] (lineage cycle)"]
    jsjson.dumps(forest)  # finite, serialisable


def test_two_run_cycle_is_listed_once_with_the_closing_edge_as_a_stub():
    runs = [run_record("x", parent="y"), run_record("y", parent="x")]
    forest = build_tree(runs)
    assert [node["id"] for node in forest] == ["x"]
    assert forest[0]["children"][0]["id"] == "y"
    stub = forest[0]["children"][0]["children"][0]
    assert stub == {"id": "x", "status": "completed", "lineageCycle": True, "children": []}
    assert forest[0]["subtreeMetrics"]["runCount"] == 2


def test_subtree_of_a_run_inside_a_cycle_terminates():
    runs = [run_record("x", parent="y"), run_record("y", parent="x"), run_record("leaf", parent="y")]
    tree = build_tree(runs, "y")
    text = render_tree(tree)
    assert text.splitlines()[0] == "y [completed]"
    assert "(lineage cycle)" in text and "leaf" in text


def test_very_deep_chain_builds_and_renders_without_recursion_errors():
    runs = [run_record("n0")] + [run_record(f"n{i}", parent=f"n{i - 1}", created=f"2026-01-01T00:00:{i % 60:02d}.000Z") for i in range(1, 5000)]
    forest = build_tree(runs)
    assert forest[0]["subtreeMetrics"]["runCount"] == 5000
    assert len(render_tree(forest).splitlines()) == 5000


def test_children_sort_with_locale_compare_not_code_points():
    parent = run_record("p")
    runs = [parent, run_record("upper", parent="p", created="Sprint-b"), run_record("lower", parent="p", created="sprint-a")]
    tree = build_tree(runs, "p")
    assert [child["id"] for child in tree["children"]] == ["lower", "upper"]


def test_a_tree_from_rows_terminates_on_cycles_and_deep_chains_like_the_runs_tree():
    """The tree page assembles listing rows (present.family_tree); cycles end in the same stubs and a 5,000-deep
    chain sums without recursion, as build_tree over the runs does."""
    from runtime_adapter.present.detail import tree_entries
    from runtime_adapter.present.family_tree import family_tree, tree_of_rows
    from runtime_adapter.stores.memory import InMemoryRunStore

    cycle = [run_record("x", parent="y"), run_record("y", parent="x"), run_record("leaf", parent="y")]
    store = InMemoryRunStore(cycle)
    root, tree = family_tree(store, "leaf", store.rows_by_id(["leaf"])["leaf"], lambda: store.get_run("leaf"))
    assert root == "x"  # the walk up stops where the cycle closes, as the breadcrumb's does
    assert render_tree(tree) == render_tree(build_tree(store.iter_runs(), "x"))
    chain = [run_record("n0")] + [run_record(f"n{i}", parent=f"n{i - 1}") for i in range(1, 5000)]
    deep = InMemoryRunStore(chain)
    from_rows = tree_entries(tree_of_rows(deep.rows(), "n0"))
    assert len(from_rows) == 2 * 4999 + 1  # 4,999 opened branches, their closes and the last leaf
    assert [entry.metrics for entry in from_rows] == [entry.metrics for entry in tree_entries(build_tree(deep.iter_runs(), "n0"))]


def test_a_run_missing_from_the_rows_falls_back_to_reading_its_family():
    """A run written since an index last looked has no row yet: its tree is built from the files, as before."""
    from runtime_adapter.present.family_tree import family_tree
    from runtime_adapter.stores.memory import InMemoryRunStore

    class NotIndexedYet(InMemoryRunStore):
        def family_rows(self, root_run_id):
            return []

    store = NotIndexedYet([run_record("root"), run_record("child", parent="root")])
    root, tree = family_tree(store, "child", None, lambda: store.get_run("child"))
    assert root == "root" and render_tree(tree) == "root [completed]\n└─ child [completed]"
