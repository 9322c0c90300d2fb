"""Secret redaction before display and export.

Keys: the runtime's `RuntimeEventRedactor` list (src/runtime/RuntimeEventRedactor.js),
plus the header and configuration names it misses, compared without case or separators
(`apiKey` = `api_key` = `API-KEY`; see `is_sensitive_key`). Values: strings anywhere in a
run are scanned for credentials by shape (bearer tokens, `sk-…` keys, JWTs, cloud and
chat keys, webhook URLs, private key blocks, passwords in URLs and command lines) and for
`key=value` / `"key": value` pairs under sensitive keys, objects and arrays included.

Two deliberate departures from the runtime, so every inspector keeps working:
- structure is kept: under a sensitive key a string becomes the marker, but objects
  and arrays are walked (every string and number inside is redacted) instead of being
  replaced whole. `metrics.tokenUsage` contains "token", yet its numbers are counts,
  so token-count keys keep their numbers.
- the run's own id, status, timestamps and lineage are never rewritten, so links, trees
  and diffs still line up. Other ids (`requestId`, step and checkpoint ids) are text like
  any other: an ordinary id passes unchanged, a credential-shaped one is redacted.

These are the rules only. Listing rows of redacted runs are `listing.redacted_row`, and
`stores.redacting.RedactingStore` wraps every store controlplane.stores opens, so pages,
the API, exports, searches and indexes all read redacted runs and rows.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from runtime_adapter.js.jsvalues import LONE_SURROGATE
from runtime_adapter.records import Run, StoreEntry

REPLACEMENT = "[REDACTED]"

# Run fields that identify or place a run; never rewritten (they are not free text).
_RUN_KEYS_KEPT = frozenset({"id", "status", "timestamps"})
# Keys compare lower-cased with separators removed: apiKey = api_key = API-KEY = "api key".
_KEY_SEPARATORS = str.maketrans("", "", "-_. ")
# RuntimeEventRedactor's default `sensitiveKeys`, then the header and configuration names
# it misses (x-api-key, Proxy-Authorization, Cookie, passwd, private_key…).
SENSITIVE_KEYS = frozenset({
    "authorization", "apikey", "auth", "authtoken", "password", "secret", "token", "accesstoken", "refreshtoken",
    "sessiontoken", "ssn", "email", "phone",
    "pwd", "passwd", "passphrase", "cookie", "setcookie", "signature", "credential", "credentials", "privatekey",
})
# The runtime's "any key containing token, secret or password", and more of the same kind.
SENSITIVE_FRAGMENTS = ("token", "secret", "password", "passwd", "passphrase", "apikey", "privatekey", "credential",
                       "cookie", "authorization")
# oauth, basicAuth, DB_PWD, X-Hub-Signature (but not authContext or signatureVersion).
SENSITIVE_SUFFIXES = ("auth", "pwd", "signature")
_COUNT_KEY = re.compile(r"tokens$|token_?usage|token_?counts?$|_tokens_")

# Every pattern starts only where a run of token characters starts (the lookbehind), so a
# hostile megabyte of "eyJeyJ…" is scanned once, not once per position. Each pattern runs
# only when one of its lower-case needles is in the text: listing pages redact thousands
# of rows, and `in` is far cheaper than a regular expression that finds nothing.
_EDGE = r"(?<![A-Za-z0-9_-])"
# A value that runs to its closing quote when quoted (group `quote`), else to the next space.
_ARG = r"(?P<quote>['\"])?(?(quote)[^'\"\n]{1,200}|[^\s'\"]{1,200})"
# user:password@ in URLs: keep the user so the operator still sees which account. The
# password may hold "/" and "@"; it ends at the last "@" before the host (never past another "://").
_URL_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s/:@\"'<>]{0,200}:)(?!\d{1,5}(?:[/?#\"'\s]|$))"
    r"(?:(?!://)[^\s\"'<>\\]){1,200}?@(?=[^@\s/?#\"'<>\\]*(?:[/?#\"'<>\\\s]|$))")


def _aws_keys(match: re.Match[str]) -> str:
    return REPLACEMENT if match["gap"] is None else f"{REPLACEMENT}{match['gap']}{REPLACEMENT}"


_Replacement = str | Callable[[re.Match[str]], str]
_TOKEN_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], _Replacement], ...] = (
    # PEM, OpenSSH, PGP (…PRIVATE KEY BLOCK…) and SSH2 ("---- BEGIN …") blocks, to the end when unterminated.
    (("private key",),
     re.compile(r"-{3,}\s?BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z0-9 ]{0,20}-{3,}[\s\S]*?"
                r"(?:-{3,}\s?END [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z0-9 ]{0,20}-{3,}|$)"),
     REPLACEMENT),
    # "Bearer of bad news" stays: a credential has a digit or punctuation, or is long.
    (("bearer", "token"),
     re.compile(_EDGE + r"(bearer|token)(\s+)(?:(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/-]{8,}=*|[A-Za-z]{20,})",
                re.IGNORECASE), r"\1\2" + REPLACEMENT),
    (("sk-",), re.compile(_EDGE + r"sk-[A-Za-z0-9_-]{16,}"), REPLACEMENT),
    (("k_live_", "k_test_"), re.compile(_EDGE + r"[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"), REPLACEMENT),
    (("eyj",), re.compile(_EDGE + r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REPLACEMENT),
    # An access key id, and the 40-character secret key written after it (maybe behind a label).
    (("akia", "asia", "abia", "acca"),
     re.compile(_EDGE + r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
                r"(?:(?P<gap>[^A-Za-z0-9\n]{1,10}(?:[A-Za-z_-]{1,30}[^A-Za-z0-9\n]{1,10})?)"
                r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=]))?"),
     _aws_keys),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(_EDGE + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"), REPLACEMENT),
    (("xox",), re.compile(_EDGE + r"xox[abposr]-[A-Za-z0-9-]{10,}"), REPLACEMENT),
    (("aiza",), re.compile(_EDGE + r"AIza[0-9A-Za-z_-]{30,}"), REPLACEMENT),
    (("glpat-", "hf_", "npm_"),
     re.compile(_EDGE + r"(?:glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36,})"), REPLACEMENT),
    # Webhook URLs are credentials: whoever has one can post.
    (("hooks.slack.com",),
     re.compile(r"(?i:(hooks\.slack\.com/(?:services|workflows|triggers)/))[A-Za-z0-9_/-]{8,}"), r"\1" + REPLACEMENT),
    (("discord",), re.compile(r"(?i:(discord(?:app)?\.com/api/webhooks/))[0-9]{5,}/[A-Za-z0-9_-]{10,}"),
     r"\1" + REPLACEMENT),
    (("://",), _URL_PASSWORD, r"\1" + REPLACEMENT + "@"),
    # Passwords on command lines: curl -u user:pw, sshpass -p pw, mysql -ppw (not "-p db", which prompts).
    (("curl",), re.compile(r"(\s(?:-u|--user)(?:\s+|=)(?P<quote>['\"])?[^\s:'\"]{1,100}:)"
                           r"(?(quote)[^'\"\n]{1,200}|[^\s'\"]{1,200})"), r"\1" + REPLACEMENT),
    (("sshpass",), re.compile(r"(sshpass\s+-p\s*)" + _ARG), r"\1\g<quote>" + REPLACEMENT),
    (("mysql",), re.compile(r"(mysql(?:dump|admin|import|show|check)?\b[^\n]{0,200}?\s-p)" + _ARG),
     r"\1\g<quote>" + REPLACEMENT),
    # A secret flag's value after a space: --password pw, --with-token pw, --api-key pw, docker login -p pw.
    (("--",), re.compile(r"(\s--?[A-Za-z-]{0,30}(?:password|passwd|token|secret|api-?key)\s+)(?!-)" + _ARG),
     r"\1\g<quote>" + REPLACEMENT),
    (("docker",), re.compile(r"(docker\s+login\b[^\n]{0,200}?\s-p\s+)(?!-)" + _ARG), r"\1\g<quote>" + REPLACEMENT),
)
# Words every sensitive key contains, in any spelling (see is_sensitive_key): "pass" covers
# pass_word, "api" api-key, "private" private_key.
_PAIR_NEEDLES = ("token", "secret", "pass", "pwd", "api", "auth", "ssn", "mail", "phone", "credential", "private",
                 "cookie", "signature")
# "apiKey": "…" inside JSON text (escaped quotes included), checked against the key rule.
_JSON_PAIR = re.compile(r'"(?P<key>[^"\\]{1,80})"(?P<sep>\s{0,3}:\s{0,3}")(?P<value>(?:[^"\\]|\\.)*+)(?P<end>"|$)')
# "auth": {…}, 'password': […], \"token\": {…} (JSON, escaped JSON, Python reprs): the key's whole value goes.
_NESTED_KEY = re.compile(r"(?P<q>\\*[\"'])(?P<key>[A-Za-z0-9_ .$@-]{1,80}?)(?P=q)\s{0,3}[:=]\s{0,3}[\[{]")
_NESTED_TOKEN = re.compile(r"(\\*)([\"'\[\]{}])")
# password=…, Authorization: Bearer …, 'secret': '…' in free text; the key is checked in code.
_Q = r"(?:\\?[\"'])"  # a quote, maybe escaped: JSON text inside a JSON string is common in tool args
_TEXT_PAIR = re.compile(
    _EDGE + r"(?P<key>[A-Za-z0-9_-]{0,40}?(?:token|secret|pass|pwd|api[_-]?key|auth|ssn|e-?mail|phone|credential"
    r"|private[_-]?key|cookie|signature)[A-Za-z0-9_-]{0,40})"
    r"(?P<sep>" + _Q + r"?\s{0,3}=\s{0,3}" + _Q + r"?|" + _Q + r"\s{0,3}:\s{0,3}" + _Q + r"?|\s{0,3}:\s{1,3}" + _Q
    + r"?|:" + _Q + r"|:)"
    # A quoted value runs to its closing quote (spaces included); a bare one to the next separator.
    r"(?P<value>(?<=\\\")(?:[^\"\\]|\\[^\"])*+|(?<=\")(?:[^\"\\]|\\.)*+|(?<=')[^'\n]*+"
    r"|(?:(?:bearer|basic|token|digest)\s+)?(?!\{|\[(?!REDACTED\]))[^\s\"'&,;\\]+)",
    re.IGNORECASE,
)
# A bare colon (`email:send`, `token:read`, `secrets:write`) is a scope name, not a pair,
# except after a password-like key or before an authorization scheme (`Authorization:Basic …`).
_BARE_COLON_KEYS = ("password", "passwd", "passphrase", "pwd", "apikey")
_SCHEME = re.compile(r"(?:bearer|basic|token|digest)\s", re.IGNORECASE)


# Every word a sensitive key or a credential pattern needs (see the patterns above).
_ALL_NEEDLES = tuple(sorted({needle for needles, _, _ in _TOKEN_PATTERNS for needle in needles} | set(_PAIR_NEEDLES)))
_SHORTEST_NEEDLE = min(len(needle) for needle in _ALL_NEEDLES)


def needle_pattern(needles: tuple[str, ...]) -> str:
    """A regex that matches where any of `needles` starts, as a trie of alternatives: at each position the
    engine follows one branch per character instead of trying every needle in turn (2.5x faster over the
    megabytes of a 5,000-step run, which `clean_already` scans whole). Only whether it matches is used."""
    trie: dict[str, Any] = {}
    for needle in needles:
        node = trie
        for char in needle:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a needle ends here: a longer one starting the same way matches no more often
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    return branch(trie)


# One C-level scan for "any needle at all": most strings in a run hold none.
_ANY_NEEDLE = re.compile(needle_pattern(_ALL_NEEDLES))


def is_sensitive_key(key: object) -> bool:
    """The runtime's `_isSensitiveKey`, widened: listed keys, keys containing token, secret,
    password and the like, and keys ending in auth, pwd or signature; any case and separators."""
    text = str(key)
    return _remembered_sensitive(text) if len(text) <= _CACHED_KEY_LENGTH else _sensitive(text)


def _normal_key(key: str) -> str:
    return key.lower().translate(_KEY_SEPARATORS)


# "pass" as the key's last word (DB_PASS, smtp-pass, smtpPass), never inside one (bypass, compass).
_PASS_WORD = re.compile(r"(?:^|[-_. ])(?i:pass)$|(?<=[A-Za-z0-9])Pass$")


def _sensitive(key: str) -> bool:
    normalized = _normal_key(key)
    return (normalized in SENSITIVE_KEYS or any(fragment in normalized for fragment in SENSITIVE_FRAGMENTS)
            or normalized.endswith(SENSITIVE_SUFFIXES) or bool(_PASS_WORD.search(key)))


# Key rules are pure functions of the key, and runs repeat the same few hundred keys
# thousands of times: remembered (short keys only: long ones are data), a 500-run tree
# redacts several times faster.
_CACHED_KEY_LENGTH = 200
_remembered_sensitive = functools.lru_cache(maxsize=4096)(_sensitive)


def is_count_key(key: object) -> bool:
    """Token counts (`tokenUsage`, `maxTokens`, `prompt_tokens`): numbers, not credentials."""
    return bool(_COUNT_KEY.search(str(key).lower()))


def _json_pair(match: re.Match[str]) -> str:
    if not is_sensitive_key(match["key"]) or match["value"] == REPLACEMENT:
        return match[0]
    return f'"{match["key"]}"{match["sep"]}{REPLACEMENT}{match["end"]}'


def _text_pair(match: re.Match[str]) -> str:
    key, value, sep = match["key"], match["value"], match["sep"]
    if not is_sensitive_key(key) or value.endswith(REPLACEMENT):
        return match[0]
    if sep == ":" and not (any(word in _normal_key(key) for word in _BARE_COLON_KEYS)
                           or ("authorization" in _normal_key(key) and _SCHEME.match(value))):
        return match[0]
    if is_count_key(key) and value.rstrip("}])").replace(".", "", 1).isdigit():
        return match[0]
    return f"{key}{sep}{REPLACEMENT}"


def _quote_level(backslashes: int) -> int | None:
    """How many times JSON text was escaped when its quotes carry this many backslashes (0, 1, 3, 7…)."""
    level = 0
    while backslashes:
        if backslashes % 2 == 0:
            return None
        backslashes, level = (backslashes - 1) // 2, level + 1
    return level


def _delimits(backslashes: int, level: int | None) -> bool:
    """Whether a quote behind this many backslashes opens or closes a string at `level`."""
    if level is None:
        return False  # an odd escape: brackets are counted as if there were no strings
    for _ in range(level):
        if backslashes % 2 == 0:
            return False
        backslashes = (backslashes - 1) // 2
    return backslashes % 2 == 0


def _value_end(text: str, start: int, quote: str, level: int | None) -> int:
    """Where the object or array opening at `start` closes (brackets in its strings skipped); the end if never."""
    depth, in_string = 0, False
    for token in _NESTED_TOKEN.finditer(text, start):
        char = token[2]
        if char in "\"'":
            if char == quote and _delimits(len(token[1]), level):
                in_string = not in_string
        elif not in_string:
            depth += 1 if char in "[{" else -1
            if depth == 0:
                return token.end()
    return len(text)


def _redact_nested(text: str) -> str:
    """Objects and arrays under sensitive keys in JSON-like text, each replaced whole by a quoted marker."""
    parts: list[str] = []
    done = searched = 0
    while (match := _NESTED_KEY.search(text, searched)) is not None:
        opening = match.end() - 1
        if not is_sensitive_key(match["key"]):
            searched = opening  # keys inside this value are looked at too
            continue
        quote = match["q"]
        end = _value_end(text, opening, quote[-1], _quote_level(len(quote) - 1))
        parts += [text[done:opening], quote, REPLACEMENT, quote]
        done = searched = end
    return "".join(parts) + text[done:] if parts else text


def _has_pairs(lowered: str) -> bool:
    return any(needle in lowered for needle in _PAIR_NEEDLES) and (":" in lowered or "=" in lowered)


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
        if not present.isdisjoint(needles) and (pattern is not _URL_PASSWORD or "@" in text):
            text = pattern.sub(replacement, text)
    if present.isdisjoint(_PAIR_NEEDLES) or (":" not in lowered and "=" not in lowered):
        return text
    if ("{" in text or "[" in text) and ('"' in text or "'" in text):
        text = _redact_nested(text)
    if '"' in text:
        text = _JSON_PAIR.sub(_json_pair, text)
    return _TEXT_PAIR.sub(_text_pair, text)




def scrub(text: str) -> str:
    """Unpaired UTF-16 surrogates as U+FFFD.

    `JSON.parse` accepts "\\udc00", so run files can hold them, but they cannot be
    encoded as UTF-8: left in, one string would turn a whole page into a 500.
    """
    if text.isascii():
        return text
    return LONE_SURROGATE.sub("\ufffd", text) if LONE_SURROGATE.search(text) else text


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


def _leaf(value: Any, mode: int, secrets: bool) -> Any:
    if isinstance(value, str):
        return REPLACEMENT if mode != _PLAIN else clean_text(value, secrets=secrets)
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
        return _leaf(value, root_mode, secrets)
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, root_mode)]
    while stack:
        source, target, mode = stack.pop()
        is_dict = isinstance(source, dict)
        # Headers as name/value pairs ({"name": "Authorization", "value": …}, or a list of
        # [name, value] lists): the value is as secret as it would be under that name as a key.
        paired = secrets and mode == _PLAIN and is_dict and _names_a_secret(source)
        pairs = secrets and mode == _PLAIN and not is_dict and _is_pair_list(source)
        for key, item in (source.items() if is_dict else enumerate(source)):
            child_mode = mode
            if paired and key == "value":
                child_mode = _SECRET
            if pairs and _names_a_secret(item):
                name, value = item
                pair: list[Any] = [_leaf(name, _PLAIN, secrets), None]
                if isinstance(value, (dict, list)):
                    pair[1] = {} if isinstance(value, dict) else []
                    stack.append((value, pair[1], _SECRET))
                else:
                    pair[1] = _leaf(value, _SECRET, secrets)
                target.append(pair)
                continue
            if is_dict:
                if secrets and mode == _PLAIN and is_sensitive_key(key):
                    child_mode = _COUNTS if is_count_key(key) else _SECRET
                if mode == _PLAIN and isinstance(key, str):
                    key = _redact_key(key, target, secrets)
            if isinstance(item, (dict, list)):
                copy: Any = {} if isinstance(item, dict) else []
                stack.append((item, copy, child_mode))
                item = copy
            else:
                item = _leaf(item, child_mode, secrets)
            if is_dict:
                target[key] = item
            else:
                target.append(item)
    return root


def _names_a_secret(container: Any) -> bool:
    if isinstance(container, dict):
        name = container.get("name", container.get("key"))
        return "value" in container and isinstance(name, str) and is_sensitive_key(name) and not is_count_key(name)
    return (isinstance(container, list) and len(container) == 2 and isinstance(container[0], str)
            and is_sensitive_key(container[0]) and not is_count_key(container[0]))


def _is_pair_list(items: list[Any]) -> bool:
    """[["Authorization", "Basic …"], ["Accept", "…"]]: every item a [name, value] list."""
    return bool(items) and all(isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                               for item in items)


# Text of a dumped section that redaction leaves as it is although it holds a needle: the runtime's token counts
# (a flat object of numbers under `tokenUsage`, a count key: numbers are kept, and its keys are not rewritten) and
# the key `authRequirements` (not a sensitive key; its value is scanned as any other). Nearly every checkpoint and
# metrics section holds them, which sent each through the full walk. No needle holds a quote or a brace, so
# cutting these spans out of the text hides no needle around them.
_INERT_SPANS = re.compile(r'"authrequirements": |"tokenusage": \{(?:"[^"\\]*": (?:-?[0-9][0-9.e+-]*|null|true|false)'
                          r'(?:, )?)*\}')


def clean_already(value: Any) -> bool:
    """True when redaction cannot change `value`: no key or string in it holds a needle or a surrogate.

    One C-level dump and a few substring scans decide it for a whole section (the 10,000
    events of a long run) instead of a Python call per string.
    """
    text = json.dumps(value, ensure_ascii=False, check_circular=False)
    lowered = text.lower()
    if _ANY_NEEDLE.search(lowered) and _ANY_NEEDLE.search(_INERT_SPANS.sub("", lowered)):
        return False
    return text.isascii() or not LONE_SURROGATE.search(text)


def unscrubbed(value: Any) -> bool:
    """True when some key or string in `value` holds an unpaired surrogate (what `scrub` replaces)."""
    text = json.dumps(value, ensure_ascii=False, check_circular=False)
    return not text.isascii() and bool(LONE_SURROGATE.search(text))


def redact_run(run: Run, *, secrets: bool = True) -> Run:
    """A cleaned copy of a normalised run; id, status, timestamps and lineage are never redacted."""
    if secrets:
        # Sections that redaction would leave as they are are shared, not walked.
        clean = {key for key, value in run.items()
                 if isinstance(value, (list, dict)) and value and clean_already(value)}
        if clean:
            rest = redact_run({key: value for key, value in run.items() if key not in clean}, secrets=True)
            return {key: run[key] if key in clean else rest[key] for key in run}
    redacted: Run = redact_value(run, secrets=secrets)
    if secrets:
        for key in _RUN_KEYS_KEPT & run.keys():
            redacted[key] = _kept_section(run[key]) if key == "timestamps" else _kept_value(run[key])
        metadata = run.get("metadata")
        if isinstance(metadata, dict) and "lineage" in metadata and isinstance(redacted.get("metadata"), dict):
            redacted["metadata"]["lineage"] = _kept_section(metadata["lineage"])
    return redacted


def _kept_value(value: Any) -> Any:
    """An id, status or instant is kept (only scrubbed); an object or array in its place is content, redacted."""
    return redact_value(value) if isinstance(value, (dict, list)) else redact_value(value, secrets=False)


def _kept_section(value: Any) -> Any:
    """`timestamps` or `metadata.lineage`: their instants and ids kept, anything else redacted."""
    if not isinstance(value, dict):
        return _kept_value(value)
    return {key: [_kept_value(item) for item in entry] if isinstance(entry, list) else _kept_value(entry)
            for key, entry in value.items()}


def redact_entry(entry: StoreEntry, *, secrets: bool = True) -> StoreEntry:
    source = scrub(entry.source)
    if entry.run is not None:
        return StoreEntry(source=source, run=redact_run(entry.run, secrets=secrets))
    return StoreEntry(source=source, error=clean_text(entry.error, secrets=secrets) if entry.error else entry.error)
