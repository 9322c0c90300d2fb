"""Uploaded files on disk: each is an index file `uploads/<token>.sqlite3` in the data directory.

An upload (a trace bundle, a run or partial trace, a state bundle) is checked and converted by a child
process (`runtime_adapter.stores.bundle_check`) and then opened as the read-only store `upload-<token>`;
it expires after CONTROLPLANE_UPLOAD_TTL_HOURS.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from controlplane.datadir import private_dir
from runtime_adapter.stores.bundle_check import BundleCheck

UPLOAD_PREFIX = "upload-"
UPLOAD_SUFFIX = ".sqlite3"  # see runtime_adapter.stores.bundle_index


def uploads_dir() -> Path:
    return Path(settings.DATA_DIR) / "uploads"


def uploaded_bundle_path(name: str) -> Path | None:
    """An uploaded bundle is an ephemeral store named `upload-<token>`: its index file in the data dir."""
    token = name[len(UPLOAD_PREFIX):] if name.startswith(UPLOAD_PREFIX) else ""
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    path = uploads_dir() / f"{token}{UPLOAD_SUFFIX}"
    uploaded = _uploaded_at(path)
    return None if uploaded is None or upload_expired(uploaded) else path


def _uploaded_at(index_path: Path) -> float | None:
    """When an upload was made: its description's `uploadedAt` (written by this clock), else the index's mtime.

    The description's time is the one to trust: it comes from the same clock the TTL is measured with,
    while a file's mtime comes from the file system's.
    """
    try:
        mtime = index_path.stat().st_mtime
    except OSError:
        return None
    try:
        meta = json.loads(_meta_path(index_path.name[: -len(UPLOAD_SUFFIX)]).read_text(encoding="utf-8"))
        return datetime.fromisoformat(meta["uploadedAt"]).timestamp()
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return mtime


def upload_expired(uploaded_at: float) -> bool:
    hours = settings.CONTROLPLANE_UPLOAD_TTL_HOURS
    return bool(hours) and time.time() - uploaded_at > hours * 3600


log = logging.getLogger(__name__)
# A bundle as large as the upload limit converts in well under a minute; this only stops a runaway.
INDEX_TIMEOUT_SECONDS = 600


def _meta_path(token: str) -> Path:
    return uploads_dir() / f"{token}.meta.json"


def remove_expired_uploads() -> int:
    """Delete uploads (their index, description and abandoned partial writes) past the TTL.

    Bundles saved as JSON by earlier versions can no longer be opened and go at once.
    """
    removed = 0
    directory = uploads_dir()
    if not directory.is_dir():
        return removed
    for path in directory.iterdir():
        legacy = path.suffix == ".json" and not path.name.endswith(".meta.json")
        try:
            if not path.is_file():
                continue
            if legacy:
                path.unlink()
            elif settings.CONTROLPLANE_UPLOAD_TTL_HOURS:
                index = path.name.endswith(UPLOAD_SUFFIX) and not path.name.startswith(".")
                description = path.name.endswith(".meta.json")
                if description and (directory / path.name.replace(".meta.json", UPLOAD_SUFFIX)).exists():
                    continue  # goes with its index
                uploaded = _uploaded_at(path) if index else path.stat().st_mtime
                if uploaded is not None and upload_expired(uploaded):
                    path.unlink()
                    if index:
                        _meta_path(path.name[: -len(UPLOAD_SUFFIX)]).unlink(missing_ok=True)
                        removed += 1
        except OSError:
            continue  # another process removed it first
    return removed


def uploads_size() -> int:
    """Bytes the uploads directory holds, in-progress conversions included."""
    total = 0
    directory = uploads_dir()
    if directory.is_dir():
        for path in directory.iterdir():
            try:
                total += path.stat().st_size
            except OSError:
                continue
    return total


def _storage_refusal(used: int, needed: int) -> BundleCheck:
    limit = settings.CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES
    ttl = settings.CONTROLPLANE_UPLOAD_TTL_HOURS
    kept = f"uploads are deleted {ttl} hours after they were made" if ttl else "uploads are kept until removed"
    return BundleCheck(False, [
        f"There is no room for this bundle: uploaded bundles use {filesizeformat(used)} of the "
        f"{filesizeformat(limit)} allowed (CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES)"
        + (f" and this one needs {filesizeformat(needed)}" if needed else "")
        + f"; {kept}. Try again later or ask an administrator to raise the limit."])


def _index(upload: UploadedFile, target: Path, kind: str) -> BundleCheck:
    """Stream the upload to a child process that checks it as `kind` and writes its index to `target`."""
    command = [sys.executable, "-m", "runtime_adapter.stores.bundle_check", str(target),
               "--redact-rows", str(int(settings.CONTROLPLANE_REDACT_SECRETS)),
               "--max-traces", str(settings.CONTROLPLANE_MAX_UPLOAD_RUNS), "--kind", kind]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=settings.BASE_DIR) as child:
        assert child.stdin is not None
        try:
            for chunk in upload.chunks():
                child.stdin.write(chunk)
        except BrokenPipeError:
            pass  # the child stopped reading: its exit status and stderr say why
        try:
            out, err = child.communicate(timeout=INDEX_TIMEOUT_SECONDS)  # closes stdin
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            return BundleCheck(False, [f"Indexing the bundle took over {INDEX_TIMEOUT_SECONDS} s and was stopped."])
    try:
        if child.returncode == 0:
            return BundleCheck(**json.loads(out))
    except (ValueError, TypeError):
        pass
    log.error("Indexing an uploaded bundle failed (exit %s): %s", child.returncode, err.decode("utf-8", "replace")[-4000:])
    return BundleCheck(False, ["The bundle could not be indexed (an internal error; the server log has details)."])


def open_upload(upload: UploadedFile, kind: str = "bundle") -> tuple[BundleCheck, str | None]:
    """Check and index an upload as `kind` (bundle_check.UPLOAD_KINDS); return the check and, when it opened,
    the new store's token."""
    directory = private_dir(uploads_dir())
    remove_expired_uploads()  # the data directory does not grow with every upload ever made
    used = uploads_size()
    if used >= settings.CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES:
        return _storage_refusal(used, 0), None
    token = secrets.token_urlsafe(18)
    target = directory / f"{token}{UPLOAD_SUFFIX}"
    try:
        check = _index(upload, target, kind)
        if check.ok:
            # Counted once the index exists, with every other upload on disk at that moment:
            # of two uploads finishing together, the later count sees both.
            size, used = target.stat().st_size, uploads_size()
            if used > settings.CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES:
                check = _storage_refusal(used - size, size)
    except BaseException:
        _discard(target)
        raise
    if not check.ok:
        _discard(target)
        return check, None
    meta = {
        "name": os.path.basename(upload.name or "bundle.json")[:200], "uploadedAt": datetime.now(UTC).isoformat(),
        "traces": check.trace_count, "runs": check.run_count, "broken": len(check.broken),
        "exportedAt": check.exported_at, "kind": check.kind, "details": check.details,
    }
    with open(os.open(_meta_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "w",
              encoding="utf-8") as file:
        file.write(json.dumps(meta))
    return check, token


def _discard(target: Path) -> None:
    target.unlink(missing_ok=True)
    target.with_name(f".partial-{target.name}").unlink(missing_ok=True)


def uploaded_bundle_info(store_name: str) -> dict[str, Any] | None:
    """What the banner says about an open uploaded bundle, or None for other stores."""
    if not store_name.startswith(UPLOAD_PREFIX) or uploaded_bundle_path(store_name) is None:
        return None
    try:
        meta = json.loads(_meta_path(store_name[len(UPLOAD_PREFIX):]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    details = meta.get("details")
    return {"name": meta.get("name") or "uploaded bundle",
            **{k: meta.get(k) for k in ("traces", "runs", "broken", "exportedAt", "uploadedAt")},
            # Uploads made before other kinds could be opened are trace bundles.
            "kind": meta.get("kind") or "bundle", "details": details if isinstance(details, dict) else {}}
