"""Cache derived payloads (lineage SVGs, trees) keyed by the store's change marker.

The marker changes whenever the store may have changed, so a cache never serves a
stale tree. A payload made from given runs only (a comparison) is keyed by those
runs' own markers instead, and a run tree by its family's marker, so a store that is
being written keeps them. A missing
payload is computed by one thread of a process at a time. Local memory by default,
Redis with CONTROLPLANE_CACHE_URL=redis://….
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

from controlplane.instruments import count_cache_lookup
from runtime_adapter.queries.scanning import RunStore

T = TypeVar("T")
TIMEOUT_SECONDS = 600
_computing: set[str] = set()
_computing_changed = threading.Condition()


def cache_key(store: RunStore, kind: str, *parts: str) -> str:
    return _key(kind, store.describe(), store.change_marker(), kind, *parts)


def _key(kind: str, *parts: str) -> str:
    raw = "\x1f".join(parts)
    return f"cp:{kind}:{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()}"


def cached(store: RunStore, kind: str, parts: tuple[str, ...], compute: Callable[[], T]) -> T:
    return _cached(cache_key(store, kind, *parts), compute, kind)


def cached_for_runs(store: RunStore, kind: str, run_ids: tuple[str, ...], parts: tuple[str, ...],
                    compute: Callable[[], T]) -> T:
    """`cached` for a payload computed from the runs `run_ids` and nothing else in the store."""
    markers = [marker for run_id in run_ids if (marker := store.run_marker(run_id)) is not None]
    if len(markers) != len(run_ids):
        return compute()  # a missing run: compute() raises RunNotFound, and nothing is cached
    return _cached(_key(kind, store.describe(), *markers, kind, *run_ids, "\x1e", *parts), compute, kind)


def cached_for_family(store: RunStore, kind: str, run_id: str, parts: tuple[str, ...],
                      compute: Callable[[], T]) -> T:
    """`cached` for a payload made from the run tree holding `run_id` (its tree page, say):
    keyed by that family's marker, it survives writes to every other family."""
    return _cached(_key(kind, store.describe(), store.family_marker(run_id), kind, run_id, "\x1e", *parts), compute,
                   kind)


def _cached(key: str, compute: Callable[[], T], kind: str) -> T:
    value: Any = cache.get(key)
    if value is not None:
        count_cache_lookup(kind, hit=True)
        return value  # type: ignore[no-any-return]
    # One thread of a process computes a missing payload while the others asking for it wait:
    # a cold worker under load otherwise computed a 3-5 s comparison once per thread, at once.
    with _computing_changed:
        while key in _computing:
            _computing_changed.wait()
        _computing.add(key)
    try:
        value = cache.get(key)
        count_cache_lookup(kind, hit=value is not None)  # not None: computed while this thread waited
        if value is None:
            value = compute()
            cache.set(key, value, TIMEOUT_SECONDS)
        return value  # type: ignore[no-any-return]
    finally:
        with _computing_changed:
            _computing.discard(key)
            _computing_changed.notify_all()
