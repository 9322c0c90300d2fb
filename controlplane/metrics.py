"""`/metrics` in the Prometheus text format: what the workers counted, and the stores as they are now.

Request, store-query and cache samples come from `controlplane.instruments` (summed over
gunicorn's workers in multiprocess mode). Read at scrape time, from each configured store:
whether it answers, runs by status, runs (and failed runs) of the RECENT_RELEASES most
recently seen releases, the file index's lag and pending files; and the uploads held. The
store aggregates are kept FLEET_SECONDS per worker, so a scrape every few seconds costs
a store query twice a minute. With CONTROLPLANE_METRICS_TOKEN set, a scrape needs
`Authorization: Bearer <token>`; unset, /metrics is a page like any other (behind the
login unless CONTROLPLANE_LOGIN_REQUIRED=0), answering 401 rather than a login form.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from controlplane.instruments import innermost, store_kind
from controlplane.stores import get_run_store, store_urls
from controlplane.uploads import UPLOAD_PREFIX, UPLOAD_SUFFIX, uploaded_bundle_path, uploads_dir
from runtime_adapter.queries.fleet import release_report
from runtime_adapter.rows import STATUSES, RunQuery
from runtime_adapter.stores.indexed import IndexLag

FLEET_SECONDS = 30.0
FAILED_FLEET_SECONDS = 5.0
RECENT_RELEASES = 10
RELEASE_LABEL_LIMIT = 100
OTHER_STATUS = "other"


@require_safe
@login_not_required
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(_registry()), content_type=content_type)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token = settings.CONTROLPLANE_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        return _unauthorized("A bearer token is required: Authorization: Bearer <CONTROLPLANE_METRICS_TOKEN>.")
    if settings.CONTROLPLANE_LOGIN_REQUIRED and not request.user.is_authenticated:
        return _unauthorized("Sign in, or set CONTROLPLANE_METRICS_TOKEN and scrape with that bearer token.")
    return None


def _unauthorized(message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every worker's files, live or gone
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector())
    return registry


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


@dataclass
class _Fleet:
    at: float = float("-inf")
    up: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    releases: list[tuple[str, int, int]] = field(default_factory=list)  # release, runs, failed


_fleet: dict[str, _Fleet] = {}
_fleet_locks: dict[str, threading.Lock] = {}
_fleet_guard = threading.Lock()


def fleet(name: str) -> _Fleet:
    """The store's aggregates, at most FLEET_SECONDS old (FAILED_FLEET_SECONDS after a failure)."""
    with _fleet_guard:
        lock = _fleet_locks.setdefault(name, threading.Lock())
    with lock:
        known = _fleet.get(name)
        if known is not None and time.monotonic() - known.at < (FLEET_SECONDS if known.up else FAILED_FLEET_SECONDS):
            return known
        found = _Fleet(at=time.monotonic())
        try:
            store = get_run_store(name)
            for status, count in store.status_counts().items():
                key = status if status in STATUSES else OTHER_STATUS
                found.statuses[key] = found.statuses.get(key, 0) + count
            found.releases = [(summary.release[:RELEASE_LABEL_LIMIT], summary.runs, summary.failed)
                              for summary in release_report(store, RunQuery())[:RECENT_RELEASES]]
            found.up = True
        except Exception:  # noqa: BLE001 - a store that is down is a sample (up 0), not a failed scrape
            found = _Fleet(at=time.monotonic())
        _fleet[name] = found
        return found


def reset() -> None:
    with _fleet_guard:
        _fleet.clear()


@receiver(setting_changed)
def _reset_on_settings_change(setting: str, **_: object) -> None:
    if setting.startswith("CONTROLPLANE_"):
        reset()


class StoreCollector(Collector):
    """Samples read from the stores and the uploads directory when /metrics is asked for."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("controlplane_store_up", "1 when the store answered its last aggregate query.",
                               labels=["store", "kind"])
        runs = GaugeMetricFamily("controlplane_runs", "Runs in the store by status.", labels=["store", "status"])
        release_runs = GaugeMetricFamily(
            "controlplane_release_runs", f"Runs of the {RECENT_RELEASES} most recently seen releases.",
            labels=["store", "release"])
        release_failed = GaugeMetricFamily(
            "controlplane_release_failed_runs", f"Failed runs of the {RECENT_RELEASES} most recently seen releases.",
            labels=["store", "release"])
        lag = GaugeMetricFamily("controlplane_index_lag_seconds",
                                "How far the file index is behind its directory (+Inf: first build under way).",
                                labels=["store"])
        pending = GaugeMetricFamily("controlplane_index_files_pending", "Run files the file index has yet to read.",
                                    labels=["store"])
        for name in store_urls():
            found = fleet(name)
            try:
                kind = store_kind(get_run_store(name))
            except Exception:  # noqa: BLE001 - cannot even be opened: counted as down
                kind = "unknown"
            up.add_metric([name, kind], 1.0 if found.up else 0.0)
            if found.up:
                for status in (*STATUSES, OTHER_STATUS):
                    runs.add_metric([name, status], float(found.statuses.get(status, 0)))
                for release, count, failed in found.releases:
                    release_runs.add_metric([name, release], float(count))
                    release_failed.add_metric([name, release], float(failed))
            index_lag = _index_lag(name)
            if index_lag is not None:
                lag.add_metric([name], float("inf") if index_lag.seconds is None else index_lag.seconds)
                pending.add_metric([name], float(index_lag.pending))
        yield from (up, runs, release_runs, release_failed, lag, pending)
        held, size = _uploads()
        yield GaugeMetricFamily("controlplane_uploads_held", "Uploaded bundles open (not expired).", value=held)
        yield GaugeMetricFamily("controlplane_uploads_bytes", "Disk the uploads directory uses.", value=size)


def _index_lag(name: str) -> IndexLag | None:
    try:
        store = get_run_store(name)
        inner = innermost(store)
        if not hasattr(inner, "index_lag"):
            return None
        store.change_marker()  # lets a due refresh start, as a page would
        return inner.index_lag()
    except Exception:  # noqa: BLE001 - a store that is down has no lag to report
        return None


def _uploads() -> tuple[int, int]:
    held = size = 0
    directory = uploads_dir()
    if not directory.is_dir():
        return held, size
    for path in directory.iterdir():
        try:
            size += path.stat().st_size
        except OSError:
            continue
        if path.name.endswith(UPLOAD_SUFFIX) and not path.name.startswith("."):
            if uploaded_bundle_path(UPLOAD_PREFIX + path.name[: -len(UPLOAD_SUFFIX)]) is not None:
                held += 1
    return held, size
