"""The control plane's own files are private, and never land in (or around) a run directory.

The index holds every run's searchable text and the database holds password hashes and
sessions: both are created readable by their owner only, in a data directory that only
its owner can list. A data directory that is, holds or sits in a run directory is refused
before a single file is written.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlplane.stores import get_run_store
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.indexed import IndexedFileRunStore
from runtime_adapter.stores.sqlite_index import index_path_for
from tests.factories import run_record
from tests.fixtures.hostile import write_run

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def manage(*args: str, data_dir: Path, store: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CONTROLPLANE_DATA_DIR": str(data_dir), "CONTROLPLANE_RUN_STORE": store.as_uri(),
                   "DJANGO_SETTINGS_MODULE": "controlplane.settings", **env}
    environment.pop("CONTROLPLANE_DB_PATH", None)
    environment.pop("CONTROLPLANE_SECRET_KEY", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=180, preexec_fn=lambda: os.umask(0o022))


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    write_run(tmp_path / "runs", run_record("r1", input="searchable text"))
    return tmp_path / "runs"


def test_the_data_directory_its_index_and_the_database_are_private(tmp_path, runs):
    data = tmp_path / "data"
    assert manage("migrate", "--noinput", "-v", "0", data_dir=data, store=runs).returncode == 0
    built = manage("index_runs", "--store", runs.as_uri(), data_dir=data, store=runs)
    assert built.returncode == 0, built.stderr
    index = index_path_for(data, runs)
    created = {path.relative_to(data).as_posix(): oct(mode(path)) for path in (
        data, data / "index", data / "uploads", data / "controlplane.sqlite3", data / "secret_key", index,
        *index.parent.glob("*.sqlite3-*"), index.with_suffix(".lock"))}
    expected = {name: oct(0o700 if name in (".", "index", "uploads") else 0o600) for name in created}
    assert created == expected


def test_a_data_directory_left_world_readable_is_made_private_again(tmp_path, runs):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "index").mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "index").chmod(0o755)
    assert manage("check", data_dir=data, store=runs).returncode == 0
    assert (mode(data), mode(data / "index")) == (0o700, 0o700)


def test_index_files_are_created_private_wherever_the_index_lives(tmp_path, runs):
    index = index_path_for(tmp_path / "elsewhere", runs)
    store = IndexedFileRunStore(runs, index_path=index, background=False)
    try:
        store.refresh()
        assert store.query_runs(RunQuery()).total == 1  # a reader stays connected: -wal and -shm exist
        files = {path.name: oct(mode(path)) for path in index.parent.iterdir()}
    finally:
        store.close()
    assert {index.name, f"{index.name}-wal", f"{index.name}-shm"} <= set(files)
    assert set(files.values()) == {oct(0o600)}
    assert mode(index.parent) == 0o700


@pytest.mark.parametrize("where", ["the run directory", "inside it", "around it"])
def test_a_data_directory_overlapping_the_run_directory_is_refused_before_anything_is_written(tmp_path, runs, where):
    data = {"the run directory": runs, "inside it": runs / "cp-data", "around it": tmp_path}[where]
    before = sorted(str(path) for path in tmp_path.rglob("*"))
    result = manage("check", data_dir=data, store=runs)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "CONTROLPLANE_DATA_DIR" in result.stderr
    assert sorted(str(path) for path in tmp_path.rglob("*")) == before


def test_a_named_store_overlapping_the_data_directory_is_refused_too(tmp_path, runs):
    result = manage("check", data_dir=tmp_path / "data", store=runs,
                    CONTROLPLANE_STORES=f"mirror={(tmp_path / 'data' / 'mirror').as_uri()}")
    assert result.returncode != 0 and "CONTROLPLANE_DATA_DIR" in result.stderr
    assert not (tmp_path / "data").exists()


def test_the_demo_store_generated_inside_the_data_directory_is_allowed(tmp_path):
    write_run(tmp_path / "data" / "demo-runs", run_record("demo"))
    result = manage("check", data_dir=tmp_path / "data", store=tmp_path / "data" / "demo-runs")
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_a_store_opened_with_an_overlapping_data_directory_is_refused_before_indexing(settings, runs):
    settings.DATA_DIR = runs
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    with pytest.raises(ImproperlyConfigured, match="CONTROLPLANE_DATA_DIR"):
        get_run_store()
    assert sorted(path.name for path in runs.iterdir()) == ["r1.json"]
