from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime_adapter.present import formatting

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-24T11:59:30.000Z", "just now"),
    ("2026-11-24T11:55:00.000Z", "5 min ago"),
    ("2026-11-24T09:00:00.000Z", "3 h ago"),
    ("2026-11-22T12:00:00.000Z", "2 d ago"),
    ("2026-11-24T12:04:00.000Z", "in 4 min"),
    ("2026-01-01T00:00:00.000Z", "2026-01-01"),
    (None, "—"),
    ("not a date", "not a date"),
])
def test_relative_time(value, expected):
    assert formatting.relative_time(value, NOW) == expected


def test_absolute_time_is_utc_to_the_second():
    assert formatting.absolute_time("2026-11-24T02:24:16.033Z") == "2026-11-24 02:24:16 UTC"
    assert formatting.absolute_time("2026-11-24T03:24:16+01:00") == "2026-11-24 02:24:16 UTC"
    assert formatting.absolute_time(None) == ""


@pytest.mark.parametrize(("ms", "expected"), [
    (0, "0 ms"), (340, "340 ms"), (1250, "1.25 s"), (12345, "12.3 s"), (125_000, "2 min 5 s"), (120_000, "2 min"),
    (11_520_000, "3 h 12 min"), (187_200_000, "2 d 4 h"), (None, "—"), (-5, "—"), ("12", "—"), (True, "—"),
])
def test_duration(ms, expected):
    assert formatting.duration(ms) == expected


@pytest.mark.parametrize(("count", "expected"), [
    (0, "0"), (24, "24"), (9999, "9,999"), (10_000, "10k"), (12_345, "12.3k"), (999_999, "1M"),
    (4_500_000, "4.5M"), (1_200_000_000, "1.2B"), (None, "—"),
])
def test_token_count(count, expected):
    assert formatting.token_count(count) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0, "$0"), (0.0002, "$0.0002"), (0.0051234, "$0.0051"), (2.5e-7, "$0.00000025"), (1e-9, "$0.000000001"),
    (0.9, "$0.90"), (1, "$1.00"), (1234.5, "$1,234.50"), (None, "—"), (float("nan"), "—"),
])
def test_cost(value, expected):
    assert formatting.cost(value) == expected


def test_short_id_keeps_head_and_tail_and_replay_suffixes():
    assert formatting.short_id("replay-fixed-001") == "replay-fixed-001"
    assert formatting.short_id("2068a0d3-4277-401a-91d4-5d72b1b8e54d") == "2068a0d3…5d72b1b8e54d"
    assert formatting.short_id("2068a0d3-4277-401a-91d4-5d72b1b8e54d:replay:1795487059363") == "2068a0d3…:replay:1795487059363"


def test_total_ms_adds_the_numeric_timings():
    assert formatting.total_ms({"modelMs": 10, "toolMs": 5.5, "bogus": "x"}) == 15.5
    assert formatting.total_ms(None) == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("\u202egnp.exe", "\\u202egnp.exe"),
    ("ad\u200bmin\u2066x\u2069", "ad\\u200bmin\\u2066x\\u2069"),
    ("line\nbreak\ttab\r;\x00\x7f", "line\\nbreak\\ttab\\r;\\u0000\\u007f"),
    ("tag\U000e0041\u2028", "tag\\u{e0041}\\u2028"),
    ("2068a0d3-4277:replay:1795487059363", "2068a0d3-4277:replay:1795487059363"),
    ("café 🚀 ids stay", "café 🚀 ids stay"),
    (None, ""),
])
def test_visible_id_shows_invisible_and_direction_characters_as_escapes(value, expected):
    assert formatting.visible_id(value) == expected


def test_short_id_clips_the_visible_id():
    assert formatting.short_id("\u202egnp.exe") == "\\u202egnp.exe"
    assert formatting.short_id("invoice-2026-11-24-final\u202egnp.exe").endswith("…\\u202egnp.exe")
    assert formatting.short_id("abcdef\u202egnp-and-a-long-tail-of-text").startswith("abcdef\\u202e…")


@pytest.mark.parametrize(("value", "start", "text"), [
    ("2026-01-01T00:00:00.760Z", "2026-01-01T00:00:00.000Z", "+760 ms"),
    ("2026-01-01T00:00:01.250Z", "2026-01-01T00:00:00.000Z", "+1.25 s"),
    ("2026-01-01T00:02:05.000Z", "2026-01-01T00:00:00.000Z", "+2 min 5 s"),
    ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.120Z", "\u2212120 ms"),
    ("not a time", "2026-01-01T00:00:00.000Z", "—"),
    ("2026-01-01T00:00:00.000Z", None, "—"),
])
def test_offsets_from_the_runs_start(value, start, text):
    assert formatting.offset(value, start) == text
