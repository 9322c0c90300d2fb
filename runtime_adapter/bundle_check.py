"""Whether an uploaded file can be opened as a trace-bundle store, and what it holds.

The same rules `BundleRunStore` applies, run on the bytes before anything is saved:
a bundle opens when at least one of its traces is readable; broken traces become
error rows of the store instead of hiding the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .inspectors.serializer import BUNDLE_FORMAT, validate_trace
from .jsjson import JSONParseError, loads
from .jsvalues import prop, truthy
from .redaction import clean_text
from .stores.bundle import InvalidBundle, entries_from_bundle


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
    check = _check(data)
    for name in ("errors", "warnings", "broken"):
        setattr(check, name, [clean_text(message) for message in getattr(check, name)])
    return check


def _check(data: bytes) -> BundleCheck:
    if not data.strip():
        return BundleCheck(False, ["The file is empty."])
    try:
        bundle: Any = loads(data, max_nesting=None)  # each run is held to the limit on its own
    except (JSONParseError, UnicodeDecodeError, ValueError) as error:
        return BundleCheck(False, [f"The file is not valid JSON: {error}"])
    if isinstance(bundle, dict) and bundle.get("format") != BUNDLE_FORMAT and "run" in bundle:
        return BundleCheck(False, ["This is a single-run trace, not a trace bundle; export a bundle instead."])
    validation = validate_trace(bundle, allow_bundle=True)
    try:
        entries = entries_from_bundle(bundle, "upload")
    except InvalidBundle as error:
        return BundleCheck(False, list(error.errors) or [str(error)], validation["warnings"])
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
    return check
