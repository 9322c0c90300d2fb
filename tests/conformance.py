"""Recompute every golden payload of `../shared/conformance/` with runtime_adapter.

Each case yields (name, expected, actual) as JSON text produced by the JS-compatible
serializer, so key order, number formatting and undefined-vs-null all count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime_adapter.inspectors import (
    build_tree,
    correlation_for_run,
    create_incident_report,
    create_recovery_plan,
    diff_traces,
    export_bundle,
    export_run,
    render_tree,
    summarize,
    validate_trace,
)
from runtime_adapter.js import jsjson
from runtime_adapter.js.jsvalues import UNDEFINED
from runtime_adapter.records import RunStoreError
from runtime_adapter.stores.file import FileRunStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = Path(os.environ.get("CONTROLPLANE_CONFORMANCE_DIR", PROJECT_ROOT.parent / "shared" / "conformance"))

Case = tuple[str, str, str]


def scenarios() -> list[str]:
    """The corpus's scenario names; a placeholder that fails its tests when the corpus is missing."""
    golden = CONFORMANCE_DIR / "golden"
    names = sorted(path.stem for path in golden.glob("*.json")) if golden.is_dir() else []
    return names or [MISSING]


MISSING = "<conformance corpus missing>"


def require_corpus(path: Path | None = None) -> Path:
    """Fail (never skip) a test whose corpus file or folder is absent, saying where it should be."""
    path = path or CONFORMANCE_DIR
    if not path.exists():
        pytest.fail(f"The conformance corpus is missing: expected {path} (shared/conformance beside this checkout, "
                    "or set CONTROLPLANE_CONFORMANCE_DIR).", pytrace=False)
    return path


def _load(path: Path) -> Any:
    return jsjson.loads(path.read_bytes())


def _text(value: Any) -> str:
    return jsjson.dumps(value, 2)


def _error(error: Exception) -> dict[str, str]:
    return {"name": "Error", "message": str(error)}


def _report_or_error(store: FileRunStore, run_id: str, compare: str | None) -> tuple[Any, Any]:
    try:
        return create_incident_report(store, run_id, compare), None
    except RunStoreError as error:
        return None, _error(error)


def golden_cases(scenario: str) -> Iterator[Case]:
    golden = _load(CONFORMANCE_DIR / "golden" / f"{scenario}.json")
    store = FileRunStore(CONFORMANCE_DIR / "stores" / scenario)
    runs = store.list_runs()
    by_id = {run["id"]: run for run in runs}

    order = [{"file": name, "runId": store.read_entry(name).run["id"]} for name in store.file_names()]
    yield "listRunsOrder", _text(golden["listRunsOrder"]), _text(order)
    yield "runCount", _text(golden["runCount"]), _text(len(runs))

    for expected in golden["summaries"]:
        actual = summarize(by_id[expected["runId"]])
        yield f"summary {expected['runId']}", _text(expected["summary"]), _text(actual)

    forest = build_tree(store.iter_runs())
    yield "treeAll", _text(golden["treeAll"]), _text(forest)
    yield "treeAllRendered", _text(golden["treeAllRendered"]), _text(render_tree(forest))
    yield "treeAllRenderedNoStatus", _text(golden["treeAllRenderedNoStatus"]), _text(render_tree(forest, False))

    for expected in golden["treesByRootRunId"]:
        root_id = expected["rootRunId"]
        tree = build_tree(store.iter_runs(), root_id)
        yield f"tree {root_id}", _text(expected["tree"]), _text(tree)
        yield f"tree rendered {root_id}", _text(expected["rendered"]), _text(render_tree(tree))
        yield f"tree rendered no status {root_id}", _text(expected["renderedNoStatus"]), _text(render_tree(tree, False))
    for expected in golden["subtreesByRunId"]:
        tree = build_tree(store.iter_runs(), expected["runId"])
        yield f"subtree {expected['runId']}", _text(expected["tree"]), _text(tree)
        yield f"subtree rendered {expected['runId']}", _text(expected["rendered"]), _text(render_tree(tree))

    for expected in golden["reports"]:
        report, error = _report_or_error(store, expected["runId"], None)
        yield f"report {expected['runId']}", _text(expected.get("report", expected.get("error"))), _text(report or error)
    for expected in golden["reportErrors"]:
        _, error = _report_or_error(store, expected["runId"], expected["compareToRunId"])
        yield f"reportError {expected['runId']}", _text(expected["error"]), _text(error)

    for pair in golden["pairs"]:
        left, right = pair["runId"], pair["compareToRunId"]
        report, error = _report_or_error(store, left, right)
        label = f"pair {left} ~ {right}"
        yield f"{label} report", _text(pair["report"]), _text(report)
        yield f"{label} reportError", _text(pair["reportError"]), _text(error)
        yield f"{label} diff", _text(pair["diff"]), _text(diff_traces(by_id[left], by_id[right]))

    bundle = export_bundle(runs, {"exportedFor": "golden"})
    expected_bundle = golden["traceBundle"]
    bundle["exportedAt"] = expected_bundle["exportedAt"]
    for ours, theirs in zip(bundle["traces"], expected_bundle["traces"], strict=True):
        ours["exportedAt"] = theirs["exportedAt"]
    yield "traceBundle", _text(expected_bundle), _text(bundle)
    validation = golden["traceBundleValidation"]
    yield "traceBundleValidation default", _text(validation["default"]), _text(validate_trace(expected_bundle))
    yield "traceBundleValidation allowBundle", _text(validation["allowBundle"]), _text(
        validate_trace(expected_bundle, allow_bundle=True)
    )

    for index, sample in enumerate(golden["exportRunSamples"]):
        run_id = sample["runId"]
        trace = export_run(by_id[run_id], {"exportedFor": "golden", "sample": index, "runId": run_id},
                           exported_at=sample["trace"]["exportedAt"])
        yield f"exportRun {run_id}", _text(sample["trace"]), _text(trace)
        yield f"exportRun validation {run_id}", _text(sample["validation"]), _text(validate_trace(trace))

    for broken in golden["brokenTraceValidations"]:
        value = UNDEFINED if broken.get("inputIsUndefined") else broken["input"]
        allow = bool(broken["options"].get("allowBundle"))
        yield f"validate {broken['name']}", _text(broken["result"]), _text(validate_trace(value, allow_bundle=allow))


def plan_cases(scenario: str) -> Iterator[Case]:
    golden = _load(CONFORMANCE_DIR / "golden-plans" / f"{scenario}.json")
    store = FileRunStore(CONFORMANCE_DIR / "stores" / scenario)
    for expected in golden["plans"]:
        run_id, compare = expected["runId"], expected["compareToRunId"]
        try:
            actual: Any = create_recovery_plan(store, run_id, compare)
        except RunStoreError as error:
            actual = _error(error)
        yield f"plan {run_id} ~ {compare}", _text(expected.get("plan", expected.get("error"))), _text(actual)
    by_id = {run["id"]: run for run in store.iter_runs()}
    for expected in golden["correlations"]:
        yield f"correlation {expected['runId']}", _text(expected["correlation"]), _text(
            correlation_for_run(by_id[expected["runId"]])
        )
