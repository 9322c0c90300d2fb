"""What comparing two runs reads of each one, kept per run version so that a comparison need not parse them.

A comparison of two 5,000-step runs spent most of its time decoding two 6.9 MB documents (~60 of ~175 ms) to
read, of each step, what TraceDiffer and the alignment compare, and of a few steps what the page shows. An index
that vets a big run (`files.vetted`, PostgreSQL's `runs.vetted`: its redaction changes nothing) also keeps its
comparison digest (`files.compared`, `runs.compared`), made from the very text it vetted:

- the compare page's header of the run (`run_header`) and TraceDiffer's facts (`diff.TraceFacts`), the step and
  tool call signatures as digests of what `JSON.stringify` prints of them;
- the alignment's signature of each step (`step_signature`), as a digest;
- where each step and tool call lies in the text, so that the page parses only the steps it shows.

A reader trusts a digest only with the text whose bytes it was made from (their vetted digest matches), so a
rewritten run is compared as before, from its parsed document.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from array import array
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, overload

from runtime_adapter.inspectors.diff import TraceFacts, stringify_key, tool_call_signature, trace_facts
from runtime_adapter.js.jsjson import JSONParseError, loads
from runtime_adapter.js.jsvalues import UNDEFINED
from runtime_adapter.queries.listing import run_measures
from runtime_adapter.records import Run

# Runs with fewer steps get no digest: parsing them whole costs a comparison a few milliseconds, and making one costs
# an index about three parses of the run.
DIGEST_MIN_STEPS = 1000
FORMAT = b"cmp2"
KEY_BYTES = 16
VERSION_BYTES = 32
# format, the version of the text it was made from (the store's digest of it), header bytes, steps, tool calls,
# characters of the text
_HEAD = struct.Struct(f"<4s{VERSION_BYTES}sIIII")
_SPAN = "I"  # offsets into a text of at most the 20 MB a store reads
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCANNER = json.JSONDecoder()


def step_signature(step: Any) -> str:
    """What makes two steps "the same step" for alignment: type, status, tool and output.

    `repr` of parsed JSON is injective and four times faster than encoding it again
    (JSON.stringify never writes an integral number as `1.0`, so 1 and 1.0 cannot mix).
    """
    if type(step) is not dict:
        return f"~{step!r}"
    payload = step.get("payload")
    tool = payload.get("toolName") if type(payload) is dict else None
    try:
        return repr((step.get("type"), step.get("status"), tool or step.get("toolName"), step.get("output")))
    except RecursionError:
        return compact_json(step.get("output"))


# One encoder, built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr, check_circular=False)


def compact_json(value: Any) -> str:
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def signature_key(signature: str) -> bytes:
    return hashlib.blake2b(signature.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).digest()


def run_header(run: Run) -> dict[str, Any]:
    """The few fields the compare page shows about each run (small enough to cache)."""
    return {
        "id": run["id"], "status": run["status"], "input": run["input"],
        "createdAt": run["timestamps"].get("createdAt"), "step_count": len(run["steps"]),
        "event_count": len(run["events"]), **run_measures(run),
    }


def element_spans(text: str, keys: tuple[str, ...]) -> dict[str, list[tuple[int, int, Any]]] | None:
    """Where each element of the top-level object's arrays named `keys` lies in `text` ([] for a missing key),
    and its value as read there (start, end, value).

    None when the text is not an object, or one of them is not an array (the run's normalised list is then not
    the elements of one). A key written twice counts as JSON.parse reads it: the last value.
    """
    skip = _skip
    decode = _SCANNER.raw_decode
    found: dict[str, list[tuple[int, int, Any]]] = {key: [] for key in keys}
    try:
        pos = skip(text, 0)
        if text[pos:pos + 1] != "{":
            return None
        pos = skip(text, pos + 1)
        if text[pos:pos + 1] == "}":
            return found
        while True:
            if text[pos:pos + 1] != '"':
                return None
            key, pos = decode(text, pos)
            pos = skip(text, pos)
            if text[pos:pos + 1] != ":":
                return None
            pos = skip(text, pos + 1)
            if key in found:
                if text[pos:pos + 1] != "[":
                    return None
                spans: list[tuple[int, int, Any]] = []
                pos = skip(text, pos + 1)
                if text[pos:pos + 1] == "]":
                    pos += 1
                else:
                    while True:
                        start = pos
                        value, pos = decode(text, pos)
                        spans.append((start, pos, value))
                        pos = skip(text, pos)
                        mark = text[pos:pos + 1]
                        pos = skip(text, pos + 1)
                        if mark == "]":
                            break
                        if mark != ",":
                            return None
                found[key] = spans
            else:
                _, pos = decode(text, pos)
            pos = skip(text, pos)
            mark = text[pos:pos + 1]
            pos = skip(text, pos + 1)
            if mark == "}":
                return found
            if mark != ",":
                return None
    except (ValueError, RecursionError):
        return None


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def comparison_digest(text: str, run: Run, *, version: bytes, min_steps: int = DIGEST_MIN_STEPS) -> bytes | None:
    """The digest of `run`, the normalised run parsed from `text` (a vetted version: its redaction changes nothing).

    `version` is the store's digest of the text (a file's content digest, a document's SHA-256), kept in the digest
    so that a reader trusts it only with that text: a writer that changed the text (and its vetted digest) without
    writing a new comparison digest leaves one that no longer matches (`digest_version`).

    None when the run has fewer than `min_steps` steps, or its steps or tool calls cannot be located as the run
    holds them.
    """
    if len(run["steps"]) < min_steps:
        return None
    spans = element_spans(text, ("steps", "toolCalls"))
    if spans is None:
        return None
    steps, calls = spans["steps"], spans["toolCalls"]
    # Each element as read at its span must be the element the run holds (spans that missed would show other
    # steps). Key order aside: a page parses the span as the run's reader parsed the whole text.
    if [value for _, _, value in steps] != run["steps"] or [value for _, _, value in calls] != run["toolCalls"]:
        return None
    try:
        facts = trace_facts(run)
        header = json.dumps({
            "run": run_header(run), "status": [facts.status], "output": stringify_key(run["output"]).hex(),
            "events": [_event_code(kind) for kind in facts.events],
        }, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    except (TypeError, ValueError, RecursionError):
        return None
    parts = [
        _HEAD.pack(FORMAT, version, len(header), len(steps), len(calls), len(text)), header,
        b"".join(stringify_key(signature) for signature in facts.steps),
        b"".join(signature_key(step_signature(step)) for step in run["steps"]),
        b"".join(stringify_key(signature) for signature in facts.tool_calls),
        array(_SPAN, [offset for start, end, _ in steps for offset in (start, end)]).tobytes(),
        array(_SPAN, [offset for start, end, _ in calls for offset in (start, end)]).tobytes(),
    ]
    return b"".join(parts)


def _event_code(kind: Any) -> Any:
    # JSON has no undefined: a string stands for itself, any other type is wrapped, undefined is [].
    return kind if type(kind) is str else [] if kind is UNDEFINED else [kind]


def _event_kind(code: Any) -> Any:
    return code if type(code) is str else code[0] if code else UNDEFINED


class DigestMismatch(ValueError):
    """A digest's span that does not hold a JSON value of its text (a digest no index of this code wrote)."""


