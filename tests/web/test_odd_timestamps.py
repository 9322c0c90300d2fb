"""Timestamps JS's Date reads but UTC cannot hold (year 9999 west of Greenwich, year 1 east of it) are not times:
every page over runs that carry them still answers, and the run is listed without a time."""

from __future__ import annotations

import pytest

from tests.factories import run_record
from tests.web.runs_support import write_store

ODD = ["9999-12-31T23:00:00-05:00", "0001-01-01T05:00:00+14:00"]
PAGES = ["/", "/runs/", "/runs/?sort=created", "/incidents/", "/incidents/clusters/", "/api/clusters/", "/releases/",
         "/api/releases/", "/releases/compare/?base=r1&head=r2", "/api/releases/compare/?base=r1&head=r2",
         "/releases/compare/summary.md?base=r1&head=r2", "/api/runs/"]


@pytest.fixture
def odd_store(runs_settings, tmp_path):
    records = [run_record("fine", status="failed", created="2026-01-01T00:00:00.000Z", metadata={"release": "r1"},
                          errors=[{"name": "Error", "message": "boom 1"}])]
    for index, created in enumerate(ODD):
        record = run_record(f"odd-{index}", status="failed", metadata={"release": "r2"},
                            errors=[{"name": "Error", "message": f"boom {index + 2}"}])
        record["timestamps"] = {"createdAt": created, "updatedAt": created, "failedAt": created}
        records.append(record)
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    return records


@pytest.mark.parametrize("path", PAGES)
def test_pages_over_runs_with_timestamps_utc_cannot_hold_answer(client, odd_store, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])


def test_such_runs_are_still_listed_and_clustered(client, odd_store):
    listed = client.get("/api/runs/?limit=10").json()["runs"]
    assert {run["id"] for run in listed} >= {"odd-0", "odd-1"}
    clusters = client.get("/api/clusters/").json()["clusters"]
    assert [cluster["count"] for cluster in clusters] == [3]  # "boom <n>", whatever the time
    for run_id in ("odd-0", "odd-1"):
        assert client.get(f"/runs/{run_id}/").status_code == 200
        assert client.get(f"/incidents/{run_id}/").status_code == 200
