"""Create (once) the demo login in the viewer group; `make run` prints it once its server listens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from controlplane.demo import DEMO_USERNAME, ensure_demo_user


class Command(BaseCommand):
    help = "Create the demo user (password kept in CONTROLPLANE_DATA_DIR/demo-password) and print its credentials."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=DEMO_USERNAME)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CONTROLPLANE_LOGIN_REQUIRED:
            self.stdout.write("Login is off (CONTROLPLANE_LOGIN_REQUIRED=0): anonymous read-only access.")
            return
        password = ensure_demo_user(options["username"])
        self.stdout.write(self.style.SUCCESS(f"Sign in as {options['username']} / {password}"))
