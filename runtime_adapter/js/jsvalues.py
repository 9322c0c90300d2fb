"""JavaScript value semantics the runtime's views rely on.

Run records are JSON, so they only hold dicts, lists, str, int/float, bool and None.
The JS code reads them with `||`, `??`, `?.` and `Array.prototype.includes`; these
helpers reproduce those operators so the derived payloads are the same.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_SAFE_INTEGER = 2**53
# A UTF-16 surrogate on its own: JSON allows it, UTF-8 (pages, URLs, SQLite) cannot encode it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _Undefined:
    """JS `undefined`: a missing property. Dropped from objects, `null` in arrays."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


def truthy(value: Any) -> bool:
    """JS truthiness: `{}` and `[]` are truthy, `0`, `""`, NaN, null, undefined are not."""
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return len(value) > 0
    return True


def js_or(*values: Any) -> Any:
    """`a || b || c`: the first truthy operand, else the last one."""
    for value in values[:-1]:
        if truthy(value):
            return value
    return values[-1]


def nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def coalesce(value: Any, fallback: Any) -> Any:
    """`value ?? fallback`."""
    return fallback if nullish(value) else value


def prop(obj: Any, key: str) -> Any:
    """`obj?.[key]` on a JSON value: UNDEFINED when absent or not an object."""
    if isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    if isinstance(obj, (list, str)) and key == "length":
        return len(obj)
    return UNDEFINED




def last(items: Any) -> Any:
    """`items?.[items.length - 1] || null` for arrays."""
    if isinstance(items, list) and items:
        return items[-1]
    return None


def plus(left: Any, right: Any) -> Any:
    """`left + right` for the number-or-string values metrics can hold."""
    left = None if left is UNDEFINED else left
    right = None if right is UNDEFINED else right
    if isinstance(left, str) or isinstance(right, str):
        return to_js_string(left) + to_js_string(right)
    return _to_number(left) + _to_number(right)


def _to_number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    # Objects and arrays become NaN in JS arithmetic; NaN serialises as null.
    return math.nan


def number_to_string(value: float | int) -> str:
    """`Number.prototype.toString()` for a finite or non-finite number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + number_to_string(-value)
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    raw_digits = whole + (fraction if fraction != "0" else "")
    # value == 0.<digits> * 10**point, the form ECMAScript's algorithm starts from.
    point = len(whole) + int(exponent or 0)
    significant = raw_digits.lstrip("0")
    point -= len(raw_digits) - len(significant)
    digits = significant.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * (-point) + digits
    power = point - 1
    sign = "+" if power >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{head}e{sign}{abs(power)}"


def to_js_string(value: Any) -> str:
    """`String(value)` for JSON values."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_to_string(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if nullish(item) else to_js_string(item) for item in value)
    return "[object Object]"


def same_value_zero(left: Any, right: Any) -> bool:
    """`Array.prototype.includes` equality: primitives by value, objects by identity."""
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    if left is UNDEFINED or right is UNDEFINED:
        return left is right
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
            return True
        return left == right
    return type(left) is type(right) and left == right


def includes(items: list[Any], value: Any) -> bool:
    return any(same_value_zero(item, value) for item in items)


def same_value_zero_key(value: Any) -> Any:
    """A hashable key equal for two values exactly when `same_value_zero` holds between them."""
    if isinstance(value, (dict, list)):
        return ("object", id(value))
    if value is UNDEFINED or value is None:
        return ("nullish", value is None)
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", "NaN") if isinstance(value, float) and math.isnan(value) else ("number", value)
    return (type(value), value)


def not_included(items: list[Any], values: list[Any]) -> list[Any]:
    """`values.filter((value) => !items.includes(value))`, with one set of `items` instead of a scan per value:
    the event types of two 10,000-event runs took 100,000 comparisons."""
    if all(type(item) is str for item in items) and all(type(value) is str for value in values):
        # Strings (event types, the usual case) are the same value exactly when they are equal: 16 -> 1 ms
        # for two 10,000-event runs.
        strings = set(items)
        return [value for value in values if value not in strings]
    present = {same_value_zero_key(item) for item in items}
    return [value for value in values if same_value_zero_key(value) not in present]


def spread_object(value: Any) -> dict[str, Any]:
    """`{...value}`: own enumerable properties; strings and arrays spread by index."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, str)):
        return {str(index): item for index, item in enumerate(value)}
    return {}


def spread_array(value: Any) -> list[Any]:
    """`[...value]` for the values a run record can hold (non-iterables make JS throw; we return [])."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return list(value)
    return []
