"""Indexed stores must answer exactly as the scanning defaults: shared fixtures and checks.

`assert_store_parity(indexed, reference)` compares every listing query a page can
make (RunQuery combinations, counts, lineage lookups, usage buckets, trees) between
an indexed store and the FileRunStore that scans the same runs.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

from runtime_adapter.inspectors import build_tree
from runtime_adapter.js import jsjson
from runtime_adapter.present.detail import tree_entries
from runtime_adapter.present.family_tree import tree_of_rows
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import StoreEntry
from runtime_adapter.rows import SORTS, STATUSES, RunQuery
from runtime_adapter.stores import rowtable
from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.rowtable import RowTableQueries
from tests.factories import run_record


def write_run(directory: Path, record: dict[str, Any]) -> Path:
    path = directory / f"{record['id']}.json"
    path.write_text(jsjson.dumps(record, 2), encoding="utf-8")
    return path


def varied_records() -> list[dict[str, Any]]:
    """Runs that exercise every filter: statuses, releases, lineage, correlation, odd text and numbers."""
    records = []
    texts = ["Refund the order", "STRASSE straße", "weather in İstanbul", "100% done_now", 'quote "x"',
             "a\u2028b", "  ", "émoji 🎉 party", "ab", "The order was refunded"]
    for index in range(40):
        status = STATUSES[index % len(STATUSES)]
        day = 1 + index % 9
        created = f"2026-01-0{day}T0{index % 10}:00:00.000Z"
        fields: dict[str, Any] = {
            "input": texts[index % len(texts)] if index % 7 else {"task": f"t{index}", "n": index},
            "output": None if status != "completed" else f"answer {index}",
            "metadata": {"release": ["v1", "v2", {"version": "v3"}, None][index % 4],
                         "correlation": {"traceId": f"trace-{index % 5}"}},
            "metrics": {"tokenUsage": {"prompt": index * 10, "completion": index, "total": index * 11},
                        "cost": [0.1, 0.2, 1, 2.5e-7, 0][index % 5]},
            "errors": [{"message": f"boom {index}"}] if status == "failed" else [],
        }
        ended = f"2026-01-0{day}T0{index % 10}:00:0{index % 10}.500Z"
        timestamps = {"createdAt": created, "updatedAt": ended, "startedAt": created}
        if status == "completed":
            timestamps["completedAt"] = ended
        elif status == "failed":
            timestamps["failedAt"] = ended
        fields["timestamps"] = timestamps
        if index % 6 == 3:
            fields["metadata"]["replay"] = {"sourceRunId": "run-00"}
        parent = f"run-{index - 1:02d}" if index % 5 in (1, 2) else None
        root = f"run-{index - index % 5:02d}" if parent else None
        branch_origin = "run-05" if index % 11 == 10 else None
        record = run_record(f"run-{index:02d}", parent=parent, root=root, status=status, created=created,
                            branch_origin=branch_origin, **fields)
        record["timestamps"] = {**record["timestamps"], **timestamps}
        records.append(record)
    records.extend(fleet_records())
    # Ids that sort differently bytewise and by code point, and a run with no createdAt.
    records.append(run_record("Zeta", created="2026-01-05T00:00:00.000Z", input="zeta refund"))
    records.append(run_record("_under", created="2026-01-05T00:00:00.000Z", status="failed"))
    records.append(run_record("run-é", created="2026-01-03T00:00:00.000Z", input="accent"))
    return records


def fleet_records() -> list[dict[str, Any]]:
    """Two releases of one agent: recurring failures whose messages differ in ids and numbers, a
    failure new in the second release, approvals and pauses, and inputs run in both releases."""
    records = []
    for index in range(24):
        release = "r1" if index < 12 else "r2"
        created = f"2026-01-0{1 + index % 8}T1{index % 10}:{index:02d}:00.000Z"
        ended = f"2026-01-0{1 + index % 8}T1{index % 10}:{index:02d}:0{index % 9}.000Z"
        status, errors, extra = "completed", [], {}
        tool = ["refund", "lookup"][index % 2]
        if index % 4 == 1:
            status = "failed"
            message = (f"Refund provider returned {[429, 503][index % 2]} for order {1000 + index * 7} "
                       f"(request {index:04x}ab…)")
            errors = [{"name": "ToolExecutionError", "message": message}]
        elif index % 8 == 2 and release == "r2":
            status = "failed"
            errors = [{"name": "TimeoutError", "message": f"Upstream timeout after {index}s."}]
        elif index % 8 == 6:
            status = "waiting_for_approval"
            extra["pendingApproval"] = {"toolName": "send_email", "reason": f"external write {index}"}
        elif index % 8 == 7:
            status = "paused"
            extra["pendingPause"] = {"reason": f"Confidence 0.{index} is below the threshold", "stage": "before_model"}
        steps = [
            {"id": f"f{index}:step:1", "type": "model", "status": "completed", "durationMs": 10 + index},
            {"id": f"f{index}:step:2", "type": "tool", "status": "failed" if status == "failed" else "completed",
             "durationMs": 5 * (1 + index % 3), "payload": {"toolName": tool, "arguments": {"n": index}}},
        ]
        timestamps = {"createdAt": created, "updatedAt": ended, "startedAt": created}
        if status in ("completed", "failed"):
            timestamps["completedAt" if status == "completed" else "failedAt"] = ended
        record = run_record(f"fleet-{index:02d}", status=status, created=created,
                            input=f"customer question {index % 12}", steps=steps, errors=errors,
                            metadata={"release": release},
                            metrics={"tokenUsage": {"prompt": index, "completion": 1, "total": index + 1},
                                     "cost": index / 100}, **extra)
        record["timestamps"] = {**record["timestamps"], **timestamps}
        records.append(record)
    return records


def assert_same(found: Any, expected: Any, context: Any, key: str = "") -> None:
    """`found == expected`, except that a mean may differ in its last bits: PostgreSQL sums doubles in its
    own order where the reference rounds the exact sum once (math.fsum)."""
    if key == "mean" and isinstance(found, float) and isinstance(expected, float):
        assert math.isclose(found, expected, rel_tol=1e-12), (context, key, found, expected)
    elif isinstance(found, dict) and isinstance(expected, dict):
        assert list(found) == list(expected), (context, key)
        for name in expected:
            assert_same(found[name], expected[name], context, name)
    elif isinstance(found, (list, tuple)) and isinstance(expected, (list, tuple)):
        assert len(found) == len(expected), (context, key, found, expected)
        for left, right in zip(found, expected, strict=True):
            assert_same(left, right, context, key)
    else:
        assert found == expected, (context, key, found, expected)


def assert_fleet_parity(store: RunStore, reference: RunStore) -> int:
    """Clusters, releases and release comparisons from `store` equal those of the scanning `reference`."""
    from runtime_adapter.queries.fleet import cluster_detail, cluster_report, release_comparison, release_report

    checks = 0
    releases = reference.releases()
    scopes = [RunQuery(), RunQuery(created_after="2026-01-03T00:00:00.000Z", created_before="2026-01-07T00:00:00.000Z"),
              RunQuery(text="refund"), RunQuery(statuses=("failed",))]
    scopes += [RunQuery(release=release) for release in releases[:3]]
    for scope in scopes:
        expected, found = cluster_report(reference, scope), cluster_report(store, scope)
        assert [(c.as_api(), c.share, c.timeline) for c in found.clusters] == \
            [(c.as_api(), c.share, c.timeline) for c in expected.clusters], scope
        assert (found.runs, found.window) == (expected.runs, expected.window)
        assert_same([asdict(r) for r in release_report(store, scope)], [asdict(r) for r in release_report(reference, scope)],
                    scope)
        checks += 2
        for cluster in expected.clusters[:4]:
            page = replace(scope, limit=2)
            left, right = cluster_detail(store, cluster.id, page), cluster_detail(reference, cluster.id, page)
            assert (left.cluster.as_api(), _page_key(left.members), left.by_release, left.by_root) == \
                (right.cluster.as_api(), _page_key(right.members), right.by_release, right.by_root)
            checks += 1
    for base, head in itertools.permutations(releases[:3], 2):
        for scope in scopes[:3]:
            left, right = release_comparison(store, scope, base, head), release_comparison(reference, scope, base, head)
            assert_same(left.as_api(), right.as_api(), (base, head, scope))
            assert_same((asdict(left.base), asdict(left.head)), (asdict(right.base), asdict(right.head)), (base, head))
            checks += 1
    return checks


def queries(statuses: list[str], releases: list[str], ids: list[str]) -> list[RunQuery]:
    found = [RunQuery()]
    for sort, descending in itertools.product(SORTS, (True, False)):
        found.append(RunQuery(sort=sort, descending=descending, limit=7))
        found.append(RunQuery(sort=sort, descending=descending, offset=5, limit=9))
    for status in statuses:
        found.append(RunQuery(statuses=(status,)))
    found.append(RunQuery(statuses=tuple(statuses[:2]), sort="cost"))
    for release in releases + ["nope"]:
        found.append(RunQuery(release=release, sort="updated", descending=False))
    texts = ["order", "ORDER refund", "straße", "STRASSE", "ss", "İ", "100%", "done_now", '"x"', "é", "🎉",
             "a", "ab", "zz-none", "run-0", "boom 3", "\u2028", "%", "_", "answer 1", "refund order",
             # The search syntax (search_syntax): fields, phrases, negation, bare numbers, exact inputs first.
             "input:refund", "INPUT:Refund", "output:answer", "error:boom", "-error:boom", "release:v1", "release:V3",
             "id:run-0", "-id:run-1", "tool:refund", "tool:lookup", "-tool:refund", "tool:REFUND", '"refund the"',
             '-"the order"', "1", "0", "05", "3 -boom", "password:x", "error:", "-", 'input:"Refund the"',
             "Refund the order", "input:straße", "input:STRASSE", "input:%", "id:_", "customer question 3"]
    for text in texts:
        found.append(RunQuery(text=text))
        found.append(RunQuery(text=text, sort="duration", limit=3, offset=1))
    for correlation in ["trace-1", "trace-4", ids[0], ids[-1], "run-05", "none"]:
        found.append(RunQuery(correlation_id=correlation))
        found.append(RunQuery(correlation_id=correlation, text="order"))  # a search narrowed by its index, joined
    found.extend([
        RunQuery(created_after="2026-01-03"), RunQuery(created_before="2026-01-04T00:00:00.000Z"),
        RunQuery(created_after="2026-01-02", created_before="2026-01-06", sort="cost", descending=False),
        RunQuery(roots_only=True), RunQuery(attention_only=True), RunQuery(attention_only=True, roots_only=True),
        RunQuery(attention_only=True, text="boom", statuses=("failed",)), RunQuery(offset=10_000),
        RunQuery(limit=0), RunQuery(statuses=tuple(STATUSES), release="v1", roots_only=True, sort="updated"),
    ])
    return found


def _assert_capped_search_parity(indexed: RunStore, reference: RunStore, statuses: list[str], releases: list[str],
                                 ids: list[str]) -> int:
    """With the search count capped low, every search still lists exactly the reference's rows (past the cap and the
    collect limit, a store walks its sort order instead of collecting every match) and says "more than" the cap only
    when more match."""
    inner = getattr(indexed, "inner", indexed)
    if not isinstance(inner, RowTableQueries):
        return 0  # a scanning store counts every match
    checks = 0
    # (count cap, collect limit): with a collect limit past the cap, searches with more matches than the cap are
    # collected (PostgreSQL: after looking for their page among the first runs of the sort order, here as few as it
    # can, one per match counted: pages found there and searches that go on past them); up to the cap, PostgreSQL
    # lists the matches its count kept.
    # With (3, 3), every broad search's page counts as slow, so a store that keeps slow orders (SQLite) keeps each one
    # and serves the same query again from it: each query is asked twice there.
    for cap, collect, slow in ((0, 0, None), (3, 3, -1.0), (3, 1000, None)):
        with patch("runtime_adapter.rows.SEARCH_COUNT_CAP", cap), patch.object(inner, "search_collect_limit", collect), \
                patch.object(inner, "search_walk_per_match", 1), \
                patch("runtime_adapter.stores.rowtable.SLOW_PAGE_SECONDS", rowtable.SLOW_PAGE_SECONDS if slow is None
                      else slow):
            for query in queries(statuses, releases, ids):
                if not query.text:
                    continue
                expected = reference.query_runs(query)
                for asked in range(1 if slow is None else 2):
                    found = indexed.query_runs(query)
                    context = (cap, asked, query)
                    assert found.rows == expected.rows, context
                    assert (found.total, found.total_exact) == (min(expected.total, cap), expected.total <= cap), context
                    assert found.has_next == expected.has_next, context
                    checks += 1
            # A share's denominator counts every run in scope, a search's matches too.
            from runtime_adapter.queries.fleet import cluster_report
            for scope in (RunQuery(text="order"), RunQuery(text="boom", statuses=("failed",))):
                found_report, expected_report = cluster_report(indexed, scope), cluster_report(reference, scope)
                assert found_report.runs == expected_report.runs, (cap, scope)
                assert [c.share for c in found_report.clusters] == [c.share for c in expected_report.clusters]
                checks += 1
    return checks


def _page_key(page: Any) -> tuple[Any, ...]:
    return page.rows, page.total, [(entry.source, entry.error) for entry in page.errors]


def buckets_equal(left: list[Any], right: list[Any]) -> bool:
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        if (a.start, a.end, a.runs, a.failed) != (b.start, b.end, b.runs, b.failed):
            return False
        for name in ("prompt_tokens", "completion_tokens", "total_tokens", "cost"):
            if not math.isclose(getattr(a, name), getattr(b, name), rel_tol=1e-9, abs_tol=1e-12):
                return False
    return True


class _ReadOnce(RunStore):
    """A scanning store over what a FileRunStore's directory holds now, read once.

    The reference re-read and re-validated every file for each of the ~600 queries of a parity check (most of
    the parity tests' time); the directory does not change while one is asserted. Each read still returns new
    objects, as the file store's do."""

    def __init__(self, store: FileRunStore) -> None:
        self.url, self.row_redaction, self._store = store.url, store.row_redaction, store
        entries = list(store.iter_entries())
        self._entries = [(entry.source, None if entry.run is None else jsjson.dumps(entry.run), entry.error)
                         for entry in entries]
        self.exact = list(self.iter_entries()) == entries  # every run survives JSON: it answers as the file store

    def iter_entries(self) -> Any:
        for source, text, error in self._entries:
            yield StoreEntry(source=source, run=None if text is None else jsjson.loads(text), error=error)

    def get_run(self, run_id: str) -> Any:
        return self._store.get_run(run_id)


def read_once(reference: RunStore) -> RunStore:
    """`reference` read once, where that answers exactly as it does (a file store whose runs survive JSON)."""
    if type(reference) is not FileRunStore:
        return reference
    snapshot = _ReadOnce(reference)
    return snapshot if snapshot.exact else reference


def shown_tree(tree: Any) -> list[Any]:
    """What the tree page shows of a tree, its inputs aside (the rows' tree lists the input's listed text)."""
    return [replace(entry, input_short="", input_title="")
            for entry in tree_entries(tree if isinstance(tree, dict) else None)]


def assert_store_parity(indexed: RunStore, reference: RunStore, *, trees: bool = True) -> int:
    """Compare `indexed` with `reference` on every listing query; returns how many checks ran."""
    reference = read_once(reference)
    rows = reference.rows()
    assert indexed.rows() == rows
    checks = 1
    statuses = sorted({row.status for row in rows})
    releases = sorted({row.release for row in rows if row.release})
    ids = [row.id for row in rows]
    for query in queries(statuses, releases, ids or ["none"]):
        assert _page_key(indexed.query_runs(query)) == _page_key(reference.query_runs(query)), query
        checks += 1
    checks += _assert_capped_search_parity(indexed, reference, statuses, releases, ids or ["none"])
    incident_types = sorted({row.incident_type for row in rows if row.incident_type})
    for types in [(), tuple(incident_types[:1]), tuple(incident_types)]:
        query = RunQuery(limit=20, offset=1)
        assert _page_key(indexed.query_incidents(query, types)) == _page_key(reference.query_incidents(query, types))
        checks += 1
    counts = indexed.status_counts()
    assert counts == reference.status_counts() and list(counts) == list(reference.status_counts())
    assert indexed.releases() == reference.releases()
    assert [(e.source, e.error) for e in indexed.list_errors()] == [(e.source, e.error) for e in reference.list_errors()]
    probe = ids[:: max(1, len(ids) // 25)] + ["missing-run"]
    assert indexed.rows_by_id(probe) == reference.rows_by_id(probe)
    assert list(indexed.rows_by_id(probe)) == list(reference.rows_by_id(probe))
    assert indexed.input_texts(probe) == reference.input_texts(probe)
    for run_id in probe:
        assert indexed.related_rows(run_id) == reference.related_rows(run_id), run_id
        assert indexed.replay_rows(run_id) == reference.replay_rows(run_id), run_id
        checks += 2
    for row in rows[:: max(1, len(rows) // 10)]:
        for statuses_ in [("completed",), (), ("failed", "completed")]:
            assert indexed.rows_with_input(row.input_text, statuses=statuses_, limit=3) == \
                reference.rows_with_input(row.input_text, statuses=statuses_, limit=3)
            checks += 1
        for limit in (1, 3, 500):
            assert indexed.input_matches(row.input_text, limit=limit) == \
                reference.input_matches(row.input_text, limit=limit)
            checks += 1
    created = sorted(row.created_at for row in rows if row.created_at)
    if created:
        for bucket_ms in (3_600_000, 6 * 3_600_000, 86_400_000):
            start, end = created[0][:10] + "T00:00:00.000Z", "2027-01-01T00:00:00.000Z"
            if bucket_ms == 3_600_000:
                end = created[-1][:10] + "T23:00:00.000Z"
            assert buckets_equal(indexed.usage_series(start, end, bucket_ms),
                                  reference.usage_series(start, end, bucket_ms))
            checks += 1
    checks += assert_fleet_parity(indexed, reference)
    if trees:
        all_runs = list(reference.iter_runs())
        for run_id in probe:
            expected = build_tree(all_runs, run_id)
            assert jsjson.dumps(build_tree(indexed.iter_family(run_id), run_id)) == jsjson.dumps(expected), run_id
            family = indexed.family_rows(run_id)
            assert family == reference.family_rows(run_id), run_id
            assert shown_tree(tree_of_rows(family, run_id)) == shown_tree(expected), run_id
            checks += 3
    return checks



def search_terms(secrets: list[str]) -> list[str]:
    """Prefixes and middles of every secret, plus words that appear beside them."""
    terms = ["secret", "kept", "sk-", "order", "answer", "bearer", "key", "token", "password", "refund"]
    for value in secrets:
        terms += [value[:12], value[len(value) // 3 : len(value) // 3 + 8]]
    return terms


def _found(page: Any) -> tuple[int, list[Any]]:
    # Stores name their runs' sources differently (file names, ids); the rows must agree otherwise.
    return page.total, [replace(row, source="") for row in page.rows]


def assert_redacted_search_parity(store: RunStore, reference: RunStore, secrets: list[str]) -> int:
    """Every search of `store` (a RedactingStore) equals the scanning `reference`, and no part of a secret matches."""
    checked = 0
    for term in search_terms(secrets):
        for query in (RunQuery(text=term, limit=7), RunQuery(text=term, limit=7, offset=7),
                      RunQuery(text=term, statuses=("failed",), sort="cost", descending=False, limit=500),
                      RunQuery(correlation_id=term)):
            page = store.query_runs(query)
            assert _found(page) == _found(reference.query_runs(query)), query
            if any(term == value[:12] for value in secrets):
                assert page.total == 0, query  # a secret's first letters confirm nothing
            checked += 1
        incident_query = RunQuery(text=term, limit=500)
        assert _found(store.query_incidents(incident_query)) == _found(reference.query_incidents(incident_query)), term
    return checked


def assert_family_markers_follow_their_family(store: RunStore, directory: Path, sync: Any) -> None:
    """A family's marker moves with any change to its runs and with nothing else.

    `directory` holds the runs `store` serves; `sync()` makes the store see the files
    again (a refresh, a load).
    """
    family = [run_record("fam-root", children=["fam-child"]),
              run_record("fam-child", parent="fam-root", root="fam-root", children=["fam-grandchild"]),
              run_record("fam-grandchild", parent="fam-child", root="fam-root")]
    stranger = run_record("stranger")
    for record in [*family, stranger]:
        write_run(directory, record)
    sync()
    marker = store.family_marker("fam-grandchild")
    assert store.family_marker("fam-root") == marker == store.family_marker("fam-child")  # one family, one marker
    assert store.family_marker("stranger") != marker

    def changed_by(record: dict[str, Any]) -> bool:
        nonlocal marker
        path = write_run(directory, record)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        sync()
        before, marker = marker, store.family_marker("fam-grandchild")
        return before != marker

    assert not changed_by({**stranger, "output": "elsewhere"})  # another family's write
    assert not changed_by(run_record("newcomer"))
    assert changed_by({**family[2], "output": "grandchild edited"})  # a member rewritten
    assert changed_by({**family[0], "status": "failed"})  # the root rewritten
    assert changed_by(run_record("fam-new", parent="fam-child", root="fam-root"))  # a new member
