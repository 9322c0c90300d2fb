"""Releases: one row per `metadata.release` label, and one release compared with another."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.http import file_stem, invalid_parameters, partial_or_page
from controlplane.stores import store_for
from runtime_adapter.present.release_markdown import ReleaseLinks, release_markdown
from runtime_adapter.present.release_view import cluster_groups, comparison_view, release_rows, scope_text
from runtime_adapter.queries.fleet import UnknownRelease
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.rows import RunQuery

from . import reports
from .forms import SCOPE_FIELDS, CompareForm, ReleaseFilterForm


def _carried(request: HttpRequest, *names: str) -> list[tuple[str, str]]:
    """The query parameters a link to another release page keeps (the scope, and `names`)."""
    kept = (*names, *SCOPE_FIELDS)
    return [(name, value) for name, values in request.GET.lists() if name in kept for value in values]


def note_links(request: HttpRequest, origin: str = "") -> ReleaseLinks:
    # The configured origin, never the request's Host header (which a client chooses); without
    # one, `origin` (a placeholder the copy button swaps for the page's origin) or relative links.
    base = settings.CONTROLPLANE_BASE_URL or origin

    def absolute(name: str, query: list[tuple[str, str]] | None = None) -> str:
        return base + reverse(name) + (f"?{urlencode(query)}" if query else "")

    return ReleaseLinks(
        comparison=absolute("releases:compare", _carried(request, "base", "head")),
        releases=absolute("releases:list", _carried(request)),
        runs_of=lambda release: absolute("runs:list", [("release", release)]),
        cluster=lambda cluster_id: base + reverse("incidents:cluster", args=[cluster_id]),
        pair=lambda left, right: absolute("incidents:compare", [("left", left), ("right", right)]),
    )


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def release_list(request: HttpRequest) -> HttpResponse:
    form = ReleaseFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    summaries = reports.releases(store_for(request), form.query(0))
    names = [summary.release for summary in summaries]
    context = {
        "nav": "releases", "form": form, "rows": release_rows(summaries), "names": names,
        "default_head": names[0] if names else "", "default_base": names[1] if len(names) > 1 else "",
        "scope": _carried(request),
    }
    return partial_or_page(request, "releases/_list_table.html", "releases/list.html", context)


def _unknown_release(request: HttpRequest, release: str, form: CompareForm) -> HttpResponse:
    known = reports.releases(store_for(request), form.query(0))
    context = {"nav": "releases", "release": release, "known": [summary.release for summary in known],
               "form": form, "base": form.cleaned_data["base"], "head": form.cleaned_data["head"]}
    return render(request, "releases/unknown_release.html", context, status=404)


def _names_in_scope(store: RunStore, query: RunQuery) -> list[str]:
    """The release labels with runs in scope, for the selectors. Without filters, every label the store holds,
    which it knows at once (the releases page's report computes percentiles per release: ~1 s at a million runs
    on a first request)."""
    if query.selection() == RunQuery().selection():
        return store.releases()
    return sorted(summary.release for summary in reports.releases(store, query))  # as the store lists them


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def compare(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    base, head, query = form.cleaned_data["base"], form.cleaned_data["head"], form.query(0)
    store = store_for(request)
    try:
        report = reports.comparison(store, query, base, head)
    except UnknownRelease as error:
        return _unknown_release(request, str(error.args[0]), form)
    # The copied summary's links are absolute: the browser puts its own origin where this stands.
    origin = "" if settings.CONTROLPLANE_BASE_URL else f"origin-{secrets.token_hex(8)}"
    comparison = report.comparison
    context: dict[str, Any] = {
        "nav": "releases", "form": form, "base": base, "head": head, "comparison": comparison,
        "view": comparison_view(comparison), "clusters": cluster_groups(comparison, report.base_counts),
        "names": _names_in_scope(store, query),
        "markdown": release_markdown(comparison, note_links(request, origin), scope_text(query)),
        "markdown_origin": origin,
    }
    return partial_or_page(request, "releases/_compare_report.html", "releases/compare.html", context)


@require_safe
def compare_markdown(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    base, head, query = form.cleaned_data["base"], form.cleaned_data["head"], form.query(0)
    try:
        report = reports.comparison(store_for(request), query, base, head)
    except UnknownRelease as error:
        return _unknown_release(request, str(error.args[0]), form)
    text = release_markdown(report.comparison, note_links(request), scope_text(query))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    filename = f"release-{file_stem(head, limit=60, fallback='release')}-vs-{file_stem(base, limit=60, fallback='release')}.md"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
