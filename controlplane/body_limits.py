"""Request bodies over the limit are refused from their headers, before a byte of them is read.

Django reads a POST body the first time anything touches `request.POST` (the CSRF
middleware does, for every POST, signed in or not) and spools large ones to a temp
file, so a size check in a view comes too late. This middleware runs first: the bundle
upload may send CONTROLPLANE_MAX_UPLOAD_BYTES (plus multipart framing), every other
URL CONTROLPLANE_MAX_REQUEST_BYTES. Django reads at most Content-Length bytes, so a
body that passes here cannot grow while it is read; a body without a length (chunked)
is refused, since Django would not read it anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix

from controlplane.http import api_error, error_page, split_store_prefix

# Multipart framing around the uploaded file (boundaries, headers, the CSRF token field).
MULTIPART_SLACK = 64 * 1024
UPLOAD_PATH = "/bundles/open/"


def _unprefixed(path_info: str) -> str:
    """The path inside any /s/<store>/ prefix (this runs before StorePrefixMiddleware strips it)."""
    return split_store_prefix(path_info)[1]


def body_limit(path_info: str) -> int:
    """The largest request body the URL accepts, in bytes."""
    if _unprefixed(path_info) == UPLOAD_PATH:
        return int(settings.CONTROLPLANE_MAX_UPLOAD_BYTES) + MULTIPART_SLACK
    return int(settings.CONTROLPLANE_MAX_REQUEST_BYTES)


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        if request.META.get("HTTP_TRANSFER_ENCODING") and not raw_length:
            return _refuse(request, 411,
                           "A request body must be sent with a Content-Length header, not chunked.")
        try:
            length = int(raw_length or 0)
        except ValueError:
            return _refuse(request, 400, "The Content-Length header is not a number.")
        limit = body_limit(request.path_info)
        if length > limit:
            if _unprefixed(request.path_info) == UPLOAD_PATH:
                message = (f"The upload is {length:,} bytes, over the {settings.CONTROLPLANE_MAX_UPLOAD_BYTES:,}-byte "
                           "limit for trace bundles (CONTROLPLANE_MAX_UPLOAD_BYTES). Nothing was read.")
            else:
                message = f"This address accepts request bodies up to {limit:,} bytes; this one is {length:,}."
            return _refuse(request, 413, message)
        return self.get_response(request)


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    # Answered before sessions and CSRF run: the error page without the request's context.
    if _unprefixed(request.path_info).startswith("/api/"):
        return api_error(status, message)
    if _unprefixed(request.path_info) == UPLOAD_PATH:
        return error_page(None, status, message, back_url=f"{get_script_prefix()}bundles/open/",
                          back_text="Open another bundle")
    return error_page(None, status, message)
