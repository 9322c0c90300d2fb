"""Side-by-side step comparison: a sequence alignment of two runs' steps, folded and paged.

TraceDiffer compares steps by position, so one inserted step makes every later step
look different. Here steps are matched by a signature (type, status, tool, output)
with difflib's SequenceMatcher, which is near-linear when signatures are distinct.
Its cost grows with (repeats in the left) x (repeats in the right) of each signature,
so segments where that product is large are split on signatures that occur exactly
once on both sides (patience-diff anchors) and, failing those, paired by position.

Each run's duration, tokens and cost, and those of each aligned step pair where the steps
record them, are shown as right − left changes (`Change`), worded so that neither colour
nor the sign alone carries the meaning.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from runtime_adapter.inspectors.diff import diff_facts
from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import js_or, prop, to_js_string, truthy
from runtime_adapter.present.formatting import MINUS, finite_number, token_count
from runtime_adapter.present.formatting import clip as clip_text
from runtime_adapter.present.formatting import cost as format_cost
from runtime_adapter.present.formatting import duration as format_duration
from runtime_adapter.queries.run_digest import (
    ComparedRun,
    DigestMismatch,
    compared_from_digest,
    compared_run,
    step_signature,
)
from runtime_adapter.queries.run_digest import compact_json as _json
from runtime_adapter.queries.scanning import RunStore

T = TypeVar("T")
Kind = Literal["same", "changed", "added", "removed"]

# SequenceMatcher does about this many dictionary operations per pass at most (see module doc).
MATCHER_BUDGET = 100_000
OUTPUT_TEXT_LIMIT = 20_000
DIFF_LINE_LIMIT = 200


class AlignedPair(NamedTuple):
    kind: Kind
    left: int | None
    right: int | None


def step_tool(step: Any) -> str | None:
    if not isinstance(step, dict):
        return None
    payload = step.get("payload")
    tool = payload.get("toolName") if isinstance(payload, dict) else None
    tool = tool if truthy(tool) else step.get("toolName")
    return to_js_string(tool) if truthy(tool) else None


def _matcher_cost(left: Sequence[str | bytes], right: Sequence[str | bytes]) -> int:
    counts = Counter(left)
    return sum(counts[item] for item in right)


def _positional(lo_a: int, hi_a: int, lo_b: int, hi_b: int) -> list[AlignedPair]:
    pairs: list[AlignedPair] = []
    common = min(hi_a - lo_a, hi_b - lo_b)
    pairs.extend(AlignedPair("changed", lo_a + k, lo_b + k) for k in range(common))
    pairs.extend(AlignedPair("removed", i, None) for i in range(lo_a + common, hi_a))
    pairs.extend(AlignedPair("added", None, j) for j in range(lo_b + common, hi_b))
    return pairs


def _from_opcodes(opcodes: Sequence[tuple[str, int, int, int, int]], off_a: int, off_b: int) -> list[AlignedPair]:
    pairs: list[AlignedPair] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            pairs.extend(AlignedPair("same", off_a + i, off_b + j) for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            pairs.extend(_positional(off_a + i1, off_a + i2, off_b + j1, off_b + j2))
    return pairs


def _anchors(a: Sequence[str | bytes], b: Sequence[str | bytes]) -> list[tuple[int, int]]:
    """Signatures unique on both sides, kept in an order increasing on both (LIS by patience)."""
    count_a, count_b = Counter(a), Counter(b)
    index_b = {item: j for j, item in enumerate(b) if count_b[item] == 1}
    candidates = [(i, index_b[item]) for i, item in enumerate(a) if count_a[item] == 1 and item in index_b]
    # Longest increasing subsequence on the right-hand index, O(n log n).
    tails: list[int] = []
    tail_at: list[int] = []
    previous: list[int] = [-1] * len(candidates)
    for position, (_, j) in enumerate(candidates):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(position)
        else:
            tails[k] = j
            tail_at[k] = position
        previous[position] = tail_at[k - 1] if k else -1
    chain: list[tuple[int, int]] = []
    position = tail_at[-1] if tail_at else -1
    while position >= 0:
        chain.append(candidates[position])
        position = previous[position]
    chain.reverse()
    return chain


def align(left: Sequence[str | bytes], right: Sequence[str | bytes]) -> list[AlignedPair]:
    """Align two signature lists (or lists of their keys); every index of both appears exactly once, in order."""
    pairs: list[AlignedPair] = []
    # Segments still to align, processed in order: (lo_a, hi_a, lo_b, hi_b) or a finished list.
    work: list[tuple[int, int, int, int] | list[AlignedPair]] = [(0, len(left), 0, len(right))]
    while work:
        item = work.pop()
        if isinstance(item, list):
            pairs.extend(item)
            continue
        lo_a, hi_a, lo_b, hi_b = item
        head: list[AlignedPair] = []
        while lo_a < hi_a and lo_b < hi_b and left[lo_a] == right[lo_b]:
            head.append(AlignedPair("same", lo_a, lo_b))
            lo_a, lo_b = lo_a + 1, lo_b + 1
        tail: list[AlignedPair] = []
        while lo_a < hi_a and lo_b < hi_b and left[hi_a - 1] == right[hi_b - 1]:
            hi_a, hi_b = hi_a - 1, hi_b - 1
            tail.append(AlignedPair("same", hi_a, hi_b))
        tail.reverse()
        pairs.extend(head)
        middle_a, middle_b = left[lo_a:hi_a], right[lo_b:hi_b]
        if not middle_a or not middle_b or _matcher_cost(middle_a, middle_b) <= MATCHER_BUDGET:
            matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
            pairs.extend(_from_opcodes(matcher.get_opcodes(), lo_a, lo_b))
            pairs.extend(tail)
            continue
        anchors = _anchors(middle_a, middle_b)
        if not anchors:
            pairs.extend(_positional(lo_a, hi_a, lo_b, hi_b))
            pairs.extend(tail)
            continue
        # Push in reverse so segments come off the stack left to right.
        segments: list[tuple[int, int, int, int] | list[AlignedPair]] = []
        start_a, start_b = lo_a, lo_b
        for i, j in anchors:
            segments.append((start_a, lo_a + i, start_b, lo_b + j))
            segments.append([AlignedPair("same", lo_a + i, lo_b + j)])
            start_a, start_b = lo_a + i + 1, lo_b + j + 1
        segments.append((start_a, hi_a, start_b, hi_b))
        segments.append(tail)
        work.extend(reversed(segments))
    return pairs


def align_steps(left_steps: Sequence[Any], right_steps: Sequence[Any]) -> list[AlignedPair]:
    return align([step_signature(step) for step in left_steps], [step_signature(step) for step in right_steps])


def alignment_counts(pairs: Sequence[AlignedPair]) -> dict[str, int]:
    counts = {"same": 0, "changed": 0, "added": 0, "removed": 0}
    for pair in pairs:
        counts[pair.kind] += 1
    return counts


def first_divergence(pairs: Sequence[AlignedPair]) -> int | None:
    """Index in `pairs` of the first aligned row that is not identical."""
    return next((index for index, pair in enumerate(pairs) if pair.kind != "same"), None)


def alignment_payload(pairs: Sequence[AlignedPair]) -> dict[str, Any]:
    """The alignment as plain JSON: rows of [kind, leftIndex, rightIndex]."""
    first = first_divergence(pairs)
    return {
        "counts": alignment_counts(pairs),
        "firstDivergence": None if first is None else {
            "row": first, "leftIndex": pairs[first].left, "rightIndex": pairs[first].right,
        },
        "rows": [{"kind": pair.kind, "leftIndex": pair.left, "rightIndex": pair.right} for pair in pairs],
    }


# Line diffs of changed outputs.


@dataclass(frozen=True)
class DiffLine:
    kind: Literal["context", "removed", "added", "skip"]
    text: str


def output_text(value: Any) -> str:
    """A step output as diffable text: strings as they are, the rest as indented JSON."""
    if value is None:
        return "null"
    text = value if isinstance(value, str) else dumps(value, 2)
    return text if len(text) <= OUTPUT_TEXT_LIMIT else text[:OUTPUT_TEXT_LIMIT] + "\n… (truncated)"


def line_diff(left: str, right: str, context: int = 3, limit: int = DIFF_LINE_LIMIT) -> list[DiffLine]:
    """A unified-style line diff with `context` lines around each change, at most `limit` lines."""
    a, b = left.splitlines(), right.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines or group[0][1] > 0 or group[0][3] > 0:
            lines.append(DiffLine("skip", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("context", text) for text in a[i1:i2])
                continue
            lines.extend(DiffLine("removed", text) for text in a[i1:i2])
            lines.extend(DiffLine("added", text) for text in b[j1:j2])
    if len(lines) > limit:
        hidden = len(lines) - limit
        lines = lines[:limit] + [DiffLine("skip", f"… {hidden} more lines")]
    return lines


# The side-by-side view model: aligned rows with the steps' display fields, folded and paged.


@dataclass(frozen=True)
class StepView:
    index: int
    id: str
    type: str
    status: str
    tool: str | None
    output: str
    error: str
    duration_ms: Any
    tokens: float | None = None
    cost: float | None = None


def step_view(step: Any, index: int, clip: int = 160) -> StepView:
    error = prop(step, "error")
    error_text = ""
    if truthy(error):
        error_text = to_js_string(js_or(prop(error, "message"), prop(error, "name"), None) or _json(error))
    output = prop(step, "output") if isinstance(step, dict) else None
    compact = output if isinstance(output, str) else _json(output)
    tokens, cost = step_usage(step)
    return StepView(
        index=index,
        id=to_js_string(js_or(prop(step, "id"), "")),
        type=to_js_string(js_or(prop(step, "type"), "")),
        status=to_js_string(js_or(prop(step, "status"), "")),
        tool=step_tool(step),
        output=clip_text(compact, clip),
        error=error_text,
        duration_ms=prop(step, "durationMs") if isinstance(step, dict) else None,
        tokens=tokens,
        cost=cost,
    )


@dataclass(frozen=True)
class AlignedRow:
    position: int
    kind: Kind
    left: StepView | None
    right: StepView | None
    first_divergence: bool = False
    diff: list[DiffLine] | None = None
    delta: StepDelta | None = None


@dataclass(frozen=True)
class Fold:
    """A run of identical steps shown as one line; `rows` are the steps (empty when too many)."""

    start: int
    count: int
    left_first: int
    right_first: int
    rows: list[AlignedRow] = field(default_factory=list)

    @property
    def is_fold(self) -> bool:
        return True


@dataclass(frozen=True)
class StepComparison:
    items: list[AlignedRow | Fold]
    counts: dict[str, int]
    total_rows: int
    first_divergence: int | None
    start: int
    next_start: int | None
    left_count: int
    right_count: int


FOLD_CONTEXT = 2
FOLD_EXPAND_LIMIT = 100
PAGE_COST = 400


def _row(pairs: Sequence[AlignedPair], position: int, left: Sequence[Any], right: Sequence[Any],
         first: int | None) -> AlignedRow:
    pair = pairs[position]
    left_step = left[pair.left] if pair.left is not None else None
    right_step = right[pair.right] if pair.right is not None else None
    diff = None
    if pair.kind == "changed":
        left_out, right_out = prop(left_step, "output"), prop(right_step, "output")
        if _json(left_out) != _json(right_out):
            diff = line_diff(output_text(left_out), output_text(right_out))
    left_view = step_view(left_step, pair.left) if pair.left is not None else None
    right_view = step_view(right_step, pair.right) if pair.right is not None else None
    return AlignedRow(
        position=position,
        kind=pair.kind,
        left=left_view,
        right=right_view,
        first_divergence=position == first,
        diff=diff,
        delta=step_delta(left_view, right_view) if left_view and right_view else None,
    )


def _segments(pairs: Sequence[AlignedPair], context: int) -> list[tuple[int, int, bool]]:
    """(start, end, folded) blocks covering every pair; long runs of "same" are folded."""
    blocks: list[tuple[int, int, bool]] = []
    position, total = 0, len(pairs)
    while position < total:
        if pairs[position].kind != "same":
            blocks.append((position, position + 1, False))
            position += 1
            continue
        end = position
        while end < total and pairs[end].kind == "same":
            end += 1
        keep_before = 0 if position == 0 else context
        keep_after = 0 if end == total else context
        if end - position > keep_before + keep_after + 1:
            blocks.extend((k, k + 1, False) for k in range(position, position + keep_before))
            blocks.append((position + keep_before, end - keep_after, True))
            blocks.extend((k, k + 1, False) for k in range(end - keep_after, end))
        else:
            blocks.extend((k, k + 1, False) for k in range(position, end))
        position = end
    return blocks


def compare_steps(left_steps: Sequence[Any], right_steps: Sequence[Any], *, start: int = 0,
                  page_cost: int = PAGE_COST, context: int = FOLD_CONTEXT,
                  signatures: tuple[Sequence[str | bytes], Sequence[str | bytes]] | None = None) -> StepComparison:
    """The page of the side-by-side view beginning at aligned row `start`.

    Identical stretches longer than 2*context+1 are folded (expandable when at most
    FOLD_EXPAND_LIMIT steps); a page holds about `page_cost` rendered rows. `signatures` are the steps'
    `step_signature`s (or keys of them) when known, so that only the steps a page shows are read.
    """
    pairs = align(signatures[0], signatures[1]) if signatures is not None else align_steps(left_steps, right_steps)
    first = first_divergence(pairs)
    items: list[AlignedRow | Fold] = []
    cost = 0
    next_start: int | None = None
    for block_start, block_end, folded in _segments(pairs, context):
        if block_end <= start:
            continue
        block_start = max(block_start, start)
        if cost >= page_cost:
            next_start = block_start
            break
        if folded and block_end - block_start > 1:
            count = block_end - block_start
            expand = count <= FOLD_EXPAND_LIMIT
            rows = [_row(pairs, k, left_steps, right_steps, first) for k in range(block_start, block_end)] if expand else []
            pair = pairs[block_start]
            items.append(Fold(block_start, count, pair.left or 0, pair.right or 0, rows))
            cost += len(rows) or 1
        else:
            for k in range(block_start, block_end):
                items.append(_row(pairs, k, left_steps, right_steps, first))
                cost += 1
    return StepComparison(
        items=items,
        counts=alignment_counts(pairs),
        total_rows=len(pairs),
        first_divergence=first,
        start=start,
        next_start=next_start,
        left_count=len(left_steps),
        right_count=len(right_steps),
    )


@dataclass(frozen=True)
class Divergence:
    """What each side holds at one of TraceDiffer's first-diverging indexes (None past the end)."""

    index: int
    left: Any
    right: Any


