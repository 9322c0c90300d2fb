"""Open a trace bundle: upload it once, then browse it as a read-only store `upload-<token>`.

The upload is checked and converted into an index file in the control plane's own data
directory (never a run store) by controlplane.uploads, and every page under
/s/upload-<token>/ reads that file through IndexedBundleRunStore.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix
from django.views.decorators.http import require_http_methods

from controlplane.stores import DEFAULT_STORE
from controlplane.uploads import UPLOAD_PREFIX, open_upload
from incidents.forms import BundleForm
from runtime_adapter.stores.bundle_check import BundleCheck


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
    # Bodies over the limit never get here: controlplane.body_limits refuses them unread.
    max_bytes = settings.CONTROLPLANE_MAX_UPLOAD_BYTES
    if request.method != "POST":
        return _page(request, BundleForm(max_bytes=max_bytes))
    form = BundleForm(request.POST, request.FILES, max_bytes=max_bytes)
    posted = request.FILES.get("bundle")
    if not form.is_valid():
        return _page(request, form, status=400, filename=posted.name if posted else None)
    upload = form.cleaned_data["bundle"]
    check, token = open_upload(upload)
    if token is None:
        return _page(request, form, check, 400, filename=upload.name)
    return redirect(f"{_root_prefix(request)}s/{UPLOAD_PREFIX}{token}/runs/")
