"""The one place run stores are opened from settings. Views call `store_for(request)`."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

from controlplane.datadir import check_apart
from controlplane.instruments import MeasuredStore
from controlplane.uploads import uploaded_bundle_path
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.stores.bundle_index import IndexedBundleRunStore
from runtime_adapter.stores.redacting import RedactingStore
from runtime_adapter.stores.registry import open_store, register_backend

DEFAULT_STORE = "default"
_lock = threading.Lock()
_stores: dict[str, RunStore] = {}


def store_urls() -> dict[str, str]:
    urls = {DEFAULT_STORE: settings.CONTROLPLANE_RUN_STORE}
    urls.update(settings.CONTROLPLANE_STORES)
    return urls


def store_names() -> list[str]:
    return list(store_urls())


def picker_store_names(current: str) -> list[str]:
    """The stores the picker offers: the configured ones, and the uploaded bundle open on this page.

    Other uploads are never listed: an upload's link is a capability, known only to whoever has it.
    """
    names = store_names()
    if current not in names and uploaded_bundle_path(current) is not None:
        names.append(current)
    return names


def store_home(root: str, name: str) -> str:
    """The overview of store `name` under the site's root prefix (`/`, or FORCE_SCRIPT_NAME)."""
    return root if name == DEFAULT_STORE else f"{root}s/{name}/"


def forget_store(name: str) -> None:
    """Close and drop an opened store (an uploaded bundle that has expired)."""
    with _lock:
        store = _stores.pop(name, None)
    if store is not None:
        store.close()


def store_exists(name: str) -> bool:
    return name in store_urls() or uploaded_bundle_path(name) is not None


def store_options(url: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if url.startswith("file:"):
        check_apart(settings.DATA_DIR, [url])  # settings changed since startup (or in tests)
        options["max_file_bytes"] = settings.CONTROLPLANE_MAX_RUN_FILE_BYTES
        if settings.CONTROLPLANE_FILE_INDEX:
            from runtime_adapter.stores.registry import _local_path
            from runtime_adapter.stores.sqlite_index import index_path_for

            # The index lives in the control plane's data directory; the run directory stays read-only.
            options["index_path"] = index_path_for(settings.DATA_DIR, _local_path(url))
            options["refresh_seconds"] = settings.CONTROLPLANE_INDEX_REFRESH_SECONDS
            options["redact_rows"] = settings.CONTROLPLANE_REDACT_SECRETS
    elif url.startswith(("postgresql:", "postgres:")):
        # Stores that keep listing rows keep those of redacted runs when pages are redacted.
        options["redact_rows"] = settings.CONTROLPLANE_REDACT_SECRETS
    return options


def get_run_store(name: str | None = None) -> RunStore:
    name = name or DEFAULT_STORE
    store = _stores.get(name)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(name)
        if store is None:
            for scheme, dotted in settings.CONTROLPLANE_STORE_BACKENDS.items():
                register_backend(scheme, dotted)
            upload = uploaded_bundle_path(name)
            if upload is not None:
                # Indexed once at upload; every worker opens the file, none holds the bundle.
                store = IndexedBundleRunStore(upload, redact_rows=settings.CONTROLPLANE_REDACT_SECRETS)
            else:
                url = store_urls()[name]
                store = open_store(url, **store_options(url))
            # Always wrapped: unpaired surrogates are scrubbed even when secrets are shown,
            # since they cannot be encoded in a response (see runtime_adapter.redaction).
            # Under it, each call the adapter answers is timed (/metrics).
            store = RedactingStore(MeasuredStore(store), secrets=settings.CONTROLPLANE_REDACT_SECRETS)
            _stores[name] = store
    return store


def store_for(request: HttpRequest) -> RunStore:
    return get_run_store(getattr(request, "store_name", None))


def reset_stores() -> None:
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


@receiver(setting_changed)
def _reset_on_settings_change(setting: str, **_: Any) -> None:
    if setting.startswith("CONTROLPLANE_"):
        reset_stores()
