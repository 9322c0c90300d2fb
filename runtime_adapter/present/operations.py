"""Named operations over a store, shared by `manage.py inspect` and its batch mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from runtime_adapter.inspectors import (
    build_tree,
    correlation_for_run,
    create_incident_report,
    create_recovery_plan,
    diff_traces,
    export_bundle,
    render_tree,
    summarize,
    validate_trace,
)
from runtime_adapter.js.jsvalues import UNDEFINED
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, Run, RunNotFound, StoreEntry, check_run_id


class RequestError(ValueError):
    """A batch request that is malformed (missing field, wrong type, unknown op)."""


class SnapshotStore(RunStore):
    """Reads a store's entries once and answers every later call from memory (batch mode)."""

    def __init__(self, store: RunStore) -> None:
        self.url = store.url
        self._store = store
        self._entries: list[StoreEntry] | None = None
        self._by_id: dict[str, Run] = {}
        self._errors: dict[str, str] = {}

    def _load(self) -> list[StoreEntry]:
        if self._entries is None:
            self._entries = list(self._store.iter_entries())
            for entry in self._entries:
                if entry.run is not None:
                    self._by_id.setdefault(entry.run["id"], entry.run)
                elif entry.error:
                    self._errors[entry.source] = entry.error
        return self._entries

    def iter_entries(self) -> Iterator[StoreEntry]:
        return iter(self._load())

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        self._load()
        if run_id in self._by_id:
            return self._by_id[run_id]
        source = f"{run_id}.json"
        if source in self._errors:
            raise CorruptRun(source, self._errors[source])
        raise RunNotFound(run_id)


def _text(request: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = request.get(key)
    if value is None:
        if required:
            raise RequestError(f'"{key}" is required.')
        return None
    if not isinstance(value, str) or not value:
        raise RequestError(f'"{key}" must be a non-empty string.')
    return value


def tree(store: RunStore, root_run_id: str | None = None) -> Any:
    if root_run_id:
        return build_tree(store.iter_family(root_run_id), root_run_id)
    return build_tree(store.iter_runs())


def bundle(store: RunStore, run_ids: list[str] | None = None, metadata: Any = None) -> dict[str, Any]:
    runs = [store.get_run(run_id) for run_id in run_ids] if run_ids else store.list_runs()
    return export_bundle(runs, metadata)


def _run_ids(request: dict[str, Any]) -> list[str] | None:
    run_ids = request.get("runIds")
    if run_ids is None:
        return None
    if not isinstance(run_ids, list) or not all(isinstance(item, str) and item for item in run_ids):
        raise RequestError('"runIds" must be a list of run ids.')
    return run_ids


OPERATIONS: dict[str, Callable[[RunStore, dict[str, Any]], Any]] = {
    "summary": lambda store, r: summarize(store.get_run(_text(r, "runId"))),  # type: ignore[arg-type]
    "tree": lambda store, r: tree(store, _text(r, "rootRunId", False)),
    "render": lambda store, r: render_tree(tree(store, _text(r, "rootRunId", False)), r.get("includeStatus", True) is not False),
    "incident": lambda store, r: create_incident_report(store, _text(r, "runId"), _text(r, "compareToRunId", False)),  # type: ignore[arg-type]
    "plan": lambda store, r: create_recovery_plan(store, _text(r, "runId"), _text(r, "compareToRunId", False)),  # type: ignore[arg-type]
    "correlation": lambda store, r: correlation_for_run(store.get_run(_text(r, "runId"))),  # type: ignore[arg-type]
    "diff": lambda store, r: diff_traces(store.get_run(_text(r, "leftRunId")), store.get_run(_text(r, "rightRunId"))),  # type: ignore[arg-type]
    "bundle": lambda store, r: bundle(store, _run_ids(r), r.get("metadata")),
    "validate": lambda store, r: validate_trace(r.get("trace", UNDEFINED), r.get("allowBundle", True) is not False),
}


def run_operation(store: RunStore, request: Any) -> Any:
    if not isinstance(request, dict):
        raise RequestError("A request must be a JSON object.")
    op = request.get("op")
    if op not in OPERATIONS:
        raise RequestError(f"Unknown op {op!r}; expected one of {', '.join(OPERATIONS)}.")
    return OPERATIONS[op](store, request)
