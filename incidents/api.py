"""JSON for scripts: the runtime's own incident, plan and diff payloads."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.caching import cached_for_runs
from controlplane.http import invalid_parameters, json_response
from controlplane.stores import store_for
from incidents.forms import CompareForm, IncidentForm
from incidents.reports import incident_payloads
from runtime_adapter.inspectors import diff_traces
from runtime_adapter.present.alignment import align_steps, alignment_payload, measures_payload, run_header


@require_safe
def incident(request: HttpRequest, run_id: str) -> HttpResponse:
    form = IncidentForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    report, plan = incident_payloads(store_for(request), run_id, form.cleaned_data["compare"] or None)
    return json_response({"report": report, "plan": plan})


@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    left_id, right_id = form.cleaned_data["left"], form.cleaned_data["right"]

    def compute() -> dict[str, object]:
        left, right = store.get_run(left_id), store.get_run(right_id)
        return {"diff": diff_traces(left, right), "alignment": alignment_payload(align_steps(left["steps"], right["steps"])),
                "measures": measures_payload(run_header(left), run_header(right))}

    return json_response(cached_for_runs(store, "api-compare-2", (left_id, right_id), (), compute))  # 2: with measures
