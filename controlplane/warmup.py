"""Work a worker does once when it starts, so that its first request does not.

A fresh worker's first page paid for importing the views' modules (and the regular expressions and tables they
build), for compiling its templates and for opening the configured run stores, caches and their connections: 150-250 ms
on top of the page, the delay a pasted link meets right after a deploy or a worker restart. gunicorn calls
`warm_up` after a worker has loaded the application (controlplane/gunicorn_conf.py, `post_worker_init`). Nothing
here reads a run or fills a cache: a page's first answer is still computed when it is asked for.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGES = ("controlplane", "runtime_adapter", "runs", "incidents", "releases", "approvals", "jobs", "audit", "memory")
# Not imported: command-line and server entry points (the server has loaded its own: importing controlplane.wsgi
# again would set Django up again), and settings other than the ones in use.
SKIPPED = (".management", ".gunicorn_conf", ".settings_production", ".migrations", ".wsgi", ".asgi")


def _import_modules() -> int:
    count = 0
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if any(part in info.name for part in SKIPPED):
                continue
            importlib.import_module(info.name)
            count += 1
    return count


def _compile_templates() -> int:
    from django.conf import settings
    from django.template.loader import get_template

    count = 0
    for directory in settings.TEMPLATES[0]["DIRS"]:
        root = Path(directory)
        for path in sorted(root.rglob("*.html")):
            get_template(path.relative_to(root).as_posix())
            count += 1
    return count


WARM_CONNECTIONS = 4


def _open_stores() -> int:
    from controlplane.instruments import innermost
    from controlplane.stores import get_run_store, store_names
    from runtime_adapter.stores.postgres import PostgresRunStore

    names = store_names()
    for name in names:
        # What /readyz asks too: PostgreSQL opens its pool (64-70 ms of a first page, profiled in one process); a
        # file index opens its database (74-78 ms) and, in a large store, the directory watch, and refreshes when
        # one is due. No run is read.
        store = get_run_store(name)
        store.change_marker()
        # A database's pool keeps a few connections open, so that a first page reading on several at once (a
        # release comparison's sides and pairs) opens none.
        adapter = innermost(store)
        if isinstance(adapter, PostgresRunStore):
            adapter.keep_connections(WARM_CONNECTIONS)
    return len(names)


def _open_caches() -> int:
    from django.conf import settings
    from django.core.cache import caches

    for alias in settings.CACHES:
        # Imports and connects the backend's client: importing redis-py took 120 ms of a worker's first page that
        # used the cache (profiled in one process: a first comparison). Reads a key no page writes; stores nothing.
        caches[alias].get("controlplane:warm-up")
    return len(settings.CACHES)


def warm_up() -> None:
    """Import, compile and open what pages use; a failure is logged and left to the first request to report."""
    started = time.perf_counter()
    try:
        modules, templates = _import_modules(), _compile_templates()
        cache_count, stores = _open_caches(), _open_stores()
    except Exception:  # the page that needs it will say what is wrong, with the usual error page
        log.warning("Warming up the worker failed; its first requests will do that work", exc_info=True)
        return
    log.info("Worker warmed up in %.0f ms: %d modules, %d templates, %d run stores, %d caches",
             (time.perf_counter() - started) * 1000, modules, templates, stores, cache_count)
