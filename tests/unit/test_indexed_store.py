"""IndexedFileRunStore answers from its SQLite sidecar exactly as FileRunStore does by scanning."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from runtime_adapter.js import jsjson
from runtime_adapter.records import CorruptRun, StoreUnavailable
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores import file as file_module
from runtime_adapter.stores import indexed as indexed_module
from runtime_adapter.stores import sqlite_index
from runtime_adapter.stores.file import VET_MIN_BYTES, FileRunStore
from runtime_adapter.stores.indexed import IndexedFileRunStore
from runtime_adapter.stores.sqlite_index import index_path_for
from tests import conformance
from tests.factories import run_record
from tests.parity import assert_store_parity, varied_records, write_run
from tests.unit.test_conformance import _mismatches

SCENARIOS = conformance.scenarios()


def indexed(directory: Path, index_dir: Path, **options) -> IndexedFileRunStore:
    return IndexedFileRunStore(directory, index_path=index_path_for(index_dir, directory), **options)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(directory.iterdir())}


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "runs"
    directory.mkdir()
    for record in varied_records():
        write_run(directory, record)
    return directory


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "plain"
    directory.mkdir()
    return directory


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def count_reads(monkeypatch):
    reads: list[str] = []
    original = sqlite_index.read_run_file

    def counting(path, **kwargs):
        reads.append(Path(path).name)
        return original(path, **kwargs)

    monkeypatch.setattr(sqlite_index, "read_run_file", counting)
    return reads


def test_every_listing_query_matches_the_scanning_store(runs_dir, index_dir):
    checks = assert_store_parity(indexed(runs_dir, index_dir), FileRunStore(runs_dir))
    assert checks > 100


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_listing_query_matches_on_the_conformance_stores(scenario, index_dir):
    directory = conformance.require_corpus(conformance.CONFORMANCE_DIR / "stores" / scenario)
    assert_store_parity(indexed(directory, index_dir), FileRunStore(directory))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_payloads_match_through_the_index(scenario, index_dir, monkeypatch):
    conformance.require_corpus(conformance.CONFORMANCE_DIR / "golden" / f"{scenario}.json")
    def store(directory: Path) -> IndexedFileRunStore:
        return indexed(Path(directory), index_dir)

    monkeypatch.setattr(conformance, "FileRunStore", store)
    for cases in (conformance.golden_cases(scenario), conformance.plan_cases(scenario)):
        count, failures = _mismatches(cases)
        assert count > 0
        assert not failures, f"{len(failures)}/{count} cases differ:\n" + "\n".join(failures[:3])


def test_listing_order_stays_bytewise_like_node_readdir(empty_dir, index_dir):
    for run_id in ["b", "B", "a:replay:1", "a", "é", "_x"]:
        write_run(empty_dir, run_record(run_id))
    store = indexed(empty_dir, index_dir)
    assert [run["id"] for run in store.iter_runs()] == ["B", "_x", "a", "a:replay:1", "b", "é"]
    assert [row.id for row in store.rows()] == ["B", "_x", "a", "a:replay:1", "b", "é"]


def test_a_refresh_reads_only_new_and_changed_files(runs_dir, index_dir, count_reads):
    store = indexed(runs_dir, index_dir)
    assert store.refresh().read == len(varied_records())
    count_reads.clear()
    assert store.refresh().read == 0
    assert count_reads == []

    write_run(runs_dir, run_record("run-03", input="rewritten", status="failed"))
    write_run(runs_dir, run_record("new-run", input="fresh"))
    os.utime(runs_dir / "run-04.json", ns=(1, 1))  # same bytes, new mtime: read again
    result = store.refresh()
    assert sorted(count_reads) == ["new-run.json", "run-03.json", "run-04.json"]
    assert (result.read, result.removed) == (3, 0)
    assert store.rows_by_id(["run-03"])["run-03"].input_text == "rewritten"
    assert store.query_runs(RunQuery(text="fresh")).total == 1


def test_deleted_files_disappear_from_every_query(runs_dir, index_dir):
    store = indexed(runs_dir, index_dir)
    assert store.query_runs(RunQuery(text="run-07")).total == 1
    (runs_dir / "run-07.json").unlink()
    (runs_dir / "run-06.json").unlink()
    assert store.refresh().removed == 2
    assert store.query_runs(RunQuery(text="run-07")).total == 0
    assert "run-07" not in store.rows_by_id(["run-07"])
    assert store.related_rows("run-05")["children"] == []
    assert_store_parity(store, FileRunStore(runs_dir), trees=False)


def test_unreadable_files_are_error_rows_and_every_other_run_still_answers(runs_dir, index_dir):
    (runs_dir / "corrupt.json").write_text("{not json")
    (runs_dir / "truncated.json").write_text(jsjson.dumps(run_record("truncated"), 2)[:40])
    (runs_dir / "empty.json").write_text("")
    (runs_dir / "array.json").write_text("[1, 2]")
    write_run(runs_dir, run_record("other"))
    os.rename(runs_dir / "other.json", runs_dir / "renamed.json")
    store = indexed(runs_dir, index_dir)
    page = store.query_runs(RunQuery(limit=100))
    errors = {entry.source: entry.error for entry in page.errors}
    assert set(errors) == {"array.json", "corrupt.json", "empty.json", "renamed.json", "truncated.json"}
    assert errors["empty.json"] == "empty file"
    assert page.total == len(varied_records())
    assert_store_parity(store, FileRunStore(runs_dir))
    with pytest.raises(CorruptRun):
        store.get_run("corrupt")


def test_a_file_fixed_after_being_corrupt_becomes_a_run(runs_dir, index_dir):
    (runs_dir / "later.json").write_text("{")
    store = indexed(runs_dir, index_dir)
    assert store.rows_by_id(["later"]) == {}
    write_run(runs_dir, run_record("later", input="now readable"))
    store.refresh()
    assert store.rows_by_id(["later"])["later"].input_text == "now readable"
    assert store.list_errors() == []


def _flaky_fstat(monkeypatch, changes: int, name: str = "busy.json"):
    """os.fstat that reports a growing size for `name`'s first `changes` reads: a file rewritten mid-read."""
    original = os.fstat
    state = {"left": changes, "calls": 0}

    def fstat(fd):
        result = original(fd)
        if os.readlink(f"/proc/self/fd/{fd}").endswith(name):
            state["calls"] += 1
            if state["left"] > 0 and state["calls"] % 2 == 0:  # the "after" stat of a read
                state["left"] -= 1
                values = list(result)
                values[6] += 1  # st_size
                return os.stat_result(values)
        return result

    monkeypatch.setattr(file_module.os, "fstat", fstat)


