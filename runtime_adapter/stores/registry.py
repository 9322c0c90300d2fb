"""Open a run store from a URL: `file:///dir`, `bundle:///file.json`, `postgresql://…`.

Other packages add schemes by dotted path (`register_backend("s3", "pkg.mod:Store")`),
as the runtime's `StorageBackendRegistry` lets adapters plug in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import RunStoreError

StoreFactory = Callable[..., RunStore]


class UnknownStoreScheme(RunStoreError, ValueError):
    pass


def _file_store(url: str, **options: Any) -> RunStore:
    if options.get("index_path"):
        from runtime_adapter.stores.indexed import IndexedFileRunStore

        return IndexedFileRunStore(_local_path(url), **options)
    from runtime_adapter.stores.file import FileRunStore

    options.pop("index_path", None)
    options.pop("refresh_seconds", None)
    options.pop("redact_rows", None)  # rows are made on every query, by whoever wraps the store
    return FileRunStore(_local_path(url), **options)


def _bundle_store(url: str, **options: Any) -> RunStore:
    from runtime_adapter.stores.bundle import BundleRunStore

    return BundleRunStore(_local_path(url), **options)


def _postgres_store(url: str, **options: Any) -> RunStore:
    from runtime_adapter.stores.postgres import PostgresRunStore

    return PostgresRunStore(url, **options)


def _memory_store(url: str, **options: Any) -> RunStore:
    from runtime_adapter.stores.memory import InMemoryRunStore

    return InMemoryRunStore(url=url, **options)


_BACKENDS: dict[str, StoreFactory | str] = {
    "file": _file_store,
    "bundle": _bundle_store,
    "postgresql": _postgres_store,
    "postgres": _postgres_store,
    "memory": _memory_store,
}


def _local_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        # file://relative/dir is a common slip; treat host+path as a relative path.
        return unquote(parts.netloc + parts.path)
    return unquote(parts.path)


def register_backend(scheme: str, factory: StoreFactory | str) -> None:
    """Register a store factory, or a "package.module:Factory" dotted path loaded on first use."""
    _BACKENDS[scheme.lower()] = factory


def _resolve(factory: StoreFactory | str) -> StoreFactory:
    if callable(factory):
        return factory
    module_name, _, attribute = factory.partition(":")
    if not attribute:
        module_name, _, attribute = factory.rpartition(".")
    try:
        resolved = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise UnknownStoreScheme(f"Store backend {factory!r} cannot be imported: {error}") from None
    if not callable(resolved):
        raise UnknownStoreScheme(f"Store backend {factory!r} is not callable.")
    return resolved  # type: ignore[no-any-return]


def open_store(url: str, **options: Any) -> RunStore:
    if "://" not in url:
        raise UnknownStoreScheme(f"Run store {url!r} is not a URL; use file:///path/to/runs.")
    scheme = url.split("://", 1)[0].lower()
    factory = _BACKENDS.get(scheme)
    if factory is None:
        known = ", ".join(sorted(f"{name}://" for name in _BACKENDS))
        raise UnknownStoreScheme(f"Unknown run store scheme {scheme!r}; known: {known}.")
    return _resolve(factory)(url, **options)