def divergences(left: ComparedRun, right: ComparedRun, diff: dict[str, Any]) -> dict[str, Divergence | None]:
    """The step, event type and tool call at TraceDiffer's first diverging indexes, side by side."""

    def at(items: Sequence[Any], index: int) -> Any:
        return items[index] if 0 <= index < len(items) else None

    def pick(key: str, left: Sequence[Any], right: Sequence[Any], show: Any) -> Divergence | None:
        index = diff.get(key)
        if not isinstance(index, int) or index < 0:
            return None
        left_item, right_item = at(left, index), at(right, index)
        return Divergence(
            index,
            None if index >= len(left) else show(left_item, index),
            None if index >= len(right) else show(right_item, index),
        )

    def tool_call(item: Any, _: int) -> str:
        return f"{to_js_string(item['toolName'])}({_json(item['arguments'])})"

    return {
        "step": pick("firstDivergingStepIndex", left.steps, right.steps, step_view),
        "event": pick("firstDivergingEventIndex", left.facts.events, right.facts.events,
                      lambda item, _: "(no type)" if item is None else to_js_string(item)),
        "tool_call": pick("firstDivergingToolCallIndex", left.tool_calls, right.tool_calls, tool_call),
    }


def _both(left: Callable[[], T], right: Callable[[], T], at_once: bool) -> tuple[T, T]:
    if not at_once:
        return left(), right()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compare") as pool:
        later = pool.submit(right)
        return left(), later.result()


