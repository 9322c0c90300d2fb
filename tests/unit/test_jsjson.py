"""JSON text is byte-identical to what Node's JSON.stringify / JSON.parse produce."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime_adapter.js import jsjson
from runtime_adapter.js.jsvalues import UNDEFINED, includes, not_included


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"), (2.5e-7, "2.5e-7"), (1e-9, "1e-9"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
        (0.1 + 0.2, "0.30000000000000004"), (-0.0, "0"), (123.456, "123.456"), (1.234e-6, "0.000001234"),
        (12345678901234567890, "12345678901234567000"), (float("nan"), "null"), (float("inf"), "null"),
    ],
)
def test_numbers_print_like_javascript(value, expected):
    assert jsjson.dumps(value) == expected


def test_integer_like_keys_come_first_in_ascending_order_like_js_objects():
    parsed = jsjson.loads('{"b": 1, "10": 2, "2": 3, "-1": 4, "01": 5}')
    assert list(parsed) == ["2", "10", "b", "-1", "01"]


def test_strings_keep_unicode_raw_and_escape_controls_in_lowercase_hex():
    assert jsjson.dumps("é\u2028\x01\x1f\"\\") == '"é\u2028\\u0001\\u001f\\"\\\\"'


def test_lone_surrogates_are_escaped_instead_of_breaking_utf8():
    text = jsjson.dumps(jsjson.loads('"\\ud800x"'))
    assert text == '"\\ud800x"'
    text.encode("utf-8")


def test_undefined_is_dropped_from_objects_and_null_in_arrays():
    from runtime_adapter.js.jsvalues import UNDEFINED

    assert jsjson.dumps({"a": UNDEFINED, "b": [UNDEFINED, 1]}) == '{"b":[null,1]}'


def test_pretty_output_matches_stringify_with_two_space_indent():
    assert jsjson.dumps({"a": [], "b": {}, "c": [1]}, 2) == '{\n  "a": [],\n  "b": {},\n  "c": [\n    1\n  ]\n}'


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "{'a': 1}", "", "{\"a\": 1", "\ufeff{}"])
def test_text_json_parse_rejects_is_rejected(text):
    with pytest.raises(jsjson.JSONParseError):
        jsjson.loads(text)


def test_deep_nesting_is_a_parse_error_not_a_crash():
    with pytest.raises(jsjson.JSONParseError):
        jsjson.loads("[" * 100_000 + "]" * 100_000)


_PRIMITIVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, 2.5, math.nan]),
                        st.sampled_from(["", "a", "1", "true", "null"]), st.just(UNDEFINED))


@given(st.lists(_PRIMITIVES, max_size=8), st.lists(_PRIMITIVES, max_size=8), st.integers(0, 3))
def test_not_included_filters_as_array_includes_does(left, right, shared_objects):
    """TraceDiffer's added and removed event types: one set lookup per value must keep `includes`' SameValueZero
    (NaN equals NaN, 0 equals -0, 1 equals 1.0 but not true, objects only themselves)."""
    objects = [{"type": "x"} for _ in range(shared_objects)]
    left, right = left + objects + [{"type": "x"}], right + objects[:1] + [["x"]]
    assert not_included(left, right) == [value for value in right if not includes(left, value)]
    assert not_included(right, left) == [value for value in left if not includes(right, value)]


_VALUES = st.recursive(
    _PRIMITIVES | st.sampled_from([1e21, 0.1, 2**53 + 1, "\ud800", "é"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "1"]), children,
                                                                       max_size=3),
    max_leaves=8)


@given(st.recursive(
    _PRIMITIVES | st.sampled_from([1e21, 0.1, 2**53, 2**53 + 1, 10**15, -(10**16), 12345678901234567890, "\ud800", "é",
                                   "1.5 and 2e3", "\u2028\x00\x1f\x7f\"\\/", "𝄞", 5e-324, math.inf]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["a", "b", "1", "\ud800", "é"]), children, max_size=3),
    max_leaves=8))
def test_stringify_for_compare_prints_what_json_stringify_prints(value):
    """The C encoder's shortcut in `stringify_for_compare` (keys of step signatures: a 5,000-step run's digest)
    must print exactly what `dumps`, JSON.stringify's reference here, prints."""
    assert jsjson.stringify_for_compare(value) == ("null" if value is None or value is UNDEFINED else jsjson.dumps(value))


@given(_VALUES, _VALUES)
def test_same_stringified_agrees_with_comparing_what_js_prints(left, right):
    """TraceDiffer's first diverging step: the C encoder's shortcut must not call two items equal that JS prints
    differently, nor the other way round (1 and 1.0, key order, NaN and null, undefined)."""
    from runtime_adapter.inspectors.diff import same_stringified

    expected = jsjson.stringify_for_compare(left) == jsjson.stringify_for_compare(right)
    assert same_stringified(left, right) == expected
    assert same_stringified(left, left)


