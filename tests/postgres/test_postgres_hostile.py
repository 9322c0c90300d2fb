"""A hostile run file loaded into PostgreSQL is an error row there too, and never breaks the load."""

from __future__ import annotations

import json

import psycopg
import pytest

from runtime_adapter.records import CorruptRun
from runtime_adapter.rows import RunQuery
from tests.factories import run_record
from tests.web.test_hostile_store import HOSTILE, nested

pytestmark = pytest.mark.postgres


def test_load_runs_keeps_hostile_files_as_error_rows_and_serves_the_rest(tmp_path, load, pg_store):
    (tmp_path / "fine.json").write_text(json.dumps(run_record("fine")))
    for name, text in HOSTILE.items():
        (tmp_path / f"{name}.json").write_text(text)
    result = load(tmp_path)
    assert result is not None
    page = pg_store.query_runs(RunQuery(limit=50))
    assert {row.id for row in page.rows} == {"fine", "huge-int", "huge-int-deep"}
    errors = {entry.source: entry.error for entry in pg_store.iter_entries() if entry.run is None}
    assert set(errors) == {"deep-input.json", "deep-step-output.json", "deep-array.json"}
    assert all("nested more than" in reason for reason in errors.values())


def test_a_too_deep_document_already_in_the_table_is_a_corrupt_run(tmp_path, load, pg_store, empty_db):
    (tmp_path / "fine.json").write_text(json.dumps(run_record("fine")))
    load(tmp_path)
    with psycopg.connect(empty_db, autocommit=True) as connection:
        connection.execute("UPDATE runs SET document = %s WHERE id = 'fine'",
                           (json.dumps(run_record("fine", input=nested(700))),))
    with pytest.raises(CorruptRun, match="nested more than"):
        pg_store.get_run("fine")