def test_a_file_rewritten_while_it_is_read_is_read_again(empty_dir, index_dir, monkeypatch):
    write_run(empty_dir, run_record("busy", input="settled"))
    store = indexed(empty_dir, index_dir)
    _flaky_fstat(monkeypatch, changes=1)
    store.refresh()
    assert store.rows_by_id(["busy"])["busy"].input_text == "settled"


def test_a_file_that_keeps_changing_is_an_error_row_until_it_settles(empty_dir, index_dir, monkeypatch):
    write_run(empty_dir, run_record("busy"))
    write_run(empty_dir, run_record("calm"))
    store = indexed(empty_dir, index_dir)
    _flaky_fstat(monkeypatch, changes=100)
    store.refresh()
    errors = {entry.source: entry.error for entry in store.list_errors()}
    assert errors == {"busy.json": "file changed while it was read"}
    assert set(store.rows_by_id(["busy", "calm"])) == {"calm"}
    monkeypatch.undo()
    store.refresh()  # the raced file is marked for a new read even though its stat is unchanged
    assert set(store.rows_by_id(["busy", "calm"])) == {"busy", "calm"}


def test_the_run_directory_is_never_written(runs_dir, index_dir):
    (runs_dir / "bad.json").write_text("{")
    before = snapshot(runs_dir)
    store = indexed(runs_dir, index_dir)
    assert_store_parity(store, FileRunStore(runs_dir))
    store.refresh(workers=2)
    store.get_run("run-01")
    store.change_marker()
    store.close()
    assert snapshot(runs_dir) == before
    assert store.index.path.is_relative_to(index_dir)


def test_an_index_inside_the_run_directory_is_refused(runs_dir):
    with pytest.raises(ValueError, match="must not be inside"):
        IndexedFileRunStore(runs_dir, index_path=runs_dir / "index.sqlite3")


