"""Pure-Python core of the control plane: run stores and the runtime's read-only views.

Nothing here imports Django; the web apps and the CLI call these functions.
"""

from runtime_adapter.inspectors import (
    build_tree,
    correlation_for_run,
    create_incident_report,
    create_recovery_plan,
    diff_traces,
    export_bundle,
    export_partial_run,
    export_run,
    import_bundle,
    render_tree,
    summarize,
    validate_trace,
)
from runtime_adapter.port import BaseRunStore
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, InvalidRunId, Run, RunNotFound, RunStoreError, normalize_run
from runtime_adapter.stores import (
    BundleRunStore,
    FileRunStore,
    InMemoryRunStore,
    StoreEntry,
    StoreUnavailable,
    open_store,
    register_backend,
)

__all__ = [
    "BaseRunStore", "BundleRunStore", "CorruptRun", "FileRunStore", "InMemoryRunStore", "InvalidRunId", "Run",
    "RunNotFound", "RunStore", "RunStoreError", "StoreEntry", "StoreUnavailable", "build_tree", "correlation_for_run",
    "create_incident_report", "create_recovery_plan", "diff_traces", "export_bundle", "export_partial_run",
    "export_run", "import_bundle", "normalize_run", "open_store", "register_backend", "render_tree", "summarize",
    "validate_trace",
]
