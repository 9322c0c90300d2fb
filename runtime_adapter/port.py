"""The read-only run-store port: what every adapter must answer.

Reading runs, their entries (with error rows) and a family, and change markers. The
listing, usage and comparison questions stores also answer are `RunQueries`; their
scanning reference implementation is `runtime_adapter.queries.scanning.RunStore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from runtime_adapter.records import InvalidRunId, Run, RunNotFound, StoreEntry

if TYPE_CHECKING:
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

class BaseRunStore:
    """Read-only access to durable runs. Adapters never write to the store.

    `iter_entries()` yields rows in the runtime's `listRuns()` order, including
    rows for records that could not be read, so one bad file never hides the rest.
    """

    url: str = ""
    # How the listing rows this store keeps were made: None when it makes them from its runs
    # on every query (the scanning reference), True or False when it keeps rows of its
    # runs redacted with secrets on or off (`listing.redacted_row`), as an index does.
    row_redaction: bool | None = None

    def get_run(self, run_id: str) -> Run:
        raise NotImplementedError

    def get_run_vetted(self, run_id: str) -> tuple[Run, bool]:
        """`get_run`, and whether this very version of the run is known to come out of redaction unchanged
        (an index that redacted these bytes when it made their row says so); then it need not be redacted again."""
        return self.get_run(run_id), False

    def comparison_source(self, run_id: str) -> tuple[str, bytes] | None:
        """The run's text and the comparison digest an index made of exactly this version of it when it vetted
        it (`queries.run_digest`: a comparison then parses only the steps it shows); None when there is none,
        the run is not there, or it changed since. Only a vetted version has one: nothing of it needs redacting."""
        return None

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


class RunQueries(Protocol):
    """Listing, usage and comparison questions; `scanning.RunStore` answers each by reading every run."""

    def query_runs(self, query: RunQuery) -> RunPage: ...
    def rows(self) -> list[RunRow]: ...
    def status_counts(self) -> dict[str, int]: ...
    def releases(self) -> list[str]: ...
    def usage_series(self, start: str, end: str, bucket_ms: int) -> list[UsageBucket]: ...
    def related_rows(self, run_id: str) -> dict[str, list[RunRow]]: ...
    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]: ...
    def input_texts(self, run_ids: list[str]) -> dict[str, str]: ...  # each listing row's input_text, by id
    def replay_rows(self, run_id: str) -> list[RunRow]: ...
    # The rows of the run tree under `root_run_id` (it and its descendants by parentRunId), in listRuns order.
    def family_rows(self, root_run_id: str) -> list[RunRow]: ...
    def rows_with_input(self, input_text: str, *, statuses: tuple[str, ...] = ("completed",),
                        limit: int = 5) -> list[RunRow]: ...
    # `rows_with_input` of any status, as the few columns a run page sorts them on (newest first).
    def input_matches(self, input_text: str, *, limit: int) -> list[InputMatch]: ...
    def query_incidents(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage: ...
    def fleet_rows(self, query: RunQuery, *, with_steps: bool = False) -> list[FleetRow]: ...
    # Aggregates over the rows in scope (paging aside), which an indexed store may compute where its rows are.
    # `shapes`: each distribution's chart points too (`Distribution.values`).
    def release_summaries(self, query: RunQuery, *, shapes: bool = True) -> list[ReleaseSummary]: ...
    def step_totals(self, query: RunQuery) -> StepTotals: ...
    def latest_pairs(self, base: RunQuery, head: RunQuery) -> list[tuple[LatestRun, LatestRun]]: ...
    def cluster_summaries(self, query: RunQuery, in_scope: int, *, timeline: bool = True) -> ClusterReport: ...
    def root_counts(self, query: RunQuery) -> dict[str, int]: ...
