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


class GenerationMemo:
    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(self, generation: Any, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            found = self._values.get(key)
        if found is not None and found[0] == generation:
            remembered: T = found[1]
            return copy.copy(remembered)  # callers may mutate what they get; the memo keeps its own
        value = compute()
        with self._lock:
            if len(self._values) >= MAX_ENTRIES:
                self._values.clear()
            self._values[key] = (generation, value)
        return copy.copy(value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
