"""Memory layers as the runtime's `FileLayerStore` keeps them, read-only.

A layer file is `JSON.stringify(records, null, 2)` of one object, key → value, rewritten whole on every
`set`/`delete` (src/agent/memory/FileLayerStore.js). Values written through `Memory` are its records
`{value, createdAt, updatedAt, expiresAt, metadata}` with times in epoch milliseconds and `expiresAt` null
without a TTL (src/agent/Memory.js `_createRecord`); a store used directly may hold any JSON value, shown
as it is. Expiry is lazy: the runtime drops a record only when it reads it after `expiresAt`, so stale
records stay in the file; `expired` applies the runtime's own test, `expiresAt && expiresAt < Date.now()`.

Every layer is read on its own: a missing, unreadable, oversized or malformed file becomes that layer's
`error`, and the other layers are still read. Keys, values and metadata are redacted here, once, so the
page, the API and the key search all see the same text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime_adapter.js import jsjson
from runtime_adapter.js.jsvalues import to_js_string, truthy
from runtime_adapter.redaction import clean_text, is_sensitive_key, redact_value

# A layer file is parsed whole (it is one JSON object); past this size it is not read at all.
MAX_LAYER_BYTES = 16 * 1024 * 1024
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
STATES = ("expired", "live")
# What makes a stored value Memory's record rather than a value written to the store directly.
_RECORD_TIMES = ("createdAt", "updatedAt")


class UnknownLayer(LookupError):
    """A layer name that CONTROLPLANE_MEMORY_LAYERS does not configure."""


@dataclass(frozen=True)
class MemoryEntry:
    """One key of a layer, redacted. Times are as stored (epoch ms from `Memory`; anything else by hand)."""

    key: str
    value: Any  # the record's `value`, or the stored value itself when it is not a record
    record: bool
    created_at: Any
    updated_at: Any
    expires_at: Any
    metadata: Any
    expired: bool
    memory_reads: bool = True  # Memory looks keys up lower-cased: one with capitals it never reads
    problem: str | None = None

    def as_api(self) -> dict[str, Any]:
        payload = {"key": self.key, "value": self.value, "record": self.record, "createdAt": self.created_at,
                   "updatedAt": self.updated_at, "expiresAt": self.expires_at, "expired": self.expired,
                   "metadata": self.metadata, "memoryReads": self.memory_reads}
        if self.problem:
            payload["problem"] = self.problem
        return payload


@dataclass(frozen=True)
class _Stored:
    key: str  # as in the file
    shown_key: str  # redacted
    value: Any
    expired: bool


@dataclass(frozen=True)
class LayerFile:
    """A layer as read: its entries in the runtime's `Object.entries` order, or why it could not be read."""

    name: str
    path: str
    stored: tuple[_Stored, ...] = ()
    error: str | None = None
    size: int | None = None
    modified_ms: int | None = None

    @property
    def expired_count(self) -> int:
        return sum(1 for item in self.stored if item.expired)


@dataclass(frozen=True)
class MemoryQuery:
    q: str = ""
    layer: str | None = None
    state: str = ""  # "", "expired" or "live"
    cursor: tuple[int, str] | None = None  # (position, key digest) from `encode_cursor`
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class LayerPage:
    """One layer's entries that match a query, a page of them."""

    layer: LayerFile
    entries: tuple[MemoryEntry, ...]
    matched: int
    start: int  # position of the first entry shown among those matched
    next_cursor: str | None

    @property
    def total(self) -> int:
        return len(self.layer.stored)

    def as_api(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "name": self.layer.name, "path": self.layer.path, "entries": [entry.as_api() for entry in self.entries],
            "total": self.total, "matched": self.matched, "expired": self.layer.expired_count,
            "nextCursor": self.next_cursor,
        }
        if self.layer.error:
            payload["error"] = self.layer.error
        return payload


# Expiry, as the runtime decides it -------------------------------------------------------------

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")
# JS's StrWhiteSpaceChar: ASCII spaces, NBSP, BOM, line terminators and Unicode space separators.
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"


