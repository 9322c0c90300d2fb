"""Cache derived payloads (lineage SVGs, trees) keyed by the store's change marker.

The marker changes whenever the store may have changed, so a cache never serves a
stale tree. Local memory by default, Redis with CONTROLPLANE_CACHE_URL=redis://….
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, TypeVar

from django.core.cache import cache

from runtime_adapter.stores.base import BaseRunStore

T = TypeVar("T")
TIMEOUT_SECONDS = 600


def cache_key(store: BaseRunStore, kind: str, *parts: str) -> str:
    raw = "\x1f".join((store.describe(), store.change_marker(), kind, *parts))
    return f"cp:{kind}:{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()}"


def cached(store: BaseRunStore, kind: str, parts: tuple[str, ...], compute: Callable[[], T]) -> T:
    key = cache_key(store, kind, *parts)
    value: Any = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TIMEOUT_SECONDS)
    return value  # type: ignore[no-any-return]
