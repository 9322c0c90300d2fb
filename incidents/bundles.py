"""Open a trace bundle: upload it once, then browse it as a read-only store `upload-<token>`.

The file is saved in the control plane's own data directory (never a run store),
and every page under /s/upload-<token>/ reads it through BundleRunStore.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix
from django.views.decorators.http import require_http_methods

from controlplane.stores import DEFAULT_STORE, UPLOAD_PREFIX, upload_expired, uploaded_bundle_path, uploads_dir
from incidents.forms import BundleForm
from runtime_adapter.bundle_check import BundleCheck, check_bundle

# Multipart framing around the file; a body larger than the limit plus this is refused unread.
_MULTIPART_SLACK = 64 * 1024


def _meta_path(token: str) -> Path:
    return uploads_dir() / f"{token}.meta.json"


def remove_expired_uploads() -> int:
    """Delete uploads (and their descriptions and abandoned partial writes) past the TTL."""
    removed = 0
    directory = uploads_dir()
    if not settings.CONTROLPLANE_UPLOAD_TTL_HOURS or not directory.is_dir():
        return removed
    for path in directory.iterdir():
        try:
            if path.is_file() and upload_expired(path.stat().st_mtime):
                path.unlink()
                removed += path.name.endswith(".json") and not path.name.endswith(".meta.json")
        except OSError:
            continue  # another process removed it first
    return removed


def save_bundle(data: bytes, filename: str, check: BundleCheck) -> str:
    """Write the bundle as <token>.json (atomically) beside a small description; return the token."""
    directory = uploads_dir()
    directory.mkdir(parents=True, exist_ok=True)
    remove_expired_uploads()  # the data directory does not grow with every upload ever made
    token = secrets.token_urlsafe(18)
    meta = {
        "name": os.path.basename(filename or "bundle.json")[:200], "uploadedAt": datetime.now(UTC).isoformat(),
        "traces": check.trace_count, "runs": check.run_count, "broken": len(check.broken), "exportedAt": check.exported_at,
    }
    _meta_path(token).write_text(json.dumps(meta), encoding="utf-8")
    partial = directory / f".partial-{token}"
    partial.write_bytes(data)
    os.replace(partial, directory / f"{token}.json")
    return token


def uploaded_bundle_info(store_name: str) -> dict[str, Any] | None:
    """What the banner says about an open uploaded bundle, or None for other stores."""
    if not store_name.startswith(UPLOAD_PREFIX) or uploaded_bundle_path(store_name) is None:
        return None
    try:
        meta = json.loads(_meta_path(store_name[len(UPLOAD_PREFIX):]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    return {"name": meta.get("name") or "uploaded bundle", **{k: meta.get(k) for k in ("traces", "runs", "broken", "exportedAt", "uploadedAt")}}


def _root_prefix(request: HttpRequest) -> str:
    """The script prefix outside any /s/<store>/ the request came through."""
    prefix = get_script_prefix()
    name = getattr(request, "store_name", DEFAULT_STORE)
    store_part = f"s/{name}/"
    return prefix[: -len(store_part)] if name != DEFAULT_STORE and prefix.endswith(store_part) else prefix


def _page(request: HttpRequest, form: BundleForm, check: BundleCheck | None = None, status: int = 200,
          filename: str | None = None) -> HttpResponse:
    context = {"nav": "bundle", "form": form, "check": check, "max_bytes": form.max_bytes,
               "filename": os.path.basename(filename) if filename else None}
    return render(request, "incidents/open_bundle.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def open_bundle(request: HttpRequest) -> HttpResponse:
    max_bytes = settings.CONTROLPLANE_MAX_UPLOAD_BYTES
    if request.method != "POST":
        return _page(request, BundleForm(max_bytes=max_bytes))
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes + _MULTIPART_SLACK:
        form = BundleForm(max_bytes=max_bytes)
        return _page(request, form, BundleCheck(False, [f"The upload is larger than the {max_bytes:,}-byte limit."]), 400)
    form = BundleForm(request.POST, request.FILES, max_bytes=max_bytes)
    posted = request.FILES.get("bundle")
    if not form.is_valid():
        return _page(request, form, status=400, filename=posted.name if posted else None)
    upload = form.cleaned_data["bundle"]
    data = upload.read()
    check = check_bundle(data)
    if not check.ok:
        return _page(request, form, check, 400, filename=upload.name)
    token = save_bundle(data, upload.name, check)
    return redirect(f"{_root_prefix(request)}s/{UPLOAD_PREFIX}{token}/runs/")