def test_a_missing_directory_is_store_unavailable(tmp_path, index_dir):
    with pytest.raises(StoreUnavailable):
        indexed(tmp_path / "missing", index_dir).query_runs(RunQuery())


def test_change_marker_moves_only_when_the_index_changes(runs_dir, index_dir):
    store = indexed(runs_dir, index_dir)
    first = store.change_marker()
    assert store.change_marker() == first
    write_run(runs_dir, run_record("brand-new"))
    second = store.change_marker()
    assert second != first
    assert store.change_marker() == second


def test_queries_see_a_new_file_at_once_in_a_small_store(runs_dir, index_dir):
    store = indexed(runs_dir, index_dir)
    assert store.query_runs(RunQuery(text="just-arrived")).total == 0
    write_run(runs_dir, run_record("just-arrived"))
    assert store.query_runs(RunQuery(text="just-arrived")).total == 1
    write_run(runs_dir, run_record("child-of-new", parent="just-arrived"))
    assert [run["id"] for run in store.iter_family("just-arrived")] == ["child-of-new", "just-arrived"]


def test_a_cold_build_over_budget_serves_a_partial_index_and_finishes_in_the_background(
        runs_dir, index_dir, monkeypatch):
    monkeypatch.setattr(sqlite_index, "BATCH_FILES", 5)
    store = indexed(runs_dir, index_dir, refresh_seconds=0.0)
    page = store.query_runs(RunQuery(limit=100))
    assert 0 < page.total < len(varied_records())  # one batch inside the budget, the rest later
    deadline = time.monotonic() + 10
    while not store.index_status().complete and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.query_runs(RunQuery(limit=100)).total == len(varied_records())


def test_a_large_store_refreshes_in_the_background_without_blocking_pages(runs_dir, index_dir, monkeypatch):
    store = indexed(runs_dir, index_dir)
    store.refresh()
    monkeypatch.setattr(indexed_module, "SMALL_STORE_FILES", 0)  # treat it as a large store
    write_run(runs_dir, run_record("late-arrival"))
    deadline = time.monotonic() + 10
    while store.query_runs(RunQuery(text="late-arrival")).total == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.query_runs(RunQuery(text="late-arrival")).total == 1


def test_a_run_not_indexed_yet_still_has_a_family(runs_dir, index_dir, monkeypatch):
    store = indexed(runs_dir, index_dir, background=False)
    store.refresh()
    monkeypatch.setattr(store, "ensure_fresh", lambda: None)
    write_run(runs_dir, run_record("unindexed"))
    assert [run["id"] for run in store.iter_family("unindexed")] == ["unindexed"]


def _refresh_in_process(directory: str, index_path: str, rounds: int) -> None:
    store = IndexedFileRunStore(directory, index_path=index_path)
    for _ in range(rounds):
        store.refresh(wait=True)
    store.close()


def test_concurrent_refreshes_from_threads_and_processes_keep_the_index_consistent(tmp_path, index_dir):
    directory = tmp_path / "busy"
    directory.mkdir()
    for index in range(120):
        write_run(directory, run_record(f"r{index:03d}", input=f"first {index}"))
    path = index_path_for(index_dir, directory)
    stores = [IndexedFileRunStore(directory, index_path=path) for _ in range(3)]
    stop = threading.Event()

    def writer() -> None:
        index = 0
        while not stop.is_set():
            write_run(directory, run_record(f"r{index % 120:03d}", input=f"second {index}"))
            if index % 7 == 0:
                (directory / f"r{(index * 13) % 120:03d}.json").unlink(missing_ok=True)
            index += 1

    def refresher(store: IndexedFileRunStore) -> None:
        for attempt in range(15):
            store.refresh(wait=bool(attempt % 2))
            store.query_runs(RunQuery(text="second"))

    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_refresh_in_process, args=(str(directory), str(path), 10)) for _ in range(2)]
    threads = [threading.Thread(target=refresher, args=(store,)) for store in stores]
    write_thread = threading.Thread(target=writer)
    write_thread.start()
    for worker in [*processes, *threads]:
        worker.start()
    for worker in [*processes, *threads]:
        worker.join(timeout=120)
    stop.set()
    write_thread.join()
    assert all(process.exitcode == 0 for process in processes)

    final = IndexedFileRunStore(directory, index_path=path)
    final.refresh()
    assert final.rows() == FileRunStore(directory).rows()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        connection.execute("INSERT INTO runs_fts (runs_fts, rank) VALUES ('integrity-check', 1)")


