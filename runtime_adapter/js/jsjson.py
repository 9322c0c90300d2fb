"""JSON read and written the way Node's `JSON.parse` / `JSON.stringify` do.

Payloads must be byte-identical to the runtime's, so three JS behaviours matter:
integer-like keys are enumerated first in ascending order, numbers print with
`Number.prototype.toString` (`1`, `2.5e-7`, `1e+21`), and `undefined` vanishes from
objects but becomes `null` in arrays.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

import orjson

from runtime_adapter.js.jsvalues import LONE_SURROGATE, MAX_SAFE_INTEGER, UNDEFINED, number_to_string

_ARRAY_INDEX_MAX = 2**32 - 2
_INTEGER_KEY = re.compile(r"0|[1-9][0-9]*")
# A cheap pre-check so the common file skips the Python-level key-order hook entirely.
_INTEGER_KEY_HINT = re.compile(r'"(?:0|[1-9][0-9]*)"\s*:')
_INTEGER_KEY_HINT_BYTES = re.compile(rb'"(?:0|[1-9][0-9]*)"\s*:')


# How deep arrays and objects may nest in anything read. Node reads deeper documents, but
# every walk over run content here (text, redaction, templates, DOT, alignment) then stays
# far from Python's recursion limit, whatever the caller's stack already holds.
MAX_NESTING = 128


class JSONParseError(ValueError):
    """The text is not JSON that `JSON.parse` would accept."""


class NestedTooDeep(JSONParseError):
    """Valid JSON, nested deeper than what the control plane reads."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"nested more than {limit} levels deep, the limit the control plane reads")
        self.limit = limit


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays/objects in `value` nest more than `limit` levels (a scalar is 0); no recursion."""
    return _walk(value, limit, inexact=None) == _TOO_DEEP


_TOO_DEEP, _INEXACT_FLOAT = 1, 2


def _walk(value: Any, limit: int, *, inexact: float | None) -> int:
    """_TOO_DEEP when containers nest more than `limit` levels, else (with `inexact`) _INEXACT_FLOAT as soon as a
    float is not within (-inexact, inexact), else 0. Level by level, without recursion (faster than a stack of
    (container, depth) pairs)."""
    kind = type(value)
    if kind is float and inexact is not None:
        return 0 if -inexact < value < inexact else _INEXACT_FLOAT
    if kind is not dict and kind is not list:
        return 0
    level, depth = [value], 1
    while level:
        if depth > limit:
            return _TOO_DEEP
        below: list[Any] = []
        push = below.append
        for container in level:
            for child in container.values() if type(container) is dict else container:
                kind = type(child)
                if kind is dict or kind is list:
                    push(child)
                elif kind is float and inexact is not None and not -inexact < child < inexact:
                    return _INEXACT_FLOAT
        level, depth = below, depth + 1
    return 0


def _is_integer_key(key: str) -> bool:
    return bool(_INTEGER_KEY.fullmatch(key)) and int(key) <= _ARRAY_INDEX_MAX


def js_key_order(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if not any(key[:1].isdigit() for key in obj):
        return obj
    integer_keys = sorted((key for key in obj if _is_integer_key(key)), key=int)
    if not integer_keys:
        return obj
    ordered = {key: obj[key] for key in integer_keys}
    ordered.update((key, value) for key, value in obj.items() if key not in ordered)
    return ordered


def _reject_constant(name: str) -> Any:
    raise JSONParseError(f"{name} is not valid JSON")


# Integers past 2**53 stay exact Python ints here; `dumps` prints them as the JS double
# they would be, which is all the payloads need (sums that large do not occur in runs).
_PLAIN_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ORDERED_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=js_key_order)


def _js_integer(literal: str) -> int | float:
    # Python refuses int() of more than 4,300 digits; JS reads any literal as a double
    # (Infinity past 1.8e308), and so do we for literals that long.
    return int(literal) if len(literal.lstrip("-")) <= 4000 else float(literal)


_LONG_NUMBER_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=js_key_order,
                                        parse_int=_js_integer)


def loads(text: str | bytes, *, max_nesting: int | None = MAX_NESTING) -> Any:
    """Parse like `JSON.parse`, keeping JS property order. Raises JSONParseError.

    Documents nested deeper than `max_nesting` raise NestedTooDeep; a reader that
    unwraps a container of runs (a bundle) passes None and checks each run itself.
    Bytes are read by orjson when it reads them as this does (`_read_fast`).
    """
    if isinstance(text, bytes):
        if max_nesting is not None and not _INTEGER_KEY_HINT_BYTES.search(text):
            value = _read_fast(text, max_nesting)
            if value is not _NOT_READ:
                return value
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JSONParseError(f"not UTF-8: {error}") from None
    return _read(text, max_nesting)


def _read(text: str, max_nesting: int | None) -> Any:
    """The reference reading: Python's decoder, with the hooks JS semantics need."""
    decoder = _ORDERED_DECODER if _INTEGER_KEY_HINT.search(text) else _PLAIN_DECODER
    try:
        try:
            value = decoder.decode(text)
        except json.JSONDecodeError:
            raise
        except ValueError:
            value = _LONG_NUMBER_DECODER.decode(text)
    except RecursionError:
        raise NestedTooDeep(max_nesting or MAX_NESTING) from None
    except json.JSONDecodeError as error:
        # Python words some messages to run into its position ("Invalid control character at"): say "at" once.
        raise JSONParseError(f"{error.msg.removesuffix(' at')} at line {error.lineno} column {error.colno}") from None
    if max_nesting is not None and nests_deeper_than(value, max_nesting):
        raise NestedTooDeep(max_nesting)
    return value


