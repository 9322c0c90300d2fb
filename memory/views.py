"""Memory: scaffold, replaced by the issue 13 work in progress."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "error.html", {"nav": "memory", "title": "Memory", "message": "Not built yet."}, status=501)
