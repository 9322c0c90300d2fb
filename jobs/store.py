"""Where the job pages read from: the configured FileJobStore directory, as of the control plane's clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from controlplane import clock
from controlplane.stores import store_for


def url() -> str:
    return str(settings.CONTROLPLANE_JOB_STORE)


def reading() -> dict[str, Any]:
    """The reader's options: now, the redaction switch, and the size cap run files have too."""
    return {"now": clock.now(), "secrets": settings.CONTROLPLANE_REDACT_SECRETS,
            "max_bytes": settings.CONTROLPLANE_MAX_RUN_FILE_BYTES}


def run_exists(request: HttpRequest) -> Callable[[str], bool]:
    # Opened only when a job names a run, so a job page never fails for the run store's sake.
    return lambda run_id: store_for(request).has_run(run_id)
