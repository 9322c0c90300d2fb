"""A comparison from the digests an index keeps (queries.run_digest) shows exactly what one from the runs shows."""

from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Any

import pytest

from runtime_adapter.inspectors import diff_traces
from runtime_adapter.inspectors.diff import diff_facts
from runtime_adapter.js.jsjson import loads
from runtime_adapter.present.alignment import compare_payload, compare_runs, compare_steps, divergences
from runtime_adapter.queries.run_digest import (
    DIGEST_MIN_STEPS,
    ParsedItems,
    compared_from_digest,
    compared_run,
    comparison_digest,
    element_spans,
    made_from,
)
from runtime_adapter.records import RunNotFound, normalize_run
from runtime_adapter.stores.file import FileRunStore
from tests.conformance import CONFORMANCE_DIR, require_corpus, scenarios
from tests.factories import run_record


def _digested(text: str) -> Any:
    run = normalize_run(loads(text))
    digest = comparison_digest(text, run, version=b"v", min_steps=0)
    assert digest is not None, "a run whose steps lie in its text gets a digest"
    side = compared_from_digest(text, digest)
    assert side is not None
    return run, side


def _same_comparison(left_text: str, right_text: str, starts: tuple[int, ...] = (0, 3)) -> None:
    left_run, left = _digested(left_text)
    right_run, right = _digested(right_text)
    full_left, full_right = compared_run(left_run), compared_run(right_run)
    diff = diff_traces(left_run, right_run)
    assert diff_facts(left.facts, right.facts) == diff
    assert (left.header, right.header) == (full_left.header, full_right.header)
    assert divergences(left, right, diff) == divergences(full_left, full_right, diff)
    for start in starts:
        assert compare_steps(left.steps, right.steps, start=start, signatures=(left.signatures, right.signatures)) \
            == compare_steps(left_run["steps"], right_run["steps"], start=start)


@pytest.mark.parametrize("scenario", scenarios())
def test_digests_compare_every_pair_of_the_conformance_runs_as_the_runs_do(scenario):
    require_corpus()
    texts = [path.read_text(encoding="utf-8") for path in sorted((CONFORMANCE_DIR / "stores" / scenario).glob("*.json"))]
    readable = []
    for text in texts:
        try:
            record = loads(text)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            readable.append(text)
    assert readable
    for left in readable:
        for right in readable:
            _same_comparison(left, right)


def _text(record: dict[str, Any], indent: int | None = None) -> str:
    return json.dumps(record, indent=indent, ensure_ascii=False)


ODD_STEPS: list[Any] = [
    None, 3, "text", [1, 2], {"type": "tool", "status": "completed", "output": 1.0},
    {"type": "tool", "status": "completed", "output": 1}, {"2": "b", "1": "a", "type": "model"},
    {"type": "tool", "payload": {"toolName": "search"}, "output": {"rows": [1, 2]}, "durationMs": 12},
    {"type": "model", "output": {"usage": {"total": 7}, "cost": 0.1}, "error": {"message": "‮evil"}},
    {"type": "tool", "toolName": "x\ud800y", "output": "\u202egnirts"},
]


def test_odd_steps_events_and_tool_calls_compare_alike():
    left = run_record("l", steps=ODD_STEPS, events=[{"type": "a"}, {}, 7, {"type": {"o": 1}}, {"type": None}],
                      toolCalls=[{"name": "search", "arguments": {"q": 1}}, None, {"toolName": "x"}],
                      output={"a": [1.0]}, status={"odd": True})
    right = run_record("r", steps=list(reversed(ODD_STEPS)) + [{"type": "extra"}],
                       events=[{"type": "a"}, {"type": "b"}, {}],
                       toolCalls=[{"name": "search", "arguments": {"q": 2}}], output={"a": [1]}, status={"odd": True})
    for left_text, right_text in ((_text(left), _text(right)), (_text(left, 2), _text(right, 2)),
                                  (_text(right), _text(left)), (_text(left), _text(left, 1))):
        _same_comparison(left_text, right_text, starts=(0, 1, 5, 40))


def test_a_key_written_twice_is_read_as_json_parse_reads_it():
    text = '{"id": "dup", "steps": [{"type": "old"}], "status": "completed", "steps" : [ {"type": "a"} , 2 ] }'
    spans = element_spans(text, ("steps",))
    assert spans is not None and [text[start:end] for start, end, _ in spans["steps"]] == ['{"type": "a"}', "2"]
    _same_comparison(text, text.replace('"a"', '"b"'))


@pytest.mark.parametrize("text", [
    '{"id": "x", "steps": {"0": {"type": "a"}}}',  # not an array: normalised otherwise
    '{"id": "x", "toolCalls": "abc"}',
    '[{"id": "x"}]',
])
def test_no_digest_where_the_elements_are_not_those_of_an_array(text):
    assert comparison_digest(text, normalize_run(loads(text)), version=b"v", min_steps=0) is None


