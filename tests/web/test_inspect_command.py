"""`manage.py inspect`: JSON on stdout, one-line errors with exit code 1, and a batch mode."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime_adapter.js import jsjson
from tests.factories import run_record

ROOT = Path(__file__).resolve().parents[2]


def inspect(store_dir, *args, stdin=""):
    return subprocess.run(
        [sys.executable, "manage.py", "inspect", "--store", store_dir.as_uri(), *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def store(tmp_path):
    runs = [
        run_record("root", children=["child"]),
        run_record("child", parent="root", root="root", status="failed",
                   errors=[{"name": "ToolError", "message": "boom"}], steps=[{"id": "s1", "type": "tool", "status": "failed"}]),
        run_record("x", parent="y"), run_record("y", parent="x"),
    ]
    for run in runs:
        (tmp_path / f"{run['id']}.json").write_text(jsjson.dumps(run, 2))
    (tmp_path / "corrupt.json").write_text('{"id": "corrupt", ')
    (tmp_path / "truncated.json").write_text(jsjson.dumps(run_record("truncated"), 2)[:-20])
    return tmp_path


def test_render_prints_the_runtime_tree_text(store):
    result = inspect(store, "render", "--root", "root")
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == ["root [completed]", "└─ child [failed]"]


def test_unknown_run_exits_1_with_a_one_line_error(store):
    result = inspect(store, "summary", "nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == 'CommandError: Run "nope" not found.'


def test_incident_and_plan_are_json(store):
    plan = json.loads(inspect(store, "plan", "child").stdout)
    assert plan["incidentType"] == "tool_failure"
    assert plan["recommendedAction"] == "branch_from_failure_checkpoint"


def test_batch_answers_every_op_in_order_and_survives_bad_requests(store):
    requests = [
        {"op": "summary", "runId": "child"},
        {"op": "tree"},
        {"op": "tree", "rootRunId": "root"},
        {"op": "render", "rootRunId": "x"},
        {"op": "incident", "runId": "child", "compareToRunId": "root"},
        {"op": "plan", "runId": "child"},
        {"op": "correlation", "runId": "child"},
        {"op": "diff", "leftRunId": "root", "rightRunId": "child"},
        {"op": "bundle", "runIds": ["root", "child"], "metadata": {"for": "test"}},
        {"op": "validate", "trace": {"schemaVersion": "1.1"}},
        {"op": "summary", "runId": "corrupt"},
        {"op": "nope"},
        {"op": "summary", "runId": "../../etc/passwd"},
    ]
    stdin = "\n".join(json.dumps(r) for r in requests) + "\nthis is not json\n"
    result = inspect(store, "batch", stdin=stdin)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(requests) + 1
    assert [a["ok"] for a in answers[:10]] == [True] * 10
    assert answers[0]["result"]["status"] == "failed"
    assert [node["id"] for node in answers[1]["result"]] == ["root", "x"]  # the cycle surfaces as a marked root
    assert answers[3]["result"].splitlines()[-1].endswith("(lineage cycle)")
    assert answers[4]["result"]["comparison"]["statusChanged"] is True
    assert answers[8]["result"]["index"] == [{"runId": "root", "status": "completed"}, {"runId": "child", "status": "failed"}]
    assert answers[9]["result"]["valid"] is False
    assert answers[10]["ok"] is False and answers[10]["error"].startswith("corrupt.json: invalid JSON")
    assert answers[11]["ok"] is False and "Unknown op" in answers[11]["error"]
    assert answers[12]["ok"] is False and "not a plain file name" in answers[12]["error"]
    assert answers[13]["ok"] is False
