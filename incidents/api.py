"""JSON for scripts: the runtime's own incident, plan and diff payloads."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.http import api_error, invalid_parameters, json_response
from controlplane.stores import DEFAULT_STORE, store_for
from incidents.forms import CompareForm, IncidentForm
from incidents.reports import incident_payloads
from incidents.sides import cached_pair, resolve, unknown_store
from runtime_adapter.present.alignment import compare_payload
from runtime_adapter.records import RunNotFound


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
    # Each side a run of this store or, as <store>:<id>, of another one (incidents.sides).
    current = getattr(request, "store_name", DEFAULT_STORE)
    left_side, right_side = (resolve(ref, current) for ref in form.refs())

    def compute() -> dict[str, object]:
        return compare_payload(left_side.store, left_side.run_id, right_side.store, right_side.run_id)

    try:
        return json_response(cached_pair("api-compare-2", left_side, right_side, (), compute))  # 2: with measures
    except RunNotFound:
        problems = {name: problem for name, side in (("left", left_side), ("right", right_side))
                    if not side.store.has_run(side.run_id) and (problem := unknown_store(side.ref)) is not None}
        if problems:
            return api_error(400, "Invalid parameters: " + " ".join(problems.values()),
                             fields={name: [problem] for name, problem in problems.items()})
        raise