class ParsedItems(Sequence[Any]):
    """A run's steps (or tool calls) parsed one by one from the text as the page asks for them."""

    def __init__(self, text: str, spans: list[tuple[int, int]], make: Callable[[Any], Any] | None = None) -> None:
        self._text, self._spans, self._make = text, spans, make
        self._items: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._spans)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._spans)
        if not 0 <= index < len(self._spans):
            raise IndexError(index)
        item = self._items.get(index, self)
        if item is self:
            start, end = self._spans[index]
            try:
                item = loads(self._text[start:end], max_nesting=None)
            except JSONParseError as error:
                raise DigestMismatch(f"item {index} of the comparison digest: {error}") from None
            if self._make is not None:
                item = self._make(item)
            self._items[index] = item
        return item


class ComparedRun(NamedTuple):
    """One side of a comparison: the page's header, TraceDiffer's facts, the steps, the tool call signatures
    and the alignment's step signatures (or their keys)."""

    header: dict[str, Any]
    facts: TraceFacts
    steps: Sequence[Any]
    tool_calls: Sequence[Any]
    signatures: Sequence[str | bytes]


def compared_run(run: Run) -> ComparedRun:
    facts = trace_facts(run)
    return ComparedRun(run_header(run), facts, run["steps"], facts.tool_calls,
                       [step_signature(step) for step in run["steps"]])


def digest_version(digest: bytes) -> bytes | None:
    """The version of the text a digest was made from (as `comparison_digest` was given it, zero-padded)."""
    try:
        form, version = _HEAD.unpack_from(digest)[:2]
    except struct.error:
        return None
    return version if form == FORMAT else None


def made_from(digest: bytes, version: bytes) -> bool:
    return digest_version(digest) == version.ljust(VERSION_BYTES, b"\0")


def compared_from_digest(text: str, digest: bytes) -> ComparedRun | None:
    """The side a digest describes, reading steps from `text` as they are asked for; None for a digest that is not
    of this text (or of this code's format)."""
    try:
        form, _, header_size, steps, calls, characters = _HEAD.unpack_from(digest)
    except struct.error:
        return None
    keys_size = KEY_BYTES * (2 * steps + calls)
    if form != FORMAT or characters != len(text) or len(digest) != (
            _HEAD.size + header_size + keys_size + 2 * array(_SPAN).itemsize * (steps + calls)):
        return None
    view = memoryview(digest)
    offset = _HEAD.size
    try:
        header = json.loads(bytes(view[offset:offset + header_size]))
    except ValueError:
        return None
    offset += header_size

    def keys(count: int) -> list[bytes]:
        nonlocal offset
        start, offset = offset, offset + KEY_BYTES * count
        return [digest[at:at + KEY_BYTES] for at in range(start, offset, KEY_BYTES)]

    def spans(count: int) -> list[tuple[int, int]]:
        nonlocal offset
        offsets = array(_SPAN)
        start, offset = offset, offset + 2 * offsets.itemsize * count
        offsets.frombytes(view[start:offset])
        return list(zip(offsets[::2], offsets[1::2], strict=True))

    step_keys, align_keys, call_keys = keys(steps), keys(steps), keys(calls)
    step_spans, call_spans = spans(steps), spans(calls)
    if any(not 0 <= start <= end <= len(text) for start, end in (*step_spans, *call_spans)):
        return None
    try:
        run = header["run"]
        facts = TraceFacts(run["id"], header["status"][0], bytes.fromhex(header["output"]),
                           [_event_kind(code) for code in header["events"]], step_keys, call_keys, keyed=True)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return ComparedRun(run, facts, ParsedItems(text, step_spans), ParsedItems(text, call_spans, tool_call_signature),
                       align_keys)
