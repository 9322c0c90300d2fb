"""The runtime's audit log, read-only: a `FileAuditSink` JSONL file, newest entry first.

`FileAuditSink.handleEvent` (src/runtime/FileAuditSink.js) appends one line per audited event,
`JSON.stringify({timestamp, eventType, runId, status, payload})` then `\\n`, and redacts the
entry only when built with `piiSafe: true`: payloads are redacted here, before anything leaves
the reader.

The file only grows and may hold a million lines, so a page is read from a byte offset backwards
in blocks, never the whole file: the first page starts at the end, and the opaque cursor of the
next names the offset of the oldest line read (with the file's inode, so a cursor into a rotated
file is refused). A filtered page scans back until it holds `limit` entries or has spent its
budget of lines and bytes; then it stops and hands out a cursor to continue from. Blocks that do
not hold the run id (event type, status) asked for are passed over without splitting them into
lines, and the sink's own timestamp rules a line out before it is parsed. Lines are numbered when
counting the newlines before them is cheap (see `_LineMarks`); every item has its byte offset.

A line that is not an entry (corrupt, cut short by a writer mid-append, foreign, binary, too
long) is an item with its reason, in its place, and never hides the lines around it.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import errno
import hashlib
import json
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime_adapter.js import jsjson
from runtime_adapter.js.dates import iso_ms, parse_iso
from runtime_adapter.redaction import clean_text, redact_value, scrub

# The fields FileAuditSink writes, in its order.
ENTRY_FIELDS = ("timestamp", "eventType", "runId", "status", "payload")
# FileAuditSink's default `eventTypes`: what a log written with the defaults can hold.
DEFAULT_EVENT_TYPES = ("tool_requested", "policy_decision", "approval_requested", "approval_resolved",
                       "tool_started", "tool_completed", "tool_failed", "run_completed", "run_failed")

BLOCK_BYTES = 256 * 1024
# A line longer than this is reported, not parsed: the reader never holds more of one line.
MAX_LINE_BYTES = 4 * 1024 * 1024
# What one page may read looking for matches before it stops and offers to continue: lines looked at one
# by one (about 4 µs each when filtering by time), and bytes read.
MAX_SCAN_LINES = 50_000
MAX_SCAN_BYTES = 64 * 1024 * 1024
# Newlines counted per request to number lines (see _LineMarks).
LINE_COUNT_BUDGET = 32 * 1024 * 1024
HEAD_BYTES = 4096
PREVIEW_CHARS = 300

# How JSON.stringify writes an entry's head; a line that starts like this is filtered without parsing its
# payload (JSON.stringify never writes a key twice, so these are the entry's values).
_STRING = rb'"(?:[^"\\]|\\.)*"'
_HEAD = re.compile(rb'\{"timestamp":(?P<timestamp>' + _STRING + rb'|null),"eventType":(?P<eventType>' + _STRING
                   + rb'|null),"runId":(?P<runId>' + _STRING + rb'|null),"status":(?P<status>' + _STRING
                   + rb'|null),"payload":')
_FIRST_LINE = re.compile(r" at line 1 column(?= \d+$)")
# Values that JSON.stringify writes as they are (and no writer escapes): a line without them cannot match.
_PLAIN_NEEDLE = re.compile(r"[A-Za-z0-9 _.:@+=,;#$%&()*!?~^|{}\[\]<>'-]+")


class AuditLogUnavailable(Exception):
    """The log cannot be read at all (missing, a directory, binary, unreadable); `reason` says why.

    `missing`: there is no file (or no setting) at all, rather than one that cannot be read as a log.
    """

    def __init__(self, path: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.missing = missing


class BadCursor(ValueError):
    """A cursor this log did not issue, or one into a file that has since been replaced."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts reading backwards: a byte offset in the file with this inode.

    `inside` marks an offset inside a line too long to scan in one request: the next page first
    skips back to that line's start.
    """

    offset: int
    inode: int
    inside: bool = False

    def encode(self) -> str:
        text = f"a:{self.offset}:{self.inode}:{int(self.inside)}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadCursor("This cursor was not issued by the audit log.") from None
        parts = raw.split(":")
        if (len(parts) != 4 or parts[0] != "a" or not all(part.isdigit() and len(part) <= 20 for part in parts[1:])
                or parts[3] not in ("0", "1")):
            raise BadCursor("This cursor was not issued by the audit log.")
        return cls(int(parts[1]), int(parts[2]), parts[3] == "1")


@dataclass(frozen=True)
class AuditQuery:
    event_type: str | None = None
    run_id: str | None = None
    status: str | None = None
    after: datetime | None = None  # entries at or after
    before: datetime | None = None  # entries strictly before
    cursor: Cursor | None = None
    limit: int = 50
    # What this page may read looking for matches; None: MAX_SCAN_LINES and MAX_SCAN_BYTES.
    max_scan_lines: int | None = None
    max_scan_bytes: int | None = None

    @property
    def filtered(self) -> bool:
        return any(value is not None for value in (self.event_type, self.run_id, self.status, self.after, self.before))

    def needles(self) -> list[bytes]:
        """Text every line holding a matching entry contains as written (when a writer cannot have escaped it)."""
        values = (self.event_type, self.run_id, self.status)
        return [value.encode() for value in values if value and _PLAIN_NEEDLE.fullmatch(value)]

    def matches(self, timestamp: Any, event_type: Any, run_id: Any, status: Any) -> bool:
        if self.event_type is not None and event_type != self.event_type:
            return False
        if self.run_id is not None and run_id != self.run_id:
            return False
        if self.status is not None and status != self.status:
            return False
        if self.after is not None or self.before is not None:
            moment = parse_iso(timestamp)
            if moment is None:
                return False
            if self.after is not None and moment < self.after:
                return False
            if self.before is not None and moment >= self.before:
                return False
        return True


@dataclass(frozen=True)
class AuditItem:
    """One line: an entry (redacted, the file's keys in its order) or, when `error` is set, why it is not one."""

    offset: int | None  # byte offset of the line's start (None: an over-long line whose start is still unread)
    length: int
    line: int | None = None
    entry: dict[str, Any] | None = None
    error: str | None = None
    text: str = ""  # the start of an unreadable line, redacted

    def as_api(self) -> dict[str, Any]:
        if self.entry is not None:
            return {**self.entry, "line": self.line, "offset": self.offset}
        return {"line": self.line, "offset": self.offset, "unreadable": self.error, "text": self.text}


@dataclass(frozen=True)
class AuditPage:
    path: str
    size: int
    items: list[AuditItem]
    next_cursor: str | None
    scanned_lines: int
    scanned_bytes: int
    # The scan spent its budget before filling the page: `next_cursor` continues it.
    stopped: bool
    query: AuditQuery = field(repr=False, default_factory=AuditQuery)


# The file -------------------------------------------------------------------------------------------


class _File:
    """The open log: read-only, its size fixed at open, so lines appended meanwhile wait for the next page."""

    def __init__(self, path: Path) -> None:
        shown = str(path)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise AuditLogUnavailable(shown, "no such file", missing=True) from None
        except IsADirectoryError:
            raise AuditLogUnavailable(shown, "this is a directory, not a JSONL file") from None
        except OSError as error:
            reason = "this is a directory, not a JSONL file" if error.errno == errno.EISDIR else (
                error.strerror or str(error))
            raise AuditLogUnavailable(shown, f"cannot be opened: {reason}") from None
        try:
            info = os.fstat(descriptor)
            if stat.S_ISDIR(info.st_mode):
                raise AuditLogUnavailable(shown, "this is a directory, not a JSONL file")
            if not stat.S_ISREG(info.st_mode):
                raise AuditLogUnavailable(shown, "not a regular file (a pipe, socket or device is never read)")
        except BaseException:
            os.close(descriptor)
            raise
        self.handle = os.fdopen(descriptor, "rb", buffering=0)
        self.path = shown
        self.size = info.st_size
        self.identity = (info.st_dev, info.st_ino)
        self.head = self.read(0, min(self.size, HEAD_BYTES))
        # NUL bytes in a file that does not start like JSON lines: compressed, an image, a database. (A NUL
        # line further on, left by a crash mid-append, is one unreadable line.)
        if b"\x00" in self.head and not self.head.lstrip().startswith(b"{"):
            self.close()
            raise AuditLogUnavailable(shown, "binary data (NUL bytes): not a JSONL audit log")

    def read(self, offset: int, length: int) -> bytes:
        try:
            self.handle.seek(offset)
            return self.handle.read(length)
        except OSError as error:
            raise AuditLogUnavailable(self.path, f"cannot be read: {error.strerror or error}") from None

    def close(self) -> None:
        self.handle.close()


class _LineMarks:
    """Line numbers of known offsets per file, so a line's number costs counting from the nearest one.

    Counting is capped per request (LINE_COUNT_BUDGET): past it, the mark moves that far and the
    line stays unnumbered this time, so a huge log gets its numbers over a few requests instead of
    one slow one. The log only grows; a file whose first bytes changed (rewritten, rotated in place)
    or that shrank starts over.
    """

    MAX_FILES = 16
    MAX_MARKS = 2048

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: OrderedDict[tuple[Any, ...], list[tuple[int, int]]] = OrderedDict()

    def clear(self) -> None:
        with self._lock:
            self._files.clear()

    def line_at(self, log: _File, offset: int, budget: int | None = None) -> int | None:
        """The number (from 1) of the line starting at `offset`, or None when too far from any mark."""
        budget = LINE_COUNT_BUDGET if budget is None else budget
        key = (*log.identity, hashlib.blake2b(log.head, digest_size=16).digest())
        with self._lock:
            marks = self._files.pop(key, None) or [(0, 1)]
            if marks[-1][0] > log.size:
                marks = [(0, 1)]
            self._files[key] = marks
            while len(self._files) > self.MAX_FILES:
                self._files.popitem(last=False)
            index = bisect.bisect_right(marks, (offset, float("inf"))) - 1
            mark, number = marks[index]
        target = offset if offset - mark <= budget else mark + budget
        number += self._count(log, mark, target)
        with self._lock:
            current = self._files.get(key)
            if current is not None and (target, number) not in current:
                bisect.insort(current, (target, number))
                if len(current) > self.MAX_MARKS:
                    del current[1::2]
        return number if target == offset else None

    @staticmethod
    def _count(log: _File, start: int, end: int) -> int:
        count, position = 0, start
        while position < end:
            block = log.read(position, min(1024 * 1024, end - position))
            if not block:
                break
            count += block.count(b"\n")
            position += len(block)
        return count


LINE_MARKS = _LineMarks()


# Reading ---------------------------------------------------------------------------------------------

# One line read backwards: (start, end, data, terminated, continued). `end` is the offset of its newline (or of
# the end of the file), `data` None when longer than MAX_LINE_BYTES, `terminated` False for the bytes after
# the last newline (a line maybe still being written), `continued` True for the rest of an over-long line a
# previous page reported.
_Line = tuple[int, int, bytes | None, bool, bool]


@dataclass(frozen=True)
class _Stop:
    """The scan spent its byte budget inside one over-long line (ending at `end`): resume at `position`, inside it."""

    position: int
    end: int
    continued: bool


@dataclass(frozen=True)
class _Skip:
    """`count` whole lines, the earliest starting at `start`, that cannot match: a needle is nowhere in their block."""

    count: int
    start: int


def _lines_backwards(log: _File, end: int, *, inside: bool, budget: int, max_line: int,
                     needles: list[bytes] | None = None) -> Iterator[_Line | _Stop | _Skip]:
    """The lines ending at or before `end`, last first, split a block at a time in C rather than byte by byte.

    With `needles`, the lines wholly inside a block that lacks one are passed over as one `_Skip`: looking
    for a run id reads blocks, not lines.
    """
    position = line_end = end
    carry = b""  # the part of the current line (the one ending at line_end) read so far
    too_long = False
    tail = not inside  # the current line is the bytes after the file's last newline: often none
    continued = inside
    while position > 0:
        start = max(0, position - BLOCK_BYTES)
        block = log.read(start, position - start)
        if len(block) != position - start:
            raise AuditLogUnavailable(log.path, "the file shrank while it was being read")
        first = block.find(b"\n")
        if first < 0:
            if not too_long:
                carry = block + carry
                if len(carry) > max_line:
                    carry, too_long = b"", True
        else:
            parts = block[first + 1:].split(b"\n")
            last = parts[-1]
            line_start = position - len(last)
            if not tail or last or carry:
                data = None if too_long or len(last) + len(carry) > max_line else last + carry
                yield line_start, line_end, data, not tail, continued
            whole = len(parts) - 1
            if whole and needles and not all(needle in block for needle in needles):
                line_start = start + first + 1
                yield _Skip(whole, line_start)
            else:
                for piece in reversed(parts[:-1]):
                    line_end = line_start - 1
                    line_start = line_end - len(piece)
                    yield line_start, line_end, piece if len(piece) <= max_line else None, True, False
            line_end = start + first
            carry, too_long = block[:first], first > max_line
            if too_long:
                carry = b""
            tail = continued = False
        position = start
        if too_long and end - position > budget and position > 0:
            yield _Stop(position, line_end, continued)
            return
    if not tail or carry:
        yield 0, line_end, None if too_long else carry, not tail, continued


_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), "a number")


