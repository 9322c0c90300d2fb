"""Secret redaction before display and export.

Keys mirror the runtime's `RuntimeEventRedactor` (src/runtime/RuntimeEventRedactor.js):
a fixed list compared case-insensitively, plus any key containing "token", "secret"
or "password". On top of that, strings anywhere in a run are scanned for values that
look like credentials (bearer tokens, `sk-…` keys, JWTs, AWS and GitHub keys, private
key blocks, passwords in URLs, `password=…` pairs and `"apiKey": "…"` inside JSON text).

Two deliberate departures from the runtime, so every inspector keeps working:
- structure is kept: under a sensitive key a string becomes the marker, but objects
  and arrays are walked (every string and number inside is redacted) instead of being
  replaced whole. `metrics.tokenUsage` contains "token", yet its numbers are counts,
  so token-count keys keep their numbers.
- identifiers are never rewritten: the run id, status, timestamps and lineage, and
  values of id keys (`id`, `runId`, `stepId`, `checkpointId`…) stay as stored, so links,
  trees and diffs still line up. A key that the runtime's rule marks sensitive is
  redacted even when it ends in "Id" (`tokenId`).

`RedactingStore` wraps every store controlplane.stores opens: with `secrets` from
CONTROLPLANE_REDACT_SECRETS (on by default), and always scrubbing unpaired surrogates.
Pages, the JSON API, exports, the Markdown note and `manage.py inspect` on the configured
store all read through it. `manage.py inspect --store URL` opens the URL directly and
prints the runtime-exact, unredacted payloads (the conformance tests compare those).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .jsjson import JSONParseError, dumps, loads
from .records import CorruptRun, Run
from .stores.base import BaseRunStore, StoreEntry

if TYPE_CHECKING:
    from .listing import RunPage, RunQuery, RunRow
    from .usage import UsageBucket

REPLACEMENT = "[REDACTED]"

# RuntimeEventRedactor's default `sensitiveKeys`, lower-cased as it compares them.
SENSITIVE_KEYS = frozenset({
    "authorization", "apikey", "api_key", "auth", "authtoken", "password", "secret", "token",
    "accesstoken", "refreshtoken", "sessiontoken", "ssn", "email", "phone",
})
SENSITIVE_FRAGMENTS = ("token", "secret", "password")

# Run fields that identify or place a run; never rewritten (they are not free text).
_RUN_KEYS_KEPT = frozenset({"id", "status", "timestamps"})
# Id keys whose values link records together (steps, checkpoints, runs, tool calls).
_ID_KEY = re.compile(r"(?:^|run|step|checkpoint|toolcall|call|workflow|span|trace|request|correlation)ids?$")
_COUNT_KEY = re.compile(r"tokens$|token_?usage|token_?counts?$|_tokens_")

# Every pattern starts only where a run of token characters starts (the lookbehind), so a
# hostile megabyte of "eyJeyJ…" is scanned once, not once per position. Each pattern runs
# only when one of its lower-case needles is in the text: listing pages redact thousands
# of rows, and `in` is far cheaper than a regular expression that finds nothing.
_EDGE = r"(?<![A-Za-z0-9_-])"
_TOKEN_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("private key",),
     re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|$)"),
     REPLACEMENT),
    # "Bearer of bad news" stays: a credential has a digit or punctuation, or is long.
    (("bearer", "token"),
     re.compile(_EDGE + r"(bearer|token)(\s+)(?:(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/-]{8,}=*|[A-Za-z]{20,})",
                re.IGNORECASE), r"\1\2" + REPLACEMENT),
    (("sk-",), re.compile(_EDGE + r"sk-[A-Za-z0-9_-]{16,}"), REPLACEMENT),
    (("k_live_", "k_test_"), re.compile(_EDGE + r"[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"), REPLACEMENT),
    (("eyj",), re.compile(_EDGE + r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REPLACEMENT),
    (("akia", "asia", "abia", "acca"), re.compile(_EDGE + r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
     REPLACEMENT),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(_EDGE + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"), REPLACEMENT),
    (("xox",), re.compile(_EDGE + r"xox[abposr]-[A-Za-z0-9-]{10,}"), REPLACEMENT),
    (("aiza",), re.compile(_EDGE + r"AIza[0-9A-Za-z_-]{30,}"), REPLACEMENT),
    (("glpat-", "hf_", "npm_"),
     re.compile(_EDGE + r"(?:glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36,})"), REPLACEMENT),
    # user:password@ in URLs: keep the user so the operator still sees which account.
    (("://",), re.compile(r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s/:@]{0,200}:)[^\s/@]{1,200}@"),
     r"\1" + REPLACEMENT + "@"),
)
# Words every sensitive key contains (see is_sensitive_key and _TEXT_KEY_EXTRAS).
_PAIR_NEEDLES = ("token", "secret", "passw", "pwd", "api", "auth", "ssn", "mail", "phone", "credential", "private")
# "apiKey": "…" inside JSON text (escaped quotes included), checked against the key rule.
_JSON_PAIR = re.compile(r'"(?P<key>[^"\\]{1,80})"(?P<sep>\s{0,3}:\s{0,3}")(?P<value>(?:[^"\\]|\\.)*+)(?P<end>"|$)')
# password=…, Authorization: Bearer …, 'secret': '…' in free text; the key is checked in code.
# A bare colon (`email:send`, `token:read`) is a scope name, not a pair.
_Q = r"(?:\\?[\"'])"  # a quote, maybe escaped: JSON text inside a JSON string is common in tool args
_TEXT_PAIR = re.compile(
    _EDGE + r"(?P<key>[A-Za-z0-9_-]{0,40}?(?:token|secret|passw|pwd|api[_-]?key|auth|ssn|e-?mail|phone|credential"
    r"|private[_-]?key)[A-Za-z0-9_-]{0,40})"
    r"(?P<sep>" + _Q + r"?\s{0,3}=\s{0,3}" + _Q + r"?|" + _Q + r"\s{0,3}:\s{0,3}" + _Q + r"?|\s{0,3}:\s{1,3}" + _Q
    + r"?|:" + _Q + r")"
    # A quoted value runs to its closing quote (spaces included); a bare one to the next separator.
    r"(?P<value>(?<=\\\")(?:[^\"\\]|\\[^\"])*+|(?<=\")(?:[^\"\\]|\\.)*+|(?<=')[^'\n]*+"
    r"|(?:(?:bearer|basic|token|digest)\s+)?(?!\{|\[(?!REDACTED\]))[^\s\"'&,;\\]+)",
    re.IGNORECASE,
)
_TEXT_KEY_EXTRAS = ("e-mail", "apikey", "api_key", "api-key", "authorization", "passwd", "pwd", "credential", "privatekey",
                    "private_key", "private-key")


# Every word a sensitive key or a credential pattern needs (see the patterns above).
_ALL_NEEDLES = tuple(sorted({needle for needles, _, _ in _TOKEN_PATTERNS for needle in needles} | set(_PAIR_NEEDLES)))
_SHORTEST_NEEDLE = min(len(needle) for needle in _ALL_NEEDLES)
# One C-level scan for "any needle at all": most strings in a run hold none.
_ANY_NEEDLE = re.compile("|".join(re.escape(needle) for needle in _ALL_NEEDLES))


def is_sensitive_key(key: object) -> bool:
    """The runtime's `_isSensitiveKey`: listed keys, or containing token/secret/password."""
    text = str(key)
    return _remembered_sensitive(text) if len(text) <= _CACHED_KEY_LENGTH else _sensitive(text)


