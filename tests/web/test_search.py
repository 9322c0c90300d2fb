"""Searching runs as an operator types it: fields, phrases, negation, numbers, exact inputs, id prefixes."""

from __future__ import annotations

import pytest

from tests.factories import run_record
from tests.html import page_text
from tests.web.runs_support import json_body, write_store

IDS = {
    "a1b2c3d4-0000-4000-8000-000000000001": dict(input="Refund order A-1234", error="Provider returned 429",
                                                 created="2026-11-20T10:00:00.000Z", status="failed"),
    "a1b2ffff-0000-4000-8000-000000001234": dict(input="refund", output="done", created="2026-11-19T10:00:00.000Z"),
    "c9d8e7f6-0000-4000-8000-000000000003": dict(input="Weather in Osaka", error="Upstream timeout after 30s",
                                                 created="2026-11-21T10:00:00.000Z", status="failed"),
    "d4c3b2a1-0000-4000-8000-000000000004": dict(input="Draft a dry run of the refund", output="ok",
                                                 created="2026-11-22T10:00:00.000Z"),
    "e5e5e5e5-0000-4000-8000-000000000005": dict(input="Feed the report to d4c3b2a1's owner",
                                                 created="2026-11-18T10:00:00.000Z"),
}


@pytest.fixture
def store(runs_settings, tmp_path):
    records = []
    for run_id, fields in IDS.items():
        fields = dict(fields)
        error = fields.pop("error", None)
        records.append(run_record(run_id, errors=[{"name": "Error", "message": error}] if error else [], **fields))
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)


def found(client, q: str) -> list[str]:
    return [run["id"] for run in json_body(client.get("/api/runs/", {"q": q}))["runs"]]


def test_the_list_page_documents_the_syntax(client, store):
    text = page_text(client.get("/runs/").content)
    assert "Search syntax" in text
    for part in ('"rate limit"', "input:", "error:", "release:", "tool:issue_refund", "-error:timeout"):
        assert part in text


def test_a_field_a_phrase_and_a_minus(client, store):
    assert set(found(client, "error:timeout")) == {"c9d8e7f6-0000-4000-8000-000000000003"}
    assert set(found(client, "input:refund")) == {"a1b2c3d4-0000-4000-8000-000000000001",
                                                  "a1b2ffff-0000-4000-8000-000000001234",
                                                  "d4c3b2a1-0000-4000-8000-000000000004"}
    assert found(client, '"dry run"') == ["d4c3b2a1-0000-4000-8000-000000000004"]
    assert set(found(client, 'refund -"dry run" -error:429')) == {"a1b2ffff-0000-4000-8000-000000001234"}


def test_a_bare_number_does_not_match_fragments_of_run_ids(client, store):
    # Every id holds "0000"; only the input "Refund order A-1234" and the id ending 1234's start do not count.
    assert found(client, "0000") == []
    assert found(client, "1234") == ["a1b2c3d4-0000-4000-8000-000000000001"]  # in its input, not in an id's end
    assert found(client, "id:1234") == ["a1b2ffff-0000-4000-8000-000000001234"]


def test_a_run_whose_input_is_the_search_comes_first(client, store):
    assert found(client, "refund")[0] == "a1b2ffff-0000-4000-8000-000000001234"  # the oldest, yet first


def test_the_start_of_one_runs_id_submitted_opens_it(client, store):
    response = client.get("/runs/", {"q": "c9d8e7f6"})
    assert response.status_code == 302 and response["Location"] == "/runs/c9d8e7f6-0000-4000-8000-000000000003/"
    # Typed (htmx, no submit): the list follows; submitted through htmx: the browser is sent to the run.
    typing = client.get("/runs/", {"q": "c9d8e7f6"}, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="id_q")
    assert typing.status_code == 200 and "c9d8e7f6" in typing.content.decode()
    submitted = client.get("/runs/", {"q": "c9d8e7f6"}, HTTP_HX_REQUEST="true", HTTP_X_SEARCH_SUBMIT="1")
    assert submitted["HX-Redirect"] == "/runs/c9d8e7f6-0000-4000-8000-000000000003/"


