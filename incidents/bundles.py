"""Open a trace bundle, a run or partial trace, or a state bundle: upload it once, then browse it as a
read-only store `upload-<token>`.

The upload is checked and converted into an index file in the control plane's own data
directory (never a run store) by controlplane.uploads, and every page under
/s/upload-<token>/ reads that file through IndexedBundleRunStore; a state bundle's
checks, memory and governance are on /s/upload-<token>/bundles/state/.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.views.decorators.http import require_http_methods, require_safe

from controlplane.http import error_page
from controlplane.stores import DEFAULT_STORE
from controlplane.uploads import UPLOAD_PREFIX, open_upload, uploaded_bundle_path
from incidents.forms import BundleForm
from runtime_adapter.present.state_view import state_bundle_page
from runtime_adapter.stores.bundle_check import BundleCheck


def _root_prefix(request: HttpRequest) -> str:
    """The script prefix outside any /s/<store>/ the request came through."""
    prefix = get_script_prefix()
    name = getattr(request, "store_name", DEFAULT_STORE)
    store_part = f"s/{name}/"
    return prefix[: -len(store_part)] if name != DEFAULT_STORE and prefix.endswith(store_part) else prefix


def _page(request: HttpRequest, form: BundleForm, check: BundleCheck | None = None, status: int = 200,
          filename: str | None = None) -> HttpResponse:
    # What the file was to be opened as: the kind posted (a form without one opens trace bundles only).
    kind = form.cleaned_data.get("kind") if hasattr(form, "cleaned_data") else None
    if kind is None and form.is_bound:
        kind = form.data.get("kind") or "bundle"
    context = {"nav": "bundle", "form": form, "check": check, "max_bytes": form.max_bytes,
               "filename": os.path.basename(filename) if filename else None,
               "kind": kind, "kind_choice": kind or "auto"}
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
    check, token = open_upload(upload, form.cleaned_data["kind"])
    if token is None:
        return _page(request, form, check, 400, filename=upload.name)
    # A bundle opens on its run list, a trace on its run, a state bundle on its checks.
    if check.kind == "state":
        landing = reverse("incidents:state_bundle")
    elif check.kind in ("run", "partial") and check.details.get("runId"):
        landing = reverse("runs:detail", args=[check.details["runId"]])
    else:
        landing = reverse("runs:list")
    return redirect(f"{_root_prefix(request)}s/{UPLOAD_PREFIX}{token}/{landing[len(get_script_prefix()):]}")


@require_safe
def state_bundle(request: HttpRequest) -> HttpResponse:
    """The runtime's checks of an uploaded state bundle, its memory layers and governance record."""
    path = uploaded_bundle_path(getattr(request, "store_name", DEFAULT_STORE))
    page = state_bundle_page(path, secrets=settings.CONTROLPLANE_REDACT_SECRETS) if path is not None else None
    if page is None:
        return error_page(request, 404, "This page shows an uploaded state bundle, and none is open here: "
                                        "open one with “Open bundle”.")
    return render(request, "incidents/state_bundle.html", {"nav": "bundle", "state": page})
