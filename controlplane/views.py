"""Error pages that keep the site's layout and answer JSON under /api/, and the store picker's form."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import loader
from django.urls import get_script_prefix
from django.views.decorators.http import require_safe

from controlplane.http import api_error, error_response, invalid_parameters, is_api
from controlplane.stores import DEFAULT_STORE, picker_store_names, store_home


class StoreChoiceForm(forms.Form):
    store = forms.ChoiceField()

    def __init__(self, data: object, names: list[str]) -> None:
        super().__init__(data)
        self.fields["store"].choices = [(name, name) for name in names]


@require_safe
def switch_store(request: HttpRequest) -> HttpResponse:
    """The store picker's form (a <select> when there are many stores): open the chosen store's overview."""
    form = StoreChoiceForm(request.GET, picker_store_names(getattr(request, "store_name", DEFAULT_STORE)))
    if not form.is_valid():
        return invalid_parameters(request, form)
    root = getattr(request, "root_script_prefix", None) or get_script_prefix()
    return HttpResponseRedirect(store_home(root, form.cleaned_data["store"]))


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
