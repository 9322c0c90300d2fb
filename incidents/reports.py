"""The runtime's incident report and recovery plan for a run: one cached computation for the page, the note and the API."""

from __future__ import annotations

from typing import Any

from controlplane.caching import cached
from runtime_adapter.inspectors import create_incident_report, plan_from_report
from runtime_adapter.queries.scanning import RunStore


def incident_payloads(store: RunStore, run_id: str, compare_to: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """`createReport` and `createPlan` for one request, computed once per store version."""

    def compute() -> tuple[dict[str, Any], dict[str, Any]]:
        report = create_incident_report(store, run_id, compare_to)
        return report, plan_from_report(report, compare_to)

    return cached(store, "incident", (run_id, compare_to or ""), compute)
