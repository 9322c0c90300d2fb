"""A store over records held in memory, for tests and uploaded bundles."""

from __future__ import annotations

import copy
from typing import Any, Iterable, Iterator

from ..records import Run, RunNotFound, normalize_run
from .base import BaseRunStore, StoreEntry, check_run_id


class InMemoryRunStore(BaseRunStore):
    def __init__(self, records: Iterable[Any] = (), *, url: str = "memory://", errors: Iterable[StoreEntry] = ()) -> None:
        self.url = url
        self._records: dict[str, Any] = {}
        self._errors = list(errors)
        for record in records:
            run = normalize_run(record)
            self._records.setdefault(str(run["id"]), run)

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        try:
            # Each read returns a fresh copy, as a store that parses its files does.
            return copy.deepcopy(self._records[run_id])
        except KeyError:
            raise RunNotFound(run_id) from None

    def iter_entries(self) -> Iterator[StoreEntry]:
        for run_id, run in self._records.items():
            yield StoreEntry(source=run_id, run=copy.deepcopy(run))
        yield from self._errors

    def change_marker(self) -> str:
        return f"mem:{id(self)}:{len(self._records)}"