def js_number(value: Any) -> float:
    """`Number(value)` for a JSON value (what `<` compares a non-number with)."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = to_js_string(value).strip(_JS_SPACE)  # objects: "[object Object]"; arrays: their items joined
    if not text:
        return 0.0
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX.fullmatch(text)
    if radix:
        base = {"x": 16, "o": 8, "b": 2}[radix[1].lower()]
        try:
            return float(int(radix[2], base))
        except ValueError:
            return math.nan
    return float(text) if _DECIMAL.fullmatch(text) else math.nan


def has_expired(stored: Any, now_ms: int) -> bool:
    """`record.expiresAt && record.expiresAt < Date.now()` (Memory._getLayerValue) on a stored value."""
    expires_at = stored.get("expiresAt") if isinstance(stored, dict) else None
    return truthy(expires_at) and js_number(expires_at) < now_ms


def is_record(stored: Any) -> bool:
    """Memory's `{value, createdAt, updatedAt, …}` record, rather than a value set on the store directly."""
    return isinstance(stored, dict) and "value" in stored and any(name in stored for name in _RECORD_TIMES)


def epoch_ms(moment: datetime) -> int:
    """`Date.now()` at `moment`."""
    return math.floor(moment.timestamp() * 1000)


# Reading a layer file --------------------------------------------------------------------------

def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    return "JSON null"


def _read_bytes(path: Path, cap: int) -> tuple[bytes | None, int | None, int | None, str | None]:
    """The file's bytes, size and mtime (ms), or why it was not read. Opened read-only, never written."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None, None, None, ("No file at this path. The runtime reads a missing layer file as an empty "
                                  "layer, so nothing has been written to this layer yet, or the path is wrong.")
    except NotADirectoryError:
        return None, None, None, "Not readable: a folder on this path is a file."
    except PermissionError:
        return None, None, None, "Not readable: permission denied."
    except OSError as error:
        return None, None, None, f"Not readable: {error.strerror or error}."
    if stat.S_ISDIR(info.st_mode):
        return None, None, None, ("This path is a directory; a FileLayerStore layer is one JSON file "
                                  "(for example working.json).")
    if not stat.S_ISREG(info.st_mode):
        return None, None, None, "Not a regular file (a pipe, socket or device): not read."
    too_big = (f"The file is {{size}}, more than the {_size_text(cap)} the control plane reads of a layer "
               "file: not read.")
    if info.st_size > cap:
        return None, info.st_size, None, too_big.format(size=_size_text(info.st_size))
    try:
        with open(path, "rb") as handle:
            data = handle.read(cap + 1)
    except PermissionError:
        return None, info.st_size, None, "Not readable: permission denied."
    except OSError as error:
        return None, info.st_size, None, f"Not readable: {error.strerror or error}."
    if len(data) > cap:  # it grew since stat
        return None, len(data), None, too_big.format(size=f"over {_size_text(cap)}")
    return data, len(data), math.floor(info.st_mtime * 1000), None


def read_layer(name: str, path: Path, *, now: datetime, secrets: bool = True,
               max_bytes: int | None = None) -> LayerFile:
    """One layer file, never raising: an unreadable one comes back with `error` set."""
    shown_path = str(path)
    data, size, modified, error = _read_bytes(path, MAX_LAYER_BYTES if max_bytes is None else max_bytes)
    if data is None:
        return LayerFile(name, shown_path, error=error, size=size)
    # fs.readFile(…, 'utf8') replaces bytes that are not UTF-8 rather than failing; so do we.
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        return LayerFile(name, shown_path, size=size, modified_ms=modified, error=(
            "The file is empty, which is not JSON (FileLayerStore writes at least {}); the runtime's reads of "
            "this layer throw."))
    try:
        records = jsjson.loads(text, max_nesting=None)
    except jsjson.NestedTooDeep:
        return LayerFile(name, shown_path, size=size, modified_ms=modified, error=(
            "Valid JSON nested too deep for the control plane to read (the runtime itself can): not read."))
    except jsjson.JSONParseError as problem:
        return LayerFile(name, shown_path, size=size, modified_ms=modified, error=(
            f"Not valid JSON: {problem}. The runtime's reads of this layer throw too (FileLayerStore rewrites "
            "the whole file on every write, so a crash mid-write can leave it cut short)."))
    if not isinstance(records, dict):
        return LayerFile(name, shown_path, size=size, modified_ms=modified, error=(
            f"The file holds {_kind(records)}, not the JSON object of key → record that FileLayerStore writes."))
    now_ms = epoch_ms(now)
    stored = tuple(_Stored(key, clean_text(key, secrets=secrets), value, has_expired(value, now_ms))
                   for key, value in records.items())
    return LayerFile(name, shown_path, stored, size=size, modified_ms=modified)


def _memory_reads(key: str) -> bool:
    """Memory's get, list and expiry all go through `key.toLowerCase()` first."""
    return key == key.lower()


