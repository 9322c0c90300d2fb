"""The scanning reference implementation of every store query: read every run, derive its row.

Adapters without an index answer queries this way; indexed stores (SQLite, PostgreSQL)
override each method with the same results, which the parity tests hold them to.
"""

from __future__ import annotations

from dataclasses import replace

from runtime_adapter.port import BaseRunStore, RunQueries
from runtime_adapter.queries import fleet
from runtime_adapter.queries.listing import fleet_row, matches, run_row, scan_query
from runtime_adapter.queries.usage import bucket_rows
from runtime_adapter.records import StoreEntry, replay_source
from runtime_adapter.rows import (
    ClusterReport,
    FleetRow,
    InputMatch,
    LatestRun,
    ReleaseSummary,
    RunPage,
    RunQuery,
    RunRow,
    StepTotals,
    UsageBucket,
)


class RunStore(BaseRunStore, RunQueries):
    """A store with its queries: the port plus answers computed by scanning."""

    def query_runs(self, query: RunQuery) -> RunPage:
        return scan_query(self.iter_entries(), query)

    def rows(self) -> list[RunRow]:
        return [run_row(entry.run, entry.source) for entry in self.iter_entries() if entry.run is not None]

    def fleet_rows(self, query: RunQuery, *, with_steps: bool = False) -> list[FleetRow]:
        """The rows in scope of `query` (its paging aside), as views over many runs read them."""
        return [fleet_row(row, with_steps=with_steps) for row in self.rows() if matches(row, query)]

    def release_summaries(self, query: RunQuery, *, shapes: bool = True) -> list[ReleaseSummary]:
        """Per release label of the rows in scope, in release order."""
        return fleet.release_summaries(self.fleet_rows(query), shapes=shapes)

    def step_totals(self, query: RunQuery) -> StepTotals:
        return fleet.step_totals(self.fleet_rows(query, with_steps=True))

    def latest_pairs(self, base: RunQuery, head: RunQuery) -> list[tuple[LatestRun, LatestRun]]:
        """The newest row of each input (by `input_key`) in scope of `base`, with the newest of the same
        input in scope of `head`, in input-key order: what a release comparison pairs."""
        return fleet.latest_pairs(self.fleet_rows(base), self.fleet_rows(head))

    def cluster_summaries(self, query: RunQuery, in_scope: int, *, timeline: bool = True) -> ClusterReport:
        """The failure clusters of the runs in scope that need attention, with shares of `in_scope` runs;
        the timeline spans the query's time range, else its first to its last run (none without `timeline`)."""
        return fleet.failure_clusters(self.fleet_rows(replace(query, attention_only=True)), start=query.created_after,
                                      end=query.created_before, in_scope=in_scope,
                                      buckets=fleet.TIMELINE_BUCKETS if timeline else 0)

    def root_counts(self, query: RunQuery) -> dict[str, int]:
        """Runs in scope per root run, most first (then by id)."""
        roots: dict[str, int] = {}
        for row in self.fleet_rows(query):
            roots[row.root_run_id] = roots.get(row.root_run_id, 0) + 1
        return dict(sorted(roots.items(), key=lambda item: (-item[1], item[0])))

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows():
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def releases(self) -> list[str]:
        return sorted({row.release for row in self.rows() if row.release})

    def usage_series(self, start: str, end: str, bucket_ms: int) -> list[UsageBucket]:
        """Run count, tokens and cost of runs created in [start, end), per `bucket_ms` bucket.

        ISO-8601 bounds as the runtime writes them; empty buckets are included.
        Indexed stores answer with one GROUP BY (see runtime_adapter.queries.usage.bucket_rows).
        """
        return bucket_rows(self.rows(), start, end, bucket_ms)

    def related_rows(self, run_id: str) -> dict[str, list[RunRow]]:
        """Runs linked to `run_id`: its children (by parentRunId) and its branches."""
        children, branches = [], []
        for row in self.rows():
            if row.parent_run_id == run_id:
                children.append(row)
            if row.branch_origin_run_id == run_id:
                branches.append(row)
        return {"children": children, "branches": branches}

    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]:
        wanted = set(run_ids)
        return {row.id: row for row in self.rows() if row.id in wanted}

    def input_texts(self, run_ids: list[str]) -> dict[str, str]:
        """`rows_by_id(run_ids)`'s input texts: what a page that lists many runs by id shows of them."""
        return {run_id: row.input_text for run_id, row in self.rows_by_id(run_ids).items()}

    def family_rows(self, root_run_id: str) -> list[RunRow]:
        """The rows of `root_run_id` and its descendants by parentRunId, in listRuns order: what a tree page shows."""
        return descendant_rows(self.rows(), root_run_id)

    def replay_rows(self, run_id: str) -> list[RunRow]:
        """Replays of `run_id`: runs whose metadata.replay.sourceRunId or metadata.replaySourceRunId is it.

        Not in RunRow, so this default reads every run; indexed stores should answer it
        from an index of `runtime_adapter.records.replay_source(run)`.
        """
        return [
            run_row(entry.run, entry.source)
            for entry in self.iter_entries()
            if entry.run is not None and entry.run["id"] != run_id and replay_source(entry.run) == run_id
        ]

    def input_matches(self, input_text: str, *, limit: int) -> list[InputMatch]:
        return [InputMatch(id=row.id, created_at=row.created_at, release=row.release, input_key=row.input_key)
                for row in self.rows_with_input(input_text, statuses=(), limit=limit)]

    def rows_with_input(self, input_text: str, *, statuses: tuple[str, ...] = ("completed",), limit: int = 5) -> list[RunRow]:
        """The newest runs whose `RunRow.input_text` equals `input_text` exactly."""
        if not input_text.strip():
            return []
        query = RunQuery(statuses=statuses, text=input_text, sort="created", descending=True, limit=max(limit, 200))
        return [row for row in self.query_runs(query).rows if row.input_text == input_text][:limit]

    def query_incidents(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage:
        """Runs that need attention whose `RunRow.incident_type` is one of `incident_types` (any if empty).

        This default pages through `query_runs`; indexed stores can filter the column directly.
        """
        query = replace(query, attention_only=True)
        if not incident_types:
            return self.query_runs(query)
        rows: list[RunRow] = []
        errors: list[StoreEntry] | None = None
        total = offset = 0
        while True:
            chunk = self.query_runs(replace(query, offset=offset, limit=5000))
            errors = chunk.errors if errors is None else errors
            for row in chunk.rows:
                if row.incident_type in incident_types:
                    if query.offset <= total < query.offset + query.limit:
                        rows.append(row)
                    total += 1
            offset += 5000
            if not chunk.rows or offset >= chunk.total:
                break
        return RunPage(rows=rows, total=total, query=query, errors=errors or [])


def reachable(starts: set[str], links: dict[str, list[str]]) -> set[str]:
    """`starts` and every id reached from them by following `links` (id -> linked ids); cycles end the walk."""
    members = set(starts)
    pending = list(members)
    while pending:
        for linked in links.get(pending.pop(), ()):
            if linked not in members:
                members.add(linked)
                pending.append(linked)
    return members


def descendant_rows(rows: list[RunRow], root_run_id: str) -> list[RunRow]:
    """Those of `rows` that are `root_run_id` or below it by parentRunId (a lineage cycle ends the walk), in order."""
    children: dict[str, list[str]] = {}
    for row in rows:
        if row.parent_run_id is not None:
            children.setdefault(row.parent_run_id, []).append(row.id)
    members = reachable({root_run_id} if any(row.id == root_run_id for row in rows) else set(), children)
    return [row for row in rows if row.id in members]
