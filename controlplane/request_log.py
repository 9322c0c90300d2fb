"""One log line per request, as text or one JSON object per line (CONTROLPLANE_LOG_FORMAT).

Each line carries the request id (the caller's X-Request-ID when it is a plain token,
else a new one, echoed in the response), view name, status, duration, store and user;
every other line written while the request is served carries its request id too. No
run content is logged: the path is the only text from the request, and like every log
line it goes through the pages' redaction (`error_reports.RedactingLogFilter` and, for
the JSON fields, `RedactingJsonFormatter`). Uploaded bundles' capability tokens are
masked. This module is read by gunicorn's master too (its config), before Django is set up.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

from runtime_adapter.redaction import redact_text

LOG_FORMATS = ("text", "json")
REQUEST_ID_HEADER = "X-Request-ID"
# Tokens as load balancers and tracers make them (UUIDs, hex, W3C trace ids, base64url); anything
# else (spaces, quotes, control characters, over 128 characters) is replaced, never logged.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UPLOAD_TOKEN = re.compile(r"(/s/upload-)[^/]+")
PATH_LIMIT = 300
UPLOAD_STORE = "upload"
UNMATCHED_VIEW = "unmatched"
STATIC_VIEW = "static"

_request_id: ContextVar[str | None] = ContextVar("controlplane_request_id", default=None)
log = logging.getLogger("controlplane.request")


def log_format(name: str = "CONTROLPLANE_LOG_FORMAT") -> str:
    raw = os.environ.get(name, "text")
    value = raw.strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a log format; use text or json.")
    return value


def current_request_id() -> str | None:
    return _request_id.get()


def request_id_for(header: str | None) -> str:
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _escaped(text: str) -> str:
    """Control characters as escapes: a decoded %0A in a path must not start a forged log line."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def logged_path(path: str) -> str:
    path = _UPLOAD_TOKEN.sub(r"\1…", path)
    if len(path) > PATH_LIMIT:
        path = path[:PATH_LIMIT] + "…"
    return _escaped(redact_text(path))


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name (`runs:detail`), never the URL: a bounded label for logs and metrics."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return str(match.view_name)
    if request.path_info.startswith(settings.STATIC_URL) or request.path.startswith(settings.STATIC_URL):
        return STATIC_VIEW  # answered by WhiteNoise before URL resolution
    return UNMATCHED_VIEW


def store_label(request: HttpRequest) -> str:
    name = str(getattr(request, "store_name", "default"))
    return UPLOAD_STORE if name.startswith("upload-") else name


def user_label(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "anonymous"
    return _escaped(user.get_username())


class RequestLogMiddleware:
    """Outermost: its request id and line cover every answer, refusals by other middleware included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        # Kept until the response is closed (request_finished): Django logs 4xx and 5xx answers
        # ("Not Found: …") after the last middleware has returned.
        _request_id.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        fields = {
            "method": _escaped(request.method or ""), "path": logged_path(request.path),
            "view": view_label(request), "status": response.status_code, "duration_ms": duration_ms,
            "store": store_label(request), "user": user_label(request),
        }
        log.info("%s %s %s %.1f ms", fields["method"], fields["path"], fields["status"], duration_ms, extra=fields)
        return response


@receiver(request_finished)
def _forget_request_id(**_: Any) -> None:
    _request_id.set(None)


class RequestContextFilter(logging.Filter):
    """Every record written while a request is served gets its `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


_TEXT_FIELDS = ("view", "store", "user", "request_id")


class TextFormatter(logging.Formatter):
    """`[time] LEVEL logger: message key=value …` with the request's fields when the record has them."""

    def __init__(self) -> None:
        super().__init__("[%(asctime)s] %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{name}={getattr(record, name)}" for name in _TEXT_FIELDS if hasattr(record, name))
        return f"{line} {extra}" if extra else line


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    # An object another library put on the record (django.request's `request`): its text, redacted.
    try:
        return redact_text(str(value))
    except Exception:
        return f"<{type(value).__name__}>"


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message and the record's fields, every string redacted."""

    def __init__(self) -> None:
        super().__init__(["levelname", "name", "message"], rename_fields={"levelname": "level", "name": "logger"},
                         timestamp="time")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        time_value = log_data.pop("time", None)
        cleaned = {key: _redacted(value) for key, value in log_data.items()}
        return {"time": time_value, **cleaned}