def _sensitive(key: str) -> bool:
    normalized = key.lower()
    return normalized in SENSITIVE_KEYS or any(fragment in normalized for fragment in SENSITIVE_FRAGMENTS)


# Key rules are pure functions of the key, and runs repeat the same few hundred keys
# thousands of times: remembered (short keys only: long ones are data), a 500-run tree
# redacts several times faster.
_CACHED_KEY_LENGTH = 200
_remembered_sensitive = functools.lru_cache(maxsize=4096)(_sensitive)


def is_count_key(key: object) -> bool:
    """Token counts (`tokenUsage`, `maxTokens`, `prompt_tokens`): numbers, not credentials."""
    return bool(_COUNT_KEY.search(str(key).lower()))


def _is_id_key(key: str) -> bool:
    return _remembered_id_key(key) if len(key) <= _CACHED_KEY_LENGTH else _id_key(key)


def _id_key(key: str) -> bool:
    return bool(_ID_KEY.search(key.lower()))


_remembered_id_key = functools.lru_cache(maxsize=4096)(_id_key)


def _text_key_is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return is_sensitive_key(lowered) or any(extra in lowered for extra in _TEXT_KEY_EXTRAS)


def _json_pair(match: re.Match[str]) -> str:
    if not is_sensitive_key(match["key"]) or match["value"] == REPLACEMENT:
        return match[0]
    return f'"{match["key"]}"{match["sep"]}{REPLACEMENT}{match["end"]}'