def test_runs_of_few_steps_get_no_digest():
    few = run_record("few", steps=[{"type": "tool"}] * (DIGEST_MIN_STEPS - 1))
    assert comparison_digest(_text(few), few, version=b"v") is None
    many = run_record("many", steps=[{"type": "tool"}] * DIGEST_MIN_STEPS)
    assert comparison_digest(_text(many), many, version=b"v") is not None


def test_a_digest_is_only_read_with_the_text_it_was_made_from():
    text = _text(run_record("a", steps=[{"type": "a", "output": "x"}]))
    digest = comparison_digest(text, normalize_run(loads(text)), version=b"v", min_steps=0)
    assert digest is not None and compared_from_digest(text, digest) is not None
    assert compared_from_digest(text + " ", digest) is None
    assert compared_from_digest(text, digest[:-1]) is None
    assert compared_from_digest(text, b"cmp0" + digest[4:]) is None
    assert made_from(digest, b"v") and not made_from(digest, b"w") and not made_from(b"cmp0" + digest[4:], b"v")


def test_a_page_parses_only_the_steps_it_shows():
    steps = [{"id": f"s{index}", "type": "tool", "status": "completed", "output": f"out {index}"} for index in range(3000)]
    changed = [dict(step) for step in steps]
    changed[1500] = {**changed[1500], "output": "different"}
    left_text, right_text = _text(run_record("l", steps=steps)), _text(run_record("r", steps=changed))
    (_, left), (_, right) = _digested(left_text), _digested(right_text)
    page = compare_steps(left.steps, right.steps, signatures=(left.signatures, right.signatures))
    assert page.counts == {"same": 2999, "changed": 1, "added": 0, "removed": 0}
    assert isinstance(left.steps, ParsedItems)
    parsed = len(left.steps._items) + len(right.steps._items)
    assert 0 < parsed <= 2 * 10, f"{parsed} steps parsed for a page showing one change"


class _Store(FileRunStore):
    """A file store that says it kept digests of its runs, counting whole reads."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.reads = 0

    def get_run(self, run_id: str) -> Any:
        self.reads += 1
        return super().get_run(run_id)

    def comparison_source(self, run_id: str) -> tuple[str, bytes] | None:
        path = self.directory / f"{run_id}.json"
        if not path.exists():
            return None
        text = path.read_text(encoding="utf-8")
        return text, comparison_digest(text, normalize_run(loads(text)), version=b"v", min_steps=0)  # type: ignore[return-value]


def test_compare_runs_reads_no_whole_run_when_both_have_digests(tmp_path):
    for run_id, output in (("a", "one"), ("b", "two")):
        (tmp_path / f"{run_id}.json").write_text(
            _text(run_record(run_id, steps=[{"type": "tool", "output": output}] * 3)), encoding="utf-8")
    store = _Store(tmp_path)
    digested = compare_runs(store, "a", store, "b")
    payload = compare_payload(store, "a", store, "b")
    assert store.reads == 0
    plain = FileRunStore(tmp_path)
    assert digested == compare_runs(plain, "a", plain, "b")
    assert payload == compare_payload(plain, "a", plain, "b")
    with pytest.raises(RunNotFound):
        compare_runs(store, "a", store, "missing")


class _ForgedStore(_Store):
    """A store whose digests someone else wrote: `forge(digest)` is what it returns instead."""

    def __init__(self, directory: Path, forge: Any) -> None:
        super().__init__(directory)
        self.forge = forge

    def comparison_source(self, run_id: str) -> tuple[str, bytes] | None:
        source = super().comparison_source(run_id)
        return None if source is None else (source[0], self.forge(source[0], source[1]))


def _shifted_spans(text: str, digest: bytes) -> bytes:
    # The runs below have 3 steps and no tool call: the digest ends with their 3 spans (6 offsets). Each span one
    # character later starts inside a JSON value.
    spans = array("I")
    spans.frombytes(digest[-24:])
    return digest[:-24] + array("I", [offset + 1 for offset in spans]).tobytes()


@pytest.mark.parametrize("forge", [
    _shifted_spans,
    lambda text, digest: digest[:37] + b"\xff" * 8 + digest[45:],  # the header's JSON, broken
    lambda text, digest: digest[:-4] + array("I", [len(text) + 9]).tobytes(),  # a span past the text's end
], ids=["spans inside values", "broken header", "span past the end"])
def test_a_digest_nobody_here_wrote_is_passed_over_for_the_runs(tmp_path, forge):
    for run_id, output in (("a", "one"), ("b", "two")):
        (tmp_path / f"{run_id}.json").write_text(
            _text(run_record(run_id, steps=[{"type": "tool", "output": output}] * 3)), encoding="utf-8")
    plain = FileRunStore(tmp_path)
    forged = _ForgedStore(tmp_path, forge)
    assert compare_runs(forged, "a", forged, "b") == compare_runs(plain, "a", plain, "b")
    assert compare_payload(forged, "a", forged, "b") == compare_payload(plain, "a", plain, "b")
