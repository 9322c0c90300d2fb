"""The audit log page: FileAuditSink entries newest first, filtered, each linked to its run; and the panel
a run's page loads with that run's entries."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.http import error_response, invalid_parameters, partial_or_page, wants_partial
from controlplane.stores import store_for
from runtime_adapter.durable.audit import DEFAULT_EVENT_TYPES, BadCursor
from runtime_adapter.present.audit_view import audit_view

from .forms import AuditFilterForm

# The region a run's page swaps in (templates/runs/_detail_audit.html).
RUN_PANEL = "run-audit"


@require_safe
@vary_on_headers("HX-Request", "HX-Target", "HX-History-Restore-Request")
def index(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    try:
        view = audit_view(settings.CONTROLPLANE_AUDIT_LOG, form.query(settings.CONTROLPLANE_PAGE_SIZE),
                          secrets=settings.CONTROLPLANE_REDACT_SECRETS, store=store_for(request))
    except BadCursor as error:
        return error_response(request, 400, f"Invalid parameters: cursor: {error}")
    context = {"nav": "audit", "form": form, "view": view, "event_types": DEFAULT_EVENT_TYPES,
               "run_id": form.cleaned_data["runId"], "continued": form.cleaned_data["cursor"] is not None}
    if wants_partial(request) and request.headers.get("HX-Target") == RUN_PANEL:
        return render(request, "audit/_list_panel.html", context)
    return partial_or_page(request, "audit/_list_entries.html", "audit/list.html", context)
