"""`JSON.stringify(value, null, 2)` for generated runs, fast enough to write 100k-run stores."""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

from runtime_adapter.js.jsjson import dumps as js_dumps
from runtime_adapter.js.jsvalues import number_to_string


def dumps_run(value: Any) -> str:
    """`JSON.stringify(value, null, 2)` for generated runs, equal to `jsjson.dumps(value, 2)`.

    Checkpoint snapshots share step, message and tool-call objects with their run, so each
    shared object is encoded once and re-indented where it appears again. Supports what the
    generator emits: string keys already in JS order, no lone surrogates, no `undefined`.
    """
    if type(value) is dict or type(value) is list:
        return _encode(value, "", {}) if value else ("{}" if type(value) is dict else "[]")
    return _encode([value], "", {})[4:-2]


def _encode(value: dict[str, Any] | list[Any], pad: str, memo: dict[int, tuple[int, str]]) -> str:
    """Encode a non-empty object or array whose first line is already indented by `pad`."""
    cached = memo.get(id(value))
    if cached is not None:
        level, text = cached
        if level == len(pad):
            return text
        if level < len(pad):
            # JSON strings never hold a raw newline, so this only shifts the indentation.
            return text.replace("\n", "\n" + " " * (len(pad) - level))
    inner = pad + "  "
    parts: list[str] = []
    # Strings and ints are most values: handled inline, as a call per value would double the cost.
    if type(value) is dict:
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                parts.append(encode_basestring(key) + ": " + encode_basestring(item))
            elif kind is int:
                parts.append(encode_basestring(key) + ": " + str(item))
            else:
                parts.append(encode_basestring(key) + ": " + _other(item, inner, memo))
        text = "{\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "}"
    else:
        for item in value:
            kind = type(item)
            if kind is str:
                parts.append(encode_basestring(item))
            elif kind is int:
                parts.append(str(item))
            else:
                parts.append(_other(item, inner, memo))
        text = "[\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "]"
    if cached is None:
        memo[id(value)] = (len(pad), text)
    return text


def _other(item: Any, pad: str, memo: dict[int, tuple[int, str]]) -> str:
    kind = type(item)
    if kind is dict or kind is list:
        return _encode(item, pad, memo) if item else ("{}" if kind is dict else "[]")
    if item is None:
        return "null"
    if item is True:
        return "true"
    if item is False:
        return "false"
    if kind is float:
        return number_to_string(item)
    raise TypeError(f"{kind.__name__} is not JSON serialisable")


def compact(value: Any) -> str:
    # What the runtime puts in message contents and function_call arguments.
    return js_dumps(value)
