"""A directory of `<runId>.json` files, as the runtime's `FileRunStore` writes them."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runtime_adapter.files import Refused, read_bounded
from runtime_adapter.js.jsjson import MAX_NESTING, JSONParseError, NestedTooDeep, loads
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
from runtime_adapter.redaction import redact_run

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
_READ_ATTEMPTS = 3


def bytewise_sorted(names: list[str]) -> list[str]:
    # Node's readdir returns names sorted by strcmp on their bytes; Python's does not sort.
    return sorted(names, key=lambda name: name.encode("utf-8", "surrogateescape"))


def read_run_file(path: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES, max_nesting: int | None = MAX_NESTING,
                  vet: Callable[[bytes], bool] | None = None) -> tuple[dict[str, Any], os.stat_result]:
    """Read and parse one run file, never following a symlink out of the store.

    The runtime rewrites files in place, so a read that races a write is retried
    while the file's size or mtime moves; then it is reported as corrupt. `vet(data)` is
    asked about the bytes about to be parsed: True when an index has parsed exactly these bytes
    before, so the nesting depth is not checked again (see `content_digest`).
    """
    name = path.name
    last_reason = "unreadable"
    for attempt in range(_READ_ATTEMPTS):
        data, after, changed = read_file_bytes(path, max_bytes)
        if not data or data.isspace():  # (strip() copied every file it read)
            last_reason = "empty file"
        else:
            try:
                parsed = loads(data, max_nesting=None if vet is not None and vet(data) else max_nesting)
            except NestedTooDeep as error:
                raise CorruptRun(name, str(error)) from None
            except JSONParseError as error:
                last_reason = f"invalid JSON ({error})"
            else:
                if not changed:
                    if not isinstance(parsed, dict):
                        raise CorruptRun(name, f"JSON is {_json_kind(parsed)}, not a run object")
                    return parsed, after
                last_reason = "file changed while it was read"
        if not changed and attempt > 0:
            break
        time.sleep(0.01 * (attempt + 1))
    raise CorruptRun(name, last_reason)


def read_file_bytes(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[bytes, os.stat_result, bool]:
    """One read of a run file, never following a symlink (`files.read_bounded`): its bytes, its stat after the
    read, and whether it changed while it was read. Raises FileNotFoundError, or CorruptRun for a file that is no
    regular file, is too big or cannot be read."""
    try:
        return read_bounded(path, max_bytes)
    except Refused as refused:
        reason = {"symlink": "symbolic links are not followed", "directory": "not a regular file",
                  "not_regular": "not a regular file",
                  "too_big": f"file is {refused.size:,} bytes, over the {max_bytes:,}-byte limit",
                  "over_limit": f"file is over the {max_bytes:,}-byte limit"}.get(refused.kind, refused.detail)
        raise CorruptRun(path.name, reason) from None


def content_digest(data: bytes) -> bytes:
    """What an index keeps of a file version it vetted: equal digests, equal bytes (BLAKE2b, 128 bits)."""
    return hashlib.blake2b(data, digest_size=16).digest()


# Runs this big are vetted when indexed or loaded (files.vetted, PostgreSQL's runs.vetted): redacting a 7 MB run
# took 80-160 ms of every first view of it. Smaller runs redact in well under a millisecond, and vetting each would
# slow a cold build.
VET_MIN_BYTES = 256 * 1024


def worth_vetting(run: dict[str, Any], size: int, redact: bool) -> bool:
    """Whether an index that makes rows of redacted runs keeps a digest of this version: a big run whose redaction
    changes nothing, so a reader of the very same bytes need not redact (or depth-check) it again."""
    return redact and size >= VET_MIN_BYTES and redact_run(run) == run


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string"


def parse_run_record(record: dict[str, Any], source: str, *, expected_id: str | None = None) -> Run:
    """Normalise a parsed record, refusing what cannot be a run of this store."""
    run_id = record.get("id")
    if not isinstance(run_id, str) or not run_id:
        raise CorruptRun(source, "record has no string id")
    if expected_id is not None:
        try:
            check_run_id(expected_id)
        except InvalidRunId as error:
            # The runtime never names a file so; no page could address the run.
            raise CorruptRun(source, f"the file name is not a run id: {error}") from None
        if run_id != expected_id:
            raise CorruptRun(source, f'record id "{run_id}" does not match its file name')
    return normalize_run(record)


@contextmanager
def store_directory(directory: Path) -> Iterator[None]:
    """Reading a run directory: a missing, non-directory or unreadable one makes the store unavailable."""
    try:
        yield
    except FileNotFoundError:
        raise StoreUnavailable(f"Run store directory {directory} does not exist.") from None
    except NotADirectoryError:
        raise StoreUnavailable(f"Run store {directory} is not a directory.") from None
    except PermissionError:
        raise StoreUnavailable(f"Run store directory {directory} is not readable.") from None


class FileRunStore(RunStore):
    def __init__(self, directory: str | os.PathLike[str], *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
        self.directory = Path(directory)
        self.max_file_bytes = max_file_bytes
        self.url = self.directory.resolve().as_uri() if self.directory.is_absolute() else f"file://{self.directory}"

    def file_names(self) -> list[str]:
        with store_directory(self.directory):
            with os.scandir(self.directory) as entries:
                names = [entry.name for entry in entries if entry.name.endswith(".json")]
        return bytewise_sorted(names)

    def read_entry(self, name: str) -> StoreEntry:
        try:
            record, _ = read_run_file(self.directory / name, max_bytes=self.max_file_bytes)
            run = parse_run_record(record, name, expected_id=name[: -len(".json")])
        except FileNotFoundError:
            return StoreEntry(source=name, error="file disappeared while listing")
        except CorruptRun as error:
            return StoreEntry(source=name, error=error.reason)
        return StoreEntry(source=name, run=run)

    def iter_entries(self) -> Iterator[StoreEntry]:
        for name in self.file_names():
            yield self.read_entry(name)

    def get_run(self, run_id: str) -> Run:
        return self.read_run(run_id)

    def read_run(self, run_id: str, vet: Callable[[bytes], bool] | None = None) -> Run:
        """`get_run`, with `vet` asked about the bytes read (see `read_run_file`)."""
        check_run_id(run_id)
        name = f"{run_id}.json"
        try:
            record, _ = read_run_file(self.directory / name, max_bytes=self.max_file_bytes, vet=vet)
        except FileNotFoundError:
            if not self.directory.is_dir():
                raise StoreUnavailable(f"Run store directory {self.directory} does not exist.") from None
            raise RunNotFound(run_id) from None
        return parse_run_record(record, name, expected_id=run_id)

    def change_marker(self) -> str:
        try:
            stat = os.stat(self.directory)
        except OSError:
            return "missing"
        return f"{stat.st_mtime_ns}:{stat.st_nlink}"

    def run_marker(self, run_id: str) -> str | None:
        # The inode tells a file replaced by rename from the old one; size and mtime tell an
        # in-place rewrite (the index trusts the same pair). get_run reads this very file.
        check_run_id(run_id)
        try:
            stat = os.stat(self.directory / f"{run_id}.json", follow_symlinks=False)
        except OSError:
            return None
        return f"file:{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"
