"""FileRunStore reads the runtime's directory format without ever touching the disk's content."""

import os

import pytest

from runtime_adapter.js import jsjson
from runtime_adapter.records import InvalidRunId, RunNotFound, StoreUnavailable
from runtime_adapter.stores.file import FileRunStore
from tests.factories import run_record


def write(directory, run):
    (directory / f"{run['id']}.json").write_text(jsjson.dumps(run, 2))


def test_listing_order_is_bytewise_like_node_readdir(tmp_path):
    for run_id in ["b", "B", "a:replay:1", "a", "é", "_x"]:
        write(tmp_path, run_record(run_id))
    assert [run["id"] for run in FileRunStore(tmp_path).iter_runs()] == ["B", "_x", "a", "a:replay:1", "b", "é"]


def test_bad_files_become_error_rows_and_every_other_run_still_loads(tmp_path):
    write(tmp_path, run_record("good"))
    (tmp_path / "corrupt.json").write_text("{not json")
    (tmp_path / "truncated.json").write_text(jsjson.dumps(run_record("truncated"), 2)[:40])
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "array.json").write_text("[1, 2]")
    write(tmp_path, {**run_record("other"), "id": "other"})
    os.rename(tmp_path / "other.json", tmp_path / "renamed.json")
    (tmp_path / "notes.txt").write_text("ignored: not a .json file")
    entries = {entry.source: entry for entry in FileRunStore(tmp_path).iter_entries()}
    assert entries["good.json"].ok
    assert "invalid JSON" in entries["corrupt.json"].error
    assert "invalid JSON" in entries["truncated.json"].error
    assert entries["empty.json"].error == "empty file"
    assert "an array" in entries["array.json"].error
    assert "does not match its file name" in entries["renamed.json"].error
    assert "notes.txt" not in entries


def test_oversized_file_is_refused_without_being_parsed(tmp_path):
    write(tmp_path, run_record("big", input="x" * 5000))
    entry = FileRunStore(tmp_path, max_file_bytes=1024).read_entry("big.json")
    assert "over the 1,024-byte limit" in entry.error


@pytest.mark.parametrize("run_id", ["", ".", "..", "../etc/passwd", "a/b", "a\\b", "a\x00b", "x" * 300])
def test_ids_that_are_not_plain_file_names_are_refused(tmp_path, run_id):
    with pytest.raises(InvalidRunId):
        FileRunStore(tmp_path).get_run(run_id)


def test_symlinks_are_not_followed_out_of_the_store(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside, run_record("secret"))
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    os.symlink(outside / "secret.json", store_dir / "secret.json")
    entry = FileRunStore(store_dir).read_entry("secret.json")
    assert entry.error == "symbolic links are not followed"


def test_unknown_run_and_missing_directory_are_distinct_errors(tmp_path):
    with pytest.raises(RunNotFound):
        FileRunStore(tmp_path).get_run("nope")
    with pytest.raises(StoreUnavailable):
        list(FileRunStore(tmp_path / "missing").iter_entries())


def test_reading_never_changes_the_directory(tmp_path):
    write(tmp_path, run_record("a"))
    (tmp_path / "bad.json").write_text("{")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    store = FileRunStore(tmp_path)
    list(store.iter_entries())
    store.get_run("a")
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before
