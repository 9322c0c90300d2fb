"""The per-release rollups (step totals, newest run per input) that the schema's triggers keep stay exact
through every kind of change a loader makes, and comparisons read them only when they are complete.

A release comparison without filters reads the rollups; these tests hold it to the scanning reference
after each change, and hold the incrementally kept tables to a build from scratch.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from runtime_adapter.queries.fleet import SHAPE_POINTS, release_comparison
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores import fleet_sql
from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.postgres import COUNTS_VERSION, MEASURES_VERSION, ROLLUP_VERSION
from tests.factories import run_record
from tests.parity import assert_same, buckets_equal, write_run
from write_side.postgres_load import build_counts, build_measures, build_rollups, build_usage, create_schema

pytestmark = pytest.mark.postgres

RELEASES = ("r1", "r2", "r3")


def _record(index: int, rng: random.Random, *, release: str | None = None, hour: int = 0) -> dict:
    status = "failed" if rng.random() < 0.2 else "completed"
    created = f"2026-05-{1 + index % 20:02d}T{hour + index % 10:02d}:{index % 60:02d}:00.000Z"
    steps = [{"id": f"s{index}-{n}", "type": ["tool", "llm"][n % 2],
              "status": "failed" if status == "failed" and n == 0 else "completed",
              # Repeated values (the rollup counts them) and many distinct ones (the median's ranks fall among them).
              "durationMs": rng.choice([0, 0.5, 5, 7, 7.5, 12, 40, 40, 300, 1e15]) if rng.random() < 0.5
              else round(rng.uniform(1, 500), 2),
              "payload": {"toolName": ["search", "refund", "mail"][(index + n) % 3]}}
             for n in range(1 + index % 4)]
    return run_record(f"run-{index:04d}", status=status, created=created, input=f"question {index % 90}",
                      steps=steps, metadata={"release": release or RELEASES[index % 3]},
                      errors=[{"name": "Error", "message": f"Provider said {index}"}] if status == "failed" else [])


def _loaded(tmp_path: Path, load, count: int, *, seed: int,
            release: Callable[[int], str | None] = lambda index: None) -> Path:
    """`count` runs of `_record` written (their release `release(index)`, else spread over RELEASES) and loaded."""
    directory = tmp_path / "runs"
    directory.mkdir()
    rng = random.Random(seed)
    for index in range(count):
        write_run(directory, _record(index, rng, release=release(index)))
    load(directory)
    return directory


def _rollup_rows(db: psycopg.Connection, *, kept: bool) -> dict[str, list[tuple]]:
    """Every rollup row. Rollups kept by the triggers may hold rows counted down to zero (readers skip them):
    `kept` leaves those out; a build from scratch must write none."""
    nonzero = " WHERE runs <> 0 OR calls <> 0 OR failed <> 0" if kept else ""
    return {
        "totals": db.execute("SELECT release, section, name, runs, calls, failed FROM release_step_totals"
                             f"{nonzero} ORDER BY 1, 2, 3").fetchall(),
        "durations": db.execute("SELECT release, section, name, duration, n FROM release_step_durations"
                                f"{' WHERE n <> 0' if kept else ''} ORDER BY 1, 2, 3, 4").fetchall(),
        "buckets": db.execute("SELECT release, section, name, bucket, n FROM release_step_duration_buckets"
                              f"{' WHERE n <> 0' if kept else ''} ORDER BY 1, 2, 3, 4").fetchall(),
        "gaps": db.execute("SELECT release, unreadable FROM release_rollup_gaps WHERE unreadable <> 0"
                           " ORDER BY 1").fetchall(),
        "latest": db.execute("SELECT release, input_key, id, status, duration_ms, cost FROM release_latest_input"
                             " ORDER BY 1, 2").fetchall(),
        "usage": db.execute("SELECT hour, runs, failed, prompt_tokens, completion_tokens, total_tokens, cost"
                            f" FROM usage_hours{' WHERE runs <> 0' if kept else ''} ORDER BY 1").fetchall(),
        "counts": db.execute(f"SELECT status, needs_attention, n FROM run_counts{' WHERE n <> 0' if kept else ''}"
                             " ORDER BY 1, 2").fetchall(),
        "measure_totals": db.execute("SELECT * FROM release_measure_totals"
                                     f"{' WHERE runs <> 0' if kept else ''} ORDER BY 1").fetchall(),
        "measure_buckets": db.execute("SELECT release, measure, bucket, n FROM release_measure_buckets"
                                      f"{' WHERE n <> 0' if kept else ''} ORDER BY 1, 2, 3").fetchall(),
        "measure_values": db.execute("SELECT release, measure, value, n FROM release_measure_values"
                                     f"{' WHERE n <> 0' if kept else ''} ORDER BY 1, 2, 3").fetchall(),
    }


def _snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as db:
        return _rollup_rows(db, kept=True)


def _rebuilt(url: str) -> dict[str, list[tuple]]:
    """The rollups as a build from scratch over the same rows makes them (rolled back afterwards)."""
    with psycopg.connect(url) as db:
        build_rollups(db)
        build_counts(db)
        build_usage(db)
        build_measures(db)
        rebuilt = _rollup_rows(db, kept=False)
        db.rollback()
    return rebuilt


def _assert_comparisons_match(pg_store, directory: Path) -> None:
    reference = FileRunStore(directory)
    for base, head in itertools.permutations(RELEASES, 2):
        found = release_comparison(pg_store, RunQuery(), base, head)
        expected = release_comparison(reference, RunQuery(), base, head)
        assert_same(found.as_api(), expected.as_api(), (base, head))
        assert found.matched_pairs == expected.matched_pairs
    for release in RELEASES:
        assert pg_store.step_totals(RunQuery(release=release)) == reference.step_totals(RunQuery(release=release))
    # The releases page and each side of a comparison (from the measure rollups themselves, once they are built).
    with psycopg.connect(pg_store._conninfo) as db:
        built = db.execute("SELECT 1 FROM store_meta WHERE key = 'measures'").fetchone() is not None
    for release in (None, *RELEASES):
        query = RunQuery(release=release or "")
        if built:
            assert_same(_measure_summaries(pg_store._conninfo, release),
                        [asdict(summary) for summary in reference.release_summaries(query, shapes=False)], release)
        assert_same([asdict(summary) for summary in pg_store.release_summaries(query)],
                    [asdict(summary) for summary in reference.release_summaries(query)], release)
    # The counts the overview and the incident queue show (run_counts), in the reference's order.
    pg_store._memo = type(pg_store._memo)()
    assert list(pg_store.status_counts().items()) == list(reference.status_counts().items())
    for query in (RunQuery(), RunQuery(attention_only=True), RunQuery(statuses=("failed",)),
                  RunQuery(statuses=("failed", "completed"), attention_only=True, sort="cost", limit=3),
                  # The overview's last day: whole hours (usage_hours and the runs it leaves out), or not.
                  RunQuery(created_after="2026-05-02T09:00:00.000Z", created_before="2026-05-02T13:00:00.000Z"),
                  RunQuery(created_after="2026-05-01T00:00:00.000Z", created_before="2026-06-01T00:00:00.000Z"),
                  RunQuery(created_after="2026-05-02T09:30:00.000Z", created_before="2026-05-02T13:00:00.000Z"),
                  RunQuery(created_after="2026-05-02T09:00:00Z", created_before="2026-05-02T13:00:00.000Z")):
        assert pg_store.query_runs(query).total == reference.query_runs(query).total, query
    # The overview's usage charts (usage_hours for windows of whole hours, the rows for any other).
    for start, end, bucket_ms in (("2026-05-01T00:00:00.000Z", "2026-05-22T00:00:00.000Z", 3_600_000),
                                  ("2026-05-01T00:00:00.000Z", "2026-05-22T00:00:00.000Z", 6 * 3_600_000),
                                  ("2026-05-02T09:00:00.000Z", "2026-05-02T13:00:00.000Z", 3_600_000),
                                  ("2026-05-01T00:30:00.000Z", "2026-05-22T00:00:00.000Z", 3_600_000),
                                  ("2026-05-01T00:00:00Z", "2026-05-22T00:00:00.000Z", 3_600_000)):
        found, expected = pg_store.usage_series(start, end, bucket_ms), reference.usage_series(start, end, bucket_ms)
        assert buckets_equal(found, expected), (start, bucket_ms, [b for b in zip(found, expected, strict=False) if b[0] != b[1]])


def _read_rollups(url: str, release: str):
    with psycopg.connect(url) as db:
        return fleet_sql.step_totals_rolled_up(db, release)


def test_rollups_stay_exact_through_updates_moves_deletes_and_broken_files(tmp_path, load, pg_store, empty_db):
    directory = tmp_path / "runs"
    directory.mkdir()
    rng = random.Random(5)
    for index in range(600):
        write_run(directory, _record(index, rng))
    # createdAt in other shapes than the runtime's, and a measure no sum can hold: summed from the rows.
    for index, created in enumerate(("2026-05-02T10:00:00Z", "2026-05-02T12:00:00.000+02:00",
                                     "2026-05-02T10:00:00.123456Z", "2026-05-02T10:30:00.000Z", "not a time")):
        write_run(directory, run_record(f"odd-{index}", created=created, status=("failed", "completed")[index % 2],
                                        metadata={"release": "r1"},
                                        metrics={"cost": 0.25 + index, "tokenUsage": {"totalTokens": 10 + index}}))
    infinite = directory / "odd-3.json"
    infinite.write_text(infinite.read_text().replace("3.25", "1e999"))
    load(directory)
    assert _snapshot(empty_db) == _rebuilt(empty_db)
    assert _snapshot(empty_db)["durations"] and _snapshot(empty_db)["latest"] and _snapshot(empty_db)["counts"]
    _assert_comparisons_match(pg_store, directory)

    # Runs move to another release, change their steps, disappear, become unreadable, and new runs of the
    # same inputs become the newest of their input.
    for index in range(0, 60):
        write_run(directory, _record(index, random.Random(index), release="r2", hour=12))
    for index in range(100, 130):
        (directory / f"run-{index:04d}.json").unlink()
    for index in range(200, 210):
        (directory / f"run-{index:04d}.json").write_text("{ not json")
    for index in range(600, 640):
        write_run(directory, _record(index, rng, hour=13))
    result = load(directory, prune=True)
    assert result.pruned == 30 and result.errors == 10
    assert _snapshot(empty_db) == _rebuilt(empty_db)
    _assert_comparisons_match(pg_store, directory)
    # The comparison read the rollups: they hold what the reference computes.
    reference = FileRunStore(directory)
    assert _read_rollups(empty_db, "r2") == reference.step_totals(RunQuery(release="r2"))


def test_a_row_the_rollups_cannot_read_sends_its_release_back_to_the_rows(tmp_path, load, pg_store, empty_db):
    directory = _loaded(tmp_path, load, 60, seed=8)
    with psycopg.connect(empty_db, autocommit=True) as db:
        kept = db.execute("SELECT step_stats FROM runs WHERE id = 'run-0003'").fetchone()[0]
        # A row written by other code: a NUL escape in a name, which jsonb refuses (load_runs writes U+FFFD).
        db.execute("""UPDATE runs SET step_stats = '{"tools": {"x\\u0000": [1, 0, [5]]}}' WHERE id = 'run-0003'""")
    assert _read_rollups(empty_db, "r1") is None and _read_rollups(empty_db, "r2") is not None
    assert pg_store.step_totals(RunQuery(release="r1"))["tools"]["x\x00"].calls == 1  # from the rows instead

    with psycopg.connect(empty_db, autocommit=True) as db:
        db.execute("UPDATE runs SET step_stats = %s WHERE id = 'run-0003'", (kept,))
    assert _read_rollups(empty_db, "r1") == FileRunStore(directory).step_totals(RunQuery(release="r1"))
    assert _snapshot(empty_db) == _rebuilt(empty_db)
    _assert_comparisons_match(pg_store, directory)


def test_a_database_loaded_before_the_rollups_is_compared_from_its_rows_until_a_load_builds_them(
        tmp_path, load, pg_store, empty_db):
    directory = _loaded(tmp_path, load, 120, seed=9)
    with psycopg.connect(empty_db, autocommit=True) as db:
        # As older code left it: rows, but no rollups and no mark that they are complete.
        db.execute("DELETE FROM store_meta WHERE key IN ('rollups', 'counts', 'measures')")
        db.execute("TRUNCATE release_step_totals, release_step_durations, release_step_duration_buckets,"
                   " release_rollup_gaps, release_latest_input, run_counts, release_measure_totals,"
                   " release_measure_buckets, release_measure_values")
    _assert_comparisons_match(pg_store, directory)
    with psycopg.connect(empty_db, autocommit=True) as db:
        create_schema(db)  # what the next load_runs does first
        assert db.execute("SELECT value FROM store_meta WHERE key = 'rollups'").fetchone() == (ROLLUP_VERSION,)
        assert db.execute("SELECT value FROM store_meta WHERE key = 'counts'").fetchone() == (COUNTS_VERSION,)
        assert db.execute("SELECT value FROM store_meta WHERE key = 'measures'").fetchone() == (MEASURES_VERSION,)
    assert _snapshot(empty_db)["totals"] and _snapshot(empty_db)["counts"] and _snapshot(empty_db)["measure_values"]
    _assert_comparisons_match(pg_store, directory)


def test_a_median_between_two_buckets_or_beyond_every_bound_is_exact(tmp_path, load, pg_store, empty_db):
    """The rolled-up median reads only the buckets holding its ranks: here they fall in different buckets
    (values below 0, in [0, 1), far apart, beyond the last bound), for an even and an odd count."""
    directory = tmp_path / "runs"
    directory.mkdir()
    durations = {"r1": [-3, 0, 0.25, 7, 1e15, 1e15], "r2": [-3, 0.5, 9_000, 1e15, 2e15], "r3": [1e15, 3e15]}
    for release, values in durations.items():
        for index, value in enumerate(values):
            write_run(directory, run_record(f"{release}-{index}", created=f"2026-05-01T00:00:0{index}.000Z",
                                            steps=[{"id": "s", "type": "tool", "status": "completed",
                                                    "durationMs": value, "payload": {"toolName": "edge"}}],
                                            metadata={"release": release}))
    load(directory)
    reference = FileRunStore(directory)
    medians = {release: _read_rollups(empty_db, release)["tools"]["edge"].p50_ms for release in durations}
    assert medians == {"r1": 3.625, "r2": 9_000, "r3": 2e15}
    for release in durations:
        assert _read_rollups(empty_db, release) == reference.step_totals(RunQuery(release=release))
    assert _snapshot(empty_db) == _rebuilt(empty_db)


def _measure_summaries(url: str, release: str | None) -> list[dict]:
    with psycopg.connect(url) as db:
        counts, measured = fleet_sql.rolled_up_releases(db, release)
        return [asdict(summary) for summary in
                fleet_sql.release_summaries(db, fleet_sql.Clause("TRUE", []), counts, measured, shapes=False)]


def test_release_percentiles_from_the_measure_rollups_are_exact_at_every_edge(tmp_path, load, pg_store, empty_db):
    """The releases page's percentiles read only the buckets holding their ranks: costs of a fraction of a cent,
    negative and zero values, values past the last bound, ties across a bucket's edge, an odd and an even count,
    a measure with no finite value; and sums that a writer's session printing floats short cannot round."""
    directory = tmp_path / "runs"
    directory.mkdir()
    costs = {"r1": [1e-9, 3e-7, 3e-7, 0.0004, 0.0004, 0.25, 1e300], "r2": [-2.5, 0, 0, 0.1, 1e16],
             "r3": [0.1 + 0.2] * 4 + [1e999]}
    for release, values in costs.items():
        for index, cost in enumerate(values):
            record = run_record(f"{release}-{index}", created=f"2026-05-01T00:00:0{index}.000Z",
                                metadata={"release": release},
                                metrics={"cost": 0.5, "tokenUsage": {"totalTokens": [3, 10**20, 7][index % 3]}})
            path = write_run(directory, record)
            path.write_text(path.read_text().replace('"cost": 0.5', f'"cost": {cost!r}'.replace("inf", "1e999")))
    load(directory)
    reference = FileRunStore(directory)
    for release in (None, *costs):
        expected = reference.release_summaries(RunQuery(release=release or ""), shapes=False)
        assert_same(_measure_summaries(empty_db, release), [asdict(summary) for summary in expected], release)
    r1 = next(s for s in reference.release_summaries(RunQuery(), shapes=False) if s.release == "r1")
    assert r1.cost.p50 == 0.0004 and r1.cost.p99 > 1e297  # interpolated towards 1e300: both ranks were read
    r3 = next(s for s in reference.release_summaries(RunQuery(), shapes=False) if s.release == "r3")
    assert r3.cost.p50 == 0.1 + 0.2 and r3.runs == 5  # the infinite cost is not a value
    # A writer whose session prints floats with 15 digits (0.30000000000000004 as 0.3) adds and takes away.
    with psycopg.connect(empty_db, autocommit=True) as db:
        db.execute("SET extra_float_digits = 0")
        db.execute("UPDATE runs SET cost = cost * 3 WHERE release = 'r3'")
        db.execute("UPDATE runs SET cost = cost / 3 WHERE release = 'r3'")
        db.execute("UPDATE runs SET release = 'r2' WHERE id = 'r1-0'")
        db.execute("DELETE FROM runs WHERE id = 'r1-6'")
    assert _snapshot(empty_db) == _rebuilt(empty_db)
    with psycopg.connect(empty_db) as db:
        kept = db.execute("SELECT cost_sum FROM release_measure_totals WHERE release = 'r3'").fetchone()[0]
        costs = db.execute("SELECT cost FROM runs WHERE release = 'r3' AND cost < 'Infinity'").fetchall()
        assert len(costs) == 4 and kept == sum(Decimal(repr(cost)) for (cost,) in costs)  # each value's exact text


