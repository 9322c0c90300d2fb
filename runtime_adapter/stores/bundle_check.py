"""Whether an uploaded file can be opened as a trace-bundle store, and what it holds.

The same rules `BundleRunStore` applies, run on the bytes before anything is saved:
a bundle opens when at least one of its traces is readable; broken traces become
error rows of the store instead of hiding the rest. `index_upload` checks a bundle and
writes the index file an uploaded bundle is browsed from; the control plane runs it as
`python -m runtime_adapter.stores.bundle_check INDEX_PATH --redact-rows 0|1 --max-traces N < bundle.json`, in a
process of its own, so a web worker neither holds the parsed bundle nor stalls its
other threads while a large one is converted.
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

from runtime_adapter.inspectors.serializer import BUNDLE_FORMAT, validate_trace
from runtime_adapter.js.jsjson import JSONParseError, loads
from runtime_adapter.js.jsvalues import prop, truthy
from runtime_adapter.records import StoreEntry
from runtime_adapter.redaction import clean_text
from runtime_adapter.stores.bundle import InvalidBundle, entries_from_bundle
from runtime_adapter.stores.bundle_index import write_bundle_index


@dataclass
class BundleCheck:
    ok: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trace_count: int = 0
    run_count: int = 0
    broken: list[str] = field(default_factory=list)
    exported_at: str | None = None


def check_bundle(data: bytes) -> BundleCheck:
    """Check an upload; messages quote the file, so they are cleaned like run content."""
    return _cleaned(_check(data, None)[0])


def index_upload(data: bytes, index_path: str | Path, *, redact_rows: bool,
                 max_traces: int | None = None, workers: int = 1) -> BundleCheck:
    """Check an upload and, when it opens, write its index file (`stores.bundle_index`)."""
    check, entries, bundle = _check(data, max_traces)
    if check.ok:
        metadata = bundle.get("metadata")
        write_bundle_index(entries, index_path, redact_rows=redact_rows, workers=workers,
                           metadata=metadata if isinstance(metadata, dict) else {})
    return _cleaned(check)


def _cleaned(check: BundleCheck) -> BundleCheck:
    for name in ("errors", "warnings", "broken"):
        setattr(check, name, [clean_text(message) for message in getattr(check, name)])
    return check


def _check(data: bytes, max_traces: int | None) -> tuple[BundleCheck, list[StoreEntry], Any]:
    if not data.strip():
        return BundleCheck(False, ["The file is empty."]), [], None
    try:
        bundle: Any = loads(data, max_nesting=None)  # each run is held to the limit on its own
    except (JSONParseError, UnicodeDecodeError, ValueError) as error:
        return BundleCheck(False, [f"The file is not valid JSON: {error}"]), [], None
    if isinstance(bundle, dict) and bundle.get("format") != BUNDLE_FORMAT and "run" in bundle:
        return BundleCheck(False, ["This is a single-run trace, not a trace bundle; export a bundle instead."]), [], None
    traces = bundle.get("traces") if isinstance(bundle, dict) else None
    if max_traces is not None and isinstance(traces, list) and len(traces) > max_traces:
        return BundleCheck(False, [f"The bundle holds {len(traces):,} traces; at most {max_traces:,} can be opened "
                                   "here (CONTROLPLANE_MAX_UPLOAD_RUNS). Export a smaller bundle."],
                           trace_count=len(traces)), [], None
    validation = validate_trace(bundle, allow_bundle=True)
    try:
        entries = entries_from_bundle(bundle, "upload")
    except InvalidBundle as error:
        return BundleCheck(False, list(error.errors) or [str(error)], validation["warnings"]), [], None
    broken = [f"{entry.source}: {entry.error}" for entry in entries if entry.run is None]
    runs = len(entries) - len(broken)
    exported_at = prop(bundle, "exportedAt")
    check = BundleCheck(
        ok=runs > 0,
        warnings=list(validation["warnings"]),
        trace_count=len(entries),
        run_count=runs,
        broken=broken,
        exported_at=clean_text(exported_at) if truthy(exported_at) and isinstance(exported_at, str) else None,
    )
    if not entries:
        check.errors.append("The bundle holds no traces.")
    elif not runs:
        check.errors.append(f"None of the bundle's {len(entries)} traces can be read.")
        check.errors.extend(broken)
    return check, entries, bundle


_PARSE_RECURSION_LIMIT = 20_000
_PARSE_STACK_BYTES = 512 * 1024 * 1024  # virtual: only the pages a deep parse touches are used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a trace bundle read from stdin and write its index file.")
    parser.add_argument("index", type=Path, help="where to write the index (nothing is written unless it opens)")
    parser.add_argument("--max-traces", type=int, default=None)
    parser.add_argument("--redact-rows", type=int, choices=(0, 1), required=True)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    data = sys.stdin.buffer.read()
    outcome: list[BundleCheck | BaseException] = []

    def work() -> None:
        try:
            outcome.append(index_upload(data, args.index, redact_rows=bool(args.redact_rows),
                                        max_traces=args.max_traces, workers=args.workers))
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
