"""Secret redaction before display and export (placeholder pass-through until implemented).

RedactingStore wraps any store; controlplane.stores applies it when
CONTROLPLANE_REDACT_SECRETS is on.
"""

from __future__ import annotations

from typing import Iterator

from .records import Run
from .stores.base import BaseRunStore, StoreEntry


class RedactingStore(BaseRunStore):
    def __init__(self, store: BaseRunStore) -> None:
        self.inner = store
        self.url = store.url

    def get_run(self, run_id: str) -> Run:
        return self.inner.get_run(run_id)

    def iter_entries(self) -> Iterator[StoreEntry]:
        return self.inner.iter_entries()

    # Listing queries go to the inner store so an index keeps answering them.
    def query_runs(self, query):  # type: ignore[no-untyped-def]
        return self.inner.query_runs(query)

    def rows(self):  # type: ignore[no-untyped-def]
        return self.inner.rows()

    def status_counts(self) -> dict[str, int]:
        return self.inner.status_counts()

    def releases(self) -> list[str]:
        return self.inner.releases()

    def related_rows(self, run_id: str):  # type: ignore[no-untyped-def]
        return self.inner.related_rows(run_id)

    def rows_by_id(self, run_ids: list[str]):  # type: ignore[no-untyped-def]
        return self.inner.rows_by_id(run_ids)

    def iter_family(self, root_run_id: str) -> Iterator[Run]:
        return self.inner.iter_family(root_run_id)

    def change_marker(self) -> str:
        return self.inner.change_marker()

    def describe(self) -> str:
        return self.inner.describe()
