"""`/healthz` (the process answers) and `/readyz` (it can serve pages), for load balancers.

Neither needs a login and neither shows run data: readiness names the checks that fail and
why in a few words (no URL, path or host: the answer is public), and logs the full reason
when a check changes state. Readiness probes every configured store (a change-marker call,
which also lets a file index refresh), the file index's lag against
CONTROLPLANE_READY_MAX_INDEX_LAG, Django's database and the cache. The probes run in
threads with a deadline, one probe per check at a time, and their answer is kept for a
second, so a load balancer may ask every second and a hung database costs one thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from controlplane.instruments import innermost, store_kind
from controlplane.stores import get_run_store, store_urls
from runtime_adapter.records import StoreUnavailable

log = logging.getLogger(__name__)

READY_CACHE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")
_lock = threading.Lock()
_running: dict[str, tuple[float, Future[list[Check]]]] = {}
_answer: tuple[float, int, dict[str, Any]] | None = None
_was_ok: dict[str, bool] = {}


@require_safe
@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_safe
@login_not_required
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    status, body = readiness()
    response = JsonResponse(body, status=status)
    # Asked every second: a check changing state is logged once (below), not every 503.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def readiness() -> tuple[int, dict[str, Any]]:
    global _answer
    with _lock:
        if _answer is not None and time.monotonic() - _answer[0] < READY_CACHE_SECONDS:
            return _answer[1], _answer[2]
        checks = _run_checks()
        failing = [check.name for check in checks if not check.ok]
        status = 503 if failing else 200
        body = {"status": "not ready" if failing else "ready", "notReady": failing,
                "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}}
        _answer = (time.monotonic(), status, body)
        return status, body


def _run_checks() -> list[Check]:
    probes: dict[str, Callable[[], list[Check]]] = {f"store:{name}": _store_probe(name) for name in store_urls()}
    probes["database"] = _database_probe
    probes["cache"] = _cache_probe
    futures: dict[str, tuple[float, Future[list[Check]]]] = {}
    for key, probe in probes.items():
        running = _running.get(key)
        if running is None or running[1].done():
            running = (time.monotonic(), _executor.submit(probe))
            _running[key] = running
        futures[key] = running
    wait_for([future for _, future in futures.values()], timeout=PROBE_TIMEOUT_SECONDS)
    checks: list[Check] = []
    for key, (started, future) in futures.items():
        if future.done():
            checks.extend(future.result())
        else:
            checks.append(Check(key, False, f"no answer after {time.monotonic() - started:.0f} s"))
    return checks


def _failed(name: str, error: BaseException, what: str) -> Check:
    # The full reason (which may name a host or a path) goes to the log, not the public answer.
    if _was_ok.get(name, True):
        log.warning("readyz: %s is not ready: %s", name, error)
    _was_ok[name] = False
    return Check(name, False, what)


def _passed(name: str, detail: str) -> Check:
    if _was_ok.get(name) is False:
        log.warning("readyz: %s is ready again", name)
    _was_ok[name] = True
    return Check(name, True, detail)


def _store_probe(name: str) -> Callable[[], list[Check]]:
    def probe() -> list[Check]:
        check = f"store:{name}"
        try:
            store = get_run_store(name)
            kind = store_kind(store)
            inner = innermost(store)
            directory = getattr(inner, "directory", None)
            if directory is not None:
                with os.scandir(directory) as entries:  # a missing or unreadable run directory
                    next(entries, None)
            store.change_marker()  # PostgreSQL: a query; a file index: its refresh, when one is due
        except (StoreUnavailable, OSError) as error:
            return [_failed(check, error, "does not answer")]
        except Exception as error:  # a store that cannot even be opened (a bad URL, a broken bundle)
            return [_failed(check, error, f"cannot be opened ({type(error).__name__})")]
        checks = [_passed(check, f"{kind} store answers")]
        if hasattr(inner, "index_lag"):
            checks.append(_index_check(name, inner))
        return checks

    return probe


def _index_check(name: str, inner: Any) -> Check:
    check = f"index:{name}"
    allowed = settings.CONTROLPLANE_READY_MAX_INDEX_LAG
    try:
        lag = inner.index_lag()
    except Exception as error:
        return _failed(check, error, "cannot be read")
    pending = f"{lag.pending} file{'s' if lag.pending != 1 else ''} pending"
    if lag.seconds is None:
        return _failed(check, RuntimeError(f"first build under way, {pending}"), f"first build under way, {pending}")
    detail = f"{lag.seconds:.1f} s behind (at most {allowed} s), {pending}"
    if lag.seconds > allowed:
        return _failed(check, RuntimeError(detail), detail)
    return _passed(check, detail)


def _database_probe() -> list[Check]:
    try:
        connection = connections["default"]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connection.close()  # this thread serves no request that would close it
    except Exception as error:
        return [_failed("database", error, "does not answer")]
    return [_passed("database", f"{connection.vendor} answers")]


def _cache_probe() -> list[Check]:
    nonce = uuid.uuid4().hex
    key = f"cp:readyz:{nonce}"  # instances sharing Redis never read each other's probe
    try:
        cache.set(key, nonce, 30)
        answered = cache.get(key)
        cache.delete(key)
    except Exception as error:
        return [_failed("cache", error, "does not answer")]
    if answered != nonce:
        return [_failed("cache", RuntimeError("a value just set was not read back"), "does not keep values")]
    return [_passed("cache", f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} answers")]


def reset() -> None:
    global _answer
    with _lock:
        _answer = None
        _running.clear()
        _was_ok.clear()


@receiver(setting_changed)
def _reset_on_settings_change(setting: str, **_: Any) -> None:
    if setting.startswith(("CONTROLPLANE_", "CACHES", "DATABASES")):
        reset()