def test_a_cold_build_in_worker_processes_equals_a_serial_build(runs_dir, tmp_path):
    serial = indexed(runs_dir, tmp_path / "serial")
    serial.refresh(workers=1)
    parallel = indexed(runs_dir, tmp_path / "parallel")
    parallel.refresh(workers=2)
    assert parallel.rows() == serial.rows()
    assert parallel.query_runs(RunQuery(text="refund")).rows == serial.query_runs(RunQuery(text="refund")).rows


def test_an_index_from_older_code_is_rebuilt(runs_dir, index_dir):
    store = indexed(runs_dir, index_dir)
    store.refresh()
    with sqlite3.connect(store.index.path) as connection:
        connection.execute("UPDATE meta SET value = 'old' WHERE key = 'schema'")
    fresh = indexed(runs_dir, index_dir)
    assert fresh.index_status().runs == 0
    assert fresh.query_runs(RunQuery()).total == len(varied_records())


def test_a_bulk_build_answers_like_a_row_by_row_build(runs_dir, index_dir, monkeypatch):
    monkeypatch.setattr(sqlite_index, "BULK_MIN_FILES", 5)
    store = indexed(runs_dir, index_dir)
    assert store.refresh(workers=2).read == len(varied_records())
    assert_store_parity(store, FileRunStore(runs_dir))
    with sqlite3.connect(store.index.path) as connection:
        connection.execute("INSERT INTO runs_fts (runs_fts, rank) VALUES ('integrity-check', 1)")
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(sqlite_index._INDEX_NAMES) <= names


def test_a_bulk_build_cut_short_is_repaired_by_the_next_refresh(runs_dir, index_dir):
    store = indexed(runs_dir, index_dir)
    store.refresh()
    connection = store.index.connect(readonly=False)
    sqlite_index.FileIndex._drop_secondary(connection)  # as if the process died mid-build
    connection.close()
    write_run(runs_dir, run_record("after-crash", input="searchable again"))
    store.refresh()
    assert store.query_runs(RunQuery(text="searchable again")).total == 1
    assert_store_parity(store, FileRunStore(runs_dir), trees=False)


def test_a_quick_refresh_sees_live_runs_new_files_and_deletions_only(runs_dir, index_dir, count_reads, monkeypatch):
    store = indexed(runs_dir, index_dir)
    store.refresh()
    old = time.time() - 3600
    for path in runs_dir.iterdir():
        os.utime(path, (old, old))  # nothing was written recently
    store.refresh()
    count_reads.clear()
    live = next(row for row in store.rows() if row.status == "running")
    done = next(row for row in store.rows() if row.status == "completed")
    write_run(runs_dir, run_record(live.id, status="completed", input="finished at last"))
    write_run(runs_dir, run_record(done.id, status="completed", input="rewritten while done"))
    os.utime(runs_dir / f"{done.id}.json", (old, old + 1))  # an old file rewritten: only a full scan notices
    write_run(runs_dir, run_record("brand-new"))
    (runs_dir / "run-02.json").unlink()

    monkeypatch.setattr(store, "ensure_fresh", lambda: None)  # only the refreshes below
    result = store.index.refresh(quick=True)
    assert sorted(count_reads) == sorted([f"{live.id}.json", "brand-new.json"])
    assert result.removed == 1
    rows = store.rows_by_id([live.id, done.id, "brand-new", "run-02"])
    assert rows[live.id].input_text == "finished at last"
    assert rows[done.id].input_text != "rewritten while done"
    assert "brand-new" in rows and "run-02" not in rows

    store.refresh()
    assert store.rows_by_id([done.id])[done.id].input_text == "rewritten while done"
    assert_store_parity(store, FileRunStore(runs_dir), trees=False)


