"""The read-only run-store port every adapter implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..records import InvalidRunId, Run, RunNotFound, StoreEntry, replay_source

if TYPE_CHECKING:
    from ..rows import RunPage, RunQuery, RunRow, UsageBucket

class BaseRunStore:
    """Read-only access to durable runs. Adapters never write to the store.

    `iter_entries()` yields rows in the runtime's `listRuns()` order, including
    rows for records that could not be read, so one bad file never hides the rest.
    """

    url: str = ""
    # How the listing rows this store keeps were made: None when it makes them from its runs
    # on every query (the scanning defaults below), True or False when it keeps rows of its
    # runs redacted with secrets on or off (`redaction.redacted_row`), as an index does.
    row_redaction: bool | None = None

    def get_run(self, run_id: str) -> Run:
        raise NotImplementedError

    def iter_entries(self) -> Iterator[StoreEntry]:
        raise NotImplementedError

    def iter_runs(self) -> Iterator[Run]:
        for entry in self.iter_entries():
            if entry.run is not None:
                yield entry.run

    def list_runs(self) -> list[Run]:
        return list(self.iter_runs())

    def list_errors(self) -> list[StoreEntry]:
        return [entry for entry in self.iter_entries() if entry.run is None]

    def iter_family(self, root_run_id: str) -> Iterator[Run]:
        """Runs enough to build the tree under `root_run_id`; indexed stores narrow this."""
        return self.iter_runs()

    def has_run(self, run_id: str) -> bool:
        try:
            self.get_run(run_id)
        except (RunNotFound, InvalidRunId):
            return False
        return True

    # Listing queries. These defaults read every run; indexed stores answer them
    # from their index with the same results (see runtime_adapter.listing).

    def query_runs(self, query: RunQuery) -> RunPage:
        from ..listing import scan_query

        return scan_query(self.iter_entries(), query)

    def rows(self) -> list[RunRow]:
        from ..listing import run_row

        return [run_row(entry.run, entry.source) for entry in self.iter_entries() if entry.run is not None]

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
        Indexed stores answer with one GROUP BY (see runtime_adapter.usage.bucket_rows).
        """
        from ..usage import bucket_rows

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

    def replay_rows(self, run_id: str) -> list[RunRow]:
        """Replays of `run_id`: runs whose metadata.replay.sourceRunId or metadata.replaySourceRunId is it.

        Not in RunRow, so this default reads every run; indexed stores should answer it
        from an index of `runtime_adapter.records.replay_source(run)`.
        """
        from ..listing import run_row

        return [
            run_row(entry.run, entry.source)
            for entry in self.iter_entries()
            if entry.run is not None and entry.run["id"] != run_id and replay_source(entry.run) == run_id
        ]

    def rows_with_input(self, input_text: str, *, statuses: tuple[str, ...] = ("completed",), limit: int = 5) -> list[RunRow]:
        """The newest runs whose `RunRow.input_text` equals `input_text` exactly."""
        from ..rows import RunQuery

        if not input_text.strip():
            return []
        query = RunQuery(statuses=statuses, text=input_text, sort="created", descending=True, limit=200)
        return [row for row in self.query_runs(query).rows if row.input_text == input_text][:limit]

    def query_incidents(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage:
        """Runs that need attention whose `RunRow.incident_type` is one of `incident_types` (any if empty).

        This default pages through `query_runs`; indexed stores can filter the column directly.
        """
        from dataclasses import replace

        from ..rows import RunPage

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

    def change_marker(self) -> str:
        """A value that changes whenever the store's content may have changed (cache keys)."""
        return ""

    def run_marker(self, run_id: str) -> str | None:
        """A value that changes whenever this one run's record may have changed, None when unknown.

        For payloads made from given runs only (a comparison): keyed by it, they survive
        writes to other runs. The default is the store's marker, which is always safe.
        """
        return self.change_marker()

    def family_marker(self, run_id: str) -> str:
        """A value that changes whenever the run tree holding `run_id` may have changed.

        It covers the run's parent chain and every descendant of each run in it, so a
        tree cached under it survives writes to other families. The default is the
        store's marker, which is always safe.
        """
        return self.change_marker()

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.url or type(self).__name__
