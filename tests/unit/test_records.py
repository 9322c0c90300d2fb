"""normalize_run reproduces Run.fromJSON(data).toJSON(), and survives what makes JS throw."""

from runtime_adapter.records import RUN_KEYS, normalize_run


def test_missing_fields_get_the_runtime_defaults():
    run = normalize_run({"id": "r1", "timestamps": {"createdAt": "t0", "updatedAt": "t1"}})
    assert tuple(run) == RUN_KEYS
    assert (run["input"], run["status"], run["output"]) == ("", "pending", None)
    assert run["metadata"]["lineage"] == {
        "rootRunId": "r1", "parentRunId": None, "childRunIds": [], "branchOriginRunId": None, "branchCheckpointId": None,
    }
    assert run["metrics"]["timings"] == {"retrievalMs": 0, "modelMs": 0, "toolMs": 0, "workflowMs": 0, "verifierMs": 0}


def test_unknown_metric_and_timestamp_keys_are_dropped_like_the_runtime_does():
    run = normalize_run({"id": "r", "metrics": {"customCounter": 3, "timings": {"queueWaitMs": 5, "modelMs": 2}},
                         "timestamps": {"createdAt": "a", "updatedAt": "b", "queuedAt": "c"}})
    assert "customCounter" not in run["metrics"]
    assert run["metrics"]["timings"]["modelMs"] == 2 and "queueWaitMs" not in run["metrics"]["timings"]
    assert list(run["timestamps"]) == ["createdAt", "startedAt", "updatedAt", "completedAt", "failedAt", "cancelledAt"]


def test_lineage_keeps_its_position_in_metadata_and_is_appended_when_absent():
    kept = normalize_run({"id": "r", "metadata": {"a": 1, "lineage": {"parentRunId": "p"}, "z": 2}})
    assert list(kept["metadata"]) == ["a", "lineage", "z"]
    appended = normalize_run({"id": "r", "metadata": {"a": 1}})
    assert list(appended["metadata"]) == ["a", "lineage"]


def test_falsy_values_follow_js_truthiness():
    run = normalize_run({"id": "r", "output": 0, "input": None, "metrics": {"cost": "", "debug": {}}})
    assert run["output"] == 0 and run["input"] is None
    assert run["metrics"]["cost"] == 0
    assert run["metrics"]["debug"] == {}


def test_values_that_make_the_js_constructor_throw_still_normalise():
    run = normalize_run({"id": "r", "timestamps": None, "metrics": None, "steps": {"not": "a list"}, "metadata": None})
    assert run["steps"] == [] and run["metrics"]["cost"] == 0
    assert run["metadata"]["lineage"]["rootRunId"] == "r"
