"""Release summaries, step totals and pairs aggregated by PostgreSQL equal the scanning reference's.

The small parity stores (tests/parity.py) keep every value of a distribution; these runs pass
the chart's SHAPE_POINTS, so PostgreSQL's quantiles are what the page draws.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path

import psycopg
import pytest

from runtime_adapter.queries.fleet import (
    SHAPE_POINTS,
    cluster_detail,
    cluster_report,
    release_comparison,
    release_report,
)
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.file import FileRunStore
from tests.factories import run_record
from tests.parity import assert_same, write_run

pytestmark = pytest.mark.postgres


def _record(index: int, rng: random.Random) -> dict:
    release = "r-many" if index % 10 else "r-few"
    status = "failed" if rng.random() < 0.1 else "completed"
    created = f"2026-02-{1 + index % 20:02d}T{index % 24:02d}:{index % 60:02d}:{index % 59:02d}.{index % 1000:03d}Z"
    ended = f"2026-02-{1 + index % 20:02d}T{index % 24:02d}:{index % 60:02d}:59.999Z"
    steps = [{"id": f"s{index}-{n}", "type": "tool", "status": "failed" if status == "failed" and n == 0 else "completed",
              "durationMs": round(rng.lognormvariate(4, 1), 3), "payload": {"toolName": ["search", "refund"][n % 2]}}
             for n in range(1 + index % 3)]
    timestamps = {"createdAt": created, "updatedAt": ended, "startedAt": created}
    # One run in four has ended: r-many's tokens pass SHAPE_POINTS while its durations do not.
    if index % 4 == 0:
        timestamps["failedAt" if status == "failed" else "completedAt"] = ended
    metrics = {"tokenUsage": {"prompt": index, "completion": 3, "total": index + 3}, "cost": round(rng.random() / 7, 6)}
    record = run_record(f"many-{index:05d}", status=status, created=created, input=f"question {index % 333}",
                        steps=steps, metadata={"release": release}, metrics=metrics,
                        errors=[{"name": f"Error{index % 13}", "message": f"Provider said {index}"}]
                        if status == "failed" else [])
    record["timestamps"] = {**record["timestamps"], **timestamps}
    return record


@pytest.fixture
def many_runs(tmp_path: Path) -> Path:
    directory = tmp_path / "runs"
    directory.mkdir()
    rng = random.Random(11)
    for index in range(3_400):
        write_run(directory, _record(index, rng))
    return directory


def test_distributions_past_the_charts_points_match_the_reference(many_runs, load, pg_store):
    load(many_runs)
    reference = FileRunStore(many_runs)
    found, expected = pg_store.release_summaries(RunQuery()), reference.release_summaries(RunQuery())
    many = next(summary for summary in expected if summary.release == "r-many")
    assert many.runs > SHAPE_POINTS and len(many.tokens.values) == SHAPE_POINTS  # quantiles, not every value
    assert 0 < len(many.duration.values) < SHAPE_POINTS  # every value: fewer runs of r-many have ended
    assert_same([asdict(summary) for summary in found], [asdict(summary) for summary in expected], "releases")
    for release in ("r-many", "r-few"):  # a comparison's side: one release's summary, with its chart's points
        assert_same([asdict(s) for s in pg_store.release_summaries(RunQuery(release=release))],
                    [asdict(s) for s in reference.release_summaries(RunQuery(release=release))], release)
    # The releases page draws no chart: the same figures without the points.
    found, expected = release_report(pg_store, RunQuery()), release_report(reference, RunQuery())
    assert all(not summary.tokens.values for summary in found)
    assert_same([asdict(summary) for summary in found], [asdict(summary) for summary in expected], "releases page")
    for scope in (RunQuery(), RunQuery(statuses=("failed",)), RunQuery(created_after="2026-02-05T00:00:00.000Z")):
        left = release_comparison(pg_store, scope, "r-few", "r-many")
        right = release_comparison(reference, scope, "r-few", "r-many")
        assert_same(left.as_api(), right.as_api(), scope)
        assert left.tools and left.matched_pairs == right.matched_pairs > 0


def test_non_finite_and_huge_step_durations_are_left_out_of_the_median(tmp_path, load, pg_store):
    directory = tmp_path / "runs"
    directory.mkdir()
    for index, duration in enumerate(["1e400", "-1e400", "1" + "0" * 400, "7", "9", "11"]):
        record = run_record(f"odd-{index}", status="completed", created=f"2026-03-01T00:00:0{index}.000Z",
                            metadata={"release": "r1"},
                            steps=[{"id": f"odd-{index}:1", "type": "tool", "status": "completed",
                                    "durationMs": 0, "payload": {"toolName": "lookup"}}])
        text = write_run(directory, record).read_text().replace('"durationMs": 0', f'"durationMs": {duration}')
        (directory / f"odd-{index}.json").write_text(text)
    load(directory)
    for store in (pg_store, FileRunStore(directory)):
        lookup = store.step_totals(RunQuery(release="r1"))["tools"]["lookup"]
        assert (lookup.calls, lookup.failed, lookup.p50_ms) == (6, 0, 9.0)


def test_step_totals_still_answer_when_a_stored_row_is_not_valid_jsonb(runs_dir_with_tool, load, pg_store, empty_db):
    load(runs_dir_with_tool)
    expected = pg_store.step_totals(RunQuery())
    # A row written by older code: a NUL escape, which jsonb refuses.
    with psycopg.connect(empty_db, autocommit=True) as db:
        db.execute("""UPDATE runs SET step_stats = '{"tools": {"x\\u0000": [1, 0, [5]]}}' WHERE id = 'tool-0'""")
    found = pg_store.step_totals(RunQuery())
    assert found["tools"]["x\x00"].calls == 1  # read from the rows instead of failing the page
    assert set(found["types"]) <= set(expected["types"])


@pytest.fixture
def runs_dir_with_tool(tmp_path: Path) -> Path:
    directory = tmp_path / "runs"
    directory.mkdir()
    for index in range(3):
        write_run(directory, run_record(f"tool-{index}", status="completed", metadata={"release": "r1"},
                                        steps=[{"id": f"t{index}", "type": "tool", "status": "completed",
                                                "durationMs": 5, "payload": {"toolName": "lookup"}}]))
    return directory


def test_clusters_and_their_timelines_match_the_reference(many_runs, load, pg_store):
    load(many_runs)
    reference = FileRunStore(many_runs)
    for scope in (RunQuery(), RunQuery(release="r-many"), RunQuery(created_after="2026-02-03T00:00:00.000Z",
                                                                  created_before="2026-02-09T12:00:00.000Z")):
        found, expected = cluster_report(pg_store, scope), cluster_report(reference, scope)
        assert len(expected.clusters) > 10 and sum(expected.clusters[0].timeline) > 0
        assert [asdict(cluster) for cluster in found.clusters] == [asdict(cluster) for cluster in expected.clusters]
        assert (found.runs, found.window) == (expected.runs, expected.window)
        for cluster in expected.clusters[:3]:
            left, right = cluster_detail(pg_store, cluster.id, scope), cluster_detail(reference, cluster.id, scope)
            assert (asdict(left.cluster), left.by_root, left.window) == (asdict(right.cluster), right.by_root, right.window)
