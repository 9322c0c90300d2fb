"""runtime_adapter.present.provenance and the lineage kinds: what the runtime's metadata says about a run's origin."""

from __future__ import annotations

import copy

import pytest

from runtime_adapter.inspectors import create_recovery_plan, export_partial_run, export_run, validate_trace
from runtime_adapter.present.detail import TreeEntry
from runtime_adapter.present.lineage import family_nodes, lineage_graph, outside_tree, to_dot
from runtime_adapter.present.provenance import (
    NOTE,
    derivation,
    export_metadata,
    handoff,
    plan_steps,
    recovery_history,
    replay_finished,
    run_provenance,
    runner_outcome,
    runner_step,
    safe_checkpoint,
    tree_entries_with_kinds,
)
from runtime_adapter.records import CorruptRun
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.factories import run_record
from tests.fixtures import corpus

DISTRIBUTED = "s08_distributed"
SEEDED = "s09_reference_seeded"


def only(scenario: str, description: str, predicate) -> dict:
    return corpus.get_run(scenario, corpus.the_run(scenario, description, predicate))


def meta(run):
    return run["metadata"]


# Derivations -----------------------------------------------------------------------------------------


def test_each_kind_of_derived_run_in_the_corpus_is_named_for_what_the_runtime_made():
    by_kind: dict[str, set[str]] = {}
    for scenario in (corpus.BRANCHES, DISTRIBUTED, SEEDED):
        for run in corpus.runs(scenario):
            found = derivation(run)
            by_kind.setdefault(found.kind if found else "none", set()).add(run["id"])
    ids = {run_id for kind in by_kind.values() for run_id in kind}
    assert ids == {run["id"] for scenario in (corpus.BRANCHES, DISTRIBUTED, SEEDED) for run in corpus.runs(scenario)}
    assert all(":partial:" in run_id for run_id in by_kind["partial_export"]) and len(by_kind["partial_export"]) == 2
    assert all(":partial-replay:" in run_id for run_id in by_kind["partial_replay"])
    assert all(":replay:" in run_id or run_id == "replay-fixed-001" for run_id in by_kind["replay"])
    assert len(by_kind["recovery"]) == 2


def test_a_recovery_branch_records_what_it_recovers_and_how():
    run = only(DISTRIBUTED, "the recovery branch", lambda run: "recovery" in meta(run))
    found = derivation(run)
    assert found.kind == "recovery" and found.via == "branch" and found.via_label == "branch"
    assert found.recovery_source_id == meta(run)["recovery"]["sourceRunId"] == found.source_id
    assert found.recovery_action == "branch_from_failure_checkpoint" and found.incident_type == "queue_worker_failure"
    assert found.checkpoint_id == corpus.lineage(run)["branchCheckpointId"]


def test_a_partial_export_names_its_source_and_checkpoint():
    run = only(corpus.BRANCHES, "the partial export", lambda run: "replaySourceRunId" in meta(run))
    found = derivation(run)
    assert (found.kind, found.source_id, found.checkpoint_id) == (
        "partial_export", meta(run)["replaySourceRunId"], meta(run)["replayCheckpointId"])
    assert found.replay_finished is None


def test_a_run_started_afresh_or_delegated_is_not_derived():
    assert derivation(run_record("fresh")) is None
    assert derivation(run_record("child", parent="fresh", root="fresh")) is None


def test_a_replay_finishes_with_replay_completed_or_its_workflow_twin():
    def replay(events):
        return run_record("r:replay:1", root="r", events=events,
                          metadata={"replay": {"mode": "frozen_trace", "sourceRunId": "r"}})

    assert replay_finished(replay([{"type": "replay_started"}, {"type": "replay_completed"}]))
    assert replay_finished(replay([{"type": "workflow_replay_started"}, {"type": "workflow_replay_completed"}]))
    unfinished = replay([{"type": "replay_started"}, "not an event", None])
    assert not replay_finished(unfinished)
    assert derivation(unfinished).replay_finished is False and run_provenance(unfinished).shown


