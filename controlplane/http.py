"""The HTTP helpers every app shares: partial or page, JSON bodies, and the one error shape.

An error is a page rendered from `error.html` (status, title, message) or, under /api/,
`{"error": message, …fields}`.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from runtime_adapter.js import jsjson

TITLES = {
    400: "Bad request", 403: "Not allowed", 404: "Not found", 411: "Length required", 413: "Content too large",
    422: "Unreadable run", 503: "Run store unavailable",
}


_STORE_PREFIX = re.compile(r"^/s/([A-Za-z0-9_-]+)(/.*)$")


def split_store_prefix(path_info: str) -> tuple[str | None, str]:
    """`/s/<name>/rest` as (name, "/rest"); any other path as (None, path)."""
    match = _STORE_PREFIX.match(path_info)
    return (match.group(1), match.group(2)) if match else (None, path_info)


def file_stem(name: str, *, limit: int = 120, fallback: str = "run") -> str:
    """A run id or a label as a portable file-name stem (they may hold `:`, `/` and anything else)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:limit] or fallback


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def wants_partial(request: HttpRequest) -> bool:
    """An htmx swap gets its region; a history restore (htmx cache miss) needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def partial_or_page(request: HttpRequest, partial: str, page: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, partial if wants_partial(request) else page, context)


def json_response(payload: Any, status: int = 200) -> HttpResponse:
    """JSON exactly as the runtime's JSON.stringify writes it (Django's JsonResponse is not)."""
    return HttpResponse(jsjson.dumps(payload), content_type="application/json", status=status)


def api_error(status: int, message: str, **fields: Any) -> HttpResponse:
    # ASCII-escaped: a message may quote request text holding an unpaired surrogate, which UTF-8 cannot encode.
    return JsonResponse({"error": message, **{k: v for k, v in fields.items() if v is not None}}, status=status)


def error_page(request: HttpRequest | None, status: int, message: str, **context: Any) -> HttpResponse:
    """The error page; without a request (before sessions and CSRF ran) it renders without context processors."""
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message, **context}
    return HttpResponse(render_to_string("error.html", context, request), status=status)


def error_response(request: HttpRequest, status: int, message: str, **fields: Any) -> HttpResponse:
    if is_api(request):
        return api_error(status, message, **fields)
    return error_page(request, status, message, **fields)


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(message) for message in messages] for field, messages in form.errors.items()}


def invalid_parameters(request: HttpRequest, form: forms.Form) -> HttpResponse:
    """A 400 naming every invalid parameter; the API body also has them by field under `fields`."""
    errors = form_errors(form)
    problems = "; ".join(f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                         for field, messages in errors.items())
    return error_response(request, 400, f"Invalid parameters: {problems}", fields=errors)
