"""JSON for scripts: audit log entries, newest first.

Errors are `{"error": …}`: 400 for bad parameters, 404 when there is no log (no file, or the setting unset) and
422 for a file that cannot be read as one (a directory, binary data), both naming the `setting`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.http import api_error, invalid_parameters, json_response
from runtime_adapter.durable.audit import BadCursor
from runtime_adapter.present.audit_view import audit_view

from .forms import ApiAuditFilterForm


@require_safe
def entries(request: HttpRequest) -> HttpResponse:
    form = ApiAuditFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    limit = form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE
    try:
        view = audit_view(settings.CONTROLPLANE_AUDIT_LOG, form.query(limit), secrets=settings.CONTROLPLANE_REDACT_SECRETS)
    except BadCursor as error:
        return api_error(400, f"Invalid parameters: cursor: {error}", fields={"cursor": [str(error)]})
    if view.unavailable is not None:
        message = f"The audit log (CONTROLPLANE_AUDIT_LOG) cannot be read: {view.path or '(not set)'}: {view.unavailable}."
        return api_error(404 if view.missing else 422, message, setting="CONTROLPLANE_AUDIT_LOG", path=view.path or None)
    return json_response(view.as_api())
