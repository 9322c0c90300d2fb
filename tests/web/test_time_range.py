"""Preset time ranges (?since=15m|1h|24h|7d|30d), counted back from the control plane's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime_adapter.js.dates import iso_ms
from tests.conftest import PINNED_NOW
from tests.factories import run_record
from tests.web.runs_support import body, json_body, write_store

AGES = {"minutes-ago": timedelta(minutes=5), "hours-ago": timedelta(hours=3), "days-ago": timedelta(days=3),
        "weeks-ago": timedelta(days=20), "months-ago": timedelta(days=90)}


@pytest.fixture
def aged(runs_settings, tmp_path):
    records = [run_record(run_id, created=iso_ms(PINNED_NOW - age), status="failed") for run_id, age in AGES.items()]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    return records


@pytest.mark.parametrize(("since", "shown"), [
    ("15m", {"minutes-ago"}), ("1h", {"minutes-ago"}), ("24h", {"minutes-ago", "hours-ago"}),
    ("7d", {"minutes-ago", "hours-ago", "days-ago"}), ("30d", {"minutes-ago", "hours-ago", "days-ago", "weeks-ago"}),
])
def test_a_preset_range_lists_the_runs_created_in_it(client, aged, since, shown):
    found = {run["id"] for run in json_body(client.get(f"/api/runs/?since={since}"))["runs"]}
    assert found == shown
    page = body(client.get(f"/runs/?since={since}"))
    assert all(run_id in page for run_id in shown) and not any(run_id in page for run_id in set(AGES) - shown)


def test_the_form_shows_the_range_it_applied(client, aged):
    page = body(client.get("/runs/?since=7d"))
    assert '<option value="7d" selected>last 7 days</option>' in page


@pytest.mark.parametrize("url", ["/runs/?since=5y", "/api/runs/?since=yesterday",
                                 "/runs/?since=24h&created_after=2026-11-01T00:00"])
def test_an_unknown_range_or_one_with_dates_is_a_400_that_says_why(client, aged, url):
    response = client.get(url)
    assert response.status_code == 400
    text = body(response)
    assert "since" in text.lower() or "time range" in text.lower()


def test_release_pages_carry_the_range(client, runs_settings, tmp_path):
    records = [run_record(f"r{index}", created=iso_ms(PINNED_NOW - timedelta(days=index * 10)),
                          metadata={"release": "v1" if index % 2 else "v2"}) for index in range(4)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    recent = json_body(client.get("/api/releases/?since=7d"))
    assert {row["release"]: row["runs"] for row in recent["releases"]} == {"v2": 1}
