"""The demo's memory layers: the runtime's exact FileLayerStore format, deterministic, never overwriting, and
holding what the page has to show (expired records, a raw value, a secret, links to real demo runs)."""

from __future__ import annotations

import json

import pytest

from runtime_adapter.durable.memory import MemoryQuery, is_record, memory_pages
from runtime_adapter.js import jsjson
from tests.conftest import PINNED_NOW
from write_side.demo_state.memory import LAYERS, write_demo_memory
from write_side.synthetic import write_store


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("memory-demo") / "runs"
    write_store(directory, 120, seed=7, now=PINNED_NOW, workers=1)
    return directory


def written(tmp_path, runs_dir, seed=7):
    target = tmp_path / "demo-memory"
    summary = write_demo_memory(target, runs_dir, seed=seed)
    return target, summary


def test_each_layer_is_json_stringify_with_two_spaces_and_no_trailing_newline(tmp_path, runs_dir):
    target, summary = written(tmp_path, runs_dir)
    assert sorted(summary["entries"]) == sorted(LAYERS)
    for name in LAYERS:
        text = (target / f"{name}.json").read_text(encoding="utf-8")
        assert text == jsjson.dumps(jsjson.loads(text), 2)
        assert not text.endswith("\n")


def test_records_have_memorys_fields_in_its_order_with_lowercased_keys(tmp_path, runs_dir):
    target, _ = written(tmp_path, runs_dir)
    for name in LAYERS:
        layer = json.loads((target / f"{name}.json").read_text())
        for key, stored in layer.items():
            if not is_record(stored):
                continue
            assert key == key.lower()
            assert list(stored) == ["value", "createdAt", "updatedAt", "expiresAt", "metadata"]
            assert stored["createdAt"] == stored["updatedAt"] and isinstance(stored["createdAt"], int)
            assert stored["expiresAt"] is None or stored["expiresAt"] > stored["createdAt"]


def test_the_same_runs_and_seed_give_the_same_bytes(tmp_path, runs_dir):
    first, _ = written(tmp_path / "a", runs_dir)
    second, _ = written(tmp_path / "b", runs_dir)
    other, _ = written(tmp_path / "c", runs_dir, seed=8)
    for name in LAYERS:
        assert (first / f"{name}.json").read_bytes() == (second / f"{name}.json").read_bytes()
    assert any((first / f"{name}.json").read_bytes() != (other / f"{name}.json").read_bytes() for name in LAYERS)


def test_only_missing_layers_are_written_and_nothing_is_overwritten(tmp_path, runs_dir):
    target = tmp_path / "demo-memory"
    target.mkdir()
    (target / "profile.json").write_text("{}", encoding="utf-8")
    summary = write_demo_memory(target, runs_dir)
    assert sorted(summary["entries"]) == ["policy", "working"]
    assert (target / "profile.json").read_text() == "{}"
    assert write_demo_memory(target, runs_dir) == {}


def test_the_demo_shows_expired_live_raw_and_secret_entries_as_of_its_newest_run(tmp_path, runs_dir):
    target, _ = written(tmp_path, runs_dir)
    layers = {name: target / f"{name}.json" for name in LAYERS}
    pages = {page.layer.name: page for page in memory_pages(layers, MemoryQuery(limit=500), now=PINNED_NOW)}
    entries = [entry for page in pages.values() for entry in page.entries]
    assert all(page.layer.error is None for page in pages.values())
    assert sum(entry.expired for entry in entries) >= 3
    assert sum(1 for entry in entries if not entry.expired and entry.expires_at) >= 2
    assert [entry.key for entry in entries if not entry.record] == ["MigrationNote"]
    text = json.dumps([entry.as_api() for entry in entries])
    assert "sk-live-" not in text and "[REDACTED]" in text
    raw_text = (target / "profile.json").read_text()
    assert "sk-live-" in raw_text


def test_entries_name_runs_that_exist_in_the_demo_store(tmp_path, runs_dir):
    target, _ = written(tmp_path, runs_dir)
    run_ids = {json.loads(path.read_text())["id"] for path in runs_dir.glob("*.json")}
    named = [stored["metadata"]["runId"] for name in LAYERS
             for stored in json.loads((target / f"{name}.json").read_text()).values()
             if is_record(stored) and "runId" in stored["metadata"]]
    assert len(named) >= 6
    assert set(named) <= run_ids


def test_customers_in_the_profile_are_ones_the_runs_they_link_talk_about(tmp_path, runs_dir):
    target, _ = written(tmp_path, runs_dir)
    profile = json.loads((target / "profile.json").read_text())
    runs = {json.loads(path.read_text())["id"]: json.loads(path.read_text())["input"] for path in runs_dir.glob("*.json")}
    for key, stored in profile.items():
        if key.count(":") == 1:
            assert stored["value"]["name"] in runs[stored["metadata"]["runId"]]


def test_a_directory_without_runs_still_gets_a_demo(tmp_path):
    empty = tmp_path / "runs"
    empty.mkdir()
    target, summary = written(tmp_path, empty)
    assert sorted(summary["entries"]) == sorted(LAYERS)
    assert "runId" not in (target / "working.json").read_text()
