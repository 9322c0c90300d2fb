"""`TraceDiffer.diff(left, right)`: how `right` differs from `left`."""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from runtime_adapter.js.jsjson import stringify_for_compare
from runtime_adapter.js.jsvalues import UNDEFINED, coalesce, js_or, not_included, prop
from runtime_adapter.records import Run


def _field(item: Any, key: str) -> Any:
    return prop(item, key) if isinstance(item, dict) else UNDEFINED


def step_signatures(run: Run) -> list[dict[str, Any]]:
    signatures = []
    for step in run["steps"]:
        # `_field` spelt out for the common case (a step is an object): 5,000-step runs are compared.
        is_object = isinstance(step, dict)
        signature: dict[str, Any] = {}
        kind = step.get("type", UNDEFINED) if is_object else UNDEFINED
        if kind is not UNDEFINED:
            signature["type"] = kind
        status = step.get("status", UNDEFINED) if is_object else UNDEFINED
        if status is not UNDEFINED:
            signature["status"] = status
        signature["output"] = coalesce(step.get("output", UNDEFINED) if is_object else UNDEFINED, None)
        signatures.append(signature)
    return signatures


def event_types(run: Run) -> list[Any]:
    return [event.get("type", UNDEFINED) if isinstance(event, dict) else UNDEFINED for event in run["events"]]


def tool_call_signature(call: Any) -> dict[str, Any]:
    return {
        "toolName": js_or(_field(call, "toolName"), _field(call, "name"), None),
        "arguments": js_or(_field(call, "arguments"), None),
    }


def tool_call_signatures(run: Run) -> list[dict[str, Any]]:
    return [tool_call_signature(call) for call in run["toolCalls"]]


# One encoder for every pair (json.dumps with options builds a new one per call).
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def same_stringified(left: Any, right: Any) -> bool:
    """`JSON.stringify(left ?? null) === JSON.stringify(right ?? null)`.

    Python's C encoder decides most pairs: equal output from it means equal values of the same types in the
    same key order, so JS prints them alike too. Only pairs it prints differently (1 and 1.0, which JS prints
    alike) or cannot print (undefined) are printed as JS would; two 5,000-step runs have 30,000 items to compare.
    """
    if type(left) is str and type(right) is str:
        return left == right  # JSON.stringify of a string is one-to-one (event types: 12 ms of 5,000 pairs)
    try:
        if _encode(left) == _encode(right):
            return True
    except (TypeError, ValueError):
        pass
    return stringify_for_compare(left) == stringify_for_compare(right)


def first_diverging_index(left: Sequence[Any], right: Sequence[Any], same: Callable[[Any, Any], bool] = same_stringified,
                          missing: Any = None) -> int:
    """First index whose `JSON.stringify(x ?? null)` differs; a missing item equals null (`missing`).

    `same` and `missing` let lists of keys stand for the items (`TraceFacts.keyed`): equal keys, equal items.
    """
    for index in range(max(len(left), len(right))):
        left_item = left[index] if index < len(left) else missing
        right_item = right[index] if index < len(right) else missing
        if not same(left_item, right_item):
            return index
    return -1


class TraceFacts(NamedTuple):
    """What TraceDiffer reads of one run.

    `output` is `JSON.stringify(output ?? null)`, or a digest of it. `steps` and `tool_calls` are the step and tool
    call signatures or, when `keyed`, digests of their `JSON.stringify` (`NULL_KEY` for null), so that a run can be
    compared from what an index kept of it (`queries.run_digest`) without reading it again.
    """

    run_id: Any
    status: Any
    output: Any
    events: list[Any]
    steps: Sequence[Any]
    tool_calls: Sequence[Any]
    keyed: bool = False


def stringify_key(value: Any) -> bytes:
    """The digest standing for `JSON.stringify(value ?? null)` in keyed facts (BLAKE2b, 128 bits)."""
    return hashlib.blake2b(stringify_for_compare(value).encode("utf-8", "surrogatepass"), digest_size=16).digest()


NULL_KEY = stringify_key(None)


def trace_facts(run: Run) -> TraceFacts:
    return TraceFacts(run["id"], run["status"], stringify_for_compare(run["output"]), event_types(run),
                      step_signatures(run), tool_call_signatures(run))


def diff_facts(left: TraceFacts, right: TraceFacts) -> dict[str, Any]:
    """`TraceDiffer.diff` of two runs' facts (both keyed, or neither)."""
    if left.keyed != right.keyed:
        raise ValueError("keyed facts compare only with keyed facts")
    same, missing = (operator.eq, NULL_KEY) if left.keyed else (same_stringified, None)
    return {
        "leftRunId": left.run_id,
        "rightRunId": right.run_id,
        "statusChanged": not _strict_equal(left.status, right.status),
        "outputChanged": left.output != right.output,
        "eventCountDelta": len(right.events) - len(left.events),
        "stepCountDelta": len(right.steps) - len(left.steps),
        "toolCallCountDelta": len(right.tool_calls) - len(left.tool_calls),
        # Duplicates and order are kept, and an undefined type serialises as null, as in JS.
        "eventTypesAdded": not_included(left.events, right.events),
        "eventTypesRemoved": not_included(right.events, left.events),
        "firstDivergingStepIndex": first_diverging_index(left.steps, right.steps, same, missing),
        "firstDivergingEventIndex": first_diverging_index(left.events, right.events),
        "firstDivergingToolCallIndex": first_diverging_index(left.tool_calls, right.tool_calls, same, missing),
    }


def diff_traces(left: Run, right: Run) -> dict[str, Any]:
    return diff_facts(trace_facts(left), trace_facts(right))


def _strict_equal(left: Any, right: Any) -> bool:
    """`left === right` for JSON values: objects are equal only to themselves."""
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and left == right