def compared_sides(left_store: RunStore, left_id: str, right_store: RunStore, right_id: str, *,
                   digests: bool = True) -> tuple[ComparedRun, ComparedRun]:
    """Both sides of a comparison: from the digests an index kept of both runs when it has them (only the steps
    a page shows are then parsed), else (or with `digests` off) from the runs. Raises RunNotFound.

    Two databases' sides are read at once, on connections of their own (each document is ~45 ms of PostgreSQL
    decompressing and sending 6.9 MB)."""
    at_once = all(getattr(store, "concurrent_reads", False) for store in (left_store, right_store))
    if digests:
        left_source, right_source = _both(lambda: left_store.comparison_source(left_id),
                                          lambda: right_store.comparison_source(right_id), at_once)
        if left_source is not None and right_source is not None:
            left, right = compared_from_digest(*left_source), compared_from_digest(*right_source)
            if left is not None and right is not None:
                return left, right
    return _both(lambda: compared_run(left_store.get_run(left_id)),
                 lambda: compared_run(right_store.get_run(right_id)), at_once)


def _from_digests_or_runs(compute: Callable[[ComparedRun, ComparedRun], T], left_store: RunStore, left_id: str,
                          right_store: RunStore, right_id: str) -> T:
    try:
        return compute(*compared_sides(left_store, left_id, right_store, right_id))
    except DigestMismatch:  # a digest no index of this code wrote: the runs say what they hold
        return compute(*compared_sides(left_store, left_id, right_store, right_id, digests=False))


