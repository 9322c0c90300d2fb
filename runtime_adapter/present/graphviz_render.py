"""Pipe DOT text through Graphviz's `dot` binary, with a timeout.

Callers catch `GraphvizUnavailable` (no binary, timeout, crash) and show the DOT
source instead of a picture.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

FORMATS = {"svg": "svg", "png": "png", "json": "json"}
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_OUTPUT_BYTES = 20 * 1024 * 1024


class GraphvizUnavailable(RuntimeError):
    pass


def render(dot_text: str, fmt: str, *, binary: str = "dot", timeout: float = DEFAULT_TIMEOUT_SECONDS) -> bytes:
    """The picture (`svg`, `png`) or layout (`json`) Graphviz makes of `dot_text`."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported Graphviz format {fmt!r}")
    try:
        completed = subprocess.run(
            [binary, f"-T{FORMATS[fmt]}"],
            input=dot_text.encode("utf-8", "surrogatepass"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GraphvizUnavailable(f"Graphviz is not installed (no {binary!r} on PATH).") from None
    except subprocess.TimeoutExpired:
        raise GraphvizUnavailable(f"Graphviz took longer than {timeout:g} s.") from None
    except OSError as error:
        raise GraphvizUnavailable(f"Graphviz could not run: {error.strerror or error}.") from None
    if completed.returncode != 0 or not completed.stdout:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizUnavailable(f"Graphviz failed: {message[-1] if message else f'exit {completed.returncode}'}.")
    if len(completed.stdout) > MAX_OUTPUT_BYTES:
        raise GraphvizUnavailable("Graphviz output is too large.")
    return completed.stdout


def layout(dot_text: str, *, binary: str = "dot", timeout: float = DEFAULT_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Graphviz's JSON layout (positions, splines) of `dot_text`."""
    data = json.loads(render(dot_text, "json", binary=binary, timeout=timeout).decode("utf-8", "replace"))
    if not isinstance(data, dict):
        raise GraphvizUnavailable("Graphviz returned an unexpected layout.")
    return data
