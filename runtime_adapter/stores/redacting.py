"""`RedactingStore`: every store the web opens, answering only what is safe to show.

Runs come back through `redaction.redact_run`, listing rows are `listing.redacted_row`,
error rows and reasons are cleaned; see `runtime_adapter.redaction` for the rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from runtime_adapter.queries.listing import redacted_row, scan_query
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, Run, StoreEntry, replay_source
from runtime_adapter.redaction import clean_text, redact_entry, redact_run, scrub
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


class RedactingStore(RunStore):
    """A store whose every answer, runs and listing rows alike, is safe to show.

    With `secrets` on, credentials are redacted; always, unpaired surrogates are
    scrubbed. Attributes of the wrapped store are not forwarded: callers go through
    the port, so no data reaches a page around the redaction.

    Listing rows are rows of redacted runs (`redacted_row`). A store that keeps rows (an
    index, a database) must have made them with the same setting and answers listing
    queries itself; for a store that makes rows from its runs on every query (the scanning
    defaults), the rows are made and queried here, from its runs, so a search never
    reads unredacted text.
    """

    def __init__(self, store: RunStore, *, secrets: bool = True) -> None:
        if store.row_redaction is not None and store.row_redaction != secrets:
            raise ValueError(
                f"The run store {store.describe()} keeps listing rows made with redaction "
                f"{'on' if store.row_redaction else 'off'}; open it with redact_rows={secrets} to show it with "
                f"redaction {'on' if secrets else 'off'}.")
        self.inner = store
        self.secrets = secrets
        self.url = store.url
        self._scans = store.row_redaction is None
        # Whether listing rows come from the inner store's index (cheap by id) rather than from reading runs.
        self.keeps_rows = not self._scans
        # Whether independent queries may run at once (a database's pool); a scan of the inner store's runs may not.
        self.concurrent_reads = bool(getattr(store, "concurrent_reads", False)) and not self._scans

    def _row_of(self, run: Run, source: str) -> RunRow:
        return redacted_row(run, source, secrets=self.secrets)

    def _entry(self, entry: StoreEntry) -> StoreEntry:
        return redact_entry(entry, secrets=self.secrets)

    def _errors_cleaned(self, page: RunPage) -> RunPage:
        return replace(page, errors=[self._entry(entry) for entry in page.errors])

    def _scanned(self) -> Iterator[StoreEntry]:
        """The inner store's entries with error reasons cleaned; runs are left for `_row_of`."""
        for entry in self.inner.iter_entries():
            yield entry if entry.run is not None else self._entry(entry)

    def get_run(self, run_id: str) -> Run:
        try:
            run, vetted = self.inner.get_run_vetted(run_id)
            if vetted and self.secrets:
                # The inner store redacted these very bytes when it indexed them, and nothing changed.
                return dict(run)
            return redact_run(run, secrets=self.secrets)
        except CorruptRun as error:
            # The reason can quote the record ("record id "…" does not match").
            raise CorruptRun(scrub(error.source), clean_text(error.reason, secrets=self.secrets)) from None

    def comparison_source(self, run_id: str) -> tuple[str, bytes] | None:
        # Only vetted versions have one: their redaction changes nothing (as in get_run).
        return self.inner.comparison_source(run_id) if self.secrets else None

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

    # Listing: the inner store's own rows when it keeps redacted ones, else the
    # port's scanning defaults over rows made here.

    def query_runs(self, query: RunQuery) -> RunPage:
        if self._scans:
            return scan_query(self._scanned(), query, self._row_of)
        return self._errors_cleaned(self.inner.query_runs(query))

    def query_incidents(self, query: RunQuery, incident_types: tuple[str, ...] = ()) -> RunPage:
        if self._scans:
            return RunStore.query_incidents(self, query, incident_types)
        return self._errors_cleaned(self.inner.query_incidents(query, incident_types))

    def rows(self) -> list[RunRow]:
        if self._scans:
            return [self._row_of(entry.run, entry.source) for entry in self.inner.iter_entries()
                    if entry.run is not None]
        return self.inner.rows()

    def fleet_rows(self, query: RunQuery, *, with_steps: bool = False) -> list[FleetRow]:
        if self._scans:
            return RunStore.fleet_rows(self, query, with_steps=with_steps)  # over self.rows(): redacted rows
        return self.inner.fleet_rows(query, with_steps=with_steps)

    def release_summaries(self, query: RunQuery, *, shapes: bool = True) -> list[ReleaseSummary]:
        if self._scans:
            return RunStore.release_summaries(self, query, shapes=shapes)
        return self.inner.release_summaries(query, shapes=shapes)

    def step_totals(self, query: RunQuery) -> StepTotals:
        return RunStore.step_totals(self, query) if self._scans else self.inner.step_totals(query)

    def latest_pairs(self, base: RunQuery, head: RunQuery) -> list[tuple[LatestRun, LatestRun]]:
        return RunStore.latest_pairs(self, base, head) if self._scans else self.inner.latest_pairs(base, head)

    def cluster_summaries(self, query: RunQuery, in_scope: int, *, timeline: bool = True) -> ClusterReport:
        if self._scans:
            return RunStore.cluster_summaries(self, query, in_scope, timeline=timeline)
        return self.inner.cluster_summaries(query, in_scope, timeline=timeline)

    def root_counts(self, query: RunQuery) -> dict[str, int]:
        return RunStore.root_counts(self, query) if self._scans else self.inner.root_counts(query)

    def status_counts(self) -> dict[str, int]:
        if not self._scans:
            return self.inner.status_counts()
        counts: dict[str, int] = {}
        for status, count in self.inner.status_counts().items():  # statuses are never redacted
            key = scrub(status)
            counts[key] = counts.get(key, 0) + count
        return counts

    def releases(self) -> list[str]:
        return RunStore.releases(self) if self._scans else self.inner.releases()

    def usage_series(self, start: str, end: str, bucket_ms: int) -> list[UsageBucket]:
        return self.inner.usage_series(start, end, bucket_ms)  # counts and sums of what is never redacted

    def related_rows(self, run_id: str) -> dict[str, list[RunRow]]:
        return RunStore.related_rows(self, run_id) if self._scans else self.inner.related_rows(run_id)

    def rows_by_id(self, run_ids: list[str]) -> dict[str, RunRow]:
        return RunStore.rows_by_id(self, run_ids) if self._scans else self.inner.rows_by_id(run_ids)

    def input_texts(self, run_ids: list[str]) -> dict[str, str]:
        return RunStore.input_texts(self, run_ids) if self._scans else self.inner.input_texts(run_ids)

    def family_rows(self, root_run_id: str) -> list[RunRow]:
        return RunStore.family_rows(self, root_run_id) if self._scans else self.inner.family_rows(root_run_id)

    def replay_rows(self, run_id: str) -> list[RunRow]:
        if not self._scans:
            return self.inner.replay_rows(run_id)

        return [self._row_of(entry.run, entry.source) for entry in self.inner.iter_entries()
                if entry.run is not None and entry.run["id"] != run_id and replay_source(entry.run) == run_id]

    def rows_with_input(self, input_text: str, *, statuses: tuple[str, ...] = ("completed",),
                        limit: int = 5) -> list[RunRow]:
        # `input_text` is a redacted row's; so are the rows it is compared with.
        if self._scans:
            return RunStore.rows_with_input(self, input_text, statuses=statuses, limit=limit)
        return self.inner.rows_with_input(input_text, statuses=statuses, limit=limit)

    def input_matches(self, input_text: str, *, limit: int) -> list[InputMatch]:
        if self._scans:
            return RunStore.input_matches(self, input_text, limit=limit)
        return self.inner.input_matches(input_text, limit=limit)

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