def compare_runs(left_store: RunStore, left_id: str, right_store: RunStore, right_id: str, *,
                 start: int = 0) -> dict[str, Any]:
    """What the compare page shows of two runs: each run's header, TraceDiffer's summary, the measures' changes,
    what each side holds where TraceDiffer found them diverging, and the page of aligned steps at `start`."""

    def compute(left: ComparedRun, right: ComparedRun) -> dict[str, Any]:
        diff = diff_facts(left.facts, right.facts)
        return {
            "left": left.header, "right": right.header, "diff": diff,
            "changes": run_changes(left.header, right.header),
            "divergences": divergences(left, right, diff),
            "steps": compare_steps(left.steps, right.steps, start=start,
                                   signatures=(left.signatures, right.signatures)),
        }

    return _from_digests_or_runs(compute, left_store, left_id, right_store, right_id)


def compare_payload(left_store: RunStore, left_id: str, right_store: RunStore, right_id: str) -> dict[str, Any]:
    """The compare API's JSON: TraceDiffer's diff, the whole alignment, and the measures. Raises RunNotFound."""

    def compute(left: ComparedRun, right: ComparedRun) -> dict[str, Any]:
        return {"diff": diff_facts(left.facts, right.facts),
                "alignment": alignment_payload(align(left.signatures, right.signatures)),
                "measures": measures_payload(left.header, right.header)}

    return _from_digests_or_runs(compute, left_store, left_id, right_store, right_id)


