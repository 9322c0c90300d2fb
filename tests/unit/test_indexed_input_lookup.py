"""`rows_with_input` (an incident's comparison candidates) looks runs up by their input, not by status.

Found under load (bench/load.py): without table statistics SQLite walked the status index
to avoid a sort, reading every completed run (78,000 of 100,000, 150-200 ms) whenever
an input was unique, on every incident page.
"""

from __future__ import annotations

from pathlib import Path

from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.indexed import IndexedFileRunStore
from runtime_adapter.stores.sqlite_index import index_path_for
from tests.factories import run_record
from tests.parity import write_run


def store_with(tmp_path: Path, records: list[dict]) -> IndexedFileRunStore:
    directory = tmp_path / "runs"
    directory.mkdir()
    for record in records:
        write_run(directory, record)
    store = IndexedFileRunStore(directory, index_path=index_path_for(tmp_path / "data", directory), background=False)
    store.refresh()
    return store


def records() -> list[dict]:
    found = [run_record(f"done-{n:03d}", input=f"routine task {n % 7}", created=f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z")
             for n in range(120)]
    found += [run_record("failed-unique", status="failed", input="a task nobody else ran"),
              run_record("same-a", input="repeat me", created="2026-01-02T00:00:00.000Z"),
              run_record("same-b", input="repeat me", created="2026-01-03T00:00:00.000Z"),
              run_record("same-failed", status="failed", input="repeat me")]
    return found


def plans(store: IndexedFileRunStore, call) -> list[str]:
    statements: list[str] = []
    db = store._db()
    db.set_trace_callback(statements.append)  # the statements as run, with their values bound
    try:
        call()
    finally:
        db.set_trace_callback(None)
    lookups = [sql for sql in statements if "input_text" in sql and sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert lookups, statements
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {lookups[-1]}")]


def test_runs_with_the_same_input_are_found_through_the_input_prefix_index(tmp_path):
    store = store_with(tmp_path, records())
    plan = plans(store, lambda: store.rows_with_input("a task nobody else ran"))
    driving = next(step for step in plan if step.startswith(("SEARCH", "SCAN")))
    assert "runs_input_prefix" in driving, plan


def test_runs_with_the_same_input_match_the_scanning_store(tmp_path):
    store = store_with(tmp_path, records())
    reference = FileRunStore(store.directory)
    for text, statuses in (("repeat me", ("completed",)), ("repeat me", ()), ("repeat me", ("failed", "completed")),
                           ("routine task 3", ("completed",)), ("a task nobody else ran", ("completed",)),
                           ("nothing like this", ("completed",))):
        for limit in (1, 5, 50):
            assert store.rows_with_input(text, statuses=statuses, limit=limit) == \
                reference.rows_with_input(text, statuses=statuses, limit=limit)


def test_a_status_filtered_page_walks_its_status_in_each_sort_order(tmp_path):
    # Found by the search matrix of bench/run.py: `re` among failed runs by cost sorted all 12,692 failed runs of
    # 100k for each page (47 ms) where a walk of the status in cost order reads ~65 rows.
    from runtime_adapter.rows import SORTS, RunQuery

    store = store_with(tmp_path, records())
    for sort in SORTS:
        for text in (None, "re"):
            query = RunQuery(statuses=("failed",), sort=sort, text=text)
            statements: list[str] = []
            db = store._db()
            db.set_trace_callback(statements.append)
            try:
                store.query_runs(query)
            finally:
                db.set_trace_callback(None)
            page = [sql for sql in statements if " ORDER BY " in sql and "LIMIT" in sql]
            assert page, statements
            plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {page[-1]}")]
            assert not any("TEMP B-TREE" in step for step in plan), (sort, text, plan)


def test_a_run_pages_same_input_lookup_goes_through_the_input_prefix_index_and_reads_few_whole_rows(tmp_path):
    """At a million runs an input the agents repeat had 500 runs, and the run page read all their whole rows (25 of
    its 28 ms); it reads four columns of them, through the prefix index, and whole rows only of the winners."""
    from runtime_adapter.queries.same_input import same_input_in_other_releases

    found = records()
    found += [run_record(f"rel-{n}", input="repeat me", created=f"2026-01-04T00:00:0{n}.000Z",
                         metadata={"release": f"v{n % 3}"}) for n in range(9)]
    store = store_with(tmp_path, found)
    plan = plans(store, lambda: store.input_matches("repeat me", limit=500))
    driving = next(step for step in plan if step.startswith(("SEARCH", "SCAN")))
    assert "runs_input_prefix" in driving, plan
    asked: list[list[str]] = []
    real = store.rows_by_id
    store.rows_by_id = lambda run_ids: asked.append(list(run_ids)) or real(run_ids)  # type: ignore[method-assign]
    row = store.rows_by_id(["rel-0"])["rel-0"]
    asked.clear()
    same = same_input_in_other_releases(store, row)
    assert [other.id for other in same.rows] == ["rel-8", "rel-7"]  # newest of v2, then of v1
    assert asked == [["rel-8", "rel-7"]]
    reference = FileRunStore(store.directory)
    assert same == same_input_in_other_releases(reference, reference.rows_by_id(["rel-0"])["rel-0"])
