"""Typed readers for settings that come from the environment; bad values fail loudly."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1 or 0.")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def envpath(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


def envdatetime(name: str) -> datetime | None:
    """An ISO-8601 instant (`2026-11-24T12:00:00Z`), or None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an ISO-8601 date and time.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def envorigin(name: str) -> str:
    """`https://host[:port]` (a trailing slash dropped), or "" when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query \
            or parts.fragment:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an origin like https://cp.example.com.")
    return f"{parts.scheme}://{parts.netloc}"


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envstores(name: str) -> dict[str, str]:
    """`prod=postgresql://…,staging=file:///…` into {"prod": url, "staging": url}."""
    raw = os.environ.get(name, "").strip()
    stores: dict[str, str] = {}
    if not raw:
        return stores
    for item in raw.split(","):
        label, sep, url = item.strip().partition("=")
        if not sep or not label.strip() or "://" not in url:
            raise ImproperlyConfigured(f"{name}: {item!r} is not NAME=URL.")
        label = label.strip()
        if not label.replace("-", "").replace("_", "").isalnum():
            raise ImproperlyConfigured(f"{name}: store name {label!r} must be letters, digits, - or _.")
        stores[label] = url.strip()
    return stores


def envlayers(name: str, default: dict[str, Path]) -> dict[str, Path]:
    """`working=/var/agent/working.json,profile=/var/agent/profile.json` into {"working": Path, ...}, in order."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    layers: dict[str, Path] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        label, sep, path = item.strip().partition("=")
        label = label.strip()
        if not sep or not label or not path.strip():
            raise ImproperlyConfigured(f"{name}: {item!r} is not NAME=PATH.")
        if not label.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ImproperlyConfigured(f"{name}: layer name {label!r} must be letters, digits, '.', - or _.")
        if label in layers:
            raise ImproperlyConfigured(f"{name}: layer {label!r} is named twice.")
        layers[label] = Path(path.strip()).expanduser()
    return layers
