"""`TraceCorrelation.fromRun(run)`: trace/span ids derived from lineage."""

from __future__ import annotations

from typing import Any

from runtime_adapter.js.jsvalues import js_or, prop
from runtime_adapter.records import Run


def correlation_for_run(run: Run, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    lineage = js_or(run["metadata"].get("lineage"), {})
    correlation = {
        "traceId": js_or(prop(lineage, "rootRunId"), run["id"]),
        "spanId": run["id"],
        "parentSpanId": js_or(prop(lineage, "parentRunId"), prop(lineage, "branchOriginRunId"), None),
        "checkpointId": js_or(prop(lineage, "branchCheckpointId"), None),
        "status": run["status"],
    }
    correlation.update(metadata or {})
    return correlation