def _text_pair(match: re.Match[str]) -> str:
    key, value = match["key"], match["value"]
    if not _text_key_is_sensitive(key) or value.endswith(REPLACEMENT):
        return match[0]
    if is_count_key(key) and value.rstrip("}])").replace(".", "", 1).isdigit():
        return match[0]
    return f"{key}{match['sep']}{REPLACEMENT}"


def _has_pairs(lowered: str) -> bool:
    return any(needle in lowered for needle in _PAIR_NEEDLES) and (":" in lowered or "=" in lowered)


def may_hold_secret(text: str) -> bool:
    """False when no pattern of `redact_text` can match: the common case, decided cheaply."""
    lowered = text.lower()
    return _has_pairs(lowered) or any(
        needle in lowered for needles, _, _ in _TOKEN_PATTERNS for needle in needles)


def redact_text(text: str) -> str:
    """Credentials that appear inside a string, wherever it came from (see `clean_text`)."""
    if len(text) < _SHORTEST_NEEDLE:
        return text
    lowered = text.lower()
    if not _ANY_NEEDLE.search(lowered):
        return text
    # Which patterns can match: each runs only when one of its needles is present.
    present = {needle for needle in _ALL_NEEDLES if needle in lowered}
    for needles, pattern, replacement in _TOKEN_PATTERNS:
        if not present.isdisjoint(needles):
            text = pattern.sub(replacement, text)
    if present.isdisjoint(_PAIR_NEEDLES) or (":" not in lowered and "=" not in lowered):
        return text
    if '"' in text:
        text = _JSON_PAIR.sub(_json_pair, text)
    return _TEXT_PAIR.sub(_text_pair, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """Unpaired UTF-16 surrogates as U+FFFD.

    `JSON.parse` accepts "\\udc00", so run files can hold them, but they cannot be
    encoded as UTF-8: left in, one string would turn a whole page into a 500.
    """
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def clean_text(text: str, *, secrets: bool = True) -> str:
    text = scrub(text)
    return redact_text(text) if secrets else text


_clean_key = functools.lru_cache(maxsize=4096)(lambda key, secrets: clean_text(key, secrets=secrets))


def _redact_key(key: str, taken: dict[str, Any], secrets: bool) -> str:
    # A key can itself be a credential (`{"sk-…": true}`); keep keys distinct after redaction.
    redacted = _clean_key(key, secrets) if len(key) <= _CACHED_KEY_LENGTH else clean_text(key, secrets=secrets)
    if redacted == key:
        return key
    candidate, n = redacted, 2
    while candidate in taken:
        candidate, n = f"{redacted} #{n}", n + 1
    return candidate


_PLAIN, _SECRET, _COUNTS = 0, 1, 2


def _leaf(value: Any, mode: int, keep: bool, secrets: bool) -> Any:
    if isinstance(value, str):
        if mode != _PLAIN:
            return REPLACEMENT
        return scrub(value) if keep else clean_text(value, secrets=secrets)
    if mode == _SECRET and isinstance(value, (int, float)) and not isinstance(value, bool):
        return REPLACEMENT  # phone numbers and PINs are stored as numbers too
    return value


def redact_value(value: Any, *, secrets: bool = True, sensitive: bool = False) -> Any:
    """A cleaned deep copy of a JSON value: secrets redacted (when `secrets`), surrogates scrubbed.

    `sensitive` treats the whole value as sitting under a sensitive key. Iterative,
    because run records may nest as deep as the JSON parser allows.
    """
    root_mode = _SECRET if sensitive and secrets else _PLAIN
    if not isinstance(value, (dict, list)):
        return _leaf(value, root_mode, False, secrets)
    root: Any = {} if isinstance(value, dict) else []
    # (source, copy, mode, keep): `keep` marks a list of ids (`childRunIds`, `completedStepIds`).
    stack: list[tuple[Any, Any, int, bool]] = [(value, root, root_mode, False)]
    while stack:
        source, target, mode, keep_items = stack.pop()
        is_dict = isinstance(source, dict)
        for key, item in (source.items() if is_dict else enumerate(source)):
            child_mode, keep = mode, keep_items
            if is_dict:
                if secrets and mode == _PLAIN and is_sensitive_key(key):
                    child_mode = _COUNTS if is_count_key(key) else _SECRET
                keep = isinstance(key, str) and _is_id_key(key)
                if mode == _PLAIN and isinstance(key, str):
                    key = _redact_key(key, target, secrets)
            if isinstance(item, (dict, list)):
                copy: Any = {} if isinstance(item, dict) else []
                stack.append((item, copy, child_mode, keep))
                item = copy
            else:
                item = _leaf(item, child_mode, keep, secrets)
            if is_dict:
                target[key] = item
            else:
                target.append(item)
    return root




def _clean_already(value: Any) -> bool:
    """True when redaction cannot change `value`: no key or string in it holds a needle or a surrogate.

    One C-level dump and a few substring scans decide it for a whole section (the 10,000
    events of a long run) instead of a Python call per string.
    """
    text = json.dumps(value, ensure_ascii=False, check_circular=False)
    lowered = text.lower()
    if any(needle in lowered for needle in _ALL_NEEDLES):
        return False
    return text.isascii() or not _SURROGATE.search(text)


def redact_run(run: Run, *, secrets: bool = True) -> Run:
    """A cleaned copy of a normalised run; id, status, timestamps and lineage are never redacted."""
    if secrets:
        # Sections that redaction would leave as they are are shared, not walked.
        clean = {key for key, value in run.items()
                 if isinstance(value, (list, dict)) and value and _clean_already(value)}
        if clean:
            rest = redact_run({key: value for key, value in run.items() if key not in clean}, secrets=True)
            return {key: run[key] if key in clean else rest[key] for key in run}
    redacted: Run = redact_value(run, secrets=secrets)
    if secrets:
        for key in _RUN_KEYS_KEPT & run.keys():
            redacted[key] = redact_value(run[key], secrets=False)
        metadata = run.get("metadata")
        if isinstance(metadata, dict) and "lineage" in metadata and isinstance(redacted.get("metadata"), dict):
            redacted["metadata"]["lineage"] = redact_value(metadata["lineage"], secrets=False)
    return redacted


def redact_flat_text(text: str, *, secrets: bool = True) -> str:
    """Listing text (a string, or a JSON value flattened and maybe truncated by `text_of`).

    JSON that parses is redacted by structure, so `{"auth": {"user": …}}` loses the
    whole object; truncated JSON falls back to the text patterns.
    """
    text = scrub(text)
    if not secrets or not text or not may_hold_secret(text):
        return text
    if text[:1] in "{[":
        try:
            parsed = loads(text)
        except JSONParseError:
            pass
        else:
            redacted = redact_value(parsed)
            return text if redacted == parsed else dumps(redacted)
    return redact_text(text)


_ROW_TEXT = ("input_text", "output_text", "error_text")
_ROW_FREE_TEXT = ("release", "top_recommendation")


def redact_row(row: RunRow, *, secrets: bool = True) -> RunRow:
    """A listing row with the same cleaning as its run: ids kept, text redacted."""
    changes: dict[str, Any] = {}
    for name in row.__dataclass_fields__:
        value = getattr(row, name)
        if name in _ROW_TEXT:
            cleaned: Any = redact_flat_text(value, secrets=secrets)
        elif name in _ROW_FREE_TEXT and isinstance(value, str):
            cleaned = clean_text(value, secrets=secrets)
        elif name == "correlation_ids":
            cleaned = [clean_text(item, secrets=secrets) for item in value]
        elif isinstance(value, str):
            cleaned = scrub(value)
        elif isinstance(value, dict):
            cleaned = {scrub(key): item for key, item in value.items()}
        else:
            continue
        if cleaned is not value and cleaned != value:
            changes[name] = cleaned
    return replace(row, **changes) if changes else row


def text_redacts(row: RunRow) -> bool:
    """Whether redaction changes what a text search sees of a row (`listing.matches`' haystack)."""
    return scrub(row.id) != row.id or any(redact_flat_text(text) != text for text in
                                          (row.input_text, row.output_text, row.error_text))


def redact_entry(entry: StoreEntry, *, secrets: bool = True) -> StoreEntry:
    source = scrub(entry.source)
    if entry.run is not None:
        return StoreEntry(source=source, run=redact_run(entry.run, secrets=secrets))
    return StoreEntry(source=source, error=clean_text(entry.error, secrets=secrets) if entry.error else entry.error)


class RedactingStore(BaseRunStore):
    """A store whose every answer, runs and listing rows alike, is safe to show.

    With `secrets` on, credentials are redacted; always, unpaired surrogates are
    scrubbed. Attributes of the wrapped store are not forwarded: callers go through
    the port, so no data reaches a page around the redaction.
    """

    # Rows are fetched in chunks of this size when a text search must be re-checked.
    SEARCH_CHUNK = 5000

    def __init__(self, store: BaseRunStore, *, secrets: bool = True) -> None:
        self.inner = store
        self.secrets = secrets
        self.url = store.url

    def _row(self, row: RunRow) -> RunRow:
        return redact_row(row, secrets=self.secrets)

    def _rows(self, rows: list[RunRow]) -> list[RunRow]:
        return [redact_row(row, secrets=self.secrets) for row in rows]

    def _entry(self, entry: StoreEntry) -> StoreEntry:
        return redact_entry(entry, secrets=self.secrets)

    def get_run(self, run_id: str) -> Run:
        try:
            return redact_run(self.inner.get_run(run_id), secrets=self.secrets)
        except CorruptRun as error:
            # The reason can quote the record ("record id "…" does not match").
            raise CorruptRun(scrub(error.source), clean_text(error.reason, secrets=self.secrets)) from None

    def has_run(self, run_id: str) -> bool:
        return self.inner.has_run(run_id)

    def iter_entries(self) -> Iterator[StoreEntry]:
        for entry in self.inner.iter_entries():
            yield self._entry(entry)

    def list_errors(self) -> list[StoreEntry]:
        return [self._entry(entry) for entry in self.inner.list_errors()]

    def iter_family(self, root_run_id: str) -> Iterator[Run]:
        for run in self.inner.iter_family(root_run_id):
            yield redact_run(run, secrets=self.secrets)

    def query_runs(self, query: RunQuery) -> RunPage:
        if query.text and self.secrets:
            return self._search(query, self.inner.query_runs)
        page = self.inner.query_runs(query)
        return replace(page, rows=self._rows(page.rows), errors=[self._entry(entry) for entry in page.errors])

    def query_incidents(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage:
        if query.text and self.secrets:
            return self._search(replace(query, attention_only=True),
                                lambda chunk: self.inner.query_incidents(chunk, incident_types))
        page = self.inner.query_incidents(query, incident_types)
        return replace(page, rows=self._rows(page.rows), errors=[self._entry(entry) for entry in page.errors])

    def _search(self, query: RunQuery, fetch: Callable[[RunQuery], RunPage]) -> RunPage:
        # The inner store matches text against unredacted rows; trusting it would let a
        # search for "sk-a", "sk-ab"… confirm a secret letter by letter. Only rows whose
        # searchable text redaction changes can be wrong matches (indexes flag them when
        # they index a run), so those are re-checked against their redacted row and the
        # ones that no longer match are excluded from the page query.
        from .listing import RunQuery, matches

        text_only = RunQuery(text=query.text)
        rejected: set[str] = set()
        offset = 0
        while True:
            chunk = fetch(replace(query, text_redacts=True, offset=offset, limit=self.SEARCH_CHUNK))
            rejected.update(row.id for row in chunk.rows if not matches(self._row(row), text_only))
            offset += self.SEARCH_CHUNK
            if not chunk.rows or offset >= chunk.total:
                break
        page = fetch(replace(query, exclude_ids=frozenset(rejected)) if rejected else query)
        return replace(page, query=query, rows=self._rows(page.rows),
                       errors=[self._entry(entry) for entry in page.errors])

    def rows(self) -> list[RunRow]:
        return self._rows(self.inner.rows())

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status, count in self.inner.status_counts().items():
            key = scrub(status)
            counts[key] = counts.get(key, 0) + count
        return counts

    def releases(self) -> list[str]:
        return sorted({clean_text(release, secrets=self.secrets) for release in self.inner.releases()})

    def usage_series(self, start: str, end: str, bucket_ms: int) -> list[UsageBucket]:
        return self.inner.usage_series(start, end, bucket_ms)  # counts and sums only

    def related_rows(self, run_id: str) -> dict[str, list[RunRow]]:
        return {kind: self._rows(rows) for kind, rows in self.inner.related_rows(run_id).items()}

    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]:
        return {scrub(run_id): self._row(row) for run_id, row in self.inner.rows_by_id(run_ids).items()}

    def replay_rows(self, run_id: str) -> list[RunRow]:
        return self._rows(self.inner.replay_rows(run_id))

    def rows_with_input(self, input_text: str, *, statuses: tuple[str, ...] = ("completed",),
                        limit: int = 5) -> list[RunRow]:
        # `input_text` comes from a redacted run, the inner store holds the original text:
        # search for what survived redaction, then compare the redacted rows exactly.
        if REPLACEMENT not in input_text:
            found = self._rows(self.inner.rows_with_input(input_text, statuses=statuses, limit=limit))
            return [row for row in found if row.input_text == input_text]
        from .listing import RunQuery

        searchable = " ".join(input_text.replace(REPLACEMENT, " ").split())
        if not searchable:
            return []
        query = RunQuery(statuses=statuses, text=searchable, sort="created", descending=True, limit=200)
        return [row for row in self.query_runs(query).rows if row.input_text == input_text][:limit]

    def change_marker(self) -> str:
        # Derived payloads are cached by marker: a redacted tree must never be served
        # for an unredacted store of the same URL, or the other way round.
        return f"{'redacted' if self.secrets else 'clean'}:{self.inner.change_marker()}"

    def run_marker(self, run_id: str) -> str | None:
        marker = self.inner.run_marker(run_id)
        return None if marker is None else f"{'redacted' if self.secrets else 'clean'}:{marker}"

    def family_marker(self, run_id: str) -> str:
        return f"{'redacted' if self.secrets else 'clean'}:{self.inner.family_marker(run_id)}"

    def close(self) -> None:
        self.inner.close()

    def describe(self) -> str:
        return self.inner.describe()
