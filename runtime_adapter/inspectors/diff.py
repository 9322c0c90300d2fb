"""`TraceDiffer.diff(left, right)`: how `right` differs from `left`."""

from __future__ import annotations

import json
from typing import Any

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


def tool_call_signatures(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "toolName": js_or(_field(call, "toolName"), _field(call, "name"), None),
            "arguments": js_or(_field(call, "arguments"), None),
        }
        for call in run["toolCalls"]
    ]


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


def first_diverging_index(left: list[Any], right: list[Any]) -> int:
    """First index whose `JSON.stringify(x ?? null)` differs; a missing item equals null."""
    for index in range(max(len(left), len(right))):
        left_item = left[index] if index < len(left) else None
        right_item = right[index] if index < len(right) else None
        if not same_stringified(left_item, right_item):
            return index
    return -1


def diff_traces(left: Run, right: Run) -> dict[str, Any]:
    left_steps, right_steps = step_signatures(left), step_signatures(right)
    left_events, right_events = event_types(left), event_types(right)
    left_calls, right_calls = tool_call_signatures(left), tool_call_signatures(right)
    return {
        "leftRunId": left["id"],
        "rightRunId": right["id"],
        "statusChanged": not _strict_equal(left["status"], right["status"]),
        "outputChanged": stringify_for_compare(left["output"]) != stringify_for_compare(right["output"]),
        "eventCountDelta": len(right_events) - len(left_events),
        "stepCountDelta": len(right_steps) - len(left_steps),
        "toolCallCountDelta": len(right_calls) - len(left_calls),
        # Duplicates and order are kept, and an undefined type serialises as null, as in JS.
        "eventTypesAdded": not_included(left_events, right_events),
        "eventTypesRemoved": not_included(right_events, left_events),
        "firstDivergingStepIndex": first_diverging_index(left_steps, right_steps),
        "firstDivergingEventIndex": first_diverging_index(left_events, right_events),
        "firstDivergingToolCallIndex": first_diverging_index(left_calls, right_calls),
    }


def _strict_equal(left: Any, right: Any) -> bool:
    """`left === right` for JSON values: objects are equal only to themselves."""
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and left == right
