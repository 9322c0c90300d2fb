"""Fixtures every web test may ask for by name: settings for a run store, a conformance scenario, a small store."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import run_record
from tests.fixtures import corpus
from tests.web.runs_support import HOSTILE_ID, HOSTILE_INPUT, big_run, write_store


@pytest.fixture
def runs_settings(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    cache.clear()
    return settings


@pytest.fixture
def corpus_store_url(settings):
    """`corpus://<scenario>` URLs: a conformance scenario in memory (its files are read once per session)."""
    settings.CONTROLPLANE_STORE_BACKENDS = {**settings.CONTROLPLANE_STORE_BACKENDS, corpus.SCHEME: corpus.BACKEND}
    return corpus.store_url


@pytest.fixture
def scenario(runs_settings, corpus_store_url):
    """Point the default store at a conformance scenario held in memory (s04 unless changed).

    Tests of the file store and its index read the scenario's directory (`conformance_store_url`).
    """

    def use(name: str) -> None:
        runs_settings.CONTROLPLANE_RUN_STORE = corpus_store_url(name)
        cache.clear()

    use(corpus.BRANCHES)
    return use


@pytest.fixture
def tmp_runs(runs_settings, tmp_path):
    """A small store with a family, a hostile run, a long run and two unreadable files."""
    records = [
        run_record("root-1", status="completed", children=["child-1", "child-2"],
                   metrics={"tokenUsage": {"prompt": 100, "completion": 50, "total": 150}, "cost": 0.25}),
        run_record("child-1", parent="root-1", root="root-1", status="failed", created="2026-01-01T00:00:01.000Z",
                   errors=[{"name": "ToolError", "message": "lookup exploded"}]),
        run_record("child-2", parent="root-1", root="root-1", status="completed", created="2026-01-01T00:00:02.000Z"),
        run_record("grandchild", parent="child-1", root="root-1", status="waiting_for_approval",
                   created="2026-01-01T00:00:03.000Z",
                   pendingApproval={"toolName": "send_email", "arguments": {"to": "ops@example.com"}, "reason": "external write"}),
        run_record("root-1:replay:1700000000000", root="root-1", status="completed", created="2026-01-01T00:01:00.000Z",
                   metadata={"replay": {"sourceRunId": "root-1", "mode": "frozen_trace"}}),
        run_record("branch-1", root="root-1", status="paused", created="2026-01-01T00:02:00.000Z",
                   branch_origin="root-1", branch_checkpoint="root-1:checkpoint:2",
                   pendingPause={"reason": "Branched from checkpoint", "stage": "branch"}),
        run_record(HOSTILE_ID, status="failed", input=HOSTILE_INPUT, output="</pre><script>alert('out')</script>",
                   created="2026-01-01T00:03:00.000Z",
                   errors=[{"name": "<b>Bad</b>", "message": '"><script>alert(2)</script>'}]),
        big_run(),
    ]
    records[0]["checkpoints"] = [
        {"id": "root-1:checkpoint:1", "label": "run_started", "status": "running", "timestamp": "2026-01-01T00:00:00.100Z"},
        {"id": "root-1:checkpoint:2", "label": "tool_completed", "status": "running", "timestamp": "2026-01-01T00:00:00.200Z"},
    ]
    url = write_store(tmp_path / "runs", records, corrupt={"broken.json": b'{"id": "broken", ', "list.json": b"[1, 2]"})
    runs_settings.CONTROLPLANE_RUN_STORE = url
    cache.clear()
    return records