_NOT_READ = object()
# orjson reads an integer literal outside [-2**63, 2**64) as a double; the reference keeps it an exact int.
_INEXACT = float(2**63)


def _read_fast(data: bytes, max_nesting: int) -> Any:
    """`_read(data.decode())` in ~70 % of its time (28 KB run files), or _NOT_READ where orjson would read otherwise.

    orjson keeps document order and the last of duplicate keys where the first stood, as Python's decoder
    does; the caller has ruled out integer-like keys, which JS enumerates first. What orjson refuses (lone
    surrogate escapes, `1e400`, its own depth limit, anything invalid) is left to the reference reading,
    which words the error; so is a document holding a float this far out, which may have been an integer
    literal. The walk that checks the depth looks at the floats on its way.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _NOT_READ
    found = _walk(value, max_nesting, inexact=_INEXACT)
    if found == _TOO_DEEP:
        raise NestedTooDeep(max_nesting)
    return _NOT_READ if found == _INEXACT_FLOAT else value


def _prepare(value: Any, odd_numbers: dict[str, str], nonce: str) -> Any:
    """Copy a value into what Python's encoder prints like JS, noting numbers it cannot."""
    if isinstance(value, dict):
        return {
            str(key): _prepare(item, odd_numbers, nonce)
            for key, item in value.items()
            if item is not UNDEFINED and not callable(item)
        }
    if isinstance(value, (list, tuple)):
        return [None if item is UNDEFINED else _prepare(item, odd_numbers, nonce) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value)
        text = number_to_string(value)
        if text == repr(value):
            return value
        token = f"\x00{nonce}:{len(odd_numbers)}\x00"
        odd_numbers[json.dumps(token)] = text
        return token
    if value is UNDEFINED:
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, indent: int | None = None) -> str:
    """`JSON.stringify(value, null, indent)`."""
    odd_numbers: dict[str, str] = {}
    nonce = secrets.token_hex(8)
    prepared = _prepare(value, odd_numbers, nonce)
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(prepared, ensure_ascii=False, indent=indent or None, separators=separators)
    for token, number in odd_numbers.items():
        text = text.replace(token, number, 1)
    if LONE_SURROGATE.search(text):
        text = LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text


# Python's C encoder prints JSON values as JS does but for floats (`1.0`, `1e-05`), integers past 2**53 (JS prints
# the double) and lone surrogates (JS escapes them): text free of all three is JS's (some other text is too).
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False).encode
_MAYBE_UNLIKE_JS = re.compile(r"[0-9][.eE]|[0-9]{16}|[\ud800-\udfff]")


def stringify_for_compare(value: Any) -> str:
    """`JSON.stringify(value ?? null)`, the equality TraceDiffer relies on."""
    if value is None or value is UNDEFINED:
        return "null"
    try:
        text = _COMPACT(value)
    except (TypeError, ValueError, RecursionError):  # undefined inside, a non-finite number, deep nesting
        return dumps(value)
    return dumps(value) if _MAYBE_UNLIKE_JS.search(text) else text