def _preview(data: bytes, secrets: bool) -> str:
    text = data[:PREVIEW_CHARS * 12].decode("utf-8", errors="replace")
    # Redacted before it is cut short, so a secret is never shown half.
    text = clean_text(text, secrets=secrets)
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def _clean_entry(entry: dict[str, Any], secrets: bool) -> dict[str, Any]:
    cleaned: dict[str, Any] = redact_value(entry, secrets=secrets)
    run_id = entry.get("runId")
    if isinstance(run_id, str) and "runId" in cleaned:
        # The run's id links to its run, as on the run pages: never rewritten (see redaction's run keys).
        cleaned["runId"] = scrub(run_id)
    return cleaned


def _string(raw: bytes | None) -> Any:
    if raw is None or raw == b"null":
        return None
    inner = raw[1:-1]
    if b"\\" not in inner:
        try:
            return inner.decode("utf-8")
        except UnicodeDecodeError:
            return raw  # never equal to a filter value
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse(data: bytes, terminated: bool) -> tuple[dict[str, Any] | None, str | None]:
    """(entry, None) or (None, why this line is not an entry)."""
    if b"\x00" in data:
        return None, "binary data (NUL bytes), not a JSON line"
    try:
        value = jsjson.loads(data)
    except jsjson.NestedTooDeep as error:
        return None, f"not read: {error}"
    except jsjson.JSONParseError as error:
        # One line is one document: "at line 1 column 41" reads as "at column 41".
        reason = _FIRST_LINE.sub(" at column", str(error))
        if not terminated:
            return None, ("truncated: the last line has no newline and is not complete JSON "
                          f"(a writer may be in the middle of appending it): {reason}")
        return None, f"not JSON: {reason}"
    if not isinstance(value, dict):
        return None, f"not an audit entry: {_kind(value)}, not an object"
    if not any(name in value for name in ENTRY_FIELDS):
        return None, "not an audit entry: an object without timestamp, eventType, runId, status or payload"
    return value, None


