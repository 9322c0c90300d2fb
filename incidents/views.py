"""The incident queue, the incident page (report + advisory recovery plan) and its Markdown note."""

from __future__ import annotations

import math
import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.caching import cached, cached_for_runs
from controlplane.http import invalid_parameters, partial_or_page
from controlplane.stores import store_for
from incidents.forms import IncidentForm, QueueForm
from incidents.reports import incident_payloads
from runtime_adapter.inspectors.tree import tree_lines
from runtime_adapter.present import incident_view, provenance
from runtime_adapter.present.incident_markdown import NoteLinks, incident_markdown
from runtime_adapter.present.lineage import OutsideTree, load_family, outside_tree
from runtime_adapter.queries.comparison import Candidate, comparison_candidates
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.rows import RunQuery

TREE_LINES_SHOWN = 300


def candidates_for(store: RunStore, run_id: str) -> list[Candidate]:
    return cached(store, "comparison-candidates", (run_id,), lambda: comparison_candidates(store, store.get_run(run_id)))


def note_links(request: HttpRequest, origin: str = "") -> NoteLinks:
    # The configured origin, never the request's Host header (which a client chooses);
    # without one, `origin` (a placeholder the copy button swaps for the page's origin) or relative.
    base = settings.CONTROLPLANE_BASE_URL or origin

    def absolute(name: str, *args: str, query: dict[str, str] | None = None) -> str:
        return base + reverse(name, args=args) + (f"?{urlencode(query)}" if query else "")

    return NoteLinks(
        incident=lambda rid: absolute("incidents:detail", rid),
        run=lambda rid: absolute("runs:detail", rid),
        compare=lambda left, right: absolute("incidents:compare", query={"left": left, "right": right}),
        step=lambda rid, number: absolute("runs:tab", rid, "steps", query={"step": str(number)}) + f"#step-{number}",
    )


def recovery_context(store: RunStore, report: dict[str, Any], plan: dict[str, Any],
                     tree_ids: list[str]) -> dict[str, Any]:
    """The run's recovery attempts, what our notes add to its plan, and the family runs its tree leaves out."""
    run_id, root = report["runId"], report["rootRunId"]
    family, _ = cached(store, "incident-family", (root,), lambda: load_family(store, root))
    outside: OutsideTree = outside_tree(family, tree_ids, root) if tree_ids else OutsideTree([], None)
    # Wrapped in a tuple: a None result is cached too.
    (suggestion,) = cached(store, "incident-safe-checkpoint", (run_id,),
                           lambda: (provenance.safe_checkpoint(store.get_run(run_id), plan),))
    return {
        "recovery_history": cached(store, "recovery-history", (run_id,), lambda: provenance.recovery_history(store, run_id)),
        "runner_outcome": provenance.runner_outcome(plan), "safe_checkpoint": suggestion, "outside": outside,
        "plan_steps": provenance.plan_steps(plan),
    }


def run_facts(store: RunStore, run_id: str) -> incident_view.RunFacts:
    return cached_for_runs(store, "incident-run-facts", (run_id,), (), lambda: incident_view.run_facts(store.get_run(run_id)))


@require_safe
@vary_on_headers("HX-Request")
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    size = settings.CONTROLPLANE_PAGE_SIZE
    number = form.cleaned_data["page"] or 1
    status, kind = form.cleaned_data["status"], form.cleaned_data["type"]
    query = RunQuery(statuses=(status,) if status else (), offset=(number - 1) * size, limit=size)
    page = incident_view.readable_page(store_for(request).query_incidents(query, (kind,) if kind else ()))
    context = {
        "nav": "incidents", "form": form, "page": page, "number": number,
        "pages": max(1, math.ceil(page.total / size)), "filtered": bool(status or kind),
    }
    return partial_or_page(request, "incidents/_queue_table.html", "incidents/queue.html", context)


def _incident_context(request: HttpRequest, run_id: str, compare_to: str | None) -> dict[str, Any]:
    store = store_for(request)
    report, plan = incident_payloads(store, run_id, compare_to)
    lines = tree_lines(report["runTree"])
    metrics = cached(store, "incident-run-metrics", (run_id,),
                     lambda: incident_view.run_metrics(report, lambda: store.iter_family(report["runId"])))
    # The copied note's links are absolute: the browser puts its own origin where this stands.
    origin = "" if settings.CONTROLPLANE_BASE_URL else f"origin-{secrets.token_hex(8)}"
    return {
        "nav": "incidents", "run_id": report["runId"], "report": report, "plan": plan, "compare_to": compare_to,
        "metrics": metrics,
        "failed_steps": incident_view.failed_steps(report),
        "recommendations": incident_view.recommendations(report),
        "event_types": incident_view.event_type_changes(report["comparison"]),
        "candidates": candidates_for(store, run_id), "tree_lines": lines[:TREE_LINES_SHOWN],
        "tree_hidden": max(0, len(lines) - TREE_LINES_SHOWN),
        "markdown": incident_markdown(report, plan, note_links(request, origin), compare_to,
                                      run_facts(store, report["runId"])),
        "markdown_origin": origin,
        **recovery_context(store, report, plan, [line.run_id for line in lines]),
    }


@require_safe
@vary_on_headers("HX-Request")
def detail(request: HttpRequest, run_id: str) -> HttpResponse:
    form = IncidentForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    context = _incident_context(request, run_id, form.cleaned_data["compare"] or None)
    return partial_or_page(request, "incidents/_incident_analysis.html", "incidents/incident.html", context)


@require_safe
def report_markdown(request: HttpRequest, run_id: str) -> HttpResponse:
    form = IncidentForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    compare_to = form.cleaned_data["compare"] or None
    store = store_for(request)
    report, plan = incident_payloads(store, run_id, compare_to)
    response = HttpResponse(incident_markdown(report, plan, note_links(request), compare_to,
                                              run_facts(store, report["runId"])),
                            content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="incident.md"'
    return response
