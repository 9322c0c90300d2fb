"""Create (once) the demo login `make run` prints, in the viewer group."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

VIEWER_GROUP = "viewer"


class Command(BaseCommand):
    help = "Create the demo user (password kept in CONTROLPLANE_DATA_DIR/demo-password) and print its credentials."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CONTROLPLANE_LOGIN_REQUIRED:
            self.stdout.write("Login is off (CONTROLPLANE_LOGIN_REQUIRED=0): anonymous read-only access.")
            return
        password_file = settings.DATA_DIR / "demo-password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username=options["username"])
        user.set_password(password)
        user.is_staff = False
        user.save()
        group, _ = Group.objects.get_or_create(name=VIEWER_GROUP)
        user.groups.add(group)
        self.stdout.write(self.style.SUCCESS(f"Sign in as {user.username} / {password}"))