# How duration, tokens and cost moved from the left run (or step) to the right one.

Measure = Literal["duration", "tokens", "cost"]

_FORMATS = {"duration": format_duration, "tokens": token_count, "cost": format_cost}
_WORDS = {"duration": ("slower", "faster"), "tokens": ("more", "fewer"), "cost": ("more", "less")}


@dataclass(frozen=True)
class Change:
    """right − left of one measure, worded for the page: the sign and a word, never colour alone."""

    measure: Measure
    label: str
    left: float | None
    right: float | None

    @property
    def delta(self) -> float | None:
        if self.left is None or self.right is None:
            return None
        delta = self.right - self.left
        # Float sums (0.1 + 0.2) must not show as a change of $0.00000000000000004.
        return 0.0 if abs(delta) <= 1e-9 * max(abs(self.left), abs(self.right), 1.0) else delta

    @property
    def direction(self) -> Literal["up", "down", "same", "unknown"]:
        delta = self.delta
        if delta is None:
            return "unknown"
        return "up" if delta > 0 else "down" if delta < 0 else "same"

    @property
    def left_text(self) -> str:
        return _FORMATS[self.measure](self.left)

    @property
    def right_text(self) -> str:
        return _FORMATS[self.measure](self.right)

    @property
    def text(self) -> str:
        """`+120 ms`, `−$0.02`, `±0`; `—` when a side has no value."""
        delta = self.delta
        if delta is None:
            return "—"
        if delta == 0:
            return "±0"
        return ("+" if delta > 0 else MINUS) + _FORMATS[self.measure](abs(delta))

    @property
    def percent(self) -> str:
        """`+35%`, `−4.2%`; empty when the left value is 0 or missing (no ratio to show)."""
        delta = self.delta
        if delta is None or not self.left:
            return ""
        share = delta / abs(self.left) * 100
        text = f"{share:+.0f}%" if abs(share) >= 10 or share == 0 else f"{share:+.1f}%"
        return text.replace("-", MINUS)

    @property
    def word(self) -> str:
        """`slower`/`faster`, `more`/`fewer`, `more`/`less`, `same`; empty when unknown."""
        direction = self.direction
        if direction == "same":
            return "same"
        if direction == "unknown":
            return ""
        up, down = _WORDS[self.measure]
        return up if direction == "up" else down


