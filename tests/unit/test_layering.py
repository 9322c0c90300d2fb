"""The layer contract in pyproject.toml ([tool.importlinter]) holds: every import points one way.

import-linter sees imports inside functions and under TYPE_CHECKING too, so neither is a
way around a circle. `make test` runs this with the rest of the suite.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_layer_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