def read_audit_page(path: str | os.PathLike[str] | None, query: AuditQuery, *, secrets: bool = True) -> AuditPage:
    """A page of the log at `path`, newest first from `query.cursor` (or the end), entries redacted.

    Raises AuditLogUnavailable when the file cannot be read at all and BadCursor for a cursor that
    does not point at a line start of this very file.
    """
    if path is None or str(path) == "":
        raise AuditLogUnavailable("", "no audit log is configured", missing=True)
    log = _File(Path(path))
    try:
        return _read(log, query, secrets)
    finally:
        log.close()


def _start(log: _File, cursor: Cursor | None) -> tuple[int, bool]:
    if cursor is None:
        return log.size, False
    if cursor.inode != log.identity[1]:
        raise BadCursor("This cursor points into an earlier audit log file (it has been replaced or rotated since); "
                        "start again from the newest entries.")
    if cursor.offset > log.size:
        raise BadCursor("This cursor points past the end of the audit log (it was truncated since); "
                        "start again from the newest entries.")
    if not cursor.inside and cursor.offset > 0 and log.read(cursor.offset - 1, 1) != b"\n":
        raise BadCursor("This cursor does not point at the start of a line of the audit log.")
    return cursor.offset, cursor.inside


def _too_long(end: int | None = None) -> str:
    where = f" (it ends at byte {end:,})" if end is not None else ""
    limit = f"{MAX_LINE_BYTES // 1024 ** 2} MiB" if MAX_LINE_BYTES % 1024 ** 2 == 0 else f"{MAX_LINE_BYTES:,} bytes"
    return f"longer than {limit}: not read{where}"


