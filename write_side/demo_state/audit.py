"""Demo audit (scaffold: the issue 13 helper replaces this)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_demo_audit(target: Path, runs_dir: Path, *, seed: int = 7) -> dict[str, Any]:
    return {}