def test_odd_metadata_shapes_never_break_a_derivation():
    for metadata in ({"replay": "yes"}, {"recovery": ["x"]}, {"replaySourceRunId": 7}, {"recovery": {"sourceRunId": None}}):
        found = derivation(run_record("odd", metadata=metadata))
        assert found is None or found.kind == "recovery"


# Handoffs --------------------------------------------------------------------------------------------


def test_a_queue_continuation_carries_its_envelopes_metadata():
    run = only(DISTRIBUTED, "the failed continuation with a correlation", lambda run: (
        meta(run).get("workerId") and (meta(run).get("correlation") or {}).get("destinationWorker")))
    found = handoff(run)
    assert found.continued and found.action == "replay"
    assert found.source_run_id == meta(run)["sourceRunId"] == corpus.lineage(run)["branchOriginRunId"]
    assert [(fact.label, fact.value) for fact in found.facts] == [
        ("Queue", "runtime-job-queue"), ("Transport", "queue"), ("Worker", "worker-b")]
    assert found.checkpoint_id == meta(run)["replay"]["sourceCheckpointId"]
    assert not found.has_identity and not found.has_auth_scope


def test_a_branch_envelope_carries_the_sources_identity_and_auth_scope():
    run = only(DISTRIBUTED, "the branch handoff", lambda run: meta(run).get("handoffTarget") == "worker-identity")
    found = handoff(run)
    assert found.action == "branch"
    assert [(fact.key, fact.value) for fact in found.identity] == [
        ("actorId", "user-42"), ("serviceId", "api-gateway"), ("tenantId", "acme"), ("sessionId", "sess-1")]
    assert found.scopes == ["runs:write"] and found.auth_scope == ["crmToken"]


def test_an_identity_alone_is_not_a_handoff_and_a_plain_run_has_neither():
    found = handoff(run_record("solo", metadata={"executionIdentity": {"actorId": "a", "tenantId": None, "scopes": []}}))
    assert found is not None and not found.continued and found.action is None
    assert [fact.label for fact in found.identity] == ["Actor"]
    assert handoff(run_record("plain")) is None
    assert not run_provenance(run_record("plain")).shown


def test_identity_and_auth_scope_of_an_unexpected_shape_are_shown_as_they_are():
    found = handoff(run_record("odd", metadata={"executionIdentity": "svc-7", "distributedAuthScope": {"a": 1},
                                                "workerId": 12}))
    assert found.identity_raw == "svc-7" and found.auth_scope_raw == '{"a":1}'
    assert found.continued and [fact.value for fact in found.facts] == ["12"]


# Recovery history ------------------------------------------------------------------------------------


def _history_store(extra=(), broken=()):
    records = [
        run_record("src", status="failed"),
        run_record("rec-1", root="src", status="completed", created="2026-01-01T00:02:00.000Z", branch_origin="src",
                   metadata={"recovery": {"sourceRunId": "src", "action": "branch_from_failure_checkpoint",
                                          "incidentType": "tool_failure"}}),
        run_record("src:partial-replay:1", root="src", status="running", created="2026-01-01T00:01:00.000Z",
                   branch_origin="src", events=[{"type": "replay_started"}],
                   metadata={"recovery": {"sourceRunId": "src", "action": "partial_replay"},
                             "replay": {"mode": "partial_frozen_trace", "sourceRunId": "src", "sourceCheckpointId": "c"}}),
        run_record("plain-branch", root="src", branch_origin="src"),
        run_record("elsewhere", root="other", branch_origin="src",
                   metadata={"recovery": {"sourceRunId": "other", "action": "branch_from_failure_checkpoint"}}),
        *extra,
    ]

    class Store(InMemoryRunStore):
        def get_run(self, run_id):
            if run_id in broken:
                raise CorruptRun(f"{run_id}.json", "Unexpected end of JSON input")
            return super().get_run(run_id)

    return Store(records)


