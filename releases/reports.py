"""The release reports the pages and the API share, cached until the store changes."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.caching import cached
from runtime_adapter.queries.fleet import ReleaseComparison, release_comparison, release_report
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.rows import ReleaseSummary, RunQuery


def releases(store: RunStore, query: RunQuery) -> list[ReleaseSummary]:
    return cached(store, "release-report", (repr(query),), lambda: release_report(store, query))


@dataclass(frozen=True)
class ComparisonReport:
    comparison: ReleaseComparison
    base_counts: dict[str, int]  # runs of each grown cluster in the base release


def comparison(store: RunStore, query: RunQuery, base: str, head: str) -> ComparisonReport:
    """`head` against `base`; raises UnknownRelease (and caches nothing) for a label no run carries."""

    def compute() -> ComparisonReport:
        found = release_comparison(store, query, base, head)
        return ComparisonReport(found, found.grown_base_counts)

    return cached(store, "release-comparison", (repr((query, base, head)),), compute)
