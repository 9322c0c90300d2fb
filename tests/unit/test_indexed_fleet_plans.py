"""The clusters page and a release comparison over a file store's index read indexes, not the runs table.

Measured at 100k runs (bench/run.py): the clusters page's first request read the 22,000 clustered runs' rows
(150 ms) and a release comparison the 34,000 rows of its two releases (150 ms), each row a random read of the
table beside its searchable text. The covering indexes answer them alone; these tests fail when a statement
goes back to the table (an index that lost a column the statement reads, or a condition SQLite cannot match).
"""

from __future__ import annotations

from pathlib import Path

from runtime_adapter.queries.fleet import cluster_report, release_comparison
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.indexed import IndexedFileRunStore
from runtime_adapter.stores.sqlite_index import index_path_for
from tests.parity import varied_records, write_run


def indexed(tmp_path: Path) -> IndexedFileRunStore:
    directory = tmp_path / "runs"
    directory.mkdir()
    for record in varied_records():
        write_run(directory, record)
    store = IndexedFileRunStore(directory, index_path=index_path_for(tmp_path / "data", directory), background=False)
    store.refresh()
    return store


def table_reads(store: IndexedFileRunStore, call) -> list[tuple[str, list[str]]]:
    """Each statement `call` ran against `runs` whose plan reads the table (not an index alone), with its plan."""
    statements: list[str] = []
    db = store._db()
    db.set_trace_callback(statements.append)
    try:
        call()
    finally:
        db.set_trace_callback(None)
    found = []
    for sql in statements:
        if not sql.lstrip().upper().startswith("SELECT") or " runs " not in f"{sql} ":
            continue
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        reads = [step for step in plan if step.startswith(("SEARCH runs", "SCAN runs"))]
        if any("COVERING INDEX" not in step for step in reads):
            found.append((sql, plan))
    return found


def test_failure_clusters_are_counted_from_indexes_alone(tmp_path):
    store = indexed(tmp_path)
    assert cluster_report(store, RunQuery()).clusters  # the records hold clusters: the statements ran
    reads = table_reads(store, lambda: store.cluster_summaries(RunQuery(), 100))
    # Only the few newest runs whose signature a cluster shows are read from the table, by id.
    assert [sql for sql, _ in reads if " IN (SELECT value FROM json_each(" not in sql] == [], reads


def test_a_release_comparison_reads_its_releases_rows_from_an_index(tmp_path):
    store = indexed(tmp_path)
    releases = store.releases()
    assert len(releases) >= 2
    reads = table_reads(store, lambda: release_comparison(store, RunQuery(), releases[0], releases[1]))
    # Reading the listed pairs' input texts by id is the one table read left.
    assert [sql for sql, _ in reads if "input_text" not in sql] == [], reads
