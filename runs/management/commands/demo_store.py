"""`manage.py demo_store DIR`: write a synthetic demo run store into a new directory."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from write_side.synthetic import write_store


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Write a demo run store in the runtime's exact file format: delegation trees, branches from checkpoints, "
        "replays, failures, approval-blocked and paused runs, workflows and several releases, the newest of which "
        "regresses at the refund provider (its failures cluster although their messages differ in ids and numbers). "
        "DIR must not exist or be empty; nothing is ever overwritten."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("directory", type=Path, help="New (or empty) directory to write <runId>.json files into.")
        parser.add_argument("--runs", type=int, default=1000, help="How many runs to write (default 1000).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument("--now", type=_moment, default=None,
                            help="End of the week the runs span, ISO 8601 (default: now). "
                                 "The same seed and --now give byte-identical files.")

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        if options["runs"] < 1:
            raise CommandError("--runs must be at least 1.")
        try:
            summary = write_store(directory, options["runs"], seed=options["seed"], now=options["now"])
        except FileExistsError as error:
            raise CommandError(f"{error}. Choose a new directory or empty this one first.") from None
        statuses = ", ".join(f"{status} {count}" for status, count in summary["statuses"].items())
        self.stdout.write(self.style.SUCCESS(f"Wrote {summary['runs']} runs to {directory} ({statuses})."))
