"""The synthetic store generator: the runtime's exact file format, consistent lineage, the promised mix."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime_adapter import (
    BaseRunStore,
    FileRunStore,
    RunNotFound,
    StoreEntry,
    build_tree,
    correlation_for_run,
    create_incident_report,
    create_recovery_plan,
    diff_traces,
    export_bundle,
    export_run,
    render_tree,
    summarize,
    validate_trace,
)
from runtime_adapter.js import jsjson
from runtime_adapter.records import RUN_KEYS, normalize_run
from tests.conformance import require_corpus
from write_side.synthetic import BIG_TREE_SIZE, MEDIUM_TREE_SIZE, dumps_run, generate_runs, write_store
from write_side.synthetic.plan import plan

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
COUNT = 400
CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "stores"


@pytest.fixture(scope="module")
def runs() -> list[dict]:
    return list(generate_runs(COUNT, seed=7, now=NOW))


@pytest.fixture(scope="module")
def by_id(runs) -> dict[str, dict]:
    return {run["id"]: run for run in runs}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("synthetic") / "store"
    write_store(directory, COUNT, seed=7, now=NOW)
    return directory


def lineage(run: dict) -> dict:
    return run["metadata"]["lineage"]


def depth(run: dict, by_id: dict[str, dict]) -> int:
    levels = 1
    while lineage(run)["parentRunId"]:
        run = by_id[lineage(run)["parentRunId"]]
        levels += 1
    return levels


def failed_steps(run: dict) -> list[dict]:
    return [step for step in run["steps"] if step.get("status") == "failed"]


# -- format ----------------------------------------------------------------------------------


def test_written_files_are_byte_identical_to_what_the_runtime_writes(store_dir):
    names = os.listdir(store_dir)
    assert len(names) == COUNT
    for name in names:
        text = (store_dir / name).read_text(encoding="utf-8")
        run = jsjson.loads(text)
        assert name == f"{run['id']}.json"
        assert not text.endswith("\n")
        assert text == jsjson.dumps(normalize_run(run), 2)


def test_generated_runs_are_already_normalised_with_the_runtime_key_order(runs):
    for run in runs:
        assert tuple(run) == RUN_KEYS
        assert normalize_run(run) == run
        assert list(run["metadata"])[-1] in ("lineage", "replay")


def test_dumps_run_matches_jsjson_on_awkward_values():
    values = [1, 1.0, 2.5e-7, 1e21, 0.30000000000000004, "a\u2028b\x07\"", None, True, False, [], {}, [[]],
              {"a": [1, {"b": 0.1}], "c": {}}]
    for value in values:
        assert dumps_run(value) == jsjson.dumps(value, 2)


def test_dumps_run_matches_jsjson_on_the_conformance_corpus():
    require_corpus(CONFORMANCE)
    for path in sorted(CONFORMANCE.glob("*/*.json")):
        run = normalize_run(jsjson.loads(path.read_bytes()))
        assert dumps_run(run) == jsjson.dumps(run, 2), path.name


def test_count_is_exact_and_ids_unique_for_any_count():
    for count in (0, 1, 2, 7, 50, 121):
        ids = [run["id"] for run in generate_runs(count, seed=3, now=NOW)]
        assert len(ids) == count
        assert len(set(ids)) == count


# -- lineage ---------------------------------------------------------------------------------


def test_every_parent_exists_and_lists_its_children(runs, by_id):
    for run in runs:
        parent_id = lineage(run)["parentRunId"]
        if parent_id:
            assert run["id"] in lineage(by_id[parent_id])["childRunIds"]
        for child_id in lineage(run)["childRunIds"]:
            assert lineage(by_id[child_id])["parentRunId"] == run["id"]


def test_root_run_ids_follow_parents_branch_origins_and_replay_sources(runs, by_id):
    def origin(run: dict) -> str | None:
        replay = run["metadata"].get("replay") or {}
        return lineage(run)["parentRunId"] or lineage(run)["branchOriginRunId"] or replay.get("sourceRunId")

    for run in runs:
        source = origin(run)
        expected = run["id"] if source is None else lineage(by_id[source])["rootRunId"]
        assert lineage(run)["rootRunId"] == expected, run["id"]


def test_branches_point_at_an_existing_checkpoint_of_their_origin(runs, by_id):
    branches = [run for run in runs if lineage(run)["branchOriginRunId"]]
    assert len(branches) >= 5
    for run in branches:
        origin = by_id[lineage(run)["branchOriginRunId"]]
        assert lineage(run)["branchCheckpointId"] in [checkpoint["id"] for checkpoint in origin["checkpoints"]]
    left_paused = [run for run in branches if (run["pendingPause"] or {}).get("stage") == "branch"]
    assert left_paused and all(run["status"] == "paused" for run in left_paused)
    assert any(lineage(by_id[lineage(run)["branchOriginRunId"]])["branchOriginRunId"] for run in branches)


def test_replays_are_named_after_their_source_and_record_it(runs, by_id):
    replays = [run for run in runs if ":replay:" in run["id"]]
    assert replays
    for run in replays:
        source_id, _, millis = run["id"].partition(":replay:")
        assert millis.isdigit()
        assert run["metadata"]["replay"]["sourceRunId"] == source_id
        assert by_id[source_id]["steps"] == run["steps"]
    assert any(":partial-replay:" in run["id"] for run in runs)


def test_trees_are_delegated_deep_and_wide(runs, by_id):
    assert max(depth(run, by_id) for run in runs) >= 6
    assert max(len(lineage(run)["childRunIds"]) for run in runs) >= 15
    grandchildren = [run for run in runs if depth(run, by_id) >= 3]
    assert grandchildren


def test_delegating_parents_aggregate_their_childrens_usage_and_cost(runs, by_id):
    parents = [run for run in runs if run["metrics"]["childRuns"]["items"]]
    assert parents
    for parent in parents:
        items = parent["metrics"]["childRuns"]["items"]
        assert parent["metrics"]["childRuns"]["count"] == len(items)
        for item in items:
            child = by_id[item["runId"]]
            assert item["tokenUsage"] == child["metrics"]["tokenUsage"]
            assert item["cost"] == child["metrics"]["cost"]
            assert item["metadata"]["scope"] in ("delegation_runtime", "workflow_child")
        children_total = sum(item["tokenUsage"]["total"] for item in items)
        # A delegating agent also spends its own tokens; a workflow only its children's.
        if parent["metadata"].get("workflowId"):
            assert parent["metrics"]["tokenUsage"]["total"] == children_total
        else:
            assert parent["metrics"]["tokenUsage"]["total"] > children_total


def test_a_thousand_runs_hold_one_tree_of_several_hundred_runs():
    runs = list(generate_runs(1000, seed=7, now=NOW))
    families = Counter(lineage(run)["rootRunId"] for run in runs if lineage(run)["parentRunId"] or
                       lineage(run)["childRunIds"])
    assert families.most_common(1)[0][1] == MEDIUM_TREE_SIZE


def test_ten_thousand_runs_plan_a_five_hundred_run_tree():
    big = [group for group in plan(10_000, 7, 0) if group.kind == "big_tree"]
    assert [group.size for group in big] == [BIG_TREE_SIZE]
    assert sum(group.size for group in plan(10_000, 7, 0)) == 10_000


# -- what an operator sees ---------------------------------------------------------------------


def test_every_status_appears(runs):
    assert set(Counter(run["status"] for run in runs)) == {
        "pending", "running", "waiting_for_approval", "paused", "completed", "failed", "cancelled"}


def test_failed_runs_carry_an_error_and_failed_steps_show_where(runs):
    failed = [run for run in runs if run["status"] == "failed"]
    assert all(run["errors"] and run["errors"][-1]["message"] for run in failed)
    step_types = {step["type"] for run in failed for step in failed_steps(run)}
    assert {"tool", "verifier", "workflow_step"} <= step_types
    names = {error["name"] for run in failed for error in run["errors"]}
    assert {"ToolExecutionError", "ToolPolicyError", "RateLimitError", "QueueWorkerError"} <= names


def test_a_workflow_fails_when_its_agent_child_fails(runs, by_id):
    for run in runs:
        failed = [step for step in failed_steps(run) if step["type"] == "workflow_step"]
        children = [by_id[child] for child in lineage(run)["childRunIds"]]
        if run["status"] == "failed" and failed and any(child["status"] == "failed" for child in children):
            assert run["errors"][-1]["stepId"] == failed[-1]["key"]
            return
    pytest.fail("no workflow failed because of its child")


def test_approval_blocked_runs_name_the_tool_call_waiting(runs):
    waiting = [run for run in runs if run["status"] == "waiting_for_approval"]
    assert waiting
    for run in waiting:
        approval = run["pendingApproval"]
        assert approval["toolName"] == approval["toolCall"]["name"]
        assert approval["toolCall"]["id"] and approval["reason"]
        assert run["events"][-1]["type"] == "approval_requested"


def test_the_policy_decision_that_asked_for_an_approval_is_recorded_as_the_runtime_records_it(runs):
    # Agent._executeToolCall stops at the stage whose decision is require_approval: the tool's executionPolicy or a
    # rule (with its ruleId) at `evaluate`, a beforeExecute hook at `before_execute` after an allowed `evaluate`.
    asked = 0
    for run in runs:
        events = run["events"]
        for index, event in enumerate(events):
            if event["type"] != "approval_requested" or "confidence" in event["payload"]:
                continue
            decisions = [e["payload"] for e in events[:index] if e["type"] == "policy_decision"]
            last = decisions[-1]
            assert last["decision"]["action"] == "require_approval", run["id"]
            assert last["decision"]["reason"] == event["payload"]["reason"]
            assert (last["stage"], last["decision"].get("source")) in {
                ("evaluate", "metadata"), ("evaluate", "rule"), ("before_execute", None)}
            if last["decision"].get("source") == "rule":
                assert last["decision"]["ruleId"]
            if last["stage"] == "before_execute":
                assert decisions[-2]["stage"] == "evaluate" and decisions[-2]["decision"]["action"] == "allow"
            asked += 1
    assert asked


def test_paused_runs_say_at_which_stage(runs):
    paused = [run for run in runs if run["status"] == "paused"]
    assert all(run["pendingPause"]["reason"] for run in paused)
    stages = {run["pendingPause"].get("stage") for run in paused}
    assert {"before_tool", "after_model", "branch", "replay", "workflow_replay"} <= stages


def test_a_queue_worker_failure_is_a_failed_replay_still_paused(runs):
    failures = [run for run in runs if run["errors"] and run["errors"][-1]["name"] == "QueueWorkerError"]
    assert failures
    for run in failures:
        assert run["status"] == "failed" and run["pendingPause"]["stage"] == "replay"
        assert run["metadata"]["correlation"]["traceId"] == lineage(run)["rootRunId"]


def test_tool_calling_runs_record_calls_results_steps_and_events(runs):
    # Branches and replays start from a snapshot, so only runs recorded from the start count here.
    multi = [run for run in runs if run["status"] == "completed" and len(run["toolCalls"]) >= 2
             and run["events"][0]["type"] == "run_started"]
    assert multi
    for run in multi:
        assert len(run["toolResults"]) == len(run["toolCalls"])
        assert len([step for step in run["steps"] if step["type"] == "tool"]) == len(run["toolCalls"])
        types = [event["type"] for event in run["events"]]
        assert types.count("tool_started") == types.count("tool_completed") == len(run["toolCalls"])
        assert [call["toolCall"]["id"] for call in run["toolCalls"]] == [
            call["id"] for step in run["steps"] if step["type"] == "model" for call in step["output"]["toolCalls"]]


def test_timestamps_fall_in_the_week_before_now_and_run_forward(runs):
    week_ago = (NOW - timedelta(days=7)).isoformat().replace("+00:00", ".000Z")
    now = NOW.isoformat().replace("+00:00", ".000Z")
    for run in runs:
        stamps = run["timestamps"]
        assert week_ago <= stamps["createdAt"] <= stamps["updatedAt"] <= now
        if stamps["startedAt"]:
            assert stamps["createdAt"] < stamps["startedAt"] < stamps["updatedAt"]
        times = [event["timestamp"] for event in run["events"]]
        assert times == sorted(times)
    assert max(run["timestamps"]["createdAt"] for run in runs) > "2026-11-23"
    assert min(run["timestamps"]["createdAt"] for run in runs) < "2026-11-18"


def test_releases_come_as_objects_and_as_strings(runs):
    releases = [run["metadata"].get("release") for run in runs]
    versions = {release["version"] for release in releases if isinstance(release, dict)}
    labels = {release for release in releases if isinstance(release, str)}
    assert len(versions) >= 2 and labels


def test_some_runs_carry_correlation_ids_and_costs_are_floats(runs):
    assert any("traceId" in run["metadata"].get("correlation", {}) for run in runs)
    assert any(isinstance(run["metrics"]["cost"], float) and run["metrics"]["cost"] > 0 for run in runs)


def test_big_run_pair_has_the_requested_steps_and_differs_by_a_few():
    runs = list(generate_runs(40, seed=7, now=NOW, big_run_steps=300))
    left, right = [run for run in runs if len(run["steps"]) == 300]
    assert len(left["events"]) >= 300 and len(right["events"]) >= 300
    diff = diff_traces(left, right)
    assert diff["stepCountDelta"] == 0 and 0 < diff["firstDivergingStepIndex"] < 300
    changed = [index for index, (a, b) in enumerate(zip(left["steps"], right["steps"], strict=True))
               if (a["status"], a["output"]) != (b["status"], b["output"])]
    assert 0 < len(changed) < 300


# -- determinism and writing -----------------------------------------------------------------


def read_all(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in os.listdir(directory)}


def test_the_same_seed_and_now_give_the_same_files(tmp_path, store_dir):
    write_store(tmp_path / "again", COUNT, seed=7, now=NOW)
    assert read_all(tmp_path / "again") == read_all(store_dir)
    write_store(tmp_path / "other", COUNT, seed=8, now=NOW)
    assert set(os.listdir(tmp_path / "other")).isdisjoint(os.listdir(store_dir))


def test_a_process_pool_writes_exactly_the_same_files(tmp_path, store_dir):
    summary = write_store(tmp_path / "pool", COUNT, seed=7, now=NOW, workers=2)
    assert summary["workers"] == 2
    assert read_all(tmp_path / "pool") == read_all(store_dir)


def test_write_store_refuses_a_non_empty_directory_and_leaves_it_untouched(tmp_path):
    (tmp_path / "keep.json").write_text("{}")
    with pytest.raises(FileExistsError):
        write_store(tmp_path, 5, now=NOW)
    assert os.listdir(tmp_path) == ["keep.json"]
    assert (tmp_path / "keep.json").read_text() == "{}"


def test_write_store_accepts_an_empty_directory_and_reports_progress(tmp_path):
    seen: list[int] = []
    summary = write_store(tmp_path, 30, now=NOW, progress=seen.append)
    assert seen[-1] == 30 == summary["runs"] == len(os.listdir(tmp_path))


def test_summary_counts_statuses_roots_and_names_notable_runs(store_dir, runs):
    summary = write_store(store_dir.parent / "summary", COUNT, seed=7, now=NOW)
    assert summary["statuses"] == Counter(run["status"] for run in runs)
    assert summary["roots"] == sum(1 for run in runs if lineage(run)["parentRunId"] is None)
    assert summary["bytes"] == sum(len(data) for data in read_all(store_dir).values())
    notable = summary["notable"]
    for key in ("failedRunId", "waitingRunId", "pausedRunId", "branchRunId", "replayRunId", "queueWorkerFailureRunId"):
        assert (store_dir / f"{notable[key]}.json").is_file()
    assert notable["deepestTree"]["depth"] >= 7
    assert notable["biggestTree"]["size"] >= 16


# -- inspectors ------------------------------------------------------------------------------


class FamilyStore(BaseRunStore):
    """Parsed runs handed out as they are, families narrowed by rootRunId as indexed stores do.

    A report reads its run's whole family; re-reading (or deep-copying) every run for each
    of the store's reports would make this test quadratic for no benefit.
    """

    def __init__(self, runs: list[dict]) -> None:
        self.runs = {run["id"]: run for run in runs}
        self.families: dict[str, list[dict]] = {}
        for run in runs:
            self.families.setdefault(lineage(run)["rootRunId"], []).append(run)

    def get_run(self, run_id: str) -> dict:
        try:
            return self.runs[run_id]
        except KeyError:
            raise RunNotFound(run_id) from None

    def iter_entries(self) -> Iterator[StoreEntry]:
        for run_id, run in self.runs.items():
            yield StoreEntry(source=f"{run_id}.json", run=run)

    def iter_family(self, root_run_id: str) -> Iterator[dict]:
        return iter(self.families.get(root_run_id, []))


def test_every_inspector_runs_over_a_generated_store(store_dir):
    files = FileRunStore(store_dir)
    assert not files.list_errors()
    store = FamilyStore(files.list_runs())
    runs = store.list_runs()
    assert len(runs) == COUNT
    forest = build_tree(runs)
    assert render_tree(forest)
    by_id = {run["id"]: run for run in runs}
    for run in runs:
        assert summarize(run)["id"] == run["id"]
        correlation_for_run(run)
        compare = lineage(run)["parentRunId"] or lineage(run)["branchOriginRunId"]
        report = create_incident_report(store, run["id"], compare)
        assert report["runTree"] is not None
        create_recovery_plan(store, run["id"], compare)
        if compare:
            diff_traces(by_id[compare], run)
    assert validate_trace(export_run(runs[0]))["valid"]
    bundle = export_bundle(runs)
    assert validate_trace(bundle, allow_bundle=True)["valid"]
