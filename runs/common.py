"""Downloads, file names and the cached store reads several run views share."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import get_script_prefix
from django.utils.http import content_disposition_header

from controlplane.caching import cached, cached_for_family
from runtime_adapter.js import jsjson
from runtime_adapter.js.jsvalues import js_or, to_js_string
from runtime_adapter.present.family_tree import family_tree
from runtime_adapter.present.lineage import LineageNode, load_family
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import Run
from runtime_adapter.rows import RunRow

EXPORTED_FOR = "agent-run-control-plane"


def download(payload: Any, filename: str) -> HttpResponse:
    response = HttpResponse(jsjson.dumps(payload, 2), content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def root_of(run: Run) -> str:
    return to_js_string(js_or(run["metadata"]["lineage"].get("rootRunId"), run["id"]))


class PageRun:
    """The run a page is about, read (and redacted) only when the page needs more of it than its id and lineage
    root. A store that keeps listing rows answers those from the run's row, so a warm tree page reads no run:
    reading and redacting a big run had cost 50-200 ms on every request. Unknown ids raise RunNotFound."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store, self.id = store, run_id
        self._run: Run | None = None
        row = store.rows_by_id([run_id]).get(run_id) if getattr(store, "keeps_rows", False) else None
        self.row: RunRow | None = row
        if row is None:
            self._run = store.get_run(run_id)
            self.root = root_of(self._run)
        else:
            self.root = row.root_run_id  # the normalised lineage's rootRunId, as root_of reads it

    @property
    def run(self) -> Run:
        if self._run is None:
            self._run = self.store.get_run(self.id)
        return self._run


def run_tree(store: RunStore, run: PageRun) -> tuple[str, dict[str, Any] | None]:
    """(root id, tree node) of the tree that holds `run`, made from the family's listing rows
    (runtime_adapter.present.family_tree), cached per store state."""

    def compute() -> tuple[str, dict[str, Any] | None]:
        return family_tree(store, run.id, run.row, lambda: run.run)

    return cached_for_family(store, "run-tree", to_js_string(run.id), (), compute)


def cached_family(store: RunStore, run: PageRun) -> tuple[list[LineageNode], int]:
    """The lineage family of `run` (see runtime_adapter.present.lineage.load_family), cached."""
    return cached(store, "lineage-family", (run.root,), lambda: load_family(store, run.root))


def prefix_key() -> str:
    """Links inside cached payloads carry the store prefix, so it is part of their cache key."""
    return get_script_prefix()
