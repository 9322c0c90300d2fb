"""Pure functions over run records, each matching the runtime's surface of the same name."""

from runtime_adapter.inspectors.correlation import correlation_for_run
from runtime_adapter.inspectors.diff import diff_traces
from runtime_adapter.inspectors.incident import create_incident_report
from runtime_adapter.inspectors.recovery import create_recovery_plan, plan_from_report
from runtime_adapter.inspectors.serializer import (
    describe_schema,
    export_bundle,
    export_partial_run,
    export_run,
    import_bundle,
    import_run,
    validate_trace,
)
from runtime_adapter.inspectors.summary import summarize
from runtime_adapter.inspectors.tree import build_tree, render_tree

__all__ = [
    "build_tree", "correlation_for_run", "create_incident_report", "create_recovery_plan", "describe_schema",
    "diff_traces", "export_bundle", "export_partial_run", "export_run", "import_bundle", "import_run",
    "plan_from_report", "render_tree", "summarize", "validate_trace",
]
