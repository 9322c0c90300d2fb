"""`manage.py index_runs [--store URL]`: build or refresh the sidecar index of file stores."""

from __future__ import annotations

import os
import sys
import time
from argparse import ArgumentParser
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from controlplane.stores import store_options, store_urls
from runtime_adapter.records import RunStoreError
from runtime_adapter.stores.indexed import FULL_SCAN_SECONDS, IndexedFileRunStore
from runtime_adapter.stores.registry import open_store


class ProgressBar:
    """`[#####-----] 12,000/100,000  4,100/s  ETA 0:00:19`, redrawn in place on a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._tty = self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        # A terminal redraws 10 times a second; a log file gets a line every 5 seconds.
        if (done == 0 and not self._tty) or (done < total and now - self._last_draw < (0.1 if self._tty else 5.0)):
            return
        self._last_draw = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0.0
        filled = int(self.width * done / total) if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"{self.label} [{bar}] {done:,}/{total:,}  {rate:,.0f}/s  "
                f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}")
        self.stream.write(("\r" + line) if self._tty else (line + "\n"))
        if self._tty and done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Build or refresh the SQLite index of file run stores (the server also refreshes it on request)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--store", action="append", help="file:// store URL (default: every configured file store).")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="Processes that parse run files (default: one per CPU).")
        parser.add_argument("--watch", type=float, metavar="SECONDS",
                            help="Keep refreshing every SECONDS (a sidecar process for very large stores).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CONTROLPLANE_FILE_INDEX:
            raise CommandError("CONTROLPLANE_FILE_INDEX is off: file stores are read without an index.")
        urls = options["store"] or [url for url in store_urls().values() if url.startswith("file:")]
        if not urls:
            raise CommandError("No file:// store is configured; pass --store file:///path/to/runs.")
        stores = []
        for url in urls:
            if not url.startswith("file:"):
                raise CommandError(f"{url} is not a file:// store; only file stores have an index.")
            store = open_store(url, **store_options(url))
            assert isinstance(store, IndexedFileRunStore)
            stores.append(store)
        try:
            last_full = time.monotonic()
            for store in stores:
                self._refresh(store, options["workers"], quiet=options["watch"] is not None)
            while options["watch"] is not None:
                time.sleep(options["watch"])
                # Live and recent files every round, every file every FULL_SCAN_SECONDS (as the server does).
                full = time.monotonic() - last_full >= FULL_SCAN_SECONDS
                last_full = time.monotonic() if full else last_full
                for store in stores:
                    self._refresh(store, options["workers"], quiet=True, quick=not full)
        except RunStoreError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            return
        finally:
            for store in stores:
                store.close()

    def _refresh(self, store: IndexedFileRunStore, workers: int, *, quiet: bool, quick: bool = False) -> None:
        progress = None if quiet else ProgressBar(store.directory.name, self.stderr._out)  # type: ignore[attr-defined]
        result = store.refresh(wait=True, workers=max(1, workers), progress=progress, quick=quick)
        if quiet and not (result.read or result.removed):
            return
        status = store.index_status()
        self.stdout.write(
            f"{store.directory}: {result.files:,} files, {result.read:,} read, {result.removed:,} removed "
            f"in {result.seconds:.1f} s; index holds {status.runs:,} runs and {status.errors:,} unreadable files "
            f"({store.index.path})"
        )
