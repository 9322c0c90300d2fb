"""Failure signatures: what makes two failures "the same" for the failure clusters.

A failure's signature is its incident type, step type, tool name, error name and a
*message template*: the error message with the parts that vary from one occurrence
to the next (ids, numbers, timestamps, quoted values...) replaced by placeholders, so
"Refund provider returned 429 for order 1234 (request 8f3a…)" and "Refund provider
returned 503 for order 98 (request c01d…)" share one template and one cluster.

Numbers are placeholders whatever they mean: HTTP statuses 429 and 503 fall in one
cluster (the error name, tool and the rest of the text still tell failures apart).
A hex id made of digits only (about 2% of 8-character ids) reads as a number, `<n>`,
not `<hex>`: a run of digits is taken for a number first.

Messages are expected to be redacted and scrubbed already (the redaction rules);
whatever they hold, nothing here raises, lone surrogates included.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

# Only the head of a message is read: messages can be megabytes (a response body),
# and the template is capped far below this anyway.
MESSAGE_READ_LIMIT = 2_000
TEMPLATE_LIMIT = 300
FIELD_LIMIT = 200

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Zero-width and bidirectional formatting characters: invisible, or (bidi overrides)
# able to make a template read differently from what it holds.
_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_WHITESPACE = re.compile(r"\s+")

_HEX_CHAR = "[0-9A-Fa-f]"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DURATION_UNIT = r"(?:ms|us|µs|μs|ns|secs?|seconds?|s|mins?|minutes?|m|hrs?|hours?|h|days?|d)"

# In this order: a URL or an e-mail address holds numbers and ids of its own, a timestamp
# holds numbers, and an id token holds digits; every pattern is free of nested
# quantifiers over the same characters, and most only start at the start of a token.
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w+.-])[A-Za-z][\w+.-]{0,30}://[^\s'\"`<>]*[^\s'\"`<>.,;:!?)\]}]"), "<url>"),
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (
        re.compile(
            rf"(?<![0-9A-Fa-f-]){_HEX_CHAR}{{8}}-{_HEX_CHAR}{{4}}-{_HEX_CHAR}{{4}}-{_HEX_CHAR}{{4}}-{_HEX_CHAR}{{12}}(?![0-9A-Fa-f-])"
        ),
        "<uuid>",
    ),
    (
        re.compile(
            r"(?<!\d)\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?(?!\d)"
            r"|(?<![\d:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})?(?![\d:])"
            rf"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? \d{{1,2}} {_MONTH} \d{{4}}(?: \d{{2}}:\d{{2}}(?::\d{{2}})?)?(?: (?:GMT|UTC|[+-]\d{{4}}))?"
        ),
        "<timestamp>",
    ),
    (re.compile(r"(?<!\w)(?:'[^']*'|\"[^\"]*\"|`[^`]*`)(?!\w)"), "<value>"),
    (
        re.compile(rf"(?<![\w.-])\d+(?:[.,_]\d+)* ?{_DURATION_UNIT}(?:\d+(?:\.\d+)?{_DURATION_UNIT})*(?!\w)"),
        "<duration>",
    ),
    (
        re.compile(
            rf"(?<![\w-])(?:0[xX]{_HEX_CHAR}+|(?=[0-9]*[A-Fa-f])(?=[A-Fa-f]*[0-9]){_HEX_CHAR}{{6,}})(?![\w-])"
            rf"|(?<![\w-]){_HEX_CHAR}{{4,}}(?:…|\.\.\.)"
        ),
        "<hex>",
    ),
    # A token of word characters and hyphens holding a letter and a digit ("run_abc123",
    # "req-9f2"); "sha256", "utf-8" or "gpt-4o" are taken too, the price of a simple rule.
    # Scientific notation ("1e-5") is left to the numbers.
    (
        re.compile(r"(?<![\w-])(?!-?\d+(?:\.\d+)?[eE][+-]?\d+(?![\w-]))(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[\w-]+"),
        "<id>",
    ),
    (re.compile(r"(?<!\w)-?\d+(?:[.,_]\d+)*(?:[eE][+-]?\d+)?"), "<n>"),
)


def message_template(message: str | None) -> str:
    """`message` with its varying parts as placeholders, whitespace collapsed, at most 300 characters."""
    if not message or not isinstance(message, str):
        return ""
    text = message[:MESSAGE_READ_LIMIT]
    text = _ANSI_ESCAPE.sub("", text)
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text))
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > TEMPLATE_LIMIT:
        text = text[: TEMPLATE_LIMIT - 1].rstrip() + "…"
    return text


@dataclass(frozen=True)
class FailureSignature:
    incident_type: str
    step_type: str
    tool_name: str
    error_name: str
    message_template: str

    @property
    def cluster_id(self) -> str:
        """16 hex characters, the same in every process and on every machine for the same fields."""
        # ensure_ascii escapes every non-ASCII character, lone surrogates included, so any str encodes.
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


def failure_signature(
    *,
    incident_type: str | None,
    step_type: str | None,
    tool_name: str | None,
    error_name: str | None,
    message: str | None,
) -> FailureSignature:
    """The signature of one failure; a missing field is "", and `message` becomes its template."""
    return FailureSignature(
        incident_type=_field(incident_type),
        step_type=_field(step_type),
        tool_name=_field(tool_name),
        error_name=_field(error_name),
        message_template=message_template(message),
    )


def _field(value: str | None) -> str:
    """A name as one cluster knows it: invisible and bidi-control characters out, so names that look the same
    are one name (and none reorders the text it is shown in), whitespace collapsed, capped."""
    if not value or not isinstance(value, str):
        return ""
    visible = _CONTROL.sub(" ", _INVISIBLE.sub("", value[:MESSAGE_READ_LIMIT]))
    return " ".join(visible.split())[:FIELD_LIMIT]
