"""Broken and hostile stores: every bad file is a clear error row, nothing hangs, nothing escapes.

Each read runs under a timer: a store that blocks (a FIFO named `x.json`, a 100k-level
JSON document) fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from runtime_adapter.inspectors import build_tree, render_tree
from runtime_adapter.js import jsjson
from runtime_adapter.js.jsjson import JSONParseError
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, InvalidRunId, RunNotFound, StoreUnavailable, check_run_id
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.file import FileRunStore, read_run_file
from runtime_adapter.stores.indexed import IndexedFileRunStore
from tests.factories import run_record
from tests.fixtures.hostile import (
    DEEP_LEVELS,
    broken_files,
    broken_store,
    cycle_store,
    within,
    write_raw,
    write_run,
)

REASONS = {
    "corrupt": "invalid JSON", "truncated": "invalid JSON", "empty": "empty file", "blank": "empty file",
    "array": "JSON is an array, not a run object", "null": "JSON is null, not a run object",
    "number": "JSON is a number, not a run object", "string": "JSON is a string, not a run object",
    "mismatch": 'record id "someone-else" does not match its file name', "noid": "record has no string id",
    "numid": "record has no string id", "latin1": "not UTF-8", "nan": "NaN is not valid JSON",
    "deep": "nested more than 128 levels deep", "deepobj": "nested more than 128 levels deep", "oversized": "over the 1,048,576-byte limit",
    "link": "symbolic links are not followed", "fifo": "not a regular file", "folder": "not a regular file",
}
LIMIT = 1024 * 1024


@pytest.fixture(params=["file", "indexed"])
def open_broken(request, tmp_path):
    """A broken store opened plainly or through the SQLite index."""
    directory = tmp_path / "runs"
    broken_store(directory, oversized_bytes=LIMIT + 1000)
    stores: list[RunStore] = []

    def opener() -> RunStore:
        if request.param == "file":
            store: RunStore = FileRunStore(directory, max_file_bytes=LIMIT)
        else:
            store = IndexedFileRunStore(directory, index_path=tmp_path / "index.sqlite3", max_file_bytes=LIMIT,
                                        background=False)
        stores.append(store)
        return store

    yield opener
    for store in stores:
        store.close()


def test_within_really_interrupts_a_blocking_read(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(TimeoutError), within(0.5):
        open(tmp_path / "pipe", "rb").close()  # blocks until a writer appears: the hang we guard against


def test_every_broken_file_is_an_error_row_with_its_reason(open_broken):
    with within(20):
        store = open_broken()
        page = store.query_runs(RunQuery(limit=100))
    assert [row.id for row in page.rows] == ["good"]
    reasons = {entry.source[: -len(".json")]: entry.error for entry in page.errors}
    assert set(reasons) == set(REASONS)
    wrong = {name: reasons[name] for name, reason in REASONS.items() if reason not in reasons[name]}
    assert wrong == {}


@pytest.mark.parametrize("run_id", sorted(REASONS))
def test_opening_a_broken_run_raises_corrupt_run_quickly(open_broken, run_id):
    store = open_broken()
    with within(10), pytest.raises(CorruptRun) as error:
        store.get_run(run_id)
    assert REASONS[run_id] in error.value.reason


def test_a_fifo_in_the_store_never_blocks_a_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    with within(5), pytest.raises(CorruptRun, match="not a regular file"):
        read_run_file(tmp_path / "pipe.json")


def test_a_symlink_to_a_run_outside_the_store_is_never_read(open_broken, tmp_path):
    store = open_broken()
    with within(20):
        texts = [jsjson.dumps(run) for run in store.list_runs()]
    assert not any("outside the store" in text for text in texts)


def test_a_hundred_thousand_levels_of_nesting_is_a_parse_error_not_a_crash():
    with within(10):
        for content in (broken_files()["deep.json"], broken_files()["deepobj.json"]):
            with pytest.raises(JSONParseError):
                jsjson.loads(content)
    assert DEEP_LEVELS == 100_000


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    write_run(tmp_path, run_record("big", input="z" * (4 * LIMIT)))
    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd, size):
        data = real_read(fd, size)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(CorruptRun, match="limit"):
        read_run_file(tmp_path / "big.json", max_bytes=LIMIT)
    assert sum(read_sizes) <= LIMIT + 1


@pytest.mark.parametrize("run_id", ["", ".", "..", "../etc/passwd", "a/b", "a\\b", "a\x00b", "x" * 251, None, 7])
def test_ids_that_are_not_plain_file_names_are_refused_before_any_file_is_touched(tmp_path, monkeypatch, run_id):
    store = FileRunStore(tmp_path)
    touched: list[str] = []
    monkeypatch.setattr(os, "open", lambda *args, **kwargs: touched.append(args[0]))
    monkeypatch.setattr(os, "stat", lambda *args, **kwargs: touched.append(args[0]))
    with pytest.raises(InvalidRunId):
        store.get_run(run_id)  # type: ignore[arg-type]
    assert touched == []


def test_the_longest_allowed_id_is_accepted():
    assert check_run_id("x" * 250) == "x" * 250


@pytest.mark.parametrize("setup", ["missing", "file", "unreadable"])
def test_an_unreadable_store_directory_is_store_unavailable(tmp_path, monkeypatch, setup):
    directory = tmp_path / "runs"
    if setup == "file":
        directory.write_text("I am a file")
    elif setup == "unreadable":
        directory.mkdir()
        write_run(directory, run_record("r"))
        real_scandir = os.scandir

        def refuse(path, *args):  # as root chmod 000 does not stop us; refuse like EACCES would
            if os.fsdecode(path) == os.fspath(directory):
                raise PermissionError(13, "Permission denied", os.fsdecode(path))
            return real_scandir(path, *args)

        monkeypatch.setattr(os, "scandir", refuse)
    store = FileRunStore(directory)
    with pytest.raises(StoreUnavailable):
        list(store.iter_entries())
    if setup != "unreadable":
        with pytest.raises(StoreUnavailable):
            store.get_run("r")


def test_a_file_that_disappears_while_listing_is_reported_as_such(tmp_path, monkeypatch):
    write_run(tmp_path, run_record("stays"))
    write_run(tmp_path, run_record("goes"))
    store = FileRunStore(tmp_path)
    names = store.file_names()
    (tmp_path / "goes.json").unlink()
    monkeypatch.setattr(store, "file_names", lambda: names)
    entries = {entry.source: entry for entry in store.iter_entries()}
    assert entries["stays.json"].ok
    assert entries["goes.json"].error == "file disappeared while listing"
    with pytest.raises(RunNotFound):
        store.get_run("goes")


def test_a_file_name_that_is_not_utf8_does_not_break_the_listing(tmp_path):
    write_run(tmp_path, run_record("fine"))
    write_raw(tmp_path, b"\xff\xfe-latin.json", b'{"id": "x"}')
    entries = list(FileRunStore(tmp_path).iter_entries())
    assert [entry.run["id"] for entry in entries if entry.ok] == ["fine"]
    assert len(entries) == 2 and "not UTF-8" in [e for e in entries if not e.ok][0].error


def test_a_run_read_while_the_runtime_rewrites_it_is_whole_or_corrupt_never_half(tmp_path):
    full = jsjson.dumps(run_record("busy", input="v" * 50_000), 2).encode()
    path = write_raw(tmp_path, "busy.json", full)
    stop = threading.Event()

    def rewrite() -> None:
        while not stop.is_set():
            with open(path, "wb") as handle:  # truncate, then write in two halves like a slow writer
                handle.write(full[: len(full) // 2])
                handle.flush()
                handle.write(full[len(full) // 2:])

    writer = threading.Thread(target=rewrite, daemon=True)
    writer.start()
    outcomes = {"whole": 0, "corrupt": 0}
    try:
        with within(30):
            for _ in range(200):
                try:
                    record, _ = read_run_file(path)
                except CorruptRun:
                    outcomes["corrupt"] += 1
                else:
                    assert record["input"] == "v" * 50_000
                    outcomes["whole"] += 1
    finally:
        stop.set()
        writer.join()
    assert sum(outcomes.values()) == 200


def test_lineage_cycles_and_self_parents_terminate_and_list_every_run(tmp_path):
    ids = cycle_store(tmp_path)
    store = FileRunStore(tmp_path)
    with within(10):
        forest = build_tree(store.list_runs())
        text = render_tree(forest)
        subtrees = {run_id: render_tree(build_tree(store.list_runs(), run_id)) for run_id in ids}
    listed = [line.split(" [")[0].lstrip("└├│─ ") for line in text.splitlines()]
    assert set(listed) == set(ids)
    assert "(lineage cycle)" in text
    assert all(subtrees[run_id].startswith(run_id) for run_id in ids)


def test_a_lineage_cycle_through_the_index_also_terminates(tmp_path):
    cycle_store(tmp_path / "runs")
    store = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False)
    try:
        with within(10):
            for run_id in ("self", "ping", "c2", "leaf"):
                tree = build_tree(list(store.iter_family(run_id)), run_id)
                assert tree is not None and tree["id"] == run_id
                render_tree(tree)
    finally:
        store.close()


def test_the_same_id_in_two_stores_stays_separate(tmp_path):
    write_run(tmp_path / "a", run_record("dup", input="first"))
    write_run(tmp_path / "b", run_record("dup", input="second"))
    assert FileRunStore(tmp_path / "a").get_run("dup")["input"] == "first"
    assert FileRunStore(tmp_path / "b").get_run("dup")["input"] == "second"


def test_broken_files_never_leak_their_content_into_error_messages(tmp_path):
    secret = "sk-proj-Q3vX9fT2mL8rW1zK7pB4nY6hJ0cD5gA"
    write_raw(tmp_path, "leak.json", f'{{"id": "leak", "token": "{secret}", '.encode())
    entries = list(FileRunStore(tmp_path).iter_entries())
    assert secret not in entries[0].error
    assert Path(tmp_path / "leak.json").exists()


@pytest.mark.parametrize("path", ["missing.json", "afile/x.json"])
def test_a_bundle_that_cannot_be_found_is_store_unavailable(tmp_path, path):
    from runtime_adapter.stores.registry import open_store

    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        open_store(f"bundle://{tmp_path / path}")


def test_a_run_below_a_self_parented_run_is_listed_once_under_it():
    # Found by test_fuzz: the child used to be surfaced as a root *and* listed under the cycle.
    runs = [run_record("r0"), run_record("r1", parent="r2"), run_record("r2", parent="r2")]
    forest = build_tree(runs)
    assert [root["id"] for root in forest] == ["r0", "r2"]
    assert [child["id"] for child in forest[1]["children"]] == ["r1", "r2"]
    assert forest[1]["children"][1]["lineageCycle"] is True
    assert render_tree(forest).splitlines() == [
        "r0 [completed]", "r2 [completed]", "├─ r1 [completed]", "└─ r2 [completed] (lineage cycle)"]