def test_recovery_history_lists_the_runs_that_name_this_run_oldest_first():
    history = recovery_history(_history_store(), "src")
    assert [attempt.run_id for attempt in history.attempts] == ["src:partial-replay:1", "rec-1"]
    replay, branch = history.attempts
    assert replay.via == "partial replay" and replay.replay_unfinished and replay.action == "partial_replay"
    assert branch.via == "branch" and not branch.replay_unfinished and branch.incident_type == "tool_failure"
    assert branch.status == "completed" and history.unread == [] and history.not_read == 0


def test_recovery_history_says_why_a_related_run_could_not_be_read():
    history = recovery_history(_history_store(broken={"rec-1"}), "src")
    assert [attempt.run_id for attempt in history.attempts] == ["src:partial-replay:1"]
    assert [(item.run_id, "Unexpected end of JSON input" in item.reason) for item in history.unread] == [("rec-1", True)]


def test_recovery_history_reads_at_most_its_limit_and_counts_the_rest():
    # Oldest first: two branches that are no attempt, then the replay; the newest attempt is past the limit.
    history = recovery_history(_history_store(), "src", limit=3)
    assert history.not_read == 1 and [attempt.run_id for attempt in history.attempts] == ["src:partial-replay:1"]


def test_an_attempts_outcome_says_what_became_of_it():
    extra = [
        run_record("rec-failed", root="src", status="failed", branch_origin="src",
                   errors=[{"name": "ToolError", "message": "crm down"}],
                   metadata={"recovery": {"sourceRunId": "src", "action": "branch_from_failure_checkpoint"}}),
        run_record("rec-paused", root="src", status="paused", branch_origin="src",
                   pendingPause={"stage": "branch", "reason": "Branched"},
                   metadata={"recovery": {"sourceRunId": "src", "action": "branch_from_failure_checkpoint"}}),
    ]
    outcomes = {attempt.run_id: attempt.outcome for attempt in recovery_history(_history_store(extra), "src").attempts}
    assert outcomes["rec-failed"] == "ToolError: crm down"
    assert outcomes["rec-paused"] == "never resumed: still paused where it was branched"
    assert outcomes["rec-1"] == ""


# The recovery plan -----------------------------------------------------------------------------------


def _plan(*actions, approval=False):
    return {"steps": [{"action": action, "priority": "high", "reason": "r", "runId": "run-1",
                       "payload": {"checkpointId": "cp-9"}, "requiresApproval": approval} for action in actions]}


def test_the_runner_executes_only_the_first_step_it_knows():
    plan = _plan("compare_to_known_good", "branch_from_failure_checkpoint", "partial_replay")
    assert runner_step(plan) is plan["steps"][1]
    notes = [note for _, note in plan_steps(plan)]
    assert notes[0].startswith(NOTE + "an operator step") and "would execute branch_from_failure_checkpoint instead" in notes[0]
    assert notes[1] == NOTE + "DistributedRecoveryRunner.executePlan executes this step."
    assert "executes only the first step it can (branch_from_failure_checkpoint)" in notes[2]


def test_a_workflow_branch_step_is_one_the_runner_cannot_execute():
    plan = _plan("workflow_branch_from_failure_checkpoint", approval=True)
    [(step, note)] = plan_steps(plan)
    assert note.startswith(NOTE + "DistributedRecoveryRunner cannot execute this step")
    assert 'returns executedAction "inspect_report"' in note
    assert 'workflowRunner.branchRun("run-1", { checkpointId: "cp-9" })' in note
    assert runner_outcome(plan).endswith('it returns executedAction "inspect_report".')


def test_a_step_needing_approval_makes_the_runner_wait():
    outcome = runner_outcome(_plan("branch_from_failure_checkpoint", approval=True))
    assert '"waiting_for_recovery_approval"' in outcome and "branchRun" in outcome


