"""The run search's syntax, and what each part matches (the scanning reference; `stores.rowsql` says it in SQL).

    refund 429                 every word, anywhere in the input, output or error (case-insensitive)
    "rate limit"               a phrase
    input:refund  output:…  error:timeout  release:2026.11  id:5034dc9b
                               one field only (case-insensitive for ASCII letters)
    tool:issue_refund          runs that called this tool (its exact name)
    -error:timeout  -"dry run" leave out what matches

A bare number matches the input, output or error, and a run id only at its start (so `42` does not
match every id with a 4 and a 2 in it). Anything else with a colon (`password:x`) is a plain word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime_adapter.port import RunQueries
from runtime_adapter.rows import RunQuery, RunRow

FIELDS = ("input", "output", "error", "release", "tool", "id")
_TOKEN = re.compile(r'(-?)(?:([A-Za-z]+):)?(?:"([^"]*)"|(\S+))')
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Clause:
    field: str | None  # one of FIELDS, or None: anywhere
    text: str  # as typed
    negated: bool = False

    @property
    def id_prefix_only(self) -> bool:
        """A bare number: it matches a run id only at the start."""
        return self.field is None and self.text.isascii() and self.text.isdigit()


def parse(text: str) -> list[Clause]:
    clauses = []
    for match in _TOKEN.finditer(text):
        minus, field, quoted, word = match.groups()
        value = quoted if quoted is not None else word
        if field is not None and field.lower() not in FIELDS:
            # Not a field: the whole token is a word (`password:x`, or a quoted `say:"hi"`).
            value = f"{field}:{value}" if quoted is None else f'{field}:"{value}"'
            field = None
        if minus and not value and field is None and quoted is None:
            value = "-"  # a lone minus is a word
            minus = ""
        if not value:
            continue
        clauses.append(Clause(field=field.lower() if field else None, text=value, negated=bool(minus)))
    return clauses


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def haystack(row: RunRow) -> str:
    """What a bare word is looked for in: the id, then input, output and error, case-folded (rowsql.search_text)."""
    return "\n".join((row.id, row.input_text, row.output_text, row.error_text)).casefold()


def clause_matches(clause: Clause, row: RunRow, folded: str) -> bool:
    if clause.field is None:
        needle = clause.text.casefold()
        if clause.id_prefix_only:
            # The part after the first line break is the input, output and error (ids hold none in practice).
            return folded.startswith(needle) or needle in folded.partition("\n")[2]
        return needle in folded
    if clause.field == "tool":
        tools = row.step_stats.get("tools", {}) if isinstance(row.step_stats, dict) else {}
        return clause.text in tools
    value = {"input": row.input_text, "output": row.output_text, "error": row.error_text,
             "release": row.release or "", "id": row.id}[clause.field]
    return ascii_lower(clause.text) in ascii_lower(value)


def text_matches(row: RunRow, text: str) -> bool:
    folded = haystack(row)
    return all(clause_matches(clause, row, folded) != clause.negated for clause in parse(text))


MIN_ID_PREFIX = 4
_ID_PREFIX_LIMIT = 500


def run_with_prefix(store: RunQueries, prefix: str) -> str | None:
    """The id of the one run whose id starts with `prefix` (4 characters or more, one word), else None.

    What lets an operator paste the start of an id (as the pages show it) into the search box, a run URL or the
    compare form. The store is asked for ids holding the prefix anywhere, then they are checked exactly.
    """
    if len(prefix) < MIN_ID_PREFIX or not parse(prefix) == [Clause(None, prefix)] or '"' in prefix:
        return None
    page = store.query_runs(RunQuery(text=f"id:{prefix}", limit=_ID_PREFIX_LIMIT))
    starting = [row.id for row in page.rows if row.id.startswith(prefix)]
    if len(starting) != 1 or page.total > _ID_PREFIX_LIMIT:
        return None
    return starting[0]
