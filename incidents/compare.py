"""Two runs side by side: TraceDiffer's summary, each run's release and measures, and the aligned step lists.

Each side is a run of the store the page reads or, as `<store>:<id>`, of another named store (incidents.sides).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.http import partial_or_page
from controlplane.stores import DEFAULT_STORE, store_for, store_home
from incidents.forms import CompareForm
from incidents.sides import Side, bare_or_qualified, cached_pair, resolve, unknown_store
from runtime_adapter.present.alignment import compare_runs
from runtime_adapter.present.formatting import visible_id
from runtime_adapter.present.incident_view import event_type_changes
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.queries.search_syntax import run_with_prefix
from runtime_adapter.records import RunNotFound


def comparison(left_side: Side, right_side: Side, row: int) -> dict[str, Any]:
    """Everything the page shows; cached, as reading two long runs dominates the request."""

    def compute() -> dict[str, Any]:
        return compare_runs(left_side.store, left_side.run_id, right_side.store, right_side.run_id, start=row)

    # The kind names the payload's shape: a process still running the older code must not read this one.
    return cached_pair("compare-2", left_side, right_side, (str(row),), compute)


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
    current = getattr(request, "store_name", DEFAULT_STORE)
    refs = {"left": bare_or_qualified(ids[0], current), "right": bare_or_qualified(ids[1], current)}
    return HttpResponseRedirect(f"{reverse('incidents:compare')}?{urlencode(refs)}")


def _not_found(request: HttpRequest, sides: dict[str, Side], form: CompareForm) -> HttpResponse:
    """The form again, saying which of the two ids names no run (a 404, not the bare not-found page).

    A bare id that reads like `<store>:<id>` with a store that does not exist is a 400 naming the stores.
    """
    status = 404
    for name, side in sides.items():
        if _exists(side.store, side.run_id):
            continue
        problem = unknown_store(side.ref)
        if problem is not None:
            form.add_error(name, problem)
            status = 400
        elif side.ref.store is not None:
            form.add_error(name, f"No run with this id in store “{side.store_name}”: {visible_id(side.run_id)}")
        else:
            form.add_error(name, f"No run with this id in this store: {visible_id(side.run_id)}")
    return render(request, "incidents/compare.html", {"nav": "compare", "form": form, "missing": status == 404},
                  status=status)


def _exists(store: RunStore, run_id: str) -> bool:
    try:
        store.get_run(run_id)
    except RunNotFound:
        return False
    return True


def _completed_ids(request: HttpRequest, sides: dict[str, Side]) -> HttpResponse | None:
    """Ids typed as the start of one run's id (as the pages shorten them): the same comparison with the whole ids."""
    params = request.GET.copy()
    for name, side in sides.items():
        if not side.store.has_run(side.run_id):
            full = run_with_prefix(side.store, side.run_id)
            if full is not None:
                params[name] = f"{side.ref.store}:{full}" if side.ref.store is not None else full
    if params == request.GET:
        return None
    return redirect(f"{request.path}?{params.urlencode()}")


def _links(request: HttpRequest, side: Side, current: str) -> dict[str, str] | None:
    """Links to a side's run and incident pages when it is a run of another store (else the page's own URLs)."""
    if side.store_name == current:
        return None
    root = getattr(request, "root_script_prefix", None) or get_script_prefix()
    home, prefix = store_home(root, side.store_name), get_script_prefix()
    links = {name: home + reverse(view, args=[side.run_id])[len(prefix):]
             for name, view in (("run", "runs:detail"), ("incident", "incidents:detail"))}
    return {**links, "runs": home + reverse("runs:list")[len(prefix):]}


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
    current = getattr(request, "store_name", DEFAULT_STORE)
    left_ref, right_ref = form.refs()
    sides = {"left": resolve(left_ref, current), "right": resolve(right_ref, current)}
    completed = _completed_ids(request, sides)
    if completed is not None:
        return completed
    try:
        found = comparison(sides["left"], sides["right"], form.cleaned_data["row"] or 0)
    except RunNotFound:
        return _not_found(request, sides, form)
    context: dict[str, Any] = {"nav": "compare", "form": form, **found}
    context["event_types"] = event_type_changes(context["diff"])
    # Which store each side reads, when they are not both this page's.
    across = any(side.store_name != current for side in sides.values())
    context["sides"] = {name: {"ref": side.ref.text, "store": side.store_name if across else None,
                               "links": _links(request, side, current)} for name, side in sides.items()}
    return partial_or_page(request, "incidents/_compare_steps.html", "incidents/compare.html", context)
