"""`manage.py demo_store DIR`: a new demo store in the runtime's format, never written into a used directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse

from runtime_adapter.js import jsjson
from runtime_adapter.queries.fleet import release_comparison
from runtime_adapter.records import normalize_run
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.file import FileRunStore

ROOT = Path(__file__).resolve().parents[2]


def demo_store(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "demo_store", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def load(directory: Path) -> list[dict]:
    return [jsjson.loads(path.read_bytes()) for path in sorted(directory.glob("*.json"))]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("demo") / "runs"
    call_command("demo_store", str(directory), stdout=open(os.devnull, "w"))
    return directory


def test_demo_store_writes_1000_runs_into_a_new_directory_by_default(tmp_path):
    result = demo_store(str(tmp_path / "new" / "runs"))
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "new" / "runs").glob("*.json"))) == 1000
    assert "Wrote 1000 runs" in result.stdout


def test_the_demo_store_shows_a_regression_in_its_newest_release_and_recurring_failures(demo):
    store = FileRunStore(demo)
    comparison = release_comparison(store, RunQuery(), "2026.11.2", "2026.11.3")
    assert comparison.failure_rate_delta > 0.1 and comparison.failure_test.significant
    refund = [cluster for cluster in comparison.new_clusters + comparison.grown_clusters
              if cluster.tool_name == "issue_refund"]
    assert len(refund) == 1 and refund[0].count >= 3
    messages = {run["errors"][-1]["message"] for run in store.iter_runs()
                if run["errors"] and "Refund provider" in str(run["errors"][-1].get("message"))}
    assert len(messages) >= 3  # every message differs (status, order, request id) …
    assert refund[0].message_template.startswith('Tool <value> failed: Refund provider returned <n> for order')


def test_demo_store_files_are_exactly_what_the_runtime_writes(demo):
    for path in demo.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text == jsjson.dumps(normalize_run(jsjson.loads(text)), 2)
        assert path.name == f"{jsjson.loads(text)['id']}.json"


def test_demo_store_shows_trees_branches_failures_approvals_pauses_tools_and_releases(demo):
    runs = load(demo)
    lineages = [run["metadata"]["lineage"] for run in runs]
    assert set(Counter(run["status"] for run in runs)) >= {
        "completed", "failed", "waiting_for_approval", "paused", "cancelled", "running"}
    assert any(lineage["parentRunId"] and lineage["childRunIds"] for lineage in lineages)  # a middle of a tree
    assert any(lineage["branchOriginRunId"] and lineage["branchCheckpointId"] for lineage in lineages)
    assert any(run["status"] == "failed" and any(step.get("status") == "failed" for step in run["steps"])
               for run in runs)
    assert any((run["pendingApproval"] or {}).get("toolName") for run in runs)
    assert any(run["toolCalls"] and run["toolResults"] for run in runs)
    releases = {str(run["metadata"].get("release") or run["metadata"].get("releaseLabel")) for run in runs}
    assert len(releases - {"None"}) >= 3


def test_the_same_seed_and_now_write_the_same_store_and_another_seed_a_different_one(tmp_path):
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        call_command("demo_store", str(tmp_path / name), "--runs", "30", "--seed", seed,
                     "--now", "2026-11-24T12:00:00Z", stdout=open(os.devnull, "w"))
    files = {name: {path.name: path.read_bytes() for path in (tmp_path / name).iterdir()} for name in "abc"}
    assert len(files["a"]) == 30
    assert files["a"] == files["b"]
    assert files["a"].keys().isdisjoint(files["c"].keys())


def test_demo_store_refuses_a_non_empty_directory_exits_1_and_leaves_it_untouched(tmp_path):
    existing = tmp_path / "runs"
    existing.mkdir()
    (existing / "real-run.json").write_text('{"id": "real-run"}')
    before = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in existing.iterdir()}
    result = demo_store(str(existing))
    assert result.returncode == 1
    assert "not empty" in result.stderr and str(existing) in result.stderr
    assert result.stdout == ""
    assert {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in existing.iterdir()} == before


def test_demo_store_accepts_an_existing_empty_directory(tmp_path):
    call_command("demo_store", str(tmp_path), "--runs", "5", stdout=open(os.devnull, "w"))
    assert len(list(tmp_path.glob("*.json"))) == 5


def test_demo_store_spreads_runs_over_the_week_before_now(tmp_path):
    call_command("demo_store", str(tmp_path), "--runs", "40", "--now", "2026-03-10T08:00:00Z",
                 stdout=open(os.devnull, "w"))
    created = sorted(run["timestamps"]["createdAt"] for run in load(tmp_path))
    assert "2026-03-03T08:00:00.000Z" <= created[0] < "2026-03-04" and "2026-03-09" < created[-1] < "2026-03-10T08"


def test_demo_store_refuses_a_file_and_a_run_count_below_one(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("demo_store", str(tmp_path / "file"))
    with pytest.raises(CommandError, match="at least 1"):
        call_command("demo_store", str(tmp_path / "new"), "--runs", "0")
    assert not (tmp_path / "new").exists()


def test_the_app_serves_the_demo_store(demo, client, settings):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.CONTROLPLANE_RUN_STORE = demo.as_uri()
    cache.clear()
    failed = next(run for run in load(demo) if run["status"] == "failed")
    assert client.get(reverse("runs:overview")).status_code == 200
    response = client.get(reverse("runs:detail", args=[failed["id"]]))
    assert response.status_code == 200
    assert failed["id"] in response.content.decode()
