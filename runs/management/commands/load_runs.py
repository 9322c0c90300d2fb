"""`manage.py load_runs SOURCE_URL TARGET_URL`: copy a file store or bundle into PostgreSQL.

The only code path that writes to PostgreSQL; it never writes to the source.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runs.management.commands.index_runs import ProgressBar
from runtime_adapter.records import RunStoreError
from runtime_adapter.stores.registry import open_store
from write_side.postgres_load import default_workers, describe_target, load_store


class Command(BaseCommand):
    help = "Copy runs from a file store or trace bundle into a PostgreSQL run store (creates the schema)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("source", help="file:///path/to/runs or bundle:///path/to/bundle.json")
        parser.add_argument("target", help="postgresql://user@host:5432/dbname")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--workers", type=int, default=default_workers(),
                            help="Processes that parse run files (default: one per CPU, at most 4).")
        parser.add_argument("--prune", action="store_true",
                            help="Delete target rows whose run is not in the source (a mirror of one store).")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["target"]
        if not target.startswith(("postgresql://", "postgres://")):
            raise CommandError("TARGET must be a postgresql:// URL.")
        try:
            # Opened without an index: the loader reads every record anyway.
            source = open_store(options["source"])
            result = load_store(
                source, target, batch_size=max(1, options["batch_size"]), workers=max(1, options["workers"]),
                prune=options["prune"], progress=ProgressBar("load", self.stderr._out),  # type: ignore[attr-defined]
                # Rows of redacted runs when the web shows redacted runs: searches then never read secrets.
                redact_rows=settings.CONTROLPLANE_REDACT_SECRETS,
            )
        except (RunStoreError, OSError) as error:
            raise CommandError(str(error)) from None
        except psycopg.Error as error:
            raise CommandError(f"PostgreSQL {describe_target(target)}: {str(error).strip()}") from None
        self.stdout.write(
            f"{result.runs:,} runs and {result.errors:,} unreadable records from {source.describe()} into "
            f"{describe_target(target)}: {result.written:,} rows written, {result.pruned:,} pruned, "
            f"in {result.seconds:.1f} s"
        )
