"""One hostile file never takes its store down: deep nesting and huge number literals.

The runtime (Node) reads and writes a run whose input nests 600 levels deep, or holds a
5,000-digit integer, without trouble. Here such a file is an error row with its reason,
its own pages answer 422 saying what is wrong, and every other page of the store is served.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tests.factories import run_record
from tests.web.runs_support import body, write_store


def nested(levels: int, leaf: object = "bottom") -> object:
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def deep_text(levels: int) -> str:
    return "[" * levels + "]" * levels


HOSTILE = {
    # name -> the raw file text of a run that Node reads without trouble
    "deep-input": json.dumps(run_record("deep-input", input=nested(600))),
    "deep-step-output": json.dumps(run_record(
        "deep-step-output", steps=[{"id": "s1", "type": "tool", "status": "completed", "output": nested(900)}])),
    "deep-array": json.dumps(run_record("deep-array", output="x"))[:-1] + ', "extra": ' + deep_text(700) + "}",
    "huge-int": json.dumps(run_record("huge-int"))[:-1] + ', "metrics": {"cost": ' + "9" * 5000 + "}}",
    "huge-int-deep": json.dumps(run_record("huge-int-deep", output={"n": [1, 2]})).replace("[1, 2]", "[" + "7" * 4301 + "]"),
}
HEALTHY = ["ok-1", "ok-2"]


@pytest.fixture(params=["indexed", "scanned"])
def hostile_store(request, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_FILE_INDEX = request.param == "indexed"
    records = [run_record(HEALTHY[0], status="failed", errors=[{"name": "ToolError", "message": "boom"}]),
               run_record(HEALTHY[1], parent=HEALTHY[0], root=HEALTHY[0])]
    url = write_store(tmp_path / "runs", records, {f"{name}.json": text.encode() for name, text in HOSTILE.items()})
    runs_settings.CONTROLPLANE_RUN_STORE = url
    return tmp_path / "runs"


STORE_PAGES = ["/", "/runs/", "/runs/?q=bottom", "/runs/?status=completed", "/incidents/", "/api/runs/",
               "/runs/export/bundle.json"]


@pytest.mark.parametrize("path", STORE_PAGES)
def test_every_page_of_the_store_is_served_with_the_hostile_files_as_error_rows(client, hostile_store, path):
    response = client.get(path)
    assert response.status_code == 200, path
    if path in ("/runs/", "/api/runs/"):
        text = body(response)
        for name in HOSTILE:
            assert (f"{name}.json" if name.startswith("deep") else f'"{name}"' if "api" in path else f"/{name}/") in text


def test_the_error_rows_say_what_is_wrong(client, hostile_store):
    errors = {row["source"]: row["error"] for row in json.loads(client.get("/api/runs/").content)["errors"]}
    assert "nested more than" in errors["deep-input.json"]
    assert "nested more than" in errors["deep-step-output.json"]
    assert "nested more than" in errors["deep-array.json"]
    assert set(errors) == {f"{name}.json" for name in HOSTILE if name.startswith("deep")}


@pytest.mark.parametrize("run_id", HEALTHY)
@pytest.mark.parametrize("suffix", ["", "tree/", "lineage/", "lineage.dot", "raw/", "export/trace.json"])
def test_other_runs_pages_are_served(client, hostile_store, run_id, suffix):
    assert client.get(f"/runs/{run_id}/{suffix}").status_code == 200
    assert client.get(f"/incidents/{HEALTHY[0]}/").status_code == 200
    assert client.get(f"/api/runs/{run_id}/").status_code == 200


@pytest.mark.parametrize("run_id", ["deep-input", "deep-step-output", "deep-array"])
@pytest.mark.parametrize("path", ["/runs/{}/", "/runs/{}/raw/", "/runs/{}/export/trace.json", "/incidents/{}/",
                                  "/api/runs/{}/trace/"])
def test_a_too_deep_run_answers_422_with_the_reason(client, hostile_store, run_id, path):
    response = client.get(path.format(run_id))
    assert response.status_code == 422
    assert "nested more than" in body(response)


def test_a_run_with_a_huge_integer_is_shown_as_the_runtime_reads_it(client, hostile_store):
    # JSON.parse reads a number literal past the double range as Infinity; JSON.stringify prints it null.
    response = client.get("/api/runs/huge-int/")
    assert response.status_code == 200
    assert client.get("/runs/huge-int/").status_code == 200
    assert client.get("/runs/huge-int-deep/raw/").status_code == 200
    trace = json.loads(client.get("/api/runs/huge-int/trace/").content)
    assert trace["run"]["metrics"]["cost"] is None


def test_index_runs_and_inspect_survive_the_hostile_files(hostile_store, runs_settings, capsys):
    runs_settings.CONTROLPLANE_FILE_INDEX = True
    call_command("index_runs", "--store", hostile_store.as_uri(), "--workers", "1")
    assert f"index holds {len(HEALTHY) + 2} runs and 3 unreadable files" in capsys.readouterr().out
    call_command("inspect", "--store", hostile_store.as_uri(), "tree")
    assert HEALTHY[0] in capsys.readouterr().out
