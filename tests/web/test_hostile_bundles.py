"""Uploaded bundles and run files whose content is hostile: error rows and 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from runtime_adapter.inspectors import export_bundle
from runtime_adapter.records import normalize_run
from tests.factories import run_record
from tests.web.runs_support import body, write_store
from tests.web.test_hostile_store import nested


@pytest.fixture
def data_dir(runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [run_record("home")])
    return runs_settings.DATA_DIR


def bundle_of(*records: dict, **fields) -> bytes:
    bundle = export_bundle([normalize_run(record) for record in records], {"exportedFor": "test"})
    bundle.update(fields)
    return json.dumps(bundle).encode()


def open_upload(client, content: bytes) -> str:
    response = client.post("/bundles/open/", {"bundle": SimpleUploadedFile("b.json", content, "application/json")})
    assert response.status_code == 302, body(response)
    return response["Location"].removesuffix("runs/")


UPLOAD_PAGES = ["", "runs/", "runs/?q=x", "incidents/", "api/runs/", "runs/export/bundle.json"]


def test_a_bundle_with_a_too_deep_run_opens_with_that_run_as_an_error_row(client, data_dir):
    prefix = open_upload(client, bundle_of(run_record("fine"), run_record("deep", input=nested(600))))
    for page in UPLOAD_PAGES:
        assert client.get(prefix + page).status_code == 200, page
    listing = body(client.get(prefix + "runs/"))
    assert "nested more than" in listing and f'href="{prefix}runs/fine/"' in listing
    assert client.get(prefix + "runs/fine/").status_code == 200


@pytest.mark.parametrize("bad_id", ["a/b", "../x", "a\\b", ".", "x\x00y"])
def test_bundle_runs_whose_id_is_not_a_plain_name_are_error_rows(client, data_dir, bad_id):
    prefix = open_upload(client, bundle_of(run_record("fine"), run_record(bad_id)))
    for page in UPLOAD_PAGES:
        assert client.get(prefix + page).status_code == 200, page
    errors = json.loads(client.get(prefix + "api/runs/").content)["errors"]
    assert [error["source"] for error in errors] == ["traces[1]"]
    assert "plain file name" in errors[0]["error"]


def test_a_lone_surrogate_in_exported_at_is_shown_escaped(client, data_dir):
    content = bundle_of(run_record("fine"), run_record("fine-2")).replace(
        b'"exportedAt": "', b'"exportedAt": "\\ud800 ')
    prefix = open_upload(client, content)
    for page in UPLOAD_PAGES:
        assert client.get(prefix + page).status_code == 200, page
    assert client.get(prefix + "runs/missing/").status_code == 404


def test_a_file_named_with_a_backslash_is_an_error_row_and_its_family_still_exports(client, runs_settings, tmp_path):
    records = [run_record("root", children=["child"]), run_record("child", parent="root", root="root")]
    stray = run_record("odd\\name", parent="root", root="root")
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "store", records)
    (tmp_path / "store" / "odd\\name.json").write_text(json.dumps(stray))
    cache.clear()
    errors = json.loads(client.get("/api/runs/").content)["errors"]
    assert [(error["source"], "plain file name" in error["error"]) for error in errors] == [("odd\\name.json", True)]
    exported = client.get("/runs/export/bundle.json?q=")
    assert exported.status_code == 200
    assert client.get("/api/bundle/?root=root").status_code == 200
    ids = {trace["run"]["id"] for trace in json.loads(client.get("/api/bundle/?root=root").content)["traces"]}
    assert ids == {"root", "child"}
