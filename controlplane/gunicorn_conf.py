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

import os
from pathlib import Path
from typing import Any

from controlplane.env import envpath
from controlplane.request_log import log_format

wsgi_app = "controlplane.wsgi:application"

_data_dir = envpath("CONTROLPLANE_DATA_DIR", Path(__file__).resolve().parent.parent / "var")
_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_data_dir / "prometheus")))

_format = log_format()
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
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    _metrics_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
