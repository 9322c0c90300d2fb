"""The one sign-in form: failed attempts are throttled, and the admin sends everyone here.

Failures are counted in Django's cache (shared by every node when it is Redis) in fixed
windows of CONTROLPLANE_LOGIN_LOCKOUT_MINUTES: per account and address, so guessing one
user's password from one place stops after a few tries without letting anyone lock that
user out from elsewhere, and per address, so one client cannot spray many accounts.
While locked, the password is not even checked: a right guess would otherwise show.
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from controlplane.demo import password_file
from controlplane.http import error_response


def _counters(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    address = request.META.get("REMOTE_ADDR", "")
    # As the form reads it (NFKC, like UsernameField): "ｄｅｍｏ" signs in as "demo", so it counts as "demo".
    account = hashlib.sha256(f"{unicodedata.normalize('NFKC', username).strip().casefold()}\x00{address}"
                             .encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [(f"login-failures:account:{account}", settings.CONTROLPLANE_LOGIN_MAX_FAILURES),
            (f"login-failures:address:{hashlib.sha256(address.encode()).hexdigest()[:32]}",
             settings.CONTROLPLANE_LOGIN_MAX_FAILURES_PER_ADDRESS)]


def _window() -> int:
    return settings.CONTROLPLANE_LOGIN_LOCKOUT_MINUTES * 60


def locked_seconds(request: HttpRequest, username: str) -> float:
    """How long this account and address must wait before the next attempt (0: it may try now)."""
    now = time.time()
    waits = [max(1.0, (cache.get(f"{key}:until") or now + _window()) - now)
             for key, limit in _counters(request, username) if (cache.get(key) or 0) >= limit]
    return max(waits, default=0.0)


def record_failure(request: HttpRequest, username: str) -> None:
    window = _window()
    for key, _ in _counters(request, username):
        if cache.add(key, 1, window):
            cache.set(f"{key}:until", time.time() + window, window)
            continue
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add() and incr()
            cache.set(key, 1, window)


def clear_failures(request: HttpRequest, username: str) -> None:
    cache.delete(_counters(request, username)[0][0])


class ThrottledLoginView(LoginView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The page says where the demo login comes from only where `make run` made one.
        return super().get_context_data(demo_login=password_file().exists(), **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = locked_seconds(request, username)
        if wait:
            form = self.get_form_class()(request, initial={"username": username})
            context = self.get_context_data(form=form, locked_minutes=math.ceil(wait / 60))
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        record_failure(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        clear_failures(self.request, self.request.POST.get("username", ""))
        return super().form_valid(form)


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """In place of the admin's own sign-in form, which would be a second, unthrottled one."""
    target = request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None, require_https=request.is_secure()):
        target = reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(target, settings.LOGIN_URL)
    if request.user.is_active and request.user.is_staff:
        return HttpResponseRedirect(target)
    return error_response(request, 403, "The admin is for staff accounts; you are signed in with a viewer account.")
