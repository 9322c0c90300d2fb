"""The two sides of a comparison: `<id>` is a run of the store the request reads, `<store>:<id>` a run of
store `<store>` (a name of CONTROLPLANE_STORES, `default`, or an uploaded file's `upload-<token>`).

Staging against production: `/compare/?left=staging:<id>&right=production:<id>`. A value is read as
store-qualified only when the part before its first `:` names a store, so the runtime's own ids with
colons (`<id>:replay:<ms>`, `<id>:partial:<ms>`) keep working bare; `default:<id>` names such a run
when its id starts with a store's name. Each side is read through its own store, so each is redacted
by the same `RedactingStore` as every other page of that store.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from controlplane.caching import cached_for_runs
from controlplane.stores import get_run_store, store_exists, store_names
from runtime_adapter.present.formatting import visible_id
from runtime_adapter.queries.scanning import RunStore

T = TypeVar("T")
_QUALIFIED = re.compile(r"([A-Za-z0-9_-]+):(.*)", re.DOTALL)  # store names as /s/<name>/ accepts them


@dataclass(frozen=True)
class RunRef:
    """A side as typed: `store` is None for the store the request reads."""

    store: str | None
    run_id: str

    @property
    def text(self) -> str:
        return f"{self.store}:{self.run_id}" if self.store is not None else self.run_id


def bare_or_qualified(run_id: str, current: str) -> str:
    """How to name a run of the current store: its id, unless the id would read as `<store>:<id>`."""
    return f"{current}:{run_id}" if parse_run_ref(run_id).store is not None else run_id


def parse_run_ref(text: str) -> RunRef:
    match = _QUALIFIED.fullmatch(text)
    if match is not None and store_exists(match.group(1)):
        return RunRef(match.group(1), match.group(2))
    return RunRef(None, text)


@dataclass(frozen=True)
class Side:
    ref: RunRef
    store_name: str
    store: RunStore

    @property
    def run_id(self) -> str:
        return self.ref.run_id


def resolve(ref: RunRef, current: str) -> Side:
    name = ref.store if ref.store is not None else current
    return Side(ref, name, get_run_store(name))


def unknown_store(ref: RunRef) -> str | None:
    """Why a bare id that is no run of this store may have meant `<store>:<id>` with a store that does not exist."""
    match = _QUALIFIED.fullmatch(ref.text)
    if ref.store is not None or match is None:
        return None
    return (f"No store is named “{visible_id(match.group(1))}” (the stores: {', '.join(store_names())}), and this "
            f"store has no run “{visible_id(ref.run_id)}”. Name a run of another store as <store>:<run id>.")


def cached_pair(kind: str, left: Side, right: Side, parts: tuple[str, ...], compute: Callable[[], T]) -> T:
    """`cached_for_runs` for a payload made from the two sides' runs, in one store or in two."""
    if left.store_name == right.store_name:
        return cached_for_runs(left.store, kind, (left.run_id, right.run_id), parts, compute)
    marker = right.store.run_marker(right.run_id)
    if marker is None:
        return compute()  # a missing run: compute() raises RunNotFound, and nothing is cached
    return cached_for_runs(left.store, f"{kind}-x", (left.run_id,),
                           (right.store.describe(), marker, right.run_id, "\x1e", *parts), compute)
