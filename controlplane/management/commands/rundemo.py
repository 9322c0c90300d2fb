"""`make run`'s server: Django's runserver that creates the demo login and prints it after its start banner.

The banner (and the development-server warning) would otherwise scroll the login out of sight; printed
from the server process once its socket listens, the login is the last thing on the terminal, again
after every autoreload.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.commands.runserver import Command as RunserverCommand
from django.utils import autoreload

from controlplane.demo import ensure_demo_user, login_notice


class Command(RunserverCommand):
    help = "runserver for the demo: creates the demo login (once) and prints it after the start banner."

    def handle(self, *args: Any, **options: Any) -> None:
        # Once, in the process that starts the autoreloader (hashing the password is slow on purpose).
        if settings.CONTROLPLANE_LOGIN_REQUIRED and os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true":
            ensure_demo_user()
        super().handle(*args, **options)

    def on_bind(self, server_port: int) -> None:
        super().on_bind(server_port)
        host = f"[{self.addr}]" if self._raw_ipv6 else ("0.0.0.0" if self.addr == "0" else self.addr)
        self.stdout.write(self.style.SUCCESS(login_notice(f"{self.protocol}://{host}:{server_port}/")))
        self.stdout.flush()  # a pipe (`make run | tee`) must show it now, not when the buffer fills
