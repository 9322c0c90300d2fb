"""`manage.py demo_state`: write the demo's job store, audit log and memory layers beside the demo runs."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from write_side.demo_state import write_demo_state


class Command(BaseCommand):
    help = (
        "Write the demo's FileJobStore directory (demo-jobs/), FileAuditSink log (demo-audit.jsonl) and "
        "FileLayerStore files (demo-memory/) under CONTROLPLANE_DATA_DIR, in the runtime's exact formats, naming "
        "runs of the demo run store. Only missing parts are written; nothing is ever overwritten."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--runs", type=Path, default=Path(settings.DATA_DIR) / "demo-runs",
                            help="The demo run directory whose runs the jobs and audit entries name.")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        runs_dir: Path = options["runs"]
        if not runs_dir.is_dir():
            raise CommandError(f"{runs_dir} is not a run directory; write it first with `manage.py demo_store`.")
        written = write_demo_state(Path(settings.DATA_DIR), runs_dir, seed=options["seed"])
        for part, summary in written.items():
            if summary:
                self.stdout.write(f"{part}: {summary}")
