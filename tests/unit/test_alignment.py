from __future__ import annotations

from runtime_adapter.present.alignment import (
    AlignedPair,
    Fold,
    align,
    align_steps,
    alignment_counts,
    alignment_payload,
    compare_steps,
    first_divergence,
    line_diff,
    step_signature,
)


def step(index: int, *, type_: str = "model", status: str = "completed", output: object = None, tool: str | None = None):
    record = {"id": f"s{index}", "type": type_, "status": status, "output": {"n": index} if output is None else output}
    if tool:
        record["payload"] = {"toolName": tool}
    return record


def steps(count: int) -> list[dict]:
    return [step(i, type_="tool" if i % 2 else "model", tool="search" if i % 2 else None) for i in range(count)]


def assert_complete(pairs: list[AlignedPair], left: int, right: int) -> None:
    assert [p.left for p in pairs if p.left is not None] == list(range(left))
    assert [p.right for p in pairs if p.right is not None] == list(range(right))


def test_identical_lists_align_one_to_one():
    pairs = align_steps(steps(6), steps(6))
    assert pairs == [AlignedPair("same", i, i) for i in range(6)]
    assert first_divergence(pairs) is None


def test_empty_lists_align_to_nothing():
    assert align([], []) == []
    assert align(["a"], []) == [AlignedPair("removed", 0, None)]
    assert align([], ["a", "b"]) == [AlignedPair("added", None, 0), AlignedPair("added", None, 1)]


def test_an_inserted_step_does_not_misalign_later_steps():
    left = steps(10)
    right = left[:3] + [step(99, status="failed")] + left[3:]
    pairs = align_steps(left, right)
    assert alignment_counts(pairs) == {"same": 10, "changed": 0, "added": 1, "removed": 0}
    assert pairs[3] == AlignedPair("added", None, 3)
    assert all(p.kind == "same" and p.right == p.left + 1 for p in pairs[4:])
    assert first_divergence(pairs) == 3


def test_a_removed_step_is_reported_once():
    left = steps(8)
    right = left[:5] + left[6:]
    pairs = align_steps(left, right)
    assert alignment_counts(pairs) == {"same": 7, "changed": 0, "added": 0, "removed": 1}
    assert pairs[5] == AlignedPair("removed", 5, None)


def test_a_step_with_a_new_output_is_changed_in_place():
    left = steps(5)
    right = [dict(s) for s in left]
    right[2]["output"] = {"n": "different"}
    pairs = align_steps(left, right)
    assert pairs[2] == AlignedPair("changed", 2, 2)
    assert alignment_counts(pairs)["same"] == 4


def test_signature_covers_type_status_tool_and_output_but_not_id_or_timing():
    base = {"id": "a", "type": "tool", "status": "completed", "output": 1, "payload": {"toolName": "x"}, "durationMs": 3}
    assert step_signature(base) == step_signature({**base, "id": "b", "durationMs": 9})
    for change in ({"type": "model"}, {"status": "failed"}, {"output": 2}, {"payload": {"toolName": "y"}}):
        assert step_signature(base) != step_signature({**base, **change})


def test_non_object_steps_still_align():
    pairs = align_steps([None, "x", 3], [None, 3])
    assert_complete(pairs, 3, 2)
    assert alignment_counts(pairs)["removed"] == 1


def test_five_thousand_steps_with_an_insertion_align_correctly():
    left = steps(5000)
    right = left[:2500] + [step(-1, status="failed")] + left[2500:]
    pairs = align_steps(left, right)
    assert_complete(pairs, 5000, 5001)
    assert alignment_counts(pairs) == {"same": 5000, "changed": 0, "added": 1, "removed": 0}
    assert first_divergence(pairs) == 2500


def test_repeated_signatures_stay_complete_and_use_unique_anchors():
    # Every signature repeats thousands of times except the markers: the matcher budget is
    # exceeded, so the markers anchor the alignment and the rest is paired by position.
    left = ["A", "B"] * 2000 + ["marker"] + ["A", "B"] * 2000
    right = ["B", "A"] * 2000 + ["marker"] + ["A", "B"] * 2000
    pairs = align(left, right)
    assert_complete(pairs, len(left), len(right))
    marker = next(p for p in pairs if p.left == 4000)
    assert marker == AlignedPair("same", 4000, 4000)
    assert all(p.kind == "same" for p in pairs if p.left is not None and p.left > 4000)