def test_a_word_that_starts_one_id_but_is_found_elsewhere_too_lists(client, store):
    response = client.get("/runs/", {"q": "d4c3b2a1"})  # one id starts so, and another run's input says it
    assert response.status_code == 200
    assert "e5e5e5e5" in response.content.decode() and "d4c3b2a1" in response.content.decode()


def test_a_prefix_shared_by_two_runs_or_too_short_lists_instead(client, store):
    assert client.get("/runs/", {"q": "a1b2"}).status_code == 200  # two runs start so
    assert client.get("/runs/", {"q": "c9d"}).status_code == 200  # under 4 characters


def test_a_run_url_with_the_start_of_an_id_opens_the_run(client, store):
    response = client.get("/runs/d4c3b2a1/?tab=events")
    assert response.status_code == 302
    assert response["Location"] == "/runs/d4c3b2a1-0000-4000-8000-000000000004/?tab=events"
    assert client.get("/runs/a1b2/").status_code == 404  # ambiguous: a helpful 404, not a guess


def test_compare_takes_the_start_of_each_id(client, store):
    response = client.get("/compare/", {"left": "c9d8e7f6", "right": "d4c3b2a1"})
    assert response.status_code == 302
    assert "left=c9d8e7f6-0000-4000-8000-000000000003" in response["Location"]
    assert "right=d4c3b2a1-0000-4000-8000-000000000004" in response["Location"]
    assert client.get(response["Location"]).status_code == 200


@pytest.fixture
def many_refunds(runs_settings, tmp_path, monkeypatch):
    """12 runs that mention a refund and 3 that mention a parcel; searches count up to 5 and pages hold 4."""
    monkeypatch.setattr("runtime_adapter.rows.SEARCH_COUNT_CAP", 5)
    runs_settings.CONTROLPLANE_PAGE_SIZE = 4
    records = [run_record(f"refund-{index:02d}", input=f"Refund order {index}",
                          created=f"2026-11-{10 + index:02d}T10:00:00.000Z") for index in range(12)]
    records += [run_record(f"parcel-{index}", input=f"Track parcel {index}", created=f"2026-11-0{1 + index}T10:00:00.000Z")
                for index in range(3)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)


def test_a_search_matching_more_than_it_counts_says_more_than_and_still_pages_to_its_last_match(client, many_refunds):
    text = page_text(client.get("/runs/", {"q": "refund"}).content)
    assert "More than 5 runs match these filters" in text and "Page 1" in text and "Page 1 of" not in text
    body = json_body(client.get("/api/runs/", {"q": "refund"}))
    assert (body["total"], body["totalExact"]) == (5, False)
    seen = [run["id"] for run in body["runs"]]
    while body["nextCursor"]:
        body = json_body(client.get("/api/runs/", {"q": "refund", "cursor": body["nextCursor"]}))
        seen += [run["id"] for run in body["runs"]]
    assert seen == [f"refund-{index:02d}" for index in reversed(range(12))]  # newest first, each once
    last = page_text(client.get("/runs/", {"q": "refund", "page": 3}).content)
    assert "refund-00" in last and "Next →" in last and 'rel="next"' not in client.get(
        "/runs/", {"q": "refund", "page": 3}).content.decode()
    past = page_text(client.get("/runs/", {"q": "refund", "page": 9}).content)
    assert "Page 9 is past the last match" in past


def test_a_search_within_the_count_says_exactly_how_many(client, many_refunds):
    body = json_body(client.get("/api/runs/", {"q": "parcel"}))
    assert (body["total"], body["totalExact"], body["nextCursor"]) == (3, True, None)
    text = page_text(client.get("/runs/", {"q": "parcel"}).content)
    assert "3 runs match these filters" in text and "More than" not in text