def test_plan_notes_leave_the_runtimes_plan_byte_for_byte_as_it_was():
    store = InMemoryRunStore(corpus.runs(corpus.FAILURES))
    for run in corpus.runs(corpus.FAILURES):
        plan = create_recovery_plan(store, run["id"], None)
        before = copy.deepcopy(plan)
        steps = plan_steps(plan)
        assert [step for step, _ in steps] == plan["steps"] and all(a is b for (a, _), b in zip(steps, plan["steps"], strict=True))
        assert plan == before


def test_the_safe_checkpoint_is_the_last_one_taken_before_the_failing_tool():
    store = InMemoryRunStore(corpus.runs(corpus.FAILURES))
    run = only(corpus.FAILURES, "the run whose second tool failed after a completed one", lambda run: (
        corpus.tool_names(run) == ["sync_inventory", "sync_inventory_flaky"]))
    suggestion = safe_checkpoint(run, create_recovery_plan(store, run["id"], None))
    assert suggestion.checkpoint_id == corpus.checkpoint_id(run, "tool_completed")
    assert suggestion.plan_checkpoint_id == corpus.checkpoint_id(run, "run_failed")
    assert suggestion.tool_name == "sync_inventory_flaky" and suggestion.label == "tool_completed"
    assert suggestion.call == f'agent.branchRun("{run["id"]}", {{ checkpointId: "{suggestion.checkpoint_id}" }})'


def test_the_safe_checkpoint_falls_back_to_timestamps_without_snapshots():
    run = run_record("t", status="failed",
                     steps=[{"id": "t:1", "type": "tool", "status": "failed", "createdAt": "2026-01-01T00:00:02.000Z"}],
                     checkpoints=[{"id": "a", "label": "early", "timestamp": "2026-01-01T00:00:01.000Z"},
                                  {"id": "b", "label": "late", "timestamp": "2026-01-01T00:00:03.000Z"}])
    suggestion = safe_checkpoint(run, _plan("branch_from_failure_checkpoint"))
    assert suggestion.checkpoint_id == "a" and suggestion.plan_checkpoint_id == "cp-9"


@pytest.mark.parametrize("plan, steps", [
    (_plan("partial_replay"), [{"id": "s", "type": "tool", "status": "failed"}]),     # the plan does not branch
    (_plan("branch_from_failure_checkpoint"), [{"id": "s", "type": "model", "status": "failed"}]),  # no tool failed
])
def test_no_safe_checkpoint_is_suggested_where_it_does_not_apply(plan, steps):
    run = run_record("n", status="failed", steps=steps,
                     checkpoints=[{"id": "a", "timestamp": "2026-01-01T00:00:00.000Z"}])
    assert safe_checkpoint(run, plan) is None


def test_no_safe_checkpoint_when_the_plan_already_starts_from_it():
    run = run_record("n", status="failed",
                     steps=[{"id": "s", "type": "tool", "status": "failed", "createdAt": "2026-01-01T00:00:02.000Z"}],
                     checkpoints=[{"id": "cp-9", "timestamp": "2026-01-01T00:00:01.000Z"}])
    assert safe_checkpoint(run, _plan("branch_from_failure_checkpoint")) is None


# Exports and trees -----------------------------------------------------------------------------------


def test_export_metadata_says_redacted_only_when_it_was_and_stays_a_valid_trace():
    run = corpus.get_run(corpus.BRANCHES, corpus.root())
    assert export_metadata({"exportedFor": "x"}, redacted=False) == {"exportedFor": "x"}
    marked = export_run(run, export_metadata({"exportedFor": "x"}, redacted=True))
    assert marked["metadata"] == {"exportedFor": "x", "redacted": True} and validate_trace(marked)["valid"]
    partial = export_partial_run(run, None, export_metadata({}, redacted=True))
    assert partial["metadata"]["redacted"] is True and partial["metadata"]["mode"] == "partial"


