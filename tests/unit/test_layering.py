"""runtime_adapter is pure Python: no module in it imports Django."""

import ast
from pathlib import Path

ADAPTER = Path(__file__).resolve().parents[2] / "runtime_adapter"


def test_runtime_adapter_never_imports_django():
    offenders = []
    for path in ADAPTER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in ("django", "runs", "incidents", "controlplane")]
    assert offenders == []