class _Prefilter:
    """What rules a line out before it is parsed: text it must hold, and the sink's own timestamp out of range."""

    def __init__(self, query: AuditQuery) -> None:
        self.needles = query.needles()
        # The runtime's toISOString() text sorts as its time does; bounds that fall on a millisecond compare as text.
        self.after = _exact_ms(query.after)
        self.before = _exact_ms(query.before)
        self.timed = self.after is not None or self.before is not None

    def rejects(self, data: bytes) -> bool:
        for needle in self.needles:
            if needle not in data:
                return True
        if self.timed and data.startswith(b'{"timestamp":"') and _SINK_TIME.match(data, 14):
            stamp = data[14:38]
            if (self.after is not None and stamp < self.after) or (self.before is not None and stamp >= self.before):
                return True
        return False


_SINK_TIME = re.compile(rb'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"')


def _exact_ms(moment: datetime | None) -> bytes | None:
    return iso_ms(moment).encode() if moment is not None and moment.microsecond % 1000 == 0 else None


def _read(log: _File, query: AuditQuery, secrets: bool) -> AuditPage:
    end, inside = _start(log, query.cursor)
    max_lines = MAX_SCAN_LINES if query.max_scan_lines is None else query.max_scan_lines
    max_bytes = MAX_SCAN_BYTES if query.max_scan_bytes is None else query.max_scan_bytes
    prefilter = _Prefilter(query) if query.filtered else None
    found: list[tuple[int, AuditItem]] = []  # (index among the lines read, newest 0; item)
    index = -1
    examined = 0  # lines looked at one by one (a block passed over whole costs no more than reading it)
    earliest = end  # the start of the oldest line read: where the next page resumes
    resume: int | None = None
    stopped = resume_inside = False
    lines = _lines_backwards(log, end, inside=inside, budget=max_bytes, max_line=MAX_LINE_BYTES,
                             needles=prefilter.needles if prefilter else [])
    for line in lines:
        if type(line) is _Skip:
            if len(found) >= query.limit:
                resume = earliest
                break
            index += line.count
            earliest = line.start
            if end - earliest > max_bytes:
                resume, stopped = earliest, True
                break
            continue
        if type(line) is _Stop:
            index += 1
            if not line.continued and not (prefilter and prefilter.needles):
                found.append((index, AuditItem(offset=None, length=line.end - line.position,
                                               error=_too_long(line.end))))
            earliest = resume = line.position
            stopped = resume_inside = True
            break
        start, line_end, data, terminated, continued = line  # type: ignore[misc]
        if len(found) >= query.limit:
            resume = earliest
            break
        if index >= 0 and (examined >= max_lines or end - start > max_bytes):
            resume, stopped = earliest, True
            break
        index += 1
        examined += 1
        earliest = start
        if continued or (prefilter is not None and data is not None and prefilter.rejects(data)):
            continue
        item = _item(start, line_end, data, terminated, query, prefilter, secrets)
        if item is not None:
            found.append((index, item))
    cursor = Cursor(resume, log.identity[1], resume_inside).encode() if resume else None
    return AuditPage(path=log.path, size=log.size, items=_number(log, found, index, earliest), next_cursor=cursor,
                     scanned_lines=index + 1, scanned_bytes=end - earliest, stopped=stopped and cursor is not None,
                     query=query)


