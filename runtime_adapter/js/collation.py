"""`String.prototype.localeCompare` as Node (full ICU, locale en-US) computes it.

The runtime sorts run-tree children with `localeCompare`, which is not code-point
order (`sprint-a` < `Sprint-b`, punctuation before digits before letters). We ask
ICU itself, through PyICU, so the order is the runtime's, not an imitation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

try:  # pyicu-wheels ships ICU 77, the version Node 20 bundles.
    import icu

    _collator = icu.Collator.createInstance(icu.Locale("en-US"))
    _sort_key: Callable[[str], object] = _collator.getSortKey
    ICU_VERSION: str | None = icu.ICU_VERSION
except ImportError:  # pragma: no cover - requirements.txt installs it
    ICU_VERSION = None

    def _sort_key(text: str) -> object:
        # Rough stand-in for the root collation: case-insensitive first, lower before upper.
        return (text.casefold(), text.swapcase())


@functools.lru_cache(maxsize=65536)
def locale_sort_key(text: str) -> object:
    return _sort_key(text)

