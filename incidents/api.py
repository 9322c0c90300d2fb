"""JSON for scripts: the runtime's own incident, plan and diff payloads."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.caching import cached_for_runs
from controlplane.stores import store_for
from incidents.forms import CompareForm, IncidentForm, form_errors
from incidents.views import incident_payloads
from runtime_adapter import jsjson
from runtime_adapter.alignment import align_steps, alignment_payload
from runtime_adapter.inspectors import diff_traces


def _json(payload: object, status: int = 200) -> HttpResponse:
    return HttpResponse(jsjson.dumps(payload), content_type="application/json", status=status)


def _invalid(form: IncidentForm | CompareForm) -> HttpResponse:
    return _json({"error": f"Invalid parameters: {form_errors(form)}"}, status=400)


@require_safe
def incident(request: HttpRequest, run_id: str) -> HttpResponse:
    form = IncidentForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    report, plan = incident_payloads(store_for(request), run_id, form.cleaned_data["compare"] or None)
    return _json({"report": report, "plan": plan})


@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    store = store_for(request)
    left_id, right_id = form.cleaned_data["left"], form.cleaned_data["right"]

    def compute() -> dict[str, object]:
        left, right = store.get_run(left_id), store.get_run(right_id)
        return {"diff": diff_traces(left, right), "alignment": alignment_payload(align_steps(left["steps"], right["steps"]))}

    return _json(cached_for_runs(store, "api-compare", (left_id, right_id), (), compute))
