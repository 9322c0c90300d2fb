"""JSON text is byte-identical to what Node's JSON.stringify / JSON.parse produce."""

import pytest

from runtime_adapter.js import jsjson


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
