"""Answers that only change when the store does, remembered per store generation.

Counts over a whole store (statuses, releases, totals, usage buckets) cost a scan of
an index; between two changes they are the same, so each process keeps the last
answer with the generation it was computed at.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 512
# What the entries may hold in all, in items a caller counts (e.g. a search's kept run ids): a few kept searches of
# thousands of ids would otherwise hold as much as 512 small counts times a thousand.
MAX_ITEMS = 200_000


class GenerationMemo:
    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[Any, Any, int]] = {}
        self._items = 0
        self._lock = threading.Lock()

    def get(self, generation: Any, key: Hashable, compute: Callable[[], T], *,
            items: Callable[[T], int] | None = None) -> T:
        """The value remembered for `key` at `generation`, else `compute()`'s (remembered). `items` says how many
        items a value holds, against MAX_ITEMS; a value larger than that is returned but not remembered."""
        found = self._remembered(generation, key)
        if found is not None:
            remembered: T = found[0]
            return copy.copy(remembered)  # callers may mutate what they get; the memo keeps its own
        value = compute()
        size = items(value) if items is not None else 0
        with self._lock:
            previous = self._values.pop(key, None)
            if previous is not None:
                self._items -= previous[2]
            if size <= MAX_ITEMS:
                if len(self._values) >= MAX_ENTRIES or self._items + size > MAX_ITEMS:
                    self._values.clear()
                    self._items = 0
                self._values[key] = (generation, value, size)
                self._items += size
        return copy.copy(value)

    def peek(self, generation: Any, key: Hashable) -> Any | None:
        """The value remembered for `key` at `generation`, else None (nothing is computed)."""
        found = self._remembered(generation, key)
        return None if found is None else copy.copy(found[0])

    def _remembered(self, generation: Any, key: Hashable) -> tuple[Any] | None:
        """(value,) when one is remembered for `key` at `generation` (a value may itself be None)."""
        with self._lock:
            found = self._values.get(key)
        return (found[1],) if found is not None and found[0] == generation else None

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._items = 0