def test_unrelated_repetitive_lists_are_paired_by_position():
    left, right = ["A", "B", "C"] * 1500, ["C", "B", "A"] * 1500
    pairs = align(left, right)
    assert_complete(pairs, 4500, 4500)


def test_alignment_payload_names_the_first_divergence():
    payload = alignment_payload([AlignedPair("same", 0, 0), AlignedPair("added", None, 1)])
    assert payload["firstDivergence"] == {"row": 1, "leftIndex": None, "rightIndex": 1}
    assert payload["counts"]["added"] == 1
    assert payload["rows"][1] == {"kind": "added", "leftIndex": None, "rightIndex": 1}


def test_line_diff_shows_changed_lines_with_context():
    left = "\n".join(f"line {i}" for i in range(20))
    right = left.replace("line 10", "line ten")
    lines = line_diff(left, right, context=2)
    kinds = [(line.kind, line.text) for line in lines]
    assert ("removed", "line 10") in kinds and ("added", "line ten") in kinds
    assert ("context", "line 8") in kinds and ("context", "line 7") not in kinds
    assert lines[0].kind == "skip"


def test_line_diff_of_equal_texts_is_empty():
    assert line_diff("a\nb", "a\nb") == []


def test_line_diff_is_capped():
    lines = line_diff("\n".join(map(str, range(1000))), "\n".join(f"x{i}" for i in range(1000)), limit=50)
    assert len(lines) == 51 and lines[-1].kind == "skip"


def test_compare_steps_folds_long_identical_stretches():
    left = steps(40)
    right = left[:30] + [step(77, status="failed")] + left[30:]
    view = compare_steps(left, right, context=2)
    fold = view.items[0]
    assert isinstance(fold, Fold) and fold.start == 0 and fold.count == 28
    rows = [item for item in view.items if not isinstance(item, Fold)]
    first = next(row for row in rows if row.first_divergence)
    assert first.kind == "added" and first.right.index == 30 and first.left is None
    assert view.first_divergence == 30


def test_compare_steps_diffs_changed_outputs():
    left = [step(0, output={"answer": "yes", "n": 1})]
    right = [step(0, output={"answer": "no", "n": 1})]
    (row,) = compare_steps(left, right).items
    assert row.kind == "changed"
    assert any(line.kind == "added" and '"no"' in line.text for line in row.diff)


def test_compare_steps_pages_long_alignments():
    left = [step(i, output={"left": i}) for i in range(1000)]
    right = [step(i, output={"right": i}) for i in range(1000)]
    first = compare_steps(left, right, page_cost=100)
    assert len(first.items) == 100 and first.next_start == 100
    second = compare_steps(left, right, start=first.next_start, page_cost=100)
    assert second.items[0].position == 100


def test_very_long_identical_runs_fold_without_rendering_every_step():
    view = compare_steps(steps(5000), steps(5000))
    assert len(view.items) == 1
    assert view.items[0].count == 5000 and view.items[0].rows == []


def test_divergences_show_each_side_at_the_first_diverging_indexes():
    from runtime_adapter.inspectors import diff_traces
    from runtime_adapter.present.alignment import divergences
    from runtime_adapter.queries.run_digest import compared_run
    from tests.factories import run_record

    left = run_record("l", steps=[step(0), step(1)], events=[{"type": "a"}, {"type": "b"}],
                      toolCalls=[{"toolName": "search", "arguments": {"q": 1}}])
    right = run_record("r", steps=[step(0), step(1, status="failed")], events=[{"type": "a"}],
                       toolCalls=[{"toolName": "search", "arguments": {"q": 2}}])
    found = divergences(compared_run(left), compared_run(right), diff_traces(left, right))
    assert found["step"].index == 1 and found["step"].right.status == "failed"
    assert (found["event"].index, found["event"].left, found["event"].right) == (1, "b", None)
    assert found["tool_call"].left == 'search({"q":1})' and found["tool_call"].right == 'search({"q":2})'


def test_divergences_are_empty_for_identical_runs():
    from runtime_adapter.inspectors import diff_traces
    from runtime_adapter.present.alignment import divergences
    from runtime_adapter.queries.run_digest import compared_run
    from tests.factories import run_record

    run = run_record("same", steps=[step(0)])
    assert divergences(compared_run(run), compared_run(run), diff_traces(run, run)) == {
        "step": None, "event": None, "tool_call": None}
