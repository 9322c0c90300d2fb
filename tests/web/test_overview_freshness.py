"""The overview says when the newest run arrived, and a store older than a window says so instead of an empty chart."""

from __future__ import annotations

from datetime import timedelta

from runtime_adapter.js.dates import iso_ms
from tests.conftest import PINNED_NOW
from tests.factories import run_record
from tests.html import page_text
from tests.web.runs_support import write_store


def _store(runs_settings, tmp_path, *ages: timedelta) -> None:
    records = [run_record(f"run-{index}", created=iso_ms(PINNED_NOW - age)) for index, age in enumerate(ages)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)


def test_the_overview_says_when_the_newest_run_arrived(client, runs_settings, tmp_path):
    _store(runs_settings, tmp_path, timedelta(hours=3), timedelta(days=2))
    text = page_text(client.get("/").content)
    assert "Newest run arrived 3 h ago" in text
    assert "before this window" not in text


def test_a_store_older_than_the_windows_says_so_instead_of_empty_charts(client, runs_settings, tmp_path):
    _store(runs_settings, tmp_path, timedelta(days=60), timedelta(days=61))
    text = page_text(client.get("/").content)
    newest = (PINNED_NOW - timedelta(days=60)).strftime("%Y-%m-%d %H:%M:%S")
    assert text.count(f"This store's newest run is from {newest} UTC") == 2  # the last day and the last week
    assert "there is nothing to chart" in text


def test_an_empty_store_says_it_has_no_run_yet(client, runs_settings, tmp_path):
    (tmp_path / "runs").mkdir()
    runs_settings.CONTROLPLANE_RUN_STORE = (tmp_path / "runs").as_uri()
    text = page_text(client.get("/").content)
    assert "This store has no run with a creation time yet." in text
