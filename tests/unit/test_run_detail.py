from __future__ import annotations

from runtime_adapter.inspectors import build_tree
from runtime_adapter.present.detail import (
    ancestry,
    checkpoint_views,
    event_types,
    filter_events,
    page_slice,
    pair_tool_calls,
    pending_callouts,
    tree_items,
    tree_root,
    unmatched_results,
)
from runtime_adapter.records import RunNotFound
from tests.factories import run_record


def getter(runs):
    by_id = {run["id"]: run for run in runs}

    def get(run_id):
        if run_id not in by_id:
            raise RunNotFound(run_id)
        return by_id[run_id]

    return get


def test_ancestry_walks_from_root_to_parent():
    runs = [run_record("r"), run_record("c", parent="r", root="r", status="failed"), run_record("g", parent="c", root="r")]
    crumbs = ancestry(runs[2], getter(runs))
    assert [(c.id, c.status) for c in crumbs.ancestors] == [("r", "completed"), ("c", "failed")]
    assert crumbs.broken is None
    assert tree_root(runs[2], crumbs) == "r"


def test_ancestry_stops_at_a_missing_parent_and_names_it():
    run = run_record("c", parent="gone", root="gone")
    crumbs = ancestry(run, getter([run]))
    assert [(c.id, c.status) for c in crumbs.ancestors] == [("gone", None)] and crumbs.broken == "missing"
    assert tree_root(run, crumbs) == "c"


def test_ancestry_stops_on_cycles_and_at_the_limit():
    runs = [run_record("a", parent="b", root="a"), run_record("b", parent="a", root="a")]
    assert ancestry(runs[0], getter(runs)).broken == "cycle"
    chain = [run_record("n0")] + [run_record(f"n{i}", parent=f"n{i - 1}", root="n0") for i in range(1, 10)]
    crumbs = ancestry(chain[-1], getter(chain), limit=3)
    assert crumbs.broken == "limit" and [c.id for c in crumbs.ancestors] == ["n6", "n7", "n8"]


def test_pending_approval_callout_names_the_tool_and_arguments():
    run = run_record("w", status="waiting_for_approval",
                     pendingApproval={"toolName": "send_email", "toolCall": {"name": "send_email"}, "arguments": {"to": "x"}})
    (callout,) = pending_callouts(run)
    assert callout.kind == "approval" and callout.title == "Waiting for approval to run send_email"
    assert callout.tool_name == "send_email" and '"to": "x"' in callout.arguments


def test_pause_callout_gives_reason_and_stage_and_both_can_be_set():
    run = run_record("p", status="paused", pendingApproval={"toolName": "t"},
                     pendingPause={"reason": "Operator is investigating", "stage": "manual"})
    approval, pause = pending_callouts(run)
    assert approval.kind == "approval"
    assert (pause.title, pause.reason, pause.stage) == ("Paused at manual", "Operator is investigating", "manual")
    assert pending_callouts(run_record("plain")) == []


def test_tool_calls_pair_with_results_by_id_then_by_name_order():
    run = run_record(
        "t",
        toolCalls=[{"toolName": "a", "toolCall": {"name": "a", "id": "1"}, "arguments": {"q": 1}},
                   {"toolName": "b", "toolCall": {"name": "b", "id": "2"}},
                   {"toolName": "a", "toolCall": {"name": "a", "id": "3"}},
                   {"toolName": "c", "toolCall": {"name": "c", "id": "4"}}],
        toolResults=[{"toolCallId": "3", "toolName": "a", "result": "third"}, {"toolName": "a", "result": "first"},
                     {"toolName": "b", "result": "second"}, {"toolName": "zzz", "result": "orphan"}],
    )
    pairs = pair_tool_calls(run)
    assert [(p.name, p.result, p.matched_by) for p in pairs] == [
        ("a", "first", "order"), ("b", "second", "order"), ("a", "third", "id"), ("c", None, None)]
    assert unmatched_results(run, pairs) == 1


def test_checkpoints_carry_the_runtime_calls_as_js_literals():
    run = run_record("r", checkpoints=[{"id": 'cp"1', "label": "x"}, {"label": "no id"}])
    with_id, without = checkpoint_views(run)
    assert with_id.branch_call == 'agent.branchRun("r", { checkpointId: "cp\\"1" })'
    assert with_id.replay_call == 'agent.replayRun("r", { checkpointId: "cp\\"1" })'
    assert with_id.export_call == 'TraceSerializer.exportPartialRun(run, { checkpointId: "cp\\"1" })'
    assert without.branch_call is None and without.export_call is None


def test_a_workflow_runs_checkpoints_name_the_workflow_runners_operator_paths():
    run = run_record("w", metadata={"workflowId": "wf"}, checkpoints=[{"id": "cp", "label": "x"}])
    [view] = checkpoint_views(run)
    assert view.branch_call == 'workflowRunner.branchRun("w", { checkpointId: "cp" })'
    assert view.replay_call == 'workflowRunner.replayRun("w", { checkpointId: "cp" })'


def test_events_sort_by_time_and_filter_by_type():
    run = run_record("e", events=[{"type": "b", "timestamp": "2026-01-01T00:00:02.000Z"},
                                  {"type": "a", "timestamp": "2026-01-01T00:00:01.000Z"}, {"timestamp": "2026-01-01T00:00:03.000Z"}])
    assert [event.get("type") for event in filter_events(run, None)] == ["a", "b", None]
    assert event_types(run) == ["(no type)", "a", "b"]
    assert len(filter_events(run, "(no type)")) == 1


def test_page_slice_offsets():
    page = page_slice(list(range(250)), 100, 100)
    assert (page.items[0], page.next_offset, page.previous_offset, page.end) == ((100, 100), 200, 0, 200)
    last = page_slice(list(range(250)), 200, 100)
    assert last.next_offset is None and last.end == 250
    assert page_slice([], 50, 10).items == []


def test_tree_items_nest_without_recursion():
    runs = [run_record("r"), run_record("a", parent="r", root="r", created="2026-01-01T00:00:01.000Z"),
            run_record("b", parent="a", root="r", created="2026-01-01T00:00:02.000Z")]
    items = tree_items(build_tree(runs, "r"))
    assert [(item.kind, item.node["id"] if item.node else None, item.depth) for item in items] == [
        ("open", "r", 0), ("open", "a", 1), ("leaf", "b", 2), ("close", None, 1), ("close", None, 0)]
    deep = [run_record("n0")] + [run_record(f"n{i}", parent=f"n{i - 1}", root="n0") for i in range(1, 3000)]
    assert len(tree_items(build_tree(deep, "n0"))) == 2999 * 2 + 1
