"""JSON for scripts: the releases and a release-to-release comparison. Errors are `{"error": …}` with 400/404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.http import api_error, invalid_parameters, json_response
from controlplane.stores import store_for
from runtime_adapter.queries.fleet import UnknownRelease

from . import reports
from .forms import CompareForm, ReleaseFilterForm


@require_safe
def release_list(request: HttpRequest) -> HttpResponse:
    form = ReleaseFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    summaries = reports.releases(store_for(request), form.query(0))
    return json_response({"releases": [summary.as_api() for summary in summaries]})


@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    try:
        report = reports.comparison(store_for(request), form.query(0), form.cleaned_data["base"],
                                    form.cleaned_data["head"])
    except UnknownRelease as error:
        release = str(error.args[0])
        return api_error(404, f'No run carries the release "{release}".', release=release)
    return json_response(report.comparison.as_api())