def _entry(item: _Stored, secrets: bool) -> MemoryEntry:
    stored = item.value
    if jsjson.nests_deeper_than(stored, jsjson.MAX_NESTING):
        return MemoryEntry(item.shown_key, None, False, None, None, None, None, item.expired,
                           _memory_reads(item.key), problem=f"Nested more than {jsjson.MAX_NESTING} levels deep: not shown.")
    sensitive = is_sensitive_key(item.key)
    fields = stored if isinstance(stored, dict) else {}
    record = is_record(stored)

    def clean(value: Any, *, secret: bool = False) -> Any:
        return redact_value(value, secrets=secrets, sensitive=secret)

    return MemoryEntry(
        key=item.shown_key,
        value=clean(stored["value"] if record else stored, secret=sensitive),
        record=record,
        created_at=clean(fields.get("createdAt")),
        updated_at=clean(fields.get("updatedAt")),
        expires_at=clean(fields.get("expiresAt")),
        metadata=clean(fields.get("metadata")) if record else None,
        expired=item.expired,
        memory_reads=_memory_reads(item.key),
    )


# Queries over the configured layers ------------------------------------------------------------

def _digest(key: str) -> str:
    # Cursors name a key by digest: the key itself may be a secret, and URLs end up in logs.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def encode_cursor(position: int, key: str) -> str:
    """The cursor for the page starting at `position`, whose entry before it is `key`."""
    text = json.dumps([position, _digest(key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(position, key digest); ValueError when the cursor was not made by `encode_cursor`."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("invalid cursor") from None
    if (not isinstance(decoded, list) or len(decoded) != 2 or type(decoded[0]) is not int or decoded[0] < 1
            or not isinstance(decoded[1], str)):
        raise ValueError("invalid cursor")
    return decoded[0], decoded[1]


def _start(matched: list[_Stored], cursor: tuple[int, str] | None) -> int:
    """Where a page resumes: after the key the cursor names, wherever a rewrite of the file moved it."""
    if cursor is None:
        return 0
    position, digest = cursor
    if 0 < position <= len(matched) and _digest(matched[position - 1].key) == digest:
        return position
    for index, item in enumerate(matched):
        if _digest(item.key) == digest:
            return index + 1
    return min(position, len(matched))  # that key is gone: resume at the same place


def _matches(item: _Stored, needle: str, state: str) -> bool:
    if needle and needle not in item.shown_key.casefold():
        return False
    return not state or item.expired == (state == "expired")


def page_layer(layer: LayerFile, query: MemoryQuery, *, secrets: bool = True) -> LayerPage:
    needle = query.q.casefold()
    matched = [item for item in layer.stored if _matches(item, needle, query.state)]
    start = _start(matched, query.cursor)
    shown = matched[start:start + query.limit]
    end = start + len(shown)
    next_cursor = encode_cursor(end, matched[end - 1].key) if shown and end < len(matched) else None
    return LayerPage(layer, tuple(_entry(item, secrets) for item in shown), len(matched), start, next_cursor)


def memory_pages(layers: Mapping[str, Path], query: MemoryQuery, *, now: datetime,
                 secrets: bool = True) -> list[LayerPage]:
    """The configured layers (or the one `query.layer` names), each read on its own and paged.

    A cursor pages within `query.layer`; the other layers are not read then.
    """
    if query.layer is not None and query.layer not in layers:
        raise UnknownLayer(query.layer)
    if query.cursor is not None and query.layer is None:
        raise ValueError("A cursor pages one layer: name the layer too.")
    names = [query.layer] if query.layer is not None else list(layers)
    return [page_layer(read_layer(name, layers[name], now=now, secrets=secrets), query, secrets=secrets)
            for name in names]
