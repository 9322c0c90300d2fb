"""Whether an uploaded file can be opened as a store, and what it holds.

An upload is a trace bundle (`agnostic-agents-trace-bundle`), a single run trace or a partial
one (`agnostic-agents-run-trace`, `traceType` `run` or `partial`), or a state bundle
(`agnostic-agents-state-bundle`). The rules `BundleRunStore` applies run on the bytes
before anything is saved: a bundle opens when at least one of its traces is readable, and
broken traces become error rows of the store instead of hiding the rest; a trace opens when
its run is readable; a state bundle always opens, its run (if readable) as the store's one
run and the runtime's integrity and consistency checks as results, failures included.
`index_upload` checks a file and writes the index file an upload is browsed from; the
control plane runs it as `python -m runtime_adapter.stores.bundle_check INDEX_PATH
--redact-rows 0|1 --max-traces N --kind auto|bundle|trace|state < file.json`, in a process
of its own, so a web worker neither holds the parsed file nor stalls its other threads while
a large one is converted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from runtime_adapter.inspectors.serializer import BUNDLE_FORMAT, RUN_FORMAT, validate_trace
from runtime_adapter.inspectors.state import STATE_FORMAT, validate_state_bundle
from runtime_adapter.js.jsjson import JSONParseError, loads
from runtime_adapter.js.jsvalues import prop, truthy
from runtime_adapter.records import StoreEntry
from runtime_adapter.redaction import clean_text
from runtime_adapter.stores.bundle import InvalidBundle, entries_from_bundle, entry_from_run, entry_from_trace
from runtime_adapter.stores.bundle_index import write_bundle_index
from runtime_adapter.stores.state_bundle import StateParts, state_parts

# What an upload may be read as: `auto` looks at its `format`; the others accept one kind only.
# `bundle` is what a form without a choice gets, as before single traces and state bundles opened.
UPLOAD_KINDS = ("auto", "bundle", "trace", "state")
_NAMES = {"bundle": "a trace bundle", "run": "a single-run trace", "partial": "a partial trace",
          "state": "a state bundle"}


@dataclass
class BundleCheck:
    ok: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trace_count: int = 0
    run_count: int = 0
    broken: list[str] = field(default_factory=list)
    exported_at: str | None = None
    # What the file was opened as: bundle, run, partial or state.
    kind: str = "bundle"
    # For a trace: its run and, for a partial one, where it was cut from; for a state bundle, the
    # outcome of the runtime's checks (counts only: the messages are on its page).
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Checked:
    check: BundleCheck
    entries: list[StoreEntry] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    state: StateParts | None = None


def check_bundle(data: bytes) -> BundleCheck:
    """Check an upload as a trace bundle; messages quote the file, so they are cleaned like run content."""
    return _cleaned(_check(data, None, "bundle").check)


def check_upload(data: bytes, kind: str = "auto") -> BundleCheck:
    """Check an upload as `kind` (one of UPLOAD_KINDS)."""
    return _cleaned(_check(data, None, kind).check)


def index_upload(data: bytes, index_path: str | Path, *, redact_rows: bool,
                 max_traces: int | None = None, workers: int = 1, kind: str = "bundle") -> BundleCheck:
    """Check an upload and, when it opens, write its index file (`stores.bundle_index`)."""
    checked = _check(data, max_traces, kind)
    if checked.check.ok:
        write_bundle_index(checked.entries, index_path, redact_rows=redact_rows, workers=workers,
                           metadata=checked.metadata, kind=checked.check.kind, state=checked.state)
    return _cleaned(checked.check)


def _cleaned(check: BundleCheck) -> BundleCheck:
    for name in ("errors", "warnings", "broken"):
        setattr(check, name, [clean_text(message) for message in getattr(check, name)])
    check.details = {key: clean_text(value) if isinstance(value, str) else value
                     for key, value in check.details.items()}
    return check


def _kind_of(document: Any) -> str | None:
    """What a parsed file says it is, by its `format` (and a run trace's `traceType`)."""
    file_format = document.get("format") if isinstance(document, dict) else None
    if file_format == BUNDLE_FORMAT:
        return "bundle"
    if file_format == RUN_FORMAT:
        return "partial" if document.get("traceType") == "partial" else "run"
    if file_format == STATE_FORMAT:
        return "state"
    return None


def _exported_at(document: Any) -> str | None:
    exported_at = prop(document, "exportedAt")
    return clean_text(exported_at) if truthy(exported_at) and isinstance(exported_at, str) else None


def _metadata(document: Any) -> dict[str, Any]:
    metadata = prop(document, "metadata")
    return metadata if isinstance(metadata, dict) else {}


def _check(data: bytes, max_traces: int | None, kind: str) -> _Checked:
    if not data.strip():
        return _Checked(BundleCheck(False, ["The file is empty."]))
    try:
        document: Any = loads(data, max_nesting=None)  # each run is held to the limit on its own
    except (JSONParseError, UnicodeDecodeError, ValueError) as error:
        return _Checked(BundleCheck(False, [f"The file is not valid JSON: {error}"]))
    found = _kind_of(document)
    wanted = {"bundle": ("bundle",), "trace": ("run", "partial"), "state": ("state",)}.get(kind)
    if wanted is not None and found is not None and found not in wanted:
        return _Checked(BundleCheck(False, [f"This is {_NAMES[found]}, not {_NAMES[wanted[0]]}; choose “Detect from "
                                            "the file” (kind=auto) to open it."]))
    if found in ("run", "partial"):
        return _check_trace(document, found)
    if found == "state":
        return _check_state(document)
    if kind == "trace":
        return _Checked(BundleCheck(False, validate_trace(document)["errors"] or ["Unsupported trace format."]))
    if kind == "state":
        return _Checked(BundleCheck(False, validate_state_bundle(document)["errors"]))
    checked = _check_bundle(document, max_traces)
    if kind == "auto" and found is None and not checked.check.ok:
        checked.check.errors.append("A file opens here when it is a trace bundle (agnostic-agents-trace-bundle), "
                                    "a run or partial trace (agnostic-agents-run-trace) or a state bundle "
                                    "(agnostic-agents-state-bundle).")
    return checked


def _check_bundle(bundle: Any, max_traces: int | None) -> _Checked:
    traces = bundle.get("traces") if isinstance(bundle, dict) else None
    if max_traces is not None and isinstance(traces, list) and len(traces) > max_traces:
        return _Checked(BundleCheck(False, [f"The bundle holds {len(traces):,} traces; at most {max_traces:,} can be "
                                            "opened here (CONTROLPLANE_MAX_UPLOAD_RUNS). Export a smaller bundle."],
                                    trace_count=len(traces)))
    validation = validate_trace(bundle, allow_bundle=True)
    try:
        entries = entries_from_bundle(bundle, "upload")
    except InvalidBundle as error:
        return _Checked(BundleCheck(False, list(error.errors) or [str(error)], validation["warnings"]))
    broken = [f"{entry.source}: {entry.error}" for entry in entries if entry.run is None]
    runs = len(entries) - len(broken)
    check = BundleCheck(ok=runs > 0, warnings=list(validation["warnings"]), trace_count=len(entries), run_count=runs,
                        broken=broken, exported_at=_exported_at(bundle))
    if not entries:
        check.errors.append("The bundle holds no traces.")
    elif not runs:
        check.errors.append(f"None of the bundle's {len(entries)} traces can be read.")
        check.errors.extend(broken)
    return _Checked(check, entries, _metadata(bundle))


def _check_trace(trace: dict[str, Any], kind: str) -> _Checked:
    label = "partial trace" if kind == "partial" else "trace"
    entry = entry_from_trace(trace, label)
    validation = validate_trace(trace)
    metadata = _metadata(trace)
    details: dict[str, Any] = {}
    if entry.run is not None:
        details["runId"] = entry.run["id"]
        if kind == "partial":
            lineage = entry.run["metadata"]["lineage"]
            for key, value in (("sourceRunId", metadata.get("sourceRunId", lineage["branchOriginRunId"])),
                               ("checkpointId", metadata.get("checkpointId", lineage["branchCheckpointId"]))):
                if isinstance(value, str) and value:
                    details[key] = value
    check = BundleCheck(ok=entry.run is not None, warnings=list(validation["warnings"]), trace_count=1,
                        run_count=int(entry.run is not None), exported_at=_exported_at(trace), kind=kind,
                        details=details)
    if entry.run is None:
        check.errors.append(f"The {label}'s run cannot be read: {entry.error}")
    return _Checked(check, [entry], metadata)


def _check_state(bundle: dict[str, Any]) -> _Checked:
    parts = state_parts(bundle)
    run = bundle.get("run")
    entries = [] if run is None or "run" not in bundle else [entry_from_run(run, "run")]
    integrity, consistency = parts.document["integrity"], parts.document["consistency"]
    details = {
        "integrityValid": integrity["valid"], "integrityErrors": len(integrity["errors"]),
        "integrityWarnings": len(integrity["warnings"]), "consistencyValid": consistency["valid"],
        "consistencyErrors": len(consistency["errors"]), "consistencyWarnings": len(consistency["warnings"]),
    }
    if entries and entries[0].run is not None:
        details["runId"] = entries[0].run["id"]
    broken = [f"{entry.source}: {entry.error}" for entry in entries if entry.run is None]
    # Shown whatever the checks say: a state bundle that fails them is what an operator needs to see.
    check = BundleCheck(ok=True, trace_count=len(entries), run_count=len(entries) - len(broken), broken=broken,
                        exported_at=_exported_at(bundle), kind="state", details=details)
    return _Checked(check, entries, _metadata(bundle), parts)


_PARSE_RECURSION_LIMIT = 20_000
_PARSE_STACK_BYTES = 512 * 1024 * 1024  # virtual: only the pages a deep parse touches are used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an uploaded file read from stdin and write its index file.")
    parser.add_argument("index", type=Path, help="where to write the index (nothing is written unless it opens)")
    parser.add_argument("--max-traces", type=int, default=None)
    parser.add_argument("--redact-rows", type=int, choices=(0, 1), required=True)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--kind", choices=UPLOAD_KINDS, default="bundle")
    args = parser.parse_args(argv)
    data = sys.stdin.buffer.read()
    outcome: list[BundleCheck | BaseException] = []

    def work() -> None:
        try:
            outcome.append(index_upload(data, args.index, redact_rows=bool(args.redact_rows),
                                        max_traces=args.max_traces, workers=args.workers, kind=args.kind))
        except BaseException as error:  # re-raised below, in the main thread
            outcome.append(error)

    # This process does nothing else: parse the whole bundle with room for runs nested far
    # deeper than the 128 levels a run may have, so such a run is one error row, not a refused upload.
    sys.setrecursionlimit(_PARSE_RECURSION_LIMIT)
    threading.stack_size(_PARSE_STACK_BYTES)
    worker = threading.Thread(target=work, name="bundle-parse")
    worker.start()
    worker.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    sys.stdout.write(json.dumps(asdict(outcome[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
