"""Request plumbing: store selection by URL prefix, login, CSP, and store errors as pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import get_script_prefix, set_script_prefix

from controlplane.http import api_error, error_response, is_api, split_store_prefix
from controlplane.stores import DEFAULT_STORE, forget_store, store_exists
from controlplane.uploads import UPLOAD_PREFIX
from runtime_adapter.records import CorruptRun, InvalidRunId, RunNotFound, StoreUnavailable
from runtime_adapter.stores.registry import UnknownStoreScheme

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # Inline style attributes only (bars, SVG): scripts stay external and same-origin.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


class StorePrefixMiddleware:
    """`/s/<name>/runs/…` reads store <name>; links rendered there keep the prefix.

    Setting the script prefix for the request makes every `reverse()` and `{% url %}`
    carry the store name, so a pasted link opens the same store.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.store_name = DEFAULT_STORE  # type: ignore[attr-defined]
        name, rest = split_store_prefix(request.path_info)
        if name is None:
            return self.get_response(request)
        previous = get_script_prefix()
        request.root_script_prefix = previous  # type: ignore[attr-defined]
        request.path_info = rest
        if not store_exists(name):
            # Answered after authentication (ControlPlaneLoginRequiredMiddleware.process_request), so
            # an anonymous visitor gets the same login redirect for every name and cannot probe them.
            request.unknown_store = name  # type: ignore[attr-defined]
            return self.get_response(request)
        request.store_name = name  # type: ignore[attr-defined]
        set_script_prefix(f"{previous}s/{name}/")
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(previous)


class ControlPlaneLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's login-required middleware, off when CONTROLPLANE_LOGIN_REQUIRED=0."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        """Any /s/<name>/ address: the login redirect when anonymous, known name or not; then unknown → 404."""
        if not hasattr(request, "root_script_prefix"):
            return None
        if settings.CONTROLPLANE_LOGIN_REQUIRED and not request.user.is_authenticated:
            if is_api(request):
                return api_error(401, "Authentication required.")
            login, root = resolve_url(settings.LOGIN_URL), request.root_script_prefix
            prefix = get_script_prefix()
            if login.startswith(prefix):  # the site's own login page, outside any store prefix
                login = root + login[len(prefix):]
            if login.startswith(root) and request.path_info == "/" + login[len(root):]:
                # The login page under a store prefix (where signing out lands): the site's own, same `next`.
                query = request.META.get("QUERY_STRING", "")
                return HttpResponseRedirect(f"{login}?{query}" if query else login)
            return redirect_to_login(request.get_full_path(), login)
        name = getattr(request, "unknown_store", None)
        if name is None:
            return None
        message = f'No run store is named "{name}".'
        if name.startswith(UPLOAD_PREFIX):
            forget_store(name)
            message = ("No uploaded bundle is open under this link: it was never uploaded here or it has expired "
                       f"(uploads are kept {settings.CONTROLPLANE_UPLOAD_TTL_HOURS} hours). Upload it again.")
        return error_response(request, 404, message)

    def process_view(self, request, view_func, view_args, view_kwargs):  # type: ignore[no-untyped-def]
        if not settings.CONTROLPLANE_LOGIN_REQUIRED:
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):  # type: ignore[no-untyped-def]
        if is_api(request):
            return api_error(401, "Authentication required.")
        return super().handle_no_permission(request, view_func)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class StoreErrorMiddleware:
    """One path for store errors: unknown run → 404, bad id → 400, store down → 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # `..%2F..%2Fetc%2Fpasswd` arrives decoded: refuse traversal-shaped paths as a bad
        # request before any view (or store) sees them, rather than as "no such page".
        if unsafe_path(request.path_info):
            return error_response(request, 400, "A run id must be a plain file name: '.', '..', '\\' and NUL are refused.")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RunNotFound):
            return error_response(request, 404, str(exception), run_id=exception.run_id)
        if isinstance(exception, InvalidRunId):
            return error_response(request, 400, str(exception))
        if isinstance(exception, CorruptRun):
            return error_response(request, 422, f"The stored run cannot be read: {exception.reason}.")
        if isinstance(exception, (StoreUnavailable, UnknownStoreScheme)):
            return error_response(request, 503, str(exception))
        if isinstance(exception, UnicodeEncodeError):
            # Text from outside the stores (an uploaded file, say) with an unpaired surrogate,
            # which JSON allows and UTF-8 cannot encode; store data is scrubbed before this.
            return error_response(request, 422, "The content holds text that cannot be shown (an unpaired UTF-16 surrogate).")
        return None


def unsafe_path(path: str) -> bool:
    return "\x00" in path or "\\" in path or any(segment in (".", "..") for segment in path.split("/"))