def test_a_quick_refresh_after_a_bulk_copy_stats_only_the_newest_recent_files(runs_dir, index_dir, count_reads,
                                                                              monkeypatch):
    # Every file written minutes ago (a store just copied in): a quick refresh, every second, stated them all.
    monkeypatch.setattr(sqlite_index, "RECENT_FILES", 2)
    store = indexed(runs_dir, index_dir)
    monkeypatch.setattr(store, "ensure_fresh", lambda: None)  # only the refreshes below
    now = time.time()
    for path in runs_dir.iterdir():
        os.utime(path, (now - 3600, now - 3600))  # the others: written long ago
    done = sorted(row.id for row in FileRunStore(runs_dir).rows() if row.status == "completed")
    for age, run_id in enumerate(done):
        os.utime(runs_dir / f"{run_id}.json", (now - 100 - age, now - 100 - age))
    store.refresh()
    newest, oldest = done[0], done[-1]
    for run_id, age in ((newest, 50), (oldest, 99 + len(done))):
        write_run(runs_dir, run_record(run_id, status="completed", input=f"rewritten {run_id}"))
        os.utime(runs_dir / f"{run_id}.json", (now - age, now - age))
    stats: list[bytes] = []
    original_stat = os.stat
    monkeypatch.setattr(sqlite_index.os, "stat", lambda path, **kw: stats.append(path) or original_stat(path, **kw))
    count_reads.clear()
    store.index.refresh(quick=True)
    assert count_reads == [f"{newest}.json"]
    live = sum(row.status in sqlite_index.LIVE_STATUSES for row in store.rows())
    assert len([path for path in stats if os.fsdecode(path).endswith(".json")]) == live + sqlite_index.RECENT_FILES
    assert store.rows_by_id([oldest])[oldest].input_text != f"rewritten {oldest}"
    store.refresh()
    assert store.rows_by_id([oldest])[oldest].input_text == f"rewritten {oldest}"


def test_a_large_store_alternates_quick_refreshes_and_full_scans(runs_dir, index_dir, monkeypatch):
    store = indexed(runs_dir, index_dir, background=False)
    store.refresh()
    monkeypatch.setattr(indexed_module, "SMALL_STORE_FILES", 0)
    calls = []

    def fake_refresh(**kwargs):
        calls.append(kwargs.get("quick"))
        return sqlite_index.RefreshResult()

    monkeypatch.setattr(store.index, "refresh", fake_refresh)
    store.ensure_fresh()  # scanned just now, nothing added: nothing to do
    assert calls == []
    write_run(runs_dir, run_record("added"))
    store.ensure_fresh()
    assert calls == [True]
    with sqlite3.connect(store.index.path) as connection:
        connection.execute("UPDATE meta SET value = 0 WHERE key = 'scanned_at'")
    store.ensure_fresh()
    assert calls == [True, False]