def test_the_releases_page_and_a_comparisons_sides_read_the_measure_rollups_not_the_runs(
        tmp_path, load, pg_store, monkeypatch):
    """Every run, or every run of one release: no statement aggregates the runs' counts or percentiles (each one
    walked a million runs: ~760 ms of the releases page's first request); any other scope still does."""
    # r2 has more runs than the chart has points: those come from the rollups too.
    directory = _loaded(tmp_path, load, 1_100, seed=4, release=lambda index: "r2" if index >= 60 else None)
    reference = FileRunStore(directory)

    def aggregated(*args, **kwargs):
        raise AssertionError("aggregated the runs")

    monkeypatch.setattr(fleet_sql, "release_counts", aggregated)
    monkeypatch.setattr(fleet_sql, "release_measure", aggregated)
    for query in (RunQuery(), RunQuery(release="r2"), RunQuery(offset=0, limit=0), RunQuery(release="")):
        for shapes in (False, True):
            assert_same([asdict(summary) for summary in pg_store.release_summaries(query, shapes=shapes)],
                        [asdict(summary) for summary in reference.release_summaries(query, shapes=shapes)], query)
    [side] = pg_store.release_summaries(RunQuery(release="r2"))
    assert side.runs > SHAPE_POINTS and len(side.cost.values) == len(side.tokens.values) == SHAPE_POINTS
    with pytest.raises(AssertionError, match="aggregated the runs"):
        pg_store.release_summaries(RunQuery(statuses=("failed",)))


