"""One fact, one function: the run page, the lineage graph and the index agree on what a run replays."""

from __future__ import annotations

import pytest

from runtime_adapter.stores.registry import open_store
from tests.factories import run_record
from tests.web.runs_support import body, write_store


@pytest.fixture
def replays(runs_settings, tmp_path):
    # A replay source that is not a string is no run id: the string one names the source.
    odd = run_record("odd-replay", metadata={"replay": {"sourceRunId": 7}, "replaySourceRunId": "abc"})
    url = write_store(tmp_path / "runs", [run_record("abc"), run_record("7"), odd])
    runs_settings.CONTROLPLANE_RUN_STORE = url
    return url


def test_the_run_page_names_the_replay_source_the_index_records(client, replays):
    text = body(client.get("/runs/odd-replay/"))
    assert 'href="/runs/abc/"' in text
    assert 'href="/runs/7/"' not in text
    assert [row.id for row in open_store(replays).replay_rows("abc")] == ["odd-replay"]
    assert open_store(replays).replay_rows("7") == []