def test_rewritten_runs_are_updated_in_place_and_answer_like_a_fresh_index(runs_dir, index_dir, tmp_path):
    store = indexed(runs_dir, index_dir)
    store.refresh()
    with sqlite3.connect(store.index.path) as connection:
        rowids_before = dict(connection.execute("SELECT id, rowid FROM runs"))
    records = varied_records()
    for index, record in enumerate(records):
        if index % 4 == 0:
            record["input"] = f"rewritten zebra text {index}"  # search text changes
        if index % 4 == 1:
            record["status"] = "failed"
            record["metadata"]["correlationId"] = f"corr-new-{index}"  # correlations change
        if index % 4 == 2:
            record["metadata"]["lineage"]["parentRunId"] = records[0]["id"]  # lineage changes
        # index % 4 == 3: rewritten with the same content (only the file's mtime moves)
        write_run(runs_dir, record)
        stat = (runs_dir / f"{record['id']}.json").stat()
        os.utime(runs_dir / f"{record['id']}.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert store.refresh().read == len(records)
    with sqlite3.connect(store.index.path) as connection:
        assert dict(connection.execute("SELECT id, rowid FROM runs")) == rowids_before  # rows kept, not re-inserted
        connection.execute("INSERT INTO runs_fts (runs_fts, rank) VALUES ('integrity-check', 1)")
    fresh = indexed(runs_dir, tmp_path / "fresh")
    assert store.rows() == fresh.rows()
    assert store.query_runs(RunQuery(text="zebra", limit=100)).total == sum(1 for i in range(len(records)) if i % 4 == 0)
    assert store.query_runs(RunQuery(correlation_id="corr-new-1")).total == 1
    assert_store_parity(store, FileRunStore(runs_dir))


def _rewrite_in_place(path: Path, record: dict) -> None:
    with open(path, "r+", encoding="utf-8") as handle:  # same inode, as Node's fs.writeFile rewrites a run
        handle.truncate(0)
        handle.write(jsjson.dumps(record, 2))


@pytest.mark.parametrize("watched", [True, False])
def test_a_finished_run_rewritten_in_place_is_listed_anew_without_waiting_for_a_full_scan(
        runs_dir, index_dir, monkeypatch, watched):
    hour_ago = time.time() - 3600
    for path in runs_dir.iterdir():
        os.utime(path, (hour_ago, hour_ago))  # finished long ago: not among the runs a quick refresh looks at
    if not watched:
        monkeypatch.setattr(indexed_module.DirectoryWatch, "open", classmethod(lambda cls, directory: None))
    store = indexed(runs_dir, index_dir, background=False)
    store.refresh()
    monkeypatch.setattr(indexed_module, "SMALL_STORE_FILES", 0)  # the large-store path: no rescan per query
    monkeypatch.setattr(indexed_module, "FULL_SCAN_SECONDS", 1e9)
    assert store.query_runs(RunQuery(text="quokka")).total == 0
    finished = next(record for record in varied_records() if record["status"] == "completed")
    finished["output"] = "amended answer: quokka"
    _rewrite_in_place(runs_dir / f"{finished['id']}.json", finished)
    found = store.query_runs(RunQuery(text="quokka"))
    if watched:
        assert [row.id for row in found.rows] == [finished["id"]]
    else:  # without inotify the rewrite waits for the next full scan
        assert found.total == 0
        store.refresh()
        assert store.query_runs(RunQuery(text="quokka")).total == 1


def test_a_directory_watch_reports_lost_events_when_its_directory_goes(tmp_path):
    from runtime_adapter.stores.dirwatch import DirectoryWatch

    directory = tmp_path / "runs"
    directory.mkdir()
    watch = DirectoryWatch.open(directory)
    assert watch is not None
    (directory / "a.json").write_text("{}")
    (directory / "notes.txt").write_text("x")
    assert watch.changes() == {b"a.json"}
    assert watch.changes() == set()
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()
    assert watch.changes() is None  # the store then falls back to a full scan
    watch.close()


def test_a_family_marker_moves_with_its_family_only(empty_dir, index_dir):
    from tests.parity import assert_family_markers_follow_their_family

    store = indexed(empty_dir, index_dir, background=False)
    assert_family_markers_follow_their_family(store, empty_dir, lambda: store.refresh())


def test_an_index_another_process_has_locked_is_waited_for_never_rebuilt_under_it(runs_dir, index_dir):
    """Two gunicorn workers opening one index: a busy database must not read as "no schema", which would
    drop the tables the other worker is serving from ("no such table: meta", a 500)."""
    # Built by another process, which has exited: nothing of this one holds the index open.
    built = multiprocessing.get_context("spawn").Process(target=_build_index, args=(runs_dir, index_dir))
    built.start()
    built.join()
    path = index_path_for(index_dir, runs_dir)
    total = len(varied_records())
    check = sqlite3.connect(path)
    generation = check.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    check.close()

    def lock() -> sqlite3.Connection:
        blocker = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        blocker.execute("PRAGMA locking_mode = EXCLUSIVE")
        blocker.execute("BEGIN EXCLUSIVE")
        blocker.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', 1)")
        return blocker

    blocker = lock()
    probe = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite_index.FileIndex._meta(probe, "schema")
    probe.close()
    # Another worker's first look at the index while it is busy waits, then finds it as it was.
    threading.Timer(0.5, lambda: (blocker.execute("ROLLBACK"), blocker.close())).start()
    other = indexed(runs_dir, index_dir)
    assert other.query_runs(RunQuery(limit=0)).total == total > 0
    other.close()
    check = sqlite3.connect(path)
    # Never rebuilt (a rebuild counts a new generation).
    assert check.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0] == generation
    check.close()


def _build_index(directory: Path, index_dir: Path) -> None:
    indexed(directory, index_dir).query_runs(RunQuery())


