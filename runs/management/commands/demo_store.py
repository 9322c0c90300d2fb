"""`manage.py demo_store DIR`: write a synthetic demo run store into a new directory."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from runtime_adapter.synthetic import write_store


class Command(BaseCommand):
    help = (
        "Write a demo run store in the runtime's exact file format: delegation trees, branches from checkpoints, "
        "replays, failures, approval-blocked and paused runs, workflows and several releases. "
        "DIR must not exist or be empty; nothing is ever overwritten."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("directory", type=Path, help="New (or empty) directory to write <runId>.json files into.")
        parser.add_argument("--runs", type=int, default=120, help="How many runs to write (default 120).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed; the same seed gives the same runs.")

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        if options["runs"] < 1:
            raise CommandError("--runs must be at least 1.")
        try:
            summary = write_store(directory, options["runs"], seed=options["seed"])
        except FileExistsError as error:
            raise CommandError(f"{error}. Choose a new directory or empty this one first.") from None
        statuses = ", ".join(f"{status} {count}" for status, count in summary["statuses"].items())
        self.stdout.write(self.style.SUCCESS(f"Wrote {summary['runs']} runs to {directory} ({statuses})."))