def test_release_summaries_aggregate_the_runs_when_the_rollups_disagree_with_them(tmp_path, load, pg_store, empty_db):
    """Bucket counts that promise values a read does not find (a writer between the statements, or a table
    someone edited) send the page back to aggregating the runs, which still match the reference."""
    directory = _loaded(tmp_path, load, 60, seed=3)
    with psycopg.connect(empty_db, autocommit=True) as db:
        db.execute("UPDATE release_measure_buckets SET n = n + 40 WHERE release = 'r2' AND measure = 2")
    with pytest.raises(fleet_sql.RollupRace):
        _measure_summaries(empty_db, "r2")
    reference = FileRunStore(directory)
    for query in (RunQuery(), RunQuery(release="r2")):
        assert_same([asdict(summary) for summary in pg_store.release_summaries(query, shapes=False)],
                    [asdict(summary) for summary in reference.release_summaries(query, shapes=False)], query)


def test_a_writer_updating_runs_compiles_nothing_in_the_triggers(tmp_path, load, pg_store, empty_db):
    """Any writer's session may have JIT on. The planner's estimates for unpacking step_stats cross its cost
    thresholds, and compiling took ~790 ms of a 1,000-run update whose own work took ~40 ms; the rollup functions
    turn it off for themselves. Here the writer compiles everything it is allowed to (thresholds at 0), and
    auto_explain reports each statement the triggers run."""
    _loaded(tmp_path, load, 40, seed=11)
    plans: list[str] = []
    with psycopg.connect(empty_db, autocommit=True) as db:
        db.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        for setting in ("jit = on", "jit_above_cost = 0", "jit_inline_above_cost = 0", "jit_optimize_above_cost = 0",
                        "auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                        "auto_explain.log_analyze = on", "client_min_messages = log"):
            if setting.startswith("auto_explain.log_min"):
                db.execute("LOAD 'auto_explain'")
            db.execute(f"SET {setting}")
        db.execute("UPDATE runs SET release = 'r9', input_key = input_key || '!' WHERE id < 'run-0020'")
    nested = [plan for plan in plans if "Query Text: UPDATE runs" not in plan]
    assert any("release_step_totals" in plan for plan in nested), plans  # the triggers' statements were seen
    assert not [plan for plan in nested if "\nJIT:" in plan]
    top = [plan for plan in plans if "Query Text: UPDATE runs" in plan]
    assert top and "\nJIT:" in top[0]  # the writer's own statement did compile: JIT is there to be turned off
    kept = _snapshot(empty_db)
    assert kept["totals"] and kept == _rebuilt(empty_db)


def test_the_stores_connections_never_jit_compile(pg_store):
    with pg_store.connection() as db:
        assert db.execute("SHOW jit").fetchone() == ("off",)


def test_a_large_load_leaves_the_tables_the_triggers_keep_vacuumed(tmp_path, load, empty_db):
    # Each run a load writes rewrites rows of these tables; with autovacuum off (as on these machines) or behind,
    # a million runs left 487,817 dead rows in release_latest_input, which every later refresh and comparison read.
    from write_side.postgres_load import TRIGGER_TABLES

    for index in range(40):
        write_run(tmp_path, run_record(f"run-{index:02d}", input=f"task {index % 3}", status="failed" if index % 4 else
                                       "completed", created=f"2026-01-01T00:00:{index:02d}.000Z",
                                       metadata={"release": f"v{index % 2}"}))
    load(tmp_path)
    with psycopg.connect(empty_db, autocommit=True) as db:
        names = set(db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall())
        assert {(name,) for name in TRIGGER_TABLES} <= names, "a listed table is not in the schema"
        db.execute("SELECT pg_stat_clear_snapshot()")
        found = dict(db.execute("SELECT relname, n_dead_tup FROM pg_stat_user_tables WHERE relname = ANY(%s)"
                                " AND last_vacuum IS NOT NULL", (["runs", *TRIGGER_TABLES],)).fetchall())
    assert set(found) == {"runs", *TRIGGER_TABLES}
    assert found["release_latest_input"] == 0
