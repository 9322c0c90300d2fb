"""`run_marker`: the version of one run, for caches of payloads made from given runs only."""

from __future__ import annotations

import os

from runtime_adapter.js import jsjson
from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.memory import InMemoryRunStore
from runtime_adapter.stores.redacting import RedactingStore
from tests.factories import run_record


def write(directory, run_id: str, text: str = "task") -> None:
    (directory / f"{run_id}.json").write_text(jsjson.dumps(run_record(run_id, input=text), 2), encoding="utf-8")


def test_a_file_runs_marker_is_stable_while_the_file_is_unchanged(tmp_path):
    write(tmp_path, "a")
    store = FileRunStore(tmp_path)
    assert store.run_marker("a") == store.run_marker("a")


def test_writing_another_run_keeps_a_file_runs_marker(tmp_path):
    write(tmp_path, "a")
    store = FileRunStore(tmp_path)
    before = store.run_marker("a")
    write(tmp_path, "b")
    assert store.run_marker("a") == before
    assert store.change_marker() != "" and store.run_marker("b") != before


def test_rewriting_a_file_in_place_changes_its_marker(tmp_path):
    write(tmp_path, "a", "short")
    store = FileRunStore(tmp_path)
    before = store.run_marker("a")
    write(tmp_path, "a", "a longer input")
    assert store.run_marker("a") != before


def test_replacing_a_file_by_rename_changes_its_marker_even_at_the_same_size_and_mtime(tmp_path):
    write(tmp_path, "a", "one")
    store = FileRunStore(tmp_path)
    stat = os.stat(tmp_path / "a.json")
    before = store.run_marker("a")
    temporary = tmp_path / "a.json.tmp"  # a different inode, made before the rename
    temporary.write_text(jsjson.dumps(run_record("a", input="two"), 2), encoding="utf-8")
    os.replace(temporary, tmp_path / "a.json")
    os.utime(tmp_path / "a.json", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(tmp_path / "a.json").st_size == stat.st_size
    assert store.run_marker("a") != before


def test_a_missing_run_has_no_marker(tmp_path):
    assert FileRunStore(tmp_path).run_marker("nowhere") is None


def test_stores_without_their_own_marker_fall_back_to_the_store_marker():
    store = InMemoryRunStore([run_record("a")])
    assert store.run_marker("a") == store.change_marker()


def test_redacted_and_plain_views_of_a_run_never_share_a_marker(tmp_path):
    write(tmp_path, "a")
    inner = FileRunStore(tmp_path)
    redacted, plain = RedactingStore(inner, secrets=True), RedactingStore(inner, secrets=False)
    assert redacted.run_marker("a") != plain.run_marker("a")
    assert redacted.run_marker("missing") is None
