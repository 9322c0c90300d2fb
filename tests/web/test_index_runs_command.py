"""`manage.py index_runs`: builds the sidecar index of file stores, then refreshes only what changed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import run_record
from tests.web.runs_support import write_store


@pytest.fixture
def store_url(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return write_store(tmp_path / "runs", [run_record(f"run-{index}") for index in range(5)], {"bad.json": b"{"})


def test_the_command_builds_then_refreshes_the_index(store_url, settings, capsys):
    call_command("index_runs", "--store", store_url, "--workers", "1")
    out = capsys.readouterr()
    assert "6 files, 6 read, 0 removed" in out.out
    assert "index holds 5 runs and 1 unreadable files" in out.out
    assert str(settings.DATA_DIR / "index") in out.out
    call_command("index_runs", "--store", store_url)
    assert "6 files, 0 read" in capsys.readouterr().out


def test_without_a_store_every_configured_file_store_is_indexed(store_url, settings, capsys):
    settings.CONTROLPLANE_RUN_STORE = store_url
    settings.CONTROLPLANE_STORES = {"pg": "postgresql://postgres@127.0.0.1:1/unused"}
    call_command("index_runs", "--workers", "1")
    assert "index holds 5 runs" in capsys.readouterr().out


def test_the_command_refuses_other_stores_and_a_disabled_index(store_url, settings):
    with pytest.raises(CommandError, match="not a file:// store"):
        call_command("index_runs", "--store", "postgresql://postgres@127.0.0.1:1/x")
    settings.CONTROLPLANE_FILE_INDEX = False
    with pytest.raises(CommandError, match="CONTROLPLANE_FILE_INDEX is off"):
        call_command("index_runs", "--store", store_url)
