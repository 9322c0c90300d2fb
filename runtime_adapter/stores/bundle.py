"""A trace bundle file (`agnostic-agents-trace-bundle`, schema 1.1) read as a store, and the rows of uploaded traces."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime_adapter.inspectors.serializer import BUNDLE_FORMAT, validate_trace
from runtime_adapter.js.jsjson import MAX_NESTING, NestedTooDeep, nests_deeper_than
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import (
    CorruptRun,
    InvalidRunId,
    Run,
    RunNotFound,
    StoreEntry,
    StoreUnavailable,
    check_run_id,
    normalize_run,
)
from runtime_adapter.stores.file import DEFAULT_MAX_FILE_BYTES, read_run_file


class InvalidBundle(StoreUnavailable):
    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def entries_from_bundle(bundle: Any, source: str = "bundle") -> list[StoreEntry]:
    """Rows for every trace of a bundle; a broken trace becomes an error row."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        validation = validate_trace(bundle, allow_bundle=True)
        raise InvalidBundle(f"{source} is not a trace bundle.", validation["errors"] or ["Unsupported trace format."])
    traces = bundle.get("traces")
    if not isinstance(traces, list):
        raise InvalidBundle(f"{source} has no traces array.", ["traces must be an array."])
    return [entry_from_trace(trace, f"traces[{index}]") for index, trace in enumerate(traces)]


def entry_from_trace(trace: Any, label: str) -> StoreEntry:
    """One run trace (`agnostic-agents-run-trace`, a run or a partial one) as a row, or the reason it is broken."""
    check = validate_trace(trace)
    if not check["valid"]:
        return StoreEntry(source=label, error="; ".join(check["errors"]))
    return entry_from_run(trace["run"], label)


def entry_from_run(record: Any, label: str) -> StoreEntry:
    """A run record found inside an uploaded file as a row, held to the rules of a run file."""
    if not isinstance(record, dict):
        return StoreEntry(source=label, error="run is not an object")
    # A file is read whole (`max_nesting=None`): each run meets the limit a run file does.
    if nests_deeper_than(record, MAX_NESTING):
        return StoreEntry(source=label, error=str(NestedTooDeep(MAX_NESTING)))
    if "id" not in record:
        return StoreEntry(source=label, error="run.id is required.")
    run = normalize_run(record)
    if not isinstance(run["id"], str) or not run["id"]:
        return StoreEntry(source=label, error="run id is not a string")
    try:
        check_run_id(run["id"])
    except InvalidRunId as error:
        return StoreEntry(source=label, error=str(error))
    return StoreEntry(source=label, run=run)


class BundleRunStore(RunStore):
    def __init__(self, path: str | os.PathLike[str], *, max_file_bytes: int = 10 * DEFAULT_MAX_FILE_BYTES) -> None:
        self.path = Path(path)
        self.url = f"bundle://{self.path.resolve() if self.path.is_absolute() else self.path}"
        try:
            bundle, stat = read_run_file(self.path, max_bytes=max_file_bytes, max_nesting=None)
        except FileNotFoundError:
            raise StoreUnavailable(f"Trace bundle {self.path} does not exist.") from None
        except CorruptRun as error:
            raise InvalidBundle(f"Trace bundle {self.path} cannot be read: {error.reason}", [error.reason]) from None
        metadata = bundle.get("metadata")
        self.metadata = None if nests_deeper_than(metadata, MAX_NESTING) else metadata
        self.validation = validate_trace(bundle, allow_bundle=True)
        self._entries = entries_from_bundle(bundle, str(self.path))
        self._by_id: dict[str, Run] = {}
        for entry in self._entries:
            if entry.run is not None:
                self._by_id.setdefault(entry.run["id"], entry.run)
        self._marker = f"{stat.st_mtime_ns}:{stat.st_size}"

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        try:
            return normalize_run(self._by_id[run_id])
        except KeyError:
            raise RunNotFound(run_id) from None

    def iter_entries(self) -> Iterator[StoreEntry]:
        for entry in self._entries:
            yield entry if entry.run is None else StoreEntry(entry.source, normalize_run(entry.run))

    def change_marker(self) -> str:
        return self._marker
