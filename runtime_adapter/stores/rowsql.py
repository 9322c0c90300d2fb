"""RunRow as table columns, and RunQuery as SQL, shared by the SQLite index and PostgreSQL.

Both indexed stores must return exactly what `listing.scan_query` returns, so the
column values come from `listing.run_row` and the WHERE/ORDER BY below mirror
`listing.matches` and `listing.sort_value` clause for clause.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from runtime_adapter.js.dates import parse_iso
from runtime_adapter.queries.listing import redacted_row, run_row
from runtime_adapter.queries.search_syntax import Clause as SearchClause
from runtime_adapter.queries.search_syntax import ascii_lower, haystack, parse
from runtime_adapter.records import TIMING_KEYS, Run, replay_source
from runtime_adapter.rows import RunQuery, RunRow

Dialect = Literal["sqlite", "postgres"]

# Column names are RunRow's field names, in RunRow's order, so a row is rebuilt positionally.
ROW_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(RunRow))
# Derived columns that are not part of RunRow: search haystack, whether the row is of the redacted run,
# bucketable creation time, replay source.
EXTRA_COLUMNS: tuple[str, ...] = ("search_text", "redacted", "created_us", "replay_source_run_id")
_BOOL_COLUMNS = frozenset(("pending_approval", "pending_pause", "needs_attention"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_INT64 = 2**63 - 1


# The code a row is computed by: run_row, the inspectors and the JS semantics it calls, redaction; and the
# comparison digest a vetted run's row is kept with (run_digest).
ROW_CODE = (
    "queries/listing.py", "queries/failure_signature.py", "queries/search_syntax.py", "rows.py", "records.py", "port.py", "redaction.py",
    "stores/rowsql.py", "js/jsvalues.py", "js/jsjson.py", "js/collation.py", "js/dates.py",
    "inspectors/incident.py", "inspectors/recovery.py", "inspectors/summary.py", "inspectors/tree.py",
    "inspectors/diff.py", "queries/run_digest.py",
)  # tests/unit/test_row_version.py checks that nothing run_row imports is missing


def _fingerprint() -> str:
    # When the row code changes, rows computed by the old code are stale, so indexes
    # rebuild and loads re-upsert. A missing file is a packaging error, not an empty one.
    here = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for relative in ROW_CODE:
        digest.update((here / relative).read_bytes())
    return digest.hexdigest()[:16]


ROW_VERSION = _fingerprint()


def row_version(redact: bool) -> str:
    """Which code made a row, and with which redaction setting: a change of either recomputes it."""
    return f"{ROW_VERSION}:{'redacted' if redact else 'raw'}"


def search_text(row: RunRow) -> str:
    """The haystack a bare search word is looked for in (`search_syntax.haystack`)."""
    return haystack(row)


def created_us(created_at: str | None) -> int | None:
    """Microseconds since the epoch of a parseable createdAt (the usage charts' bucket key)."""
    moment = parse_iso(created_at)
    if moment is None:
        return None
    return (moment - _EPOCH) // _ONE_MICROSECOND


_ONE_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def clean_text(value: str | None, *, nul: bool = False) -> str | None:
    """Text a database accepts: lone surrogates (and NUL for PostgreSQL) become U+FFFD.

    Run files written by Node are valid UTF-8, so this only touches JSON that spelled
    a lone surrogate as an escape; such characters cannot be searched for anyway.
    """
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if nul and "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value


def clean_number(value: Any) -> Any:
    # SQLite integers are 64-bit; a larger JSON integer is kept as the double JS sees.
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT64:
        return float(value)
    return value


def row_values(run: Run, source: str, *, dialect: Dialect, redact: bool = False) -> dict[str, Any]:
    """Every column of one run, ready to bind (lists and dicts as the dialect stores them).

    With `redact`, the row is that of the redacted run (`listing.redacted_row`): its text, its
    correlation ids and the search text made of them hold nothing redaction hides, so searches
    and filters over them cannot confirm a secret.
    """
    row = redacted_row(run, source) if redact else run_row(run, source)
    values: dict[str, Any] = {}
    nul = dialect == "postgres"
    for name in ROW_COLUMNS:
        value = getattr(row, name)
        if isinstance(value, str):
            value = clean_text(value, nul=nul)
        elif name == "correlation_ids":
            value = [clean_text(item, nul=nul) for item in value]
            value = value if dialect == "postgres" else json.dumps(value)
        elif name == "timings":
            value = json.dumps({key: clean_number(number) for key, number in value.items()})
        elif name == "step_stats":
            # Text in both dialects. PostgreSQL aggregates it as jsonb (stores.fleet_sql), which refuses NUL
            # and lone surrogates even escaped: names lose them as every PostgreSQL text does.
            if nul:
                value = {section: {clean_text(key, nul=True): item for key, item in found.items()}
                         for section, found in value.items()}
            value = json.dumps(value, ensure_ascii=not nul)
        elif name in _BOOL_COLUMNS:
            value = bool(value) if dialect == "postgres" else int(bool(value))
        else:
            value = clean_number(value)
        values[name] = value
    values["search_text"] = clean_text(search_text(row), nul=nul)
    values["redacted"] = redact if dialect == "postgres" else int(redact)
    values["created_us"] = created_us(row.created_at)
    values["replay_source_run_id"] = clean_text(replay_source(run), nul=nul)
    return values


def _number(value: Any) -> Any:
    # PostgreSQL doubles come back as floats; runs write integral numbers as JS prints them.
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def row_from_db(values: Sequence[Any], *, dialect: Dialect) -> RunRow:
    """Rebuild a RunRow from `ROW_COLUMNS` values as the database returns them."""
    data = dict(zip(ROW_COLUMNS, values, strict=True))
    for name in _BOOL_COLUMNS:
        data[name] = bool(data[name])
    correlation = data["correlation_ids"]
    data["correlation_ids"] = list(correlation) if isinstance(correlation, list) else json.loads(correlation or "[]")
    timings = data["timings"]
    timings = json.loads(timings) if isinstance(timings, str) else dict(timings or {})
    # jsonb sorts keys; runs always carry the runtime's timing keys in this order.
    ordered = {key: timings.pop(key) for key in TIMING_KEYS if key in timings}
    ordered.update(timings)
    data["timings"] = ordered
    data["step_stats"] = json.loads(data["step_stats"] or "{}")
    if dialect == "postgres":
        for name in ("duration_ms", "prompt_tokens", "completion_tokens", "total_tokens", "cost"):
            data[name] = _number(data[name])
        data["timings"] = {key: _number(value) for key, value in data["timings"].items()}
    return RunRow(**data)


@dataclass(frozen=True)
class Clause:
    sql: str
    params: list[Any]


def _like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _trigram_match(terms: list[str]) -> str | None:
    """An FTS5 query every row containing all `terms` matches (a superset; SQL then confirms).

    The index is built with detail=none (a third of the size), which has no phrase
    queries, so a term becomes the AND of its trigrams.
    """
    trigrams: dict[str, None] = {}
    for term in terms:
        for start in range(len(term) - 2):
            trigrams.setdefault(term[start : start + 3], None)
    if not trigrams:
        return None
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


_IN_SEARCH_TEXT = (None, "input", "output", "error", "id")
_WORD_TRIGRAM = re.compile(r"[^\W_]{3}")
_FIELD_COLUMNS = {"input": "input_text", "output": "output_text", "error": "error_text",
                  "release": "coalesce(release, '')", "id": "id"}


def _search(clauses: list[SearchClause], dialect: Dialect, parts: list[str], params: list[Any],
            narrow: list[str]) -> None:
    """`search_syntax.clause_matches` for each clause. A clause that is not negated and looks in what
    `search_text` holds also narrows the rows through the search index first (its case-folded text is in
    `search_text` whenever it matches): in SQLite, the MATCH expression appended to `narrow`."""
    mark = "?" if dialect == "sqlite" else "%s"
    nul = dialect == "postgres"
    narrowing = [clean_text(clause.text.casefold(), nul=nul) or "" for clause in clauses
                 if not clause.negated and clause.field in _IN_SEARCH_TEXT]
    match = _trigram_match(narrowing)
    # pg_trgm takes trigrams of words only (letters and digits): a term without three of them in a row
    # gives its index nothing to narrow with, and a scan of the whole index would be dearer than none.
    if match is not None and (dialect == "sqlite" or any(_WORD_TRIGRAM.search(term) for term in narrowing)):
        narrow.append(match)
    for clause in clauses:
        sql, values = _clause_sql(clause, dialect, mark, nul)
        parts.append(f"NOT ({sql})" if clause.negated else sql)
        params.extend(values)
        if not clause.negated and clause.field in _IN_SEARCH_TEXT and clause.field is not None:
            # Implied by the field's match (case folding keeps a substring a substring): lets the index help.
            needle = clean_text(clause.text.casefold(), nul=nul) or ""
            parts.append(f"instr(search_text, {mark}) > 0" if dialect == "sqlite" else f"search_text LIKE {mark}")
            params.append(needle if dialect == "sqlite" else _like_pattern(needle))


def _clause_sql(clause: SearchClause, dialect: Dialect, mark: str, nul: bool) -> tuple[str, list[Any]]:
    sqlite = dialect == "sqlite"
    if clause.field is None:
        needle = clean_text(clause.text.casefold(), nul=nul) or ""
        if clause.id_prefix_only:
            # search_syntax: the start of the haystack (the id) or what follows its first line break.
            if sqlite:
                return (f"(instr(search_text, {mark}) = 1 OR instr(substr(search_text, instr(search_text, char(10)) + 1),"
                        f" {mark}) > 0)", [needle, needle])
            # The first LIKE is implied by the rest and lets the trigram index narrow the rows.
            return (f"(search_text LIKE {mark} AND (search_text LIKE {mark}"
                    f" OR substr(search_text, strpos(search_text, E'\\n') + 1) LIKE {mark}))",
                    [_like_pattern(needle), needle + "%", _like_pattern(needle)])
        if sqlite:
            return f"instr(search_text, {mark}) > 0", [needle]
        return f"search_text LIKE {mark}", [_like_pattern(needle)]
    if clause.field == "tool":
        name = clean_text(clause.text, nul=nul) or ""
        if sqlite:
            return (f"(json_valid(step_stats) AND EXISTS (SELECT 1 FROM json_each(step_stats, '$.tools')"
                    f" WHERE key = {mark}))", [name])
        # jsonb is only read where the name's key is in the text and the text is JSON that jsonb takes.
        return (f"(position({mark} in step_stats) > 0 AND step_stats !~ '(Infinity|NaN|\\\\u0000)'"
                f" AND coalesce(jsonb_exists(step_stats::jsonb -> 'tools', {mark}), false))",
                [json.dumps(name, ensure_ascii=False), name])
    column = _FIELD_COLUMNS[clause.field]
    needle = ascii_lower(clean_text(clause.text, nul=nul) or "")
    if sqlite:  # SQLite's lower() folds ASCII letters only, as search_syntax.ascii_lower does
        return f"instr(lower({column}), {mark}) > 0", [needle]
    return f'lower({column} COLLATE "C") LIKE {mark}', [_like_pattern(needle)]


def where_clause(query: RunQuery, dialect: Dialect, incident_types: Sequence[str] = ()) -> Clause:
    """`listing.matches` as SQL over the `runs` table (and `query_incidents`' type filter)."""
    narrow, rest = search_clauses(query, dialect, incident_types)
    if narrow is None or dialect != "sqlite":
        return rest
    return Clause(f"rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?) AND {rest.sql}",
                  [narrow, *rest.params])


def search_clauses(query: RunQuery, dialect: Dialect, incident_types: Sequence[str] = ()) -> tuple[str | None, Clause]:
    """`where_clause` in two parts: the search index's expression that narrows a search to a superset of its
    matches (None where no term has a trigram), and the conditions every matching row meets (the search's own
    among them). SQLite's where_clause adds the first as a MATCH of runs_fts; PostgreSQL's trigram index serves
    the search's LIKEs themselves, so there it only says that the index can narrow."""
    mark = "?" if dialect == "sqlite" else "%s"
    narrow: list[str] = []
    parts: list[str] = []
    params: list[Any] = []
    if incident_types:
        parts.append(f"incident_type IN ({', '.join(mark for _ in incident_types)})")
        params.extend(incident_types)
    if query.statuses:
        parts.append(f"status IN ({', '.join(mark for _ in query.statuses)})")
        params.extend(query.statuses)
    if query.release:
        parts.append(f"release = {mark}")
        params.append(query.release)
    if query.cluster_id:
        parts.append(f"cluster_id = {mark}")
        params.append(query.cluster_id)
    if query.roots_only:
        parts.append("coalesce(parent_run_id, '') = ''")
    if query.attention_only:
        parts.append("needs_attention = 1" if dialect == "sqlite" else "needs_attention")
    if query.correlation_id:
        if dialect == "sqlite":
            parts.append(f"(id = {mark} OR root_run_id = {mark} OR runs.rowid IN "
                         f"(SELECT run FROM run_correlations WHERE value = {mark}))")
            params.extend([query.correlation_id] * 3)
        else:
            parts.append(f"(id = {mark} OR root_run_id = {mark} OR correlation_ids @> ARRAY[{mark}]::text[])")
            params.extend([query.correlation_id] * 3)
    if query.created_after:
        parts.append(f"coalesce(created_at, '') >= {mark}")
        params.append(query.created_after)
    if query.created_before:
        parts.append(f"coalesce(created_at, '') < {mark}")
        params.append(query.created_before)
    if query.text:
        _search(parse(query.text), dialect, parts, params, narrow)
    if not parts:
        return (narrow[0] if narrow else None), Clause("TRUE" if dialect == "postgres" else "1", params)
    return (narrow[0] if narrow else None), Clause(" AND ".join(parts), params)


SORT_EXPRESSIONS = {
    "created": "coalesce(created_at, '')",
    "updated": "coalesce(updated_at, '')",
    "duration": "coalesce(duration_ms, -1)",
    "cost": "cost",
}


def order_clause(query: RunQuery, expression: str | None = None) -> str:
    """`listing.sort_value`, ties broken on id, both in the query's direction (`expression`: a column that holds the
    sort value, in place of computing it)."""
    direction = "DESC" if query.descending else "ASC"
    return f"{expression or sort_expression(query)} {direction}, id {direction}"


def sort_expression(query: RunQuery) -> str:
    return SORT_EXPRESSIONS.get(query.sort, SORT_EXPRESSIONS["created"])


def exact_input(query: RunQuery, dialect: Dialect) -> Clause | None:
    """The runs whose input is exactly the search text, which a search lists first (`listing.scan_query`):
    a condition the input-prefix index answers, kept apart so the rest still pages in index order."""
    if not query.text:
        return None
    mark = "?" if dialect == "sqlite" else "%s"
    text = clean_text(query.text, nul=dialect == "postgres")
    return Clause(f"substr(input_text, 1, 64) = substr({mark}, 1, 64) AND input_text = {mark}", [text, text])