"""The FileAuditSink reader: newest first from byte-offset cursors, filters with a bounded scan, redaction, and
every broken line or file as an item or a reason, never an exception that hides the rest."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime_adapter.durable import audit
from runtime_adapter.durable.audit import (
    AuditLogUnavailable,
    AuditQuery,
    BadCursor,
    Cursor,
    read_audit_page,
)
from runtime_adapter.js import jsjson

SECRET = "sk-live-4f9Qx2Lm8Rt6Vb1Nc3Zd7Kp5"


def audit_line(n: int, *, event_type: str = "tool_started", run_id: str | None = "run-a", status: str | None = "running",
               payload: dict | None = None, second: int | None = None) -> str:
    """One line exactly as FileAuditSink appends it: JSON.stringify of the entry, fields in its order."""
    moment = f"2026-11-20T10:{(second if second is not None else n) // 60 % 60:02d}:{(second if second is not None else n) % 60:02d}.000Z"
    entry = {"timestamp": moment, "eventType": event_type, "runId": run_id, "status": status,
             "payload": payload if payload is not None else {"toolName": "send_email", "n": n}}
    return jsjson.dumps(entry)


def write_log(path: Path, lines: list[str], *, tail: str = "") -> Path:
    path.write_text("".join(line + "\n" for line in lines) + tail, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fresh_line_marks():
    audit.LINE_MARKS.clear()
    yield
    audit.LINE_MARKS.clear()


def numbers(page) -> list[int]:
    return [item.entry["payload"]["n"] for item in page.items if item.entry is not None]


def every_page(path: Path, query: AuditQuery) -> list:
    items, cursor = [], None
    while True:
        page = read_audit_page(path, AuditQuery(**{**query.__dict__, "cursor": cursor}))
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = Cursor.decode(page.next_cursor)


def test_entries_come_newest_first_with_line_numbers_and_offsets(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n) for n in range(5)])
    page = read_audit_page(path, AuditQuery(limit=10))
    assert numbers(page) == [4, 3, 2, 1, 0]
    assert [item.line for item in page.items] == [5, 4, 3, 2, 1]
    assert page.items[-1].offset == 0
    assert page.items[0].offset == path.read_bytes().rindex(b"\n", 0, len(path.read_bytes()) - 1) + 1
    assert page.next_cursor is None


def test_entries_keep_the_sinks_fields_in_its_order(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(1)])
    [item] = read_audit_page(path, AuditQuery()).items
    assert list(item.entry) == ["timestamp", "eventType", "runId", "status", "payload"]
    assert list(item.as_api()) == ["timestamp", "eventType", "runId", "status", "payload", "line", "offset"]


def test_payload_secrets_are_redacted_and_the_run_id_is_kept(tmp_path):
    payload = {"toolName": "update_crm", "arguments": {"apiKey": SECRET, "note": f"use {SECRET} then password=hunter2"}}
    path = write_log(tmp_path / "audit.jsonl", [audit_line(1, payload=payload, run_id="run-with-sk-live-in-name")])
    [item] = read_audit_page(path, AuditQuery()).items
    text = jsjson.dumps(item.entry)
    assert SECRET not in text and "hunter2" not in text
    assert item.entry["payload"]["arguments"]["apiKey"] == "[REDACTED]"
    assert item.entry["runId"] == "run-with-sk-live-in-name"


def test_the_redaction_opt_out_shows_payloads_as_written(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(1, payload={"arguments": {"apiKey": SECRET}})])
    [item] = read_audit_page(path, AuditQuery(), secrets=False).items
    assert item.entry["payload"]["arguments"]["apiKey"] == SECRET


def test_pages_follow_each_other_without_gap_or_overlap(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n) for n in range(23)])
    first = read_audit_page(path, AuditQuery(limit=10))
    assert numbers(first) == list(range(22, 12, -1))
    second = read_audit_page(path, AuditQuery(limit=10, cursor=Cursor.decode(first.next_cursor)))
    assert numbers(second) == list(range(12, 2, -1))
    assert [item.line for item in second.items] == list(range(13, 3, -1))
    third = read_audit_page(path, AuditQuery(limit=10, cursor=Cursor.decode(second.next_cursor)))
    assert numbers(third) == [2, 1, 0]
    assert third.next_cursor is None


def test_lines_appended_after_the_first_page_do_not_shift_the_next(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n) for n in range(6)])
    first = read_audit_page(path, AuditQuery(limit=3))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(audit_line(99) + "\n")
    second = read_audit_page(path, AuditQuery(limit=3, cursor=Cursor.decode(first.next_cursor)))
    assert numbers(second) == [2, 1, 0]
    assert numbers(read_audit_page(path, AuditQuery(limit=1))) == [99]


def test_a_truncated_last_line_is_reported_with_its_line_and_hides_nothing(tmp_path):
    cut = audit_line(9)[:40]
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n) for n in range(3)], tail=cut)
    items = read_audit_page(path, AuditQuery()).items
    assert items[0].entry is None and items[0].line == 4
    assert items[0].error.startswith("truncated: the last line has no newline and is not complete JSON")
    assert items[0].text == cut
    assert [item.entry["payload"]["n"] for item in items[1:]] == [2, 1, 0]


def test_a_complete_last_line_without_its_newline_is_an_entry(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(0)], tail=audit_line(1))
    assert numbers(read_audit_page(path, AuditQuery())) == [1, 0]


def test_a_corrupt_line_in_the_middle_is_reported_in_place_with_its_reason(tmp_path):
    joined = audit_line(2)[:50] + audit_line(3)  # two writers appending at once
    path = write_log(tmp_path / "audit.jsonl", [audit_line(0), audit_line(1), joined, audit_line(4)])
    items = read_audit_page(path, AuditQuery()).items
    assert [item.line for item in items] == [4, 3, 2, 1]
    corrupt = items[1]
    assert corrupt.entry is None and corrupt.error.startswith("not JSON: ")
    assert "column" in corrupt.error and "line 1" not in corrupt.error
    assert numbers(read_audit_page(path, AuditQuery())) == [4, 1, 0]


def test_json_that_is_not_an_audit_entry_is_reported(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", ["[1, 2]", '{"level": "info", "msg": "hello"}', "42", audit_line(1)])
    items = read_audit_page(path, AuditQuery()).items
    assert items[0].entry is not None
    assert items[1].error == "not an audit entry: a number, not an object"
    assert items[2].error == "not an audit entry: an object without timestamp, eventType, runId, status or payload"
    assert items[3].error == "not an audit entry: an array, not an object"


def test_an_entry_of_another_shape_is_shown_as_it_is(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", ['{"eventType": 7, "payload": "text", "extra": {"token": "abc"}}'])
    [item] = read_audit_page(path, AuditQuery()).items
    assert item.entry == {"eventType": 7, "payload": "text", "extra": {"token": "[REDACTED]"}}


def test_blank_lines_are_skipped_and_still_counted(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", ["", audit_line(0), "  ", audit_line(1)])
    items = read_audit_page(path, AuditQuery()).items
    assert [(item.line, item.entry["payload"]["n"]) for item in items] == [(4, 1), (2, 0)]


def test_binary_bytes_and_bad_utf8_in_a_line_are_reported(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(audit_line(0).encode() + b"\n" + b'{"a": "\xff\xfe"}\n' + audit_line(1).encode() + b"\n"
                     + b'{"x": 1}\x00\x00\n')
    items = read_audit_page(path, AuditQuery()).items
    assert items[0].error == "binary data (NUL bytes), not a JSON line"
    assert items[2].error.startswith("not JSON: not UTF-8")
    assert numbers(read_audit_page(path, AuditQuery())) == [1, 0]


def test_deep_nesting_is_reported_not_parsed(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", ['{"payload": ' + "[" * 300 + "]" * 300 + "}"])
    [item] = read_audit_page(path, AuditQuery()).items
    assert item.error.startswith("not read: nested more than")


def test_a_line_longer_than_the_limit_is_reported_without_being_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(audit, "BLOCK_BYTES", 256)
    long_line = audit_line(1, payload={"blob": "x" * 5000, "n": 1})
    path = write_log(tmp_path / "audit.jsonl", [audit_line(0), long_line, audit_line(2)])
    items = read_audit_page(path, AuditQuery()).items
    assert [item.line for item in items] == [3, 2, 1]
    assert items[1].error == "longer than 1,000 bytes: not read"
    assert items[1].offset == len(audit_line(0)) + 1
    assert numbers(read_audit_page(path, AuditQuery())) == [2, 0]


def test_a_line_longer_than_the_scan_budget_is_reported_once_and_paging_resumes_past_it(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(audit, "BLOCK_BYTES", 256)
    long_line = '{"payload": "' + "y" * 20_000 + '"}'
    path = write_log(tmp_path / "audit.jsonl", [audit_line(0), long_line, audit_line(2)])
    query = AuditQuery(max_scan_bytes=4000)
    first = read_audit_page(path, query)
    assert numbers(first) == [2]
    assert first.items[1].offset is None and first.items[1].error.startswith("longer than 1,000 bytes: not read")
    assert first.items[1].line == 2  # no newline between where the scan stopped and the line's end
    assert first.stopped and first.next_cursor
    pages, cursor = [], Cursor.decode(first.next_cursor)
    while cursor is not None:
        page = read_audit_page(path, AuditQuery(max_scan_bytes=4000, cursor=cursor))
        pages.append(page)
        cursor = Cursor.decode(page.next_cursor) if page.next_cursor else None
    assert len(pages) > 1  # the rest of the long line took several requests
    rest = [item for page in pages for item in page.items]
    assert [(item.line, item.entry["payload"]["n"]) for item in rest] == [(1, 0)]


def test_every_line_of_a_log_is_read_once_over_all_pages(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "BLOCK_BYTES", 97)  # blocks end mid-line everywhere
    lines = [audit_line(n) for n in range(40)]
    lines[17] = "{broken"
    path = write_log(tmp_path / "audit.jsonl", lines, tail="{cut")
    items = every_page(path, AuditQuery(limit=7))
    assert [item.line for item in items] == list(range(41, 0, -1))
    assert [item.offset for item in items] == sorted((item.offset for item in items), reverse=True)
    assert sum(item.entry is None for item in items) == 2


# Filters -----------------------------------------------------------------------------------------------------


def mixed_log(tmp_path: Path) -> Path:
    lines = []
    for n in range(30):
        lines.append(audit_line(n, run_id=f"run-{n % 3}", event_type=("tool_started", "policy_decision", "run_failed")[n % 3],
                                status="failed" if n % 3 == 2 else "running"))
    return write_log(tmp_path / "audit.jsonl", lines)


def test_filter_by_run_id(tmp_path):
    page = read_audit_page(mixed_log(tmp_path), AuditQuery(run_id="run-1", limit=100))
    assert numbers(page) == list(range(28, 0, -3))
    assert all(item.entry["runId"] == "run-1" for item in page.items)


def test_filter_by_event_type_and_status(tmp_path):
    path = mixed_log(tmp_path)
    assert numbers(read_audit_page(path, AuditQuery(event_type="run_failed", limit=100))) == list(range(29, 0, -3))
    assert numbers(read_audit_page(path, AuditQuery(status="failed", limit=100))) == list(range(29, 0, -3))
    assert numbers(read_audit_page(path, AuditQuery(status="failed", event_type="tool_started", limit=100))) == []


def test_filter_by_time_range(tmp_path):
    after = datetime(2026, 11, 20, 10, 0, 10, tzinfo=UTC)
    before = datetime(2026, 11, 20, 10, 0, 13, tzinfo=UTC)
    page = read_audit_page(mixed_log(tmp_path), AuditQuery(after=after, before=before, limit=100))
    assert numbers(page) == [12, 11, 10]


def test_a_filter_matches_exact_values_not_substrings(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(0, run_id="run-10"), audit_line(1, run_id="run-1")])
    assert numbers(read_audit_page(path, AuditQuery(run_id="run-1"))) == [1]


def test_a_filter_reads_escaped_and_foreign_shaped_entries_too(tmp_path):
    odd = 'ru"n\u00e9'
    lines = [audit_line(0, run_id=odd), '{"payload": {"n": 1}, "runId": "ru\\"n\\u00e9", "eventType": "x"}',
             audit_line(2)]
    page = read_audit_page(write_log(tmp_path / "audit.jsonl", lines), AuditQuery(run_id=odd))
    assert numbers(page) == [1, 0]


def test_filtered_pages_page_on(tmp_path):
    path = mixed_log(tmp_path)
    items = every_page(path, AuditQuery(run_id="run-2", limit=4))
    assert [item.entry["payload"]["n"] for item in items] == list(range(29, 0, -3))


def test_a_filtered_scan_stops_at_its_budget_and_continues_from_there(tmp_path):
    lines = [audit_line(0, run_id="needle")] + [audit_line(n, run_id="hay") for n in range(1, 25)]
    path = write_log(tmp_path / "audit.jsonl", lines)
    first = read_audit_page(path, AuditQuery(run_id="needle", max_scan_lines=10))
    assert first.items == [] and first.stopped and first.scanned_lines == 10
    second = read_audit_page(path, AuditQuery(run_id="needle", max_scan_lines=10, cursor=Cursor.decode(first.next_cursor)))
    assert second.items == [] and second.stopped
    third = read_audit_page(path, AuditQuery(run_id="needle", max_scan_lines=10, cursor=Cursor.decode(second.next_cursor)))
    assert numbers(third) == [0] and not third.stopped and third.next_cursor is None
    assert third.items[0].line == 1


def test_an_unreadable_line_is_shown_under_a_filter_only_when_it_names_what_is_filtered(tmp_path):
    lines = [audit_line(0, run_id="run-a"), '{"timestamp":"x","runId":"run-a","pay', '{"runId":"run-b","pay',
             audit_line(3, run_id="run-a")]
    page = read_audit_page(write_log(tmp_path / "audit.jsonl", lines), AuditQuery(run_id="run-a"))
    assert [item.line for item in page.items] == [4, 2, 1]
    assert page.items[1].entry is None


# Cursors and unreadable files ----------------------------------------------------------------------------------


def test_a_cursor_round_trips_and_refuses_anything_else():
    cursor = Cursor(1234, 99, inside=True)
    assert Cursor.decode(cursor.encode()) == cursor
    for text in ("", "zzz", "YTox", "bzoxMjM0Ojk5OjA", "YToxMjM0Ojk5OjI", "YTotMTo5OTow", "!!!!"):
        with pytest.raises(BadCursor):
            Cursor.decode(text)


def test_a_cursor_into_another_file_or_past_its_end_or_mid_line_is_refused(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n) for n in range(3)])
    inode = os.stat(path).st_ino
    with pytest.raises(BadCursor, match="earlier audit log file"):
        read_audit_page(path, AuditQuery(cursor=Cursor(0, inode + 1)))
    with pytest.raises(BadCursor, match="past the end"):
        read_audit_page(path, AuditQuery(cursor=Cursor(10**9, inode)))
    with pytest.raises(BadCursor, match="start of a line"):
        read_audit_page(path, AuditQuery(cursor=Cursor(5, inode)))
    assert numbers(read_audit_page(path, AuditQuery(cursor=Cursor(len(audit_line(0)) + 1, inode)))) == [0]


def test_a_missing_file_a_directory_and_no_setting_are_unavailable_with_a_reason(tmp_path):
    with pytest.raises(AuditLogUnavailable, match="no such file"):
        read_audit_page(tmp_path / "missing.jsonl", AuditQuery())
    with pytest.raises(AuditLogUnavailable, match="this is a directory"):
        read_audit_page(tmp_path, AuditQuery())
    with pytest.raises(AuditLogUnavailable, match="no audit log is configured"):
        read_audit_page(None, AuditQuery())


def test_a_binary_file_is_unavailable_with_a_reason(tmp_path):
    path = tmp_path / "audit.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + os.urandom(200))
    with pytest.raises(AuditLogUnavailable, match="binary data"):
        read_audit_page(path, AuditQuery())


def test_a_fifo_is_never_opened_for_reading_lines(tmp_path):
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    with pytest.raises(AuditLogUnavailable, match="not a regular file"):
        read_audit_page(fifo, AuditQuery())


def test_an_empty_log_is_an_empty_page(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    page = read_audit_page(path, AuditQuery())
    assert page.items == [] and page.next_cursor is None and page.size == 0


def test_the_log_is_opened_read_only_and_left_as_it_was(tmp_path):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n) for n in range(3)], tail="{cut")
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    path.chmod(0o444)
    every_page(path, AuditQuery(limit=1))
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


# Reading a big log -------------------------------------------------------------------------------------------


def test_a_page_of_a_big_log_reads_its_end_not_the_whole_file(tmp_path, monkeypatch):
    lines = [audit_line(n, second=n % 3600) for n in range(20_000)]
    path = write_log(tmp_path / "audit.jsonl", lines)
    size = path.stat().st_size
    monkeypatch.setattr(audit, "LINE_COUNT_BUDGET", size // 8)
    read = []
    original = audit._File.read
    monkeypatch.setattr(audit._File, "read", lambda self, offset, length: read.append(length) or original(self, offset, length))
    page = read_audit_page(path, AuditQuery(limit=50))
    assert numbers(page) == list(range(19_999, 19_949, -1))
    assert sum(read) < size // 4
    # Too far from any counted line to number it in this request: the offset says where it is.
    assert page.items[0].line is None and page.items[0].offset > 0


def test_line_numbers_of_a_big_log_arrive_as_the_count_catches_up(tmp_path, monkeypatch):
    path = write_log(tmp_path / "audit.jsonl", [audit_line(n, second=n % 3600) for n in range(4000)])
    monkeypatch.setattr(audit, "LINE_COUNT_BUDGET", path.stat().st_size // 3)
    seen = [read_audit_page(path, AuditQuery(limit=1)).items[0].line for _ in range(4)]
    assert seen[0] is None and seen[-1] == 4000


def test_a_filtered_page_of_a_big_log_stops_at_the_scan_budget(tmp_path, monkeypatch):
    lines = [audit_line(n, run_id="hay", second=n % 3600) for n in range(20_000)]
    path = write_log(tmp_path / "audit.jsonl", lines)
    monkeypatch.setattr(audit, "MAX_SCAN_LINES", 5000)
    page = read_audit_page(path, AuditQuery(before=datetime(2020, 1, 1, tzinfo=UTC)))
    assert page.items == [] and page.stopped and page.scanned_lines == 5000
    assert Cursor.decode(page.next_cursor).offset == len("".join(line + "\n" for line in lines[:15_000]))


def test_looking_for_a_run_passes_over_blocks_without_it_and_stops_at_the_byte_budget(tmp_path, monkeypatch):
    lines = [audit_line(n, run_id="hay", second=n % 3600) for n in range(20_000)]
    path = write_log(tmp_path / "audit.jsonl", lines)
    monkeypatch.setattr(audit, "MAX_SCAN_LINES", 10)  # lines looked at one by one: none here
    monkeypatch.setattr(audit, "MAX_SCAN_BYTES", path.stat().st_size // 4)
    page = read_audit_page(path, AuditQuery(run_id="needle"))
    assert page.items == [] and page.stopped
    assert path.stat().st_size // 4 <= page.scanned_bytes < path.stat().st_size // 4 + audit.BLOCK_BYTES
    offset = Cursor.decode(page.next_cursor).offset
    assert path.read_bytes()[offset - 1:offset] == b"\n"
    assert page.scanned_lines == path.read_bytes()[offset:].count(b"\n")


# The reader against a plain reference: split the whole file, filter every line ------------------------------


def reference(path: Path, query: AuditQuery) -> list[tuple[int, str]]:
    """(line number, run id or the reason's first word) of what a page-by-page read must return, newest first."""
    text = path.read_bytes()
    lines = text.split(b"\n")
    terminated = [True] * (len(lines) - 1) + [False]
    if lines[-1] == b"":
        lines, terminated = lines[:-1], terminated[:-1]
    out = []
    needles = query.needles()
    for number in range(len(lines), 0, -1):
        data = lines[number - 1]
        if not data.strip() or (query.filtered and not all(needle in data for needle in needles)):
            continue
        try:
            entry = jsjson.loads(data)
        except jsjson.JSONParseError:
            # Under a time range, a broken line whose first bytes still name the sink's time is placed by it.
            stamp = re.match(rb'\{"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"', data)
            if not stamp or query.matches(stamp[1].decode(), None, None, None) or query.after is None and query.before is None:
                out.append((number, "unreadable"))
            continue
        if not isinstance(entry, dict):
            out.append((number, "unreadable"))
        elif query.matches(*(entry.get(name) for name in ("timestamp", "eventType", "runId", "status"))):
            out.append((number, entry.get("runId")))
    return out


def varied_log(tmp_path: Path) -> Path:
    lines = []
    for n in range(600):
        run_id = f"run-{(n * 7919) % 37}"
        lines.append(audit_line(n, run_id=run_id, event_type=("tool_started", "policy_decision", "run_failed")[n % 3],
                                status=("running", "failed")[n % 5 == 0], second=n % 3600,
                                payload={"n": n, "pad": "p" * ((n * 31) % 400)}))
        if n % 97 == 13:
            lines.append(audit_line(n, run_id=run_id)[: 30 + n % 50])  # cut short, naming the run when long enough
        if n % 151 == 7:
            lines.append("")
    return write_log(tmp_path / "audit.jsonl", lines, tail=audit_line(600, run_id="run-3")[:70])


@pytest.mark.parametrize("block", [101, 4096, 256 * 1024])
@pytest.mark.parametrize("query", [
    AuditQuery(limit=9), AuditQuery(run_id="run-3", limit=4), AuditQuery(run_id="run-36", limit=50),
    AuditQuery(event_type="run_failed", status="failed", limit=7), AuditQuery(run_id="nobody", limit=5),
    AuditQuery(after=datetime(2026, 11, 20, 10, 3, tzinfo=UTC), before=datetime(2026, 11, 20, 10, 6, tzinfo=UTC),
               limit=11),
    AuditQuery(run_id="run-3", limit=5, max_scan_lines=40),
], ids=["all", "run", "rare-run", "event+status", "no-match", "time", "run-small-budget"])
def test_paging_through_the_log_returns_what_reading_it_whole_would(tmp_path, monkeypatch, block, query):
    monkeypatch.setattr(audit, "BLOCK_BYTES", block)
    path = varied_log(tmp_path)
    got = [(item.line, item.entry.get("runId") if item.entry is not None else "unreadable")
           for item in every_page(path, query)]
    assert got == reference(path, query)
