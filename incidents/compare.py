"""Two runs side by side: TraceDiffer's summary, each run's release and measures, and the aligned step lists."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.caching import cached_for_runs
from controlplane.http import partial_or_page
from controlplane.stores import store_for
from incidents.forms import CompareForm
from runtime_adapter.inspectors import diff_traces
from runtime_adapter.present.alignment import compare_steps, divergences, run_changes, run_header
from runtime_adapter.present.formatting import visible_id
from runtime_adapter.present.incident_view import event_type_changes
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.queries.search_syntax import run_with_prefix
from runtime_adapter.records import RunNotFound


def comparison(store: RunStore, left_id: str, right_id: str, row: int) -> dict[str, Any]:
    """Everything the page shows; cached, as reading two long runs dominates the request."""

    def compute() -> dict[str, Any]:
        left, right = store.get_run(left_id), store.get_run(right_id)
        diff = diff_traces(left, right)
        left_header, right_header = run_header(left), run_header(right)
        return {
            "left": left_header, "right": right_header, "diff": diff,
            "changes": run_changes(left_header, right_header),
            "divergences": divergences(left, right, diff),
            "steps": compare_steps(left["steps"], right["steps"], start=row),
        }

    # The kind names the payload's shape: a process still running the older code must not read this one.
    return cached_for_runs(store, "compare-2", (left_id, right_id), (str(row),), compute)


def _picked(request: HttpRequest) -> HttpResponse:
    """`?pick=1&run=a&run=b` (the run list's ticked rows): a redirect to the older run (left) against the newer."""
    picked = list(dict.fromkeys(request.GET.getlist("run")))
    if len(picked) != 2:
        ticked = "1 run was" if len(picked) == 1 else f"{len(picked)} runs were"
        context = {"nav": "compare", "form": CompareForm(),
                   "pick_error": f"Tick exactly two runs to compare; {ticked} ticked."}
        return render(request, "incidents/compare.html", context, status=400)
    form = CompareForm({"left": picked[0], "right": picked[1]})
    if not form.is_valid():
        return render(request, "incidents/compare.html", {"nav": "compare", "form": form}, status=400)
    ids = [form.cleaned_data["left"], form.cleaned_data["right"]]
    rows = store_for(request).rows_by_id(ids)
    if len(rows) == 2:
        ids.sort(key=lambda run_id: (rows[run_id].created_at or "", run_id))
    return HttpResponseRedirect(f"{reverse('incidents:compare')}?{urlencode({'left': ids[0], 'right': ids[1]})}")


def _not_found(request: HttpRequest, store: RunStore, form: CompareForm, missing: RunNotFound) -> HttpResponse:
    """The form again, saying which of the two ids names no run (a 404, not the bare not-found page)."""
    for name in ("left", "right"):
        run_id = form.cleaned_data[name]
        if run_id == missing.run_id or not _exists(store, run_id):
            form.add_error(name, f"No run with this id in this store: {visible_id(run_id)}")
    return render(request, "incidents/compare.html", {"nav": "compare", "form": form, "missing": True}, status=404)


def _exists(store: RunStore, run_id: str) -> bool:
    try:
        store.get_run(run_id)
    except RunNotFound:
        return False
    return True


def _completed_ids(request: HttpRequest, store: RunStore, data: dict[str, Any]) -> HttpResponse | None:
    """Ids typed as the start of one run's id (as the pages shorten them): the same comparison with the whole ids."""
    params = request.GET.copy()
    for side in ("left", "right"):
        if not store.has_run(data[side]):
            full = run_with_prefix(store, data[side])
            if full is not None:
                params[side] = full
    if params == request.GET:
        return None
    return redirect(f"{request.path}?{params.urlencode()}")


@require_safe
@vary_on_headers("HX-Request")
def compare(request: HttpRequest) -> HttpResponse:
    if ("pick" in request.GET or "run" in request.GET) and "left" not in request.GET and "right" not in request.GET:
        return _picked(request)
    if "left" not in request.GET and "right" not in request.GET:
        return render(request, "incidents/compare.html", {"nav": "compare", "form": CompareForm()})
    form = CompareForm(request.GET)
    if not form.is_valid():
        return render(request, "incidents/compare.html", {"nav": "compare", "form": form}, status=400)
    data = form.cleaned_data
    store = store_for(request)
    completed = _completed_ids(request, store, data)
    if completed is not None:
        return completed
    try:
        found = comparison(store, data["left"], data["right"], data["row"] or 0)
    except RunNotFound as missing:
        return _not_found(request, store, form, missing)
    context: dict[str, Any] = {"nav": "compare", "form": form, **found}
    context["event_types"] = event_type_changes(context["diff"])
    return partial_or_page(request, "incidents/_compare_steps.html", "incidents/compare.html", context)
