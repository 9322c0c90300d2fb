"""gunicorn settings: `gunicorn -c controlplane/gunicorn_conf.py controlplane.wsgi` (`make serve` does).

Metrics: prometheus-client's multiprocess mode. Each worker writes its counters and
histograms to files in PROMETHEUS_MULTIPROC_DIR (default `$CONTROLPLANE_DATA_DIR/prometheus`),
which /metrics adds up, so a scrape answered by any worker counts every worker. The
variable is set here, in the master, before a worker is forked or imports the client; the
master empties the directory once when it starts (not on a reload), so counters start at
zero with the server and keep counting across worker restarts.

Logs: gunicorn's own lines go through the same formatter as the application's (JSON with
CONTROLPLANE_LOG_FORMAT=json). Requests are logged by the application
(controlplane.request_log), not by gunicorn's access log, which would print query strings
unredacted.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from pathlib import Path
from typing import Any

from controlplane.env import envint, envpath
from controlplane.request_log import log_format

wsgi_app = "controlplane.wsgi:application"

# Connections one worker holds at once (gunicorn's worker_connections, 1000 by default). A worker accepts whatever
# arrives while it polls, so 64 keep-alive clients connecting together could land 50 on one worker, which queued
# them on its threads and its one core while the other worker idled: `make load` gave 65-69 req/s on such runs
# and 121-127 when the connections happened to split evenly. Past this many, a connection waits in the listen
# queue until a worker has room (an idle keep-alive connection frees its slot after gunicorn's 2 s keepalive).
worker_connections = envint("CONTROLPLANE_WORKER_CONNECTIONS", 32, minimum=1)

# glibc gives a thread that finds the allocator busy an arena of its own (up to 8 per core), and memory freed into
# one arena is not reused by another: after the benchmark's pages a file-store worker at 100k runs peaked at 200 MB
# resident on average (188-223) with glibc's default and 185 MB (166-213) with one arena (8 servers alternating,
# 2026-12-03). The GIL serialises most allocations anyway. Set in the master, before it forks: the workers inherit it. 0 keeps glibc's default.
malloc_arenas = envint("CONTROLPLANE_MALLOC_ARENAS", 1, minimum=0)
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(count: int) -> bool:
    """Whether this process's allocator now keeps at most `count` arenas (False: not asked, or not glibc)."""
    if count <= 0:
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library already loaded (`find_library` would run `ldconfig -p`)
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, count))


limit_malloc_arenas(malloc_arenas)

_data_dir = envpath("CONTROLPLANE_DATA_DIR", Path(__file__).resolve().parent.parent / "var")
_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_data_dir / "prometheus")))

_format = log_format()
# An access log asked for on the command line or in GUNICORN_CMD_ARGS is written as asked (bench/load.py times each
# page kind by it); it prints query strings unredacted, so it is never on by default.
_access_asked = any(arg.startswith("--access-logfile")
                    for arg in [*sys.argv[1:], *os.environ.get("GUNICORN_CMD_ARGS", "").split()])
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "controlplane.error_reports.RedactingLogFilter"}},
    "formatters": {
        "json": {"()": "controlplane.request_log.RedactingJsonFormatter"},
        "text": {"()": "controlplane.request_log.TextFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": _format, "filters": ["redact"],
                    "stream": "ext://sys.stderr"},
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        **({} if _access_asked else {"gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False}}),
    },
}


def on_starting(server: Any) -> None:
    _metrics_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    # Imports, templates and store connections, so that a fresh worker's first page does not pay for them.
    from controlplane.warmup import warm_up

    warm_up()
    freeze_heap()


def freeze_heap() -> None:
    """Move what the worker holds for good (modules, templates, settings: ~105,000 objects) out of the cyclic
    collector's reach. A page that makes many objects (a release's rows) triggers full collections, and each one
    walked all of them: the releases page's first request at 100k runs took 300-330 ms, 175-190 ms frozen."""
    gc.freeze()
