"""The approvals inbox (runs waiting for approval, longest waiting first) and the resolved approvals."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane import clock
from controlplane.http import invalid_parameters, partial_or_page
from controlplane.stores import store_for
from runtime_adapter.present.approvals_view import HANDLER_NOTE, HISTORY_NOTE, approval_views, resolution_views
from runtime_adapter.queries.approvals import (
    HISTORY_READS_PER_ITEM,
    SIDE_EFFECT_LEVELS,
    approval_history,
    pending_approvals,
)

from .forms import ApprovalFilterForm, HistoryFilterForm


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def index(request: HttpRequest) -> HttpResponse:
    form = ApprovalFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    limit = form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE
    filters = form.filters()
    page = pending_approvals(store_for(request), filters, clock.now(), offset=form.cleaned_data["cursor"],
                             limit=limit, secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    context = {
        "nav": "approvals", "tab": "pending", "form": form, "filters": filters, "page": page,
        "items": approval_views(page.approvals), "levels": SIDE_EFFECT_LEVELS, "handler_note": HANDLER_NOTE,
        "shown_from": page.offset + 1, "shown_to": page.offset + page.read,
    }
    return partial_or_page(request, "approvals/_list_results.html", "approvals/list.html", context)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    limit = form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE
    reads = limit * HISTORY_READS_PER_ITEM
    page = approval_history(store_for(request), form.filters(), offset=form.cleaned_data["cursor"], limit=limit,
                            reads=reads, secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    context = {
        "nav": "approvals", "tab": "history", "form": form, "page": page, "reads": reads,
        "items": resolution_views(page.resolutions), "levels": SIDE_EFFECT_LEVELS, "history_note": HISTORY_NOTE,
    }
    return partial_or_page(request, "approvals/_history_results.html", "approvals/history.html", context)