def run_changes(left: dict[str, Any], right: dict[str, Any]) -> list[Change]:
    """Duration, tokens and cost of two `run_header`s."""
    return [
        Change("duration", "Duration", finite_number(left["duration_ms"]), finite_number(right["duration_ms"])),
        Change("tokens", "Tokens", finite_number(left["total_tokens"]), finite_number(right["total_tokens"])),
        Change("cost", "Cost", finite_number(left["cost"]), finite_number(right["cost"])),
    ]


def measures_payload(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Each run's release, duration, tokens and cost, and right − left (None where a side has no value)."""
    keys = {"duration": "durationMs", "tokens": "totalTokens", "cost": "cost"}
    changes = run_changes(left, right)

    def side(header: dict[str, Any], values: list[float | None]) -> dict[str, Any]:
        return {"runId": header["id"], "release": header["release"],
                **{keys[change.measure]: value for change, value in zip(changes, values, strict=True)}}

    return {
        "left": side(left, [change.left for change in changes]),
        "right": side(right, [change.right for change in changes]),
        "delta": {keys[change.measure]: change.delta for change in changes},
    }


_TOTAL_KEYS = ("total", "totalTokens", "total_tokens")
_PROMPT_KEYS = ("prompt", "promptTokens", "prompt_tokens", "input_tokens", "inputTokens")
_COMPLETION_KEYS = ("completion", "completionTokens", "completion_tokens", "output_tokens", "outputTokens")


def _first_number(record: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    return next((number for number in (finite_number(record.get(key)) for key in keys) if number is not None), None)


def _token_total(usage: Any) -> float | None:
    if not isinstance(usage, dict):
        return None
    total = _first_number(usage, _TOTAL_KEYS)
    if total is not None:
        return total
    parts = [_first_number(usage, _PROMPT_KEYS), _first_number(usage, _COMPLETION_KEYS)]
    return None if parts == [None, None] else sum(part or 0.0 for part in parts)


def step_usage(step: Any) -> tuple[float | None, float | None]:
    """(tokens, cost) a step records, each None when it records none.

    Steps rarely carry usage: a workflow or delegation step's output holds its child run's
    `metrics`, and an adapter may put `usage`/`tokenUsage`/`cost` on the step or its `metrics`.
    A model step's output may hold the model's `usage`/`cost`; a tool's output is the tool's
    business (a pricing tool's `cost` is not the step's), so it is not read.
    """
    if not isinstance(step, dict):
        return None, None
    output = step.get("output")
    places: list[Any] = [step, step.get("metrics")]
    if isinstance(output, dict):
        if isinstance(output.get("metrics"), dict) and "tokenUsage" in output["metrics"]:
            places.append(output["metrics"])
        if step.get("type") == "model":
            places.append(output)
    tokens: float | None = None
    cost: float | None = None
    for place in places:
        if not isinstance(place, dict):
            continue
        if tokens is None:
            tokens = _token_total(js_or(place.get("tokenUsage"), place.get("usage"), None))
        if cost is None:
            cost = finite_number(place.get("cost"))
    return tokens, cost


@dataclass(frozen=True)
class StepDelta:
    """The measures both steps of an aligned pair record, right − left."""

    changes: list[Change]

    @property
    def changed(self) -> bool:
        return any(change.direction in ("up", "down") for change in self.changes)


def step_delta(left: StepView, right: StepView) -> StepDelta | None:
    candidates = [
        Change("duration", "latency", finite_number(left.duration_ms), finite_number(right.duration_ms)),
        Change("tokens", "tokens", left.tokens, right.tokens),
        Change("cost", "cost", left.cost, right.cost),
    ]
    changes = [change for change in candidates if change.delta is not None]
    return StepDelta(changes) if changes else None
