"""The control plane's own directory (CONTROLPLANE_DATA_DIR): private, and apart from every run directory.

It holds the database (password hashes, sessions), the secret key, the run indexes (every
run's searchable text) and uploaded bundles, so it is created 0700 and its files 0600. It
must not be, hold or sit inside a run directory: the control plane never writes there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from runtime_adapter.stores.registry import _local_path

# `make run` generates its demo store here, inside the data directory; nothing else writes there.
DEMO_STORE = "demo-runs"


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.geteuid():
        path.chmod(0o700)  # one created by an earlier version, or by hand
    return path


def private_file(path: Path) -> None:
    """Create `path` empty and 0600 before SQLite or Django opens it (its -wal/-shm/-journal take its mode)."""
    if not path.parent.is_dir():
        return
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    if path.stat().st_uid == os.geteuid():
        path.chmod(0o600)


def run_directory(url: str) -> Path | None:
    return Path(_local_path(url)).expanduser().resolve() if url.startswith("file:") else None


def check_apart(data_dir: Path, store_urls: Iterable[str]) -> None:
    """Refuse a data directory that is, holds or sits inside one of these stores' run directories."""
    data = Path(data_dir).expanduser().resolve()
    for url in store_urls:
        runs = run_directory(url)
        if runs is None or runs == data / DEMO_STORE:
            continue
        if runs == data or data.is_relative_to(runs) or runs.is_relative_to(data):
            raise ImproperlyConfigured(
                f"CONTROLPLANE_DATA_DIR ({data}) must be apart from the run directory {runs}: the control plane "
                "writes its database, indexes and uploads there, and never writes in or around a run store.")
