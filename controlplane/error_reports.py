"""Error reports and log lines through the same redaction as every page.

With CONTROLPLANE_DEBUG=1 Django's technical 500 page prints each stack frame's local
variables, the exception message and the request; a frame inside the store or a view
holds the unredacted run (a bearer token in `run["input"]`). Django's own filter only
hides setting and variable *names* it recognises, and not at all in DEBUG. Here every
string of the report, and every log line the console handler writes, is redacted with
`runtime_adapter.redaction`, whatever CONTROLPLANE_REDACT_SECRETS says about pages.
"""

from __future__ import annotations

import logging
from collections.abc import ItemsView, KeysView, ValuesView
from pprint import pformat
from types import GeneratorType
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from runtime_adapter.redaction import REPLACEMENT, is_sensitive_key, redact_text, redact_value


class _Shown:
    """A frame variable as the report prints it: its redacted repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(value: Any) -> _Shown:
    try:
        text = pformat(redact_value(value) if isinstance(value, (dict, list)) else value)
    except Exception:  # a broken __repr__ must not turn the error page into another error
        text = f"<{type(value).__name__} that cannot be shown>"
    return _Shown(redact_text(text))


def _redacted(value: Any) -> Any:
    """Every string in the report's template context, redacted; exceptions become their redacted message."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_redacted(item) for item in value)
    if isinstance(value, (ItemsView, KeysView, ValuesView, GeneratorType)):  # request.GET.items() and the like
        return [_redacted(item) for item in value]
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, active in DEBUG too, hiding sensitive names by our key rule and secret values by shape."""

    cleansed_substitute = REPLACEMENT

    def is_active(self, request: Any) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and is_sensitive_key(key):
            return self.cleansed_substitute
        cleansed = super().cleanse_setting(key, value)
        return redact_text(cleansed) if isinstance(cleansed, str) else cleansed

    def get_safe_cookies(self, request: Any) -> dict[str, str]:
        # Every cookie: a session id is a credential whatever its name.
        return {name: self.cleansed_substitute for name in getattr(request, "COOKIES", {})}

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> list[tuple[str, Any]]:
        return [(name, self.cleansed_substitute if is_sensitive_key(name) or (isinstance(value, str) and value == self.cleansed_substitute)
                 else _shown(value))
                for name, value in super().get_traceback_frame_variables(request, tb_frame)]


class RedactingExceptionReporter(ExceptionReporter):
    """The technical 500 page (HTML and text) with every string it shows redacted."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = _redacted(super().get_traceback_data())
        return data


class RedactingLogFilter(logging.Filter):
    """Log records as they will be written: message and traceback redacted (a logged error can quote a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