# Bytes are read by orjson where it reads as the reference decoder (`_read`, what a str goes through) does; the
# two must agree on every document, value for value, type for type, key order included, and word every refusal
# alike.

_KEYS = st.sampled_from(["a", "b", "id", "__proto__", "", "é", "a\\u0000", "1", "01", "-1", "4294967294", "x y"])


def _number_literal() -> st.SearchStrategy[str]:
    digits = st.text("0123456789", min_size=1, max_size=30)
    return st.one_of(
        st.integers().map(str),
        st.integers(-(2**70), 2**70).map(str),
        st.sampled_from(["0", "-0", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                         "-9223372036854775809", "18446744073709551615", "18446744073709551616", "1e400", "-1e400",
                         "1e-400", "5e-324", "1.7976931348623157e308", "0.1", "2.5e-7", "1E5", "-0.0"]),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.tuples(st.sampled_from(["", "-"]), digits.filter(lambda d: d == "0" or d[0] != "0"), digits,
                  st.sampled_from(["", "e", "E", "e+", "e-"]), st.text("0123456789", min_size=1, max_size=3)).map(
            lambda p: f"{p[0]}{p[1]}.{p[2]}" + (f"{p[3]}{p[4]}" if p[3] else "")),
    )


_STRING_LITERAL = st.one_of(
    st.text().map(lambda text: json.dumps(text, ensure_ascii=False)),
    st.text().map(json.dumps),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3).map(json.dumps),
)


def _document() -> st.SearchStrategy[str]:
    scalar = st.one_of(st.sampled_from(["null", "true", "false"]), _number_literal(), _STRING_LITERAL)
    return st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5).map(lambda items: "[" + ",".join(items) + "]"),
            st.lists(st.tuples(_KEYS, inner), max_size=5).map(
                lambda pairs: "{" + ", ".join(f'"{key}": {value}' for key, value in pairs) + "}"),
        ),
        max_leaves=25,
    )


def _outcome(read, text):
    try:
        return "value", repr(read(text))
    except jsjson.JSONParseError as error:
        return type(error).__name__, str(error)


@given(_document(), st.sampled_from(["", " ", "\n", "\t\r\n "]))
def test_bytes_read_as_the_reference_reads_their_text(document, space):
    text = space + document + space  # str is read by the reference decoder, bytes by orjson where it can
    assert _outcome(jsjson.loads, text.encode()) == _outcome(jsjson.loads, text)


@pytest.mark.parametrize("text", [
    '{"a":1,"b":2,"a":3}', '{"b":1,"2":2,"1":3}', "[18446744073709551616]", "[-9223372036854775809]",
    "[100000000000000000000000]", "1e400", '"\\ud800"', '"\\udc00\\ud800"', "[NaN]", "[Infinity]", "[01]", "[1.]",
    '{"a":1,}', "[1,]", '"\x00"', '"\t"', "\ufeff[1]", "[" * 129 + "]" * 129, "[" * 128 + "]" * 128,
    "[" * 1100 + "]" * 1100, '{"a":' * 129 + "1" + "}" * 129, "[1e19, 12345678901234567890123]",
    "[1,\x0c2]", "[1] x", "[1]\x00", "[1]\x0b", "[.5]", "[+1]", "[0x10]", '["\\x"]', "[1]/**/", '["\\u12"]',
    '["\x7f"]', '{"a"\t:\t1}',
])
def test_bytes_and_text_read_alike_where_orjson_differs(text):
    assert _outcome(jsjson.loads, text.encode()) == _outcome(jsjson.loads, text)


def test_invalid_utf8_is_refused_as_before():
    with pytest.raises(jsjson.JSONParseError, match="not UTF-8"):
        jsjson.loads(b'{"a": "\xff"}')
    with pytest.raises(jsjson.JSONParseError, match="not UTF-8"):
        jsjson.loads(b'"\xed\xa0\x80"')


def test_a_run_file_is_read_without_the_reference_decoder(monkeypatch):
    monkeypatch.setattr(jsjson, "_read", lambda *args: pytest.fail("the reference decoder read a plain run"))
    run = {"id": "run-1", "status": "completed", "steps": [{"id": "s1", "output": {"text": "ok", "n": 2.5}}],
           "metrics": {"tokenUsage": {"total": 12}}, "timestamps": {"createdAt": "2026-11-01T00:00:00.000Z"}}
    assert jsjson.loads(json.dumps(run, indent=2).encode()) == run


@pytest.mark.parametrize("depth", [127, 128, 129, 400])
def test_depth_is_checked_past_an_infinite_number(depth):
    text = "[1e400, " + "[" * (depth - 1) + "]" * (depth - 1) + "]"
    assert jsjson.nests_deeper_than(jsjson.loads(text, max_nesting=None), 128) is (depth > 128)
    assert _outcome(jsjson.loads, text.encode())[0] == ("NestedTooDeep" if depth > 128 else "value")
