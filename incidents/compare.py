"""Two runs side by side: TraceDiffer's summary and the aligned step lists."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.stores import store_for
from incidents.forms import CompareForm
from runtime_adapter.alignment import compare_steps, divergences
from runtime_adapter.inspectors import diff_traces


@require_safe
@vary_on_headers("HX-Request")
def compare(request: HttpRequest) -> HttpResponse:
    if "left" not in request.GET and "right" not in request.GET:
        return render(request, "incidents/compare.html", {"nav": "compare", "form": CompareForm()})
    form = CompareForm(request.GET)
    if not form.is_valid():
        return render(request, "incidents/compare.html", {"nav": "compare", "form": form}, status=400)
    store = store_for(request)
    left, right = store.get_run(form.cleaned_data["left"]), store.get_run(form.cleaned_data["right"])
    diff = diff_traces(left, right)
    context = {
        "nav": "compare", "form": form, "left": left, "right": right, "diff": diff,
        "divergences": divergences(left, right, diff),
        "steps": compare_steps(left["steps"], right["steps"], start=form.cleaned_data["row"] or 0),
    }
    return render(request, "incidents/_compare_steps.html" if request.htmx else "incidents/compare.html", context)
