"""What the control plane measures as it serves: requests, store queries and cache lookups.

Counters and histograms live in prometheus-client's default registry. Under gunicorn,
`controlplane/gunicorn_conf.py` sets PROMETHEUS_MULTIPROC_DIR before any worker imports
this module, so each worker writes its samples to files there and `/metrics` adds them up.
Labels are bounded: view names (never URLs), status classes, store kinds and operations
named in code, cache kinds named in code. What is read at scrape time (runs by status,
index lag, uploads) is `controlplane.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import GeneratorType
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram, disable_created_metrics

from controlplane.request_log import view_label
from runtime_adapter.queries.scanning import RunStore

# `*_created` series double every counter's output and are not written in multiprocess mode anyway.
disable_created_metrics()

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("controlplane_http_requests", "HTTP requests answered, by view name and status class.",
                   ["view", "status"])
REQUEST_SECONDS = Histogram("controlplane_http_request_duration_seconds",
                            "Time to answer a request, by view name and status class.", ["view", "status"],
                            buckets=REQUEST_BUCKETS)
STORE_SECONDS = Histogram("controlplane_store_query_duration_seconds",
                          "Time spent in run-store calls, by store kind and operation (iterators: inside next()).",
                          ["kind", "operation"], buckets=STORE_BUCKETS)
CACHE_LOOKUPS = Counter("controlplane_cache_lookups", "Derived-payload cache lookups (controlplane.caching).",
                        ["kind", "result"])

# The innermost adapter's class, as a label: a closed set named here, so a plugged-in backend
# is "other" rather than a label per class name.
STORE_KINDS = {
    "FileRunStore": "file",
    "IndexedFileRunStore": "file_index",
    "BundleRunStore": "bundle",
    "IndexedBundleRunStore": "upload",
    "PostgresRunStore": "postgresql",
    "InMemoryRunStore": "memory",
}


def innermost(store: Any) -> Any:
    """The adapter under the wrappers (MeasuredStore, RedactingStore): for its kind and index, never its runs."""
    while hasattr(store, "inner"):
        store = store.inner
    return store


def store_kind(store: Any) -> str:
    return STORE_KINDS.get(type(innermost(store)).__name__, "other")


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def observe_request(request: HttpRequest, status: int, seconds: float) -> None:
    labels = (view_label(request), status_class(status))
    REQUESTS.labels(*labels).inc()
    REQUEST_SECONDS.labels(*labels).observe(seconds)


class RequestMetricsMiddleware:
    """Counts and times every answer, the ones middleware gives before a view (413, 401) included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(request, response.status_code, time.perf_counter() - started)
        return response


def count_cache_lookup(kind: str, hit: bool) -> None:
    CACHE_LOOKUPS.labels(kind, "hit" if hit else "miss").inc()


# Forwarded but not timed: no store work behind them.
_UNTIMED = frozenset({"close", "describe"})
# Timed under another operation's name: a read of one run is `get_run` on dashboards, whether or not the store
# could also say that its index vetted the run (RedactingStore asks get_run_vetted).
_OPERATION = {"get_run_vetted": "get_run"}


class MeasuredStore(RunStore):
    """A store that times each call of the port and its queries, then answers exactly as `inner`.

    Every public method of `RunStore` is forwarded (generated below, so a method added to the
    port is measured too); anything else falls through to `inner` unmeasured.
    """

    def __init__(self, inner: RunStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.row_redaction = inner.row_redaction
        self.kind = store_kind(inner)
        self._timers: dict[str, Any] = {}

    def _timer(self, operation: str) -> Any:
        timer = self._timers.get(operation)
        if timer is None:
            timer = self._timers[operation] = STORE_SECONDS.labels(self.kind, operation)
        return timer

    def _timed_items(self, operation: str, items: Iterator[Any], spent: float) -> Iterator[Any]:
        try:
            while True:
                started = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    spent += time.perf_counter() - started
                    return
                spent += time.perf_counter() - started
                yield item
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            self._timer(operation).observe(spent)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # during unpickling or before __init__
            raise AttributeError(name)
        return getattr(self.inner, name)


def _forward(name: str) -> Callable[..., Any]:
    if name in _UNTIMED:
        def plain(self: MeasuredStore, *args: Any, **kwargs: Any) -> Any:
            return getattr(self.inner, name)(*args, **kwargs)
        plain.__name__ = name
        return plain

    operation = _OPERATION.get(name, name)

    def timed(self: MeasuredStore, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = getattr(self.inner, name)(*args, **kwargs)
        except BaseException:
            self._timer(operation).observe(time.perf_counter() - started)
            raise
        spent = time.perf_counter() - started
        if isinstance(result, GeneratorType):
            return self._timed_items(operation, result, spent)
        self._timer(operation).observe(spent)
        return result

    timed.__name__ = name
    return timed


for _name in dir(RunStore):
    if not _name.startswith("_") and callable(getattr(RunStore, _name)):
        setattr(MeasuredStore, _name, _forward(_name))
