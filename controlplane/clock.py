"""The control plane's one clock: pages ask it for "now", never the wall clock directly.

`CONTROLPLANE_NOW` pins it (an archived store reviewed as of its incident, a demo, the
test suite); unset, it is the current time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings


def now() -> datetime:
    pinned: datetime | None = settings.CONTROLPLANE_NOW
    return pinned if pinned is not None else datetime.now(UTC)
