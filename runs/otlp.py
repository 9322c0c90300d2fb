"""OTLP/JSON views: a run, or a run and the runs under it, as an `ExportTraceServiceRequest`.

Runs come from the request's store, so they are redacted as on every other page; the
mapping is runtime_adapter.present.otlp, the same `manage.py export_otlp` pushes.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.http import api_error, invalid_parameters, json_response
from controlplane.stores import store_for
from runtime_adapter.present.otlp import export_request, family_ids, related_runs


class FamilyForm(forms.Form):
    root = forms.CharField(max_length=1000)


@require_safe
def run_otlp(request: HttpRequest, run_id: str) -> HttpResponse:
    store = store_for(request)
    runs = [store.get_run(run_id)]
    return json_response(export_request(runs, related_runs(runs, store.get_run)))


@require_safe
def family_otlp(request: HttpRequest) -> HttpResponse:
    form = FamilyForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    ids = family_ids(store, store.get_run(form.cleaned_data["root"])["id"])
    cap = settings.CONTROLPLANE_EXPORT_MAX_RUNS
    if len(ids) > cap:
        return api_error(400, f"This family has {len(ids)} runs, more than the export cap of {cap} "
                              f"(CONTROLPLANE_EXPORT_MAX_RUNS); push it with `manage.py export_otlp --root`.")
    runs = [store.get_run(member) for member in ids]
    return json_response(export_request(runs, related_runs(runs, store.get_run)))