def test_whether_a_run_exists_comes_from_the_index_without_reading_its_file(runs_dir, index_dir, monkeypatch):
    """A comparison asks whether both runs exist on every request: reading two 5,000-step files to answer it
    cost 0.45 s a page. A run written since the index's last refresh is still found, from its file."""
    store = indexed(runs_dir, index_dir, background=False)
    store.refresh()
    reads: list[str] = []
    original = file_module.read_run_file
    monkeypatch.setattr(file_module, "read_run_file", lambda path, **kw: reads.append(Path(path).name) or original(path, **kw))
    known = store.rows()[0].id
    assert store.has_run(known) and reads == []
    assert not store.has_run("no-such-run")
    write_run(runs_dir, run_record("written-after-the-refresh"))
    assert store.has_run("written-after-the-refresh")


def _big_run(run_id: str, note: str) -> dict:
    steps = [{"id": f"s{index}", "type": "tool", "status": "completed", "durationMs": index,
              "output": f"{note} result {index:05d} " + "x" * 40} for index in range(4000)]
    return run_record(run_id, steps=steps)


def test_a_big_runs_vetted_bytes_skip_redaction_and_any_other_bytes_are_redacted(tmp_path, index_dir):
    """The index vets a big file version whose redaction changes nothing (`files.vetted`, its digest), so the
    first view of a 5,000-step run is not redacted again (80-160 ms). The digest, not size and mtime, decides: a
    rewrite that adds a secret while keeping the file's size and mtime, which the index cannot notice, is still
    redacted; so is a big run holding a secret from the start."""
    from runtime_adapter.redaction import redact_run
    from runtime_adapter.stores.redacting import RedactingStore

    directory = tmp_path / "big"
    directory.mkdir()
    clean = write_run(directory, _big_run("clean-big", "plain"))
    write_run(directory, _big_run("secret-big", "password=hunter2-hunter2"))
    assert clean.stat().st_size >= VET_MIN_BYTES
    store = indexed(directory, index_dir, background=False, redact_rows=True)
    store.refresh()
    run, vetted = store.get_run_vetted("clean-big")
    assert vetted and redact_run(run) == run
    served = RedactingStore(store).get_run("clean-big")
    assert served == run
    assert store.get_run_vetted("secret-big")[1] is False
    assert "hunter2" not in jsjson.dumps(RedactingStore(store).get_run("secret-big"))

    before = clean.stat()
    text = clean.read_text()
    assert "plain result 00007" in text
    clean.write_text(text.replace("plain result 00007", "apikey=sk-live1234"))  # same length, a secret
    os.utime(clean, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (clean.stat().st_size, clean.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert store.get_run_vetted("clean-big")[1] is False
    assert "sk-live1234" not in jsjson.dumps(RedactingStore(store).get_run("clean-big"))


def test_two_vetted_big_runs_compare_from_their_digests_until_a_file_changes(tmp_path, index_dir, monkeypatch):
    """The index keeps a comparison digest of each version it vets (`files.compared`): comparing two such runs
    reads neither whole (parsing two 6.9 MB runs was most of a 5,000-step comparison) and shows what comparing
    the runs shows. A version the index did not vet (a secret, or bytes rewritten since) is compared from the
    run, redacted."""
    from runtime_adapter.present.alignment import compare_runs
    from runtime_adapter.stores.redacting import RedactingStore

    directory = tmp_path / "big"
    directory.mkdir()
    left = write_run(directory, _big_run("clean-a", "plain"))
    right = _big_run("clean-b", "plain")
    right["steps"][7] = {**right["steps"][7], "status": "failed", "output": "plain result changed"}
    del right["steps"][100]
    write_run(directory, right)
    write_run(directory, _big_run("secret-big", "password=hunter2-hunter2"))
    store = indexed(directory, index_dir, background=False, redact_rows=True)
    store.refresh()
    served = RedactingStore(store)
    reference = RedactingStore(FileRunStore(directory))
    assert served.comparison_source("clean-a") is not None and served.comparison_source("secret-big") is None
    assert RedactingStore(FileRunStore(directory)).comparison_source("clean-a") is None
    with monkeypatch.context() as patch:  # a run without a digest: the index says so, its file is not read
        patch.setattr("runtime_adapter.stores.indexed.read_file_bytes", lambda *args: pytest.fail("a file was read"))
        assert served.comparison_source("secret-big") is None and served.comparison_source("missing") is None

    for start in (0, 90):
        expected = compare_runs(reference, "clean-a", reference, "clean-b", start=start)
        with monkeypatch.context() as patch:
            patch.setattr(type(store), "read_run", lambda *args, **kwargs: pytest.fail("a whole run was read"))
            assert compare_runs(served, "clean-a", served, "clean-b", start=start) == expected
    assert compare_runs(served, "clean-a", served, "secret-big") == compare_runs(reference, "clean-a", reference,
                                                                                 "secret-big")

    before = left.stat()
    left.write_text(left.read_text().replace("plain result 00007", "apikey=sk-live1234"))  # same size and mtime
    os.utime(left, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert served.comparison_source("clean-a") is None
    compared = compare_runs(served, "clean-a", served, "clean-b")
    assert compared == compare_runs(reference, "clean-a", reference, "clean-b")
    assert "sk-live1234" not in repr(compared) and "apikey=[REDACTED]" in repr(compared)


def test_small_runs_and_unredacted_indexes_vet_nothing(runs_dir, index_dir):
    store = indexed(runs_dir, index_dir, background=False, redact_rows=True)
    store.refresh()
    raw = indexed(runs_dir, index_dir / "raw", background=False)
    raw.refresh()
    for row in store.rows()[:5]:
        assert store.get_run_vetted(row.id)[1] is False
        assert raw.get_run_vetted(row.id) == (raw.get_run(row.id), False)


def test_a_broad_search_found_slowly_keeps_its_order_until_the_store_changes(tmp_path, monkeypatch):
    # SQLite walks no order first: a broad search whose page took longer than SLOW_PAGE_SECONDS (here, every one)
    # keeps its matches' ids in that order, and the next requests are served from them while the store is unchanged.
    monkeypatch.setattr("runtime_adapter.rows.SEARCH_COUNT_CAP", 2)
    monkeypatch.setattr("runtime_adapter.stores.rowtable.SLOW_PAGE_SECONDS", -1.0)
    directory = tmp_path / "runs"
    directory.mkdir()
    for day in range(1, 9):
        write_run(directory, run_record(f"needle-{day}", input=f"a needle {day}", created=f"2026-01-0{day}T00:00:00.000Z"))
    for day in range(10, 16):
        write_run(directory, run_record(f"other-{day}", input="nothing", created=f"2026-01-{day}T00:00:00.000Z"))
    store = indexed(directory, tmp_path / "data")
    store.refresh()

    def assert_pages(expected_first: str) -> None:
        reference = FileRunStore(directory)
        for _asked in range(2):  # the second time from the kept order
            for sort in ("created", "duration"):
                for offset in range(0, 12, 3):
                    query = RunQuery(text="needle", sort=sort, offset=offset, limit=3)
                    page, expected = store.query_runs(query), reference.query_runs(query)
                    assert [row.id for row in page.rows] == [row.id for row in expected.rows], query
                    assert page.has_next == expected.has_next, query
        assert store.query_runs(RunQuery(text="needle", limit=1)).rows[0].id == expected_first

    assert_pages("needle-8")
    assert [key for key in store._memo._values if key[0] == "order"], "no order kept: the path is not reached"
    monkeypatch.setattr("runtime_adapter.stores.rowtable.KEPT_ORDER_LIMIT", 4)
    store._memo.clear()
    assert_pages("needle-8")
    write_run(directory, run_record("needle-new", input="needle again", created="2026-02-01T00:00:00.000Z"))
    store.refresh()
    assert_pages("needle-new")


def test_a_directory_watch_opens_without_searching_for_the_c_library(tmp_path, monkeypatch):
    # ctypes.util.find_library runs `ldconfig -p` (or a compiler): 77-87 ms of each worker's first file-store page.
    import ctypes.util

    from runtime_adapter.stores import dirwatch

    def searched(name):
        raise AssertionError(f"find_library({name!r}) was called")

    monkeypatch.setattr(ctypes.util, "find_library", searched)
    monkeypatch.setattr(dirwatch, "_libc", None)
    directory = tmp_path / "runs"
    directory.mkdir()
    watch = dirwatch.DirectoryWatch.open(directory)
    assert watch is not None
    (directory / "a.json").write_text("{}")
    assert watch.changes() == {b"a.json"}
