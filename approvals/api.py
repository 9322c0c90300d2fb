"""JSON for scripts: the runs waiting for approval and the resolved approvals. Errors are `{"error": …}` with 400."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane import clock
from controlplane.http import invalid_parameters, json_response
from controlplane.stores import store_for
from runtime_adapter.queries.approvals import approval_history, pending_approvals

from .forms import ApprovalFilterForm, HistoryFilterForm


@require_safe
def approval_list(request: HttpRequest) -> HttpResponse:
    """`{"approvals": [...], "total", "nextCursor", "read", "unreadable"}`, longest waiting first.

    `total` counts the runs waiting for approval that match the filters a listing row answers (tool, release,
    age); `sideEffectLevel` is in each run's file, so with it a page lists the matches among the `read` runs.
    """
    form = ApprovalFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    page = pending_approvals(store_for(request), form.filters(), clock.now(), offset=form.cleaned_data["cursor"],
                             limit=form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE,
                             secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    return json_response({"approvals": [approval.as_api() for approval in page.approvals], "total": page.total,
                          "nextCursor": page.next_cursor, "read": page.read, "unreadable": page.unreadable})


@require_safe
def approval_history_list(request: HttpRequest) -> HttpResponse:
    """`{"resolutions": [...], "nextCursor", "read", "unreadable"}`: runs most recently updated first."""
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    limit = form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE
    page = approval_history(store_for(request), form.filters(), offset=form.cleaned_data["cursor"], limit=limit,
                            secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    return json_response({"resolutions": [item.as_api() for item in page.resolutions],
                          "nextCursor": page.next_cursor, "read": page.read, "unreadable": page.unreadable})
