"""The demo login: the viewer `make run` creates, and the notice its server prints once it listens.

The password is kept in CONTROLPLANE_DATA_DIR/demo-password (0600) and written to the terminal of
`make run` only, through the command's stdout: never through logging, so no log handler sees it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

DEMO_USERNAME = "demo"
VIEWER_GROUP = "viewer"


def password_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-password"


def ensure_demo_user(username: str = DEMO_USERNAME) -> str:
    """Create (once) the non-staff viewer `username` with the kept password, and return that password."""
    path = password_file()
    try:
        # Created 0600 from the start: never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(12))
    password = path.read_text().strip()
    user, _ = get_user_model().objects.get_or_create(username=username)
    if not user.check_password(password) or user.is_staff:
        user.set_password(password)
        user.is_staff = False
        user.save()
    user.groups.add(Group.objects.get_or_create(name=VIEWER_GROUP)[0])
    return password


def login_notice(url: str, username: str = DEMO_USERNAME) -> str:
    """What `make run` prints after the server's start banner: the address and how to sign in, framed."""
    if not settings.CONTROLPLANE_LOGIN_REQUIRED:
        lines = [f"Open {url}", "No sign-in: CONTROLPLANE_LOGIN_REQUIRED=0 (anonymous, read-only)."]
    elif password_file().exists():
        lines = [f"Open {url} and sign in with the demo login:",
                 f"  username  {username}",
                 f"  password  {password_file().read_text().strip()}"]
    else:
        lines = [f"Open {url}", "No demo login yet: run `python manage.py ensure_demo_user`."]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 4) + "+"
    return "\n".join(["", rule, *(f"|  {line.ljust(width)}  |" for line in lines), rule, ""])