def _item(start: int, end: int, data: bytes | None, terminated: bool, query: AuditQuery,
          prefilter: _Prefilter | None, secrets: bool) -> AuditItem | None:
    if data is None:
        # Its text is not read, so no filter can be checked: shown unless a run, event or status is asked for.
        return None if prefilter and prefilter.needles else AuditItem(offset=start, length=end - start,
                                                                        error=_too_long())
    if not data or data.isspace():
        return None
    if prefilter is not None:
        head = _HEAD.match(data)
        if head is not None and not query.matches(*(_string(head[name]) for name in ENTRY_FIELDS[:4])):
            return None
    entry, error = _parse(data, terminated)
    if entry is None:
        # Under a run, event or status filter an unreadable line is shown when it holds that text (see needles).
        return AuditItem(offset=start, length=end - start, error=error, text=_preview(data, secrets))
    if prefilter is not None and not query.matches(*(entry.get(name) for name in ENTRY_FIELDS[:4])):
        return None
    return AuditItem(offset=start, length=end - start, entry=_clean_entry(entry, secrets))


def _number(log: _File, found: list[tuple[int, AuditItem]], last_index: int, earliest: int) -> list[AuditItem]:
    """Items with their line numbers, counted up to the oldest line read when that is cheap (see _LineMarks)."""
    if not found:
        return []
    first = LINE_MARKS.line_at(log, earliest)
    if first is None:
        return [item for _, item in found]
    return [replace(item, line=first + last_index - index) for index, item in found]
