"""Error pages that keep the site's layout and answer JSON under /api/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader

from controlplane.http import api_error, error_response, is_api


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, "The request was not understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, "You are not allowed to see this page.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, "There is no page at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return api_error(500, "Internal error.")
    # No context processors: the failure may be in one of them.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
