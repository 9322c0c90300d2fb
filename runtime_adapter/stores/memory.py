"""A store over records held in memory, for tests and uploaded bundles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from runtime_adapter.js.jsjson import dumps, loads
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import Run, RunNotFound, StoreEntry, check_run_id, normalize_run


class InMemoryRunStore(RunStore):
    """Keeps each run as JSON text and parses it on every read.

    Like a store that reads files, each read returns new objects (inspectors may
    rely on two reads being distinct), and parsing text is far cheaper than deepcopy.
    """

    def __init__(self, records: Iterable[Any] = (), *, url: str = "memory://", errors: Iterable[StoreEntry] = ()) -> None:
        self.url = url
        self._texts: dict[str, str] = {}
        self._errors = list(errors)
        for record in records:
            run = normalize_run(record)
            self._texts.setdefault(str(run["id"]), dumps(run))

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        try:
            text = self._texts[run_id]
        except KeyError:
            raise RunNotFound(run_id) from None
        return loads(text)  # type: ignore[no-any-return]

    def iter_entries(self) -> Iterator[StoreEntry]:
        for run_id, text in self._texts.items():
            yield StoreEntry(source=run_id, run=loads(text))
        yield from self._errors

    def change_marker(self) -> str:
        return f"mem:{id(self)}:{len(self._texts)}"