def test_tree_entries_of_derived_runs_carry_their_kind():
    entries = [TreeEntry("open", 0, id="a"), TreeEntry("leaf", 1, id="b"), TreeEntry("close", 0)]
    tagged = tree_entries_with_kinds(entries, {"b": "partial_export"})
    assert tagged[0] is entries[0] and tagged[2] is entries[2]
    assert (tagged[1].id, tagged[1].derivation, tagged[1].derivation_label) == ("b", "partial_export", "partial export")


# Lineage kinds and the runs a tree leaves out -------------------------------------------------------


def test_the_graph_draws_each_derived_kind_with_its_own_edge():
    root = corpus.root()
    nodes = family_nodes(corpus.runs(corpus.BRANCHES), root)
    graph = lineage_graph(nodes, root)
    kinds = {edge.kind for edge in graph.edges}
    assert {"branch", "replay", "partial_replay", "partial_export"} <= kinds
    dot = to_dot(graph, href=lambda run_id: f"/runs/{run_id}/", more_href="#")
    assert 'style="dotted,bold"' in dot and "arrowhead=onormal" in dot


def test_outside_tree_names_replays_and_root_branches_but_not_a_branch_of_a_child():
    root = corpus.root()
    nodes = family_nodes(corpus.runs(corpus.BRANCHES), root)
    outside = outside_tree(nodes, [root], root)
    expected = {node.id for node in nodes if node.id != root}
    assert {node.id for node in outside.nodes} == expected
    assert outside.summary.endswith("and 1 partial export") and outside.verb == "are" and outside.head is None


def test_a_partial_export_with_a_parent_stays_in_its_tree_and_is_tagged_there():
    export = only(SEEDED, "the imported partial export", lambda run: "replaySourceRunId" in meta(run))
    parent = corpus.lineage(export)["parentRunId"]
    nodes = family_nodes(corpus.runs(SEEDED), parent)
    tree = [parent, *corpus.children_of(SEEDED, parent)]
    assert export["id"] in tree
    outside = outside_tree(nodes, tree, parent)
    assert export["id"] not in outside.ids and outside.inside_kinds == ("partial_export",)


def test_a_replay_heading_its_own_tree_is_its_head_and_its_recovery_is_outside():
    replay = only(DISTRIBUTED, "the recovered queue failure", lambda run: any(
        (meta(other).get("recovery") or {}).get("sourceRunId") == run["id"] for other in corpus.runs(DISTRIBUTED)))
    root = corpus.lineage(replay)["rootRunId"]
    nodes = family_nodes(corpus.runs(DISTRIBUTED), root)
    outside = outside_tree(nodes, [replay["id"]], replay["id"])
    assert outside.head.id == replay["id"] and outside.head.relation == "partial replay"
    assert [node.kind for node in outside.nodes] == ["recovery"] and outside.summary == "1 recovery run"


def test_the_demos_queue_continuation_carries_its_sources_identity_as_the_runtimes_envelope_does():
    from tests.conftest import PINNED_NOW
    from write_side.synthetic import generate_runs

    runs = {run["id"]: run for run in generate_runs(80, now=PINNED_NOW)}
    continued = [run for run in runs.values() if meta(run).get("workerId") == "worker-b"]
    assert continued
    for run in continued:
        source = runs[meta(run)["sourceRunId"]]
        keys = list(meta(run))
        # createDistributedEnvelope: identity and auth scope first, then the caller's metadata, sourceRunId last.
        assert keys.index("executionIdentity") < keys.index("distributedAuthScope") < keys.index("transport") \
            < keys.index("sourceRunId") < keys.index("lineage") < keys.index("replay")
        assert meta(run)["executionIdentity"] == meta(source)["executionIdentity"]
        found = handoff(run)
        assert found.continued and found.has_identity and found.auth_scope == ["crmToken"]
