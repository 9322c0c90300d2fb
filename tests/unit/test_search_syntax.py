"""The run search's syntax: what each query means, on rows a user would recognise."""

from __future__ import annotations

import pytest

from runtime_adapter.queries.listing import run_row
from runtime_adapter.queries.search_syntax import Clause, parse, text_matches
from runtime_adapter.records import normalize_run
from runtime_adapter.rows import RunRow
from tests.factories import run_record


def row(run_id: str = "5034dc9b-ef7d-4c02-be78-51bd354d3674", *, input_text: str = "", output_text: str = "",
        error_text: str = "", release: str | None = None, tools: tuple[str, ...] = ()) -> RunRow:
    record = run_record(run_id, input=input_text, output=output_text,
                        errors=[{"name": "Error", "message": error_text}] if error_text else [],
                        metadata={"release": release} if release else {},
                        steps=[{"id": f"{run_id}:step:{index}", "type": "tool", "status": "completed",
                                "payload": {"toolName": tool}} for index, tool in enumerate(tools)])
    return run_row(normalize_run(record), f"{run_id}.json")


@pytest.mark.parametrize(("text", "clauses"), [
    ("refund 429", [Clause(None, "refund"), Clause(None, "429")]),
    ('"rate limit" order', [Clause(None, "rate limit"), Clause(None, "order")]),
    ("error:timeout -input:test", [Clause("error", "timeout"), Clause("input", "test", negated=True)]),
    ('-"dry run"', [Clause(None, "dry run", negated=True)]),
    ("INPUT:Refund", [Clause("input", "Refund")]),
    ('output:"all done"', [Clause("output", "all done")]),
    ("password:hunter2 http://x", [Clause(None, "password:hunter2"), Clause(None, "http://x")]),
    ("error: -", [Clause(None, "error:"), Clause(None, "-")]),
    ('""', []),
])
def test_queries_parse_into_clauses(text, clauses):
    assert parse(text) == clauses


def test_every_word_must_be_found_somewhere():
    refund = row(input_text="Refund order A-1", error_text="Provider returned 429")
    assert text_matches(refund, "refund 429")
    assert not text_matches(refund, "refund 504")


def test_a_phrase_is_matched_as_written_not_word_by_word():
    assert text_matches(row(input_text="please rate limit the tool"), '"rate limit"')
    assert not text_matches(row(input_text="limit the rate"), '"rate limit"')


def test_a_field_looks_only_in_that_field():
    failed = row(input_text="check the timeout settings", error_text="Upstream timeout after 30s")
    assert text_matches(failed, "error:timeout") and text_matches(failed, "input:TIMEOUT")
    assert not text_matches(failed, "output:timeout")
    assert not text_matches(row(input_text="timeout"), "error:timeout")


def test_release_tool_and_id_fields():
    run = row(release="2026.11.3", tools=("issue_refund", "lookup"))
    assert text_matches(run, "release:2026.11") and not text_matches(run, "release:2026.10")
    assert text_matches(run, "tool:issue_refund") and not text_matches(run, "tool:refund")
    assert text_matches(run, "id:ef7d") and not text_matches(run, "id:ffff")


def test_a_minus_leaves_out_what_matches():
    slow = row(error_text="Upstream timeout")
    assert not text_matches(slow, "-error:timeout")
    assert text_matches(row(error_text="Provider returned 503"), "-error:timeout")
    assert not text_matches(row(input_text="a dry run of it"), '-"dry run"')


def test_a_bare_number_matches_an_id_only_at_its_start():
    run = row("5034dc9b-ef7d-4c02-be78-51bd354d3674", input_text="Refund order A-1")
    assert not text_matches(run, "02")  # a fragment in the middle of the id ("4c02")
    assert not text_matches(run, "3674")  # its end
    assert text_matches(run, "5034")  # its start
    assert text_matches(row("abc", input_text="order 3674"), "3674")  # a number in the input
    assert text_matches(run, "ef7d")  # not a number: anywhere, as before
    assert text_matches(run, "id:3674")  # asked for in the id: anywhere in it
