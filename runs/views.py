"""Run pages: overview, list, detail with its tabs, and the run tree."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from controlplane import clock
from controlplane.caching import cached, cached_for_family
from controlplane.filters import RunFilterForm
from controlplane.http import invalid_parameters, partial_or_page, wants_partial
from controlplane.stores import store_for
from runtime_adapter.inspectors import correlation_for_run, render_tree
from runtime_adapter.present import detail
from runtime_adapter.present.failure_overview import failure_overview
from runtime_adapter.present.incident_view import readable_page, readable_row
from runtime_adapter.present.lineage import kinds_of, outside_tree
from runtime_adapter.present.provenance import run_provenance, tree_entries_with_kinds
from runtime_adapter.queries.listing import run_row
from runtime_adapter.queries.same_input import same_input_in_other_releases
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.queries.search_syntax import run_with_prefix
from runtime_adapter.queries.usage import bar_chart, totals, usage_windows
from runtime_adapter.records import RunNotFound, replay_source
from runtime_adapter.rows import STATUSES, RunQuery

from .common import PageRun, cached_family, prefix_key, run_tree
from .forms import TabForm, TreeForm
from .tabs import PAGE_SIZES, TAB_NAMES, tab_context, tab_links

OVERVIEW_ROWS = 12


def _failure_overview(store: RunStore) -> dict[str, Any]:
    now = clock.now()
    return cached(store, "overview-failures", (usage_windows(now)[0].end,), lambda: failure_overview(store, now))


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request", "HX-Target")
def overview(request: HttpRequest) -> HttpResponse:
    store = store_for(request)
    if wants_partial(request) and request.htmx.target == "overview-failures":
        return render(request, "runs/_overview_failures.html", _failure_overview(store))
    counts = store.status_counts()
    windows = []
    for window in usage_windows(clock.now()):
        buckets = store.usage_series(window.start, window.end, window.bucket_ms)
        charts = {metric: bar_chart(buckets, metric) for metric in ("total_tokens", "cost", "runs")}
        windows.append({"window": window, "totals": totals(buckets), "charts": charts})
    context = {
        "nav": "overview",
        "counts": [(status, counts.get(status, 0)) for status in STATUSES]
        + sorted((status, count) for status, count in counts.items() if status not in STATUSES),
        "total_runs": sum(counts.values()),
        "attention": readable_page(store.query_runs(RunQuery(attention_only=True, limit=OVERVIEW_ROWS))),
        "recent": store.query_runs(RunQuery(sort="updated", limit=OVERVIEW_ROWS)),
        "usage": windows,
    }
    if not wants_partial(request):
        context.update(_failure_overview(store))
    return partial_or_page(request, "runs/_overview_live.html", "runs/overview.html", context)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request", "X-Search-Submit")
def run_list(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    opened = _opened_by_search(request, store, form.cleaned_data.get("q") or "")
    if opened is not None:
        return opened
    size = settings.CONTROLPLANE_PAGE_SIZE
    page = store.query_runs(form.query(size))
    context = {
        "nav": "runs", "form": form, "page": page, "releases": store.releases(),
        "page_number": page.query.offset // size + 1, "page_count": max(1, -(-page.total // size)),  # at least, where a search's count stopped early
        "shown_from": page.query.offset + 1, "shown_to": page.query.offset + len(page.rows),
        "export_cap": settings.CONTROLPLANE_EXPORT_MAX_RUNS,
    }
    return partial_or_page(request, "runs/_list_table.html", "runs/list.html", context)


def _opened_by_search(request: HttpRequest, store: RunStore, text: str) -> HttpResponse | None:
    """A search that is the start of exactly one run's id and finds only that run, submitted (Enter or Apply; not
    while it is typed or another filter changes, which runs.js tells apart with X-Search-Submit), opens that run."""
    if not text or (request.htmx and request.headers.get("X-Search-Submit") != "1"):
        return None
    # Only when the search finds nothing else: a word like "feed" that happens to start one id still lists the
    # runs that mention it. Asked first, since the list asks the same count: a common word is not looked for
    # in every id (which at a million runs took 0.5 s on every submitted search).
    if store.query_runs(RunQuery(text=text, limit=0)).total != 1:
        return None
    run_id = run_with_prefix(store, text)
    if run_id is None:
        return None
    url = reverse("runs:detail", args=[run_id])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


class DetailForm(TabForm):
    """The tab's paging, plus a deep link: `?step=N` / `?event=N` (numbered from 1 as the tab shows them)
    renders the page of the tab that holds that row, so `#step-N` lands on it without JavaScript.
    On `/runs/<id>/`, `?tab=` names the tab (a step or event link implies its own)."""

    tab = forms.ChoiceField(required=False, choices=[(name, name) for name in TAB_NAMES])
    step = forms.IntegerField(required=False, min_value=1, max_value=10_000_000)
    event = forms.IntegerField(required=False, min_value=1, max_value=10_000_000)


def _deep_link(data: dict[str, Any], tab: str | None) -> tuple[str, int]:
    """The tab to show and its offset: the page holding `?step=`/`?event=` when it names a row of that tab."""
    tab = tab or data["tab"] or ("events" if data["event"] and not data["step"] else "steps")
    row = data["step"] if tab == "steps" else data["event"] if tab == "events" else None
    if row:
        return tab, (row - 1) // PAGE_SIZES[tab] * PAGE_SIZES[tab]
    return tab, data["offset"] or 0


def _link_origin() -> tuple[str, str]:
    """(origin, placeholder) for copied links: the configured origin, never the request's Host header
    (which a client chooses); without one a placeholder the copy button swaps for the page's origin."""
    if settings.CONTROLPLANE_BASE_URL:
        return settings.CONTROLPLANE_BASE_URL, ""
    placeholder = f"origin-{secrets.token_hex(8)}"
    return placeholder, placeholder


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request", "HX-Target")
def run_detail(request: HttpRequest, run_id: str, tab: str | None = None) -> HttpResponse:
    form = DetailForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    try:
        run = store.get_run(run_id)
    except RunNotFound:
        # The start of one run's id (as the pages shorten ids) opens that run.
        full = run_with_prefix(store, run_id)
        if full is None or tab is not None:
            raise
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("runs:detail", args=[full]) + (f"?{query}" if query else ""))
    tab, offset = _deep_link(form.cleaned_data, tab)
    link_origin, link_placeholder = _link_origin()
    context = {"run": run, "tabs": tab_links(run), "link_origin": link_origin, "link_placeholder": link_placeholder,
               "target_row": form.cleaned_data["step"] if tab == "steps" else form.cleaned_data["event"],
               **tab_context(run, tab, offset, form.cleaned_data["type"] or None)}
    if wants_partial(request):
        target = request.htmx.target
        return render(request, "runs/_detail_more.html" if target == "detail-more" else "runs/_detail_tab.html", context)
    row = run_row(run)
    context.update({
        "nav": "runs", "row": readable_row(row), "callouts": detail.pending_callouts(run),
        "breadcrumb": detail.ancestry(run, store.get_run), "related": store.related_rows(run_id),
        "correlation": correlation_for_run(run), "replay_of": replay_source(run),
        "metadata_correlation": run["metadata"].get("correlation"),
        "same_input": same_input_in_other_releases(store, row),
        "provenance": run_provenance(run),
    })
    return render(request, "runs/detail.html", context)


@require_safe
def run_tree_page(request: HttpRequest, run_id: str) -> HttpResponse:
    form = TreeForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    if form.cleaned_data["format"] == "text":
        _, tree = run_tree(store, PageRun(store, run_id))
        return HttpResponse(render_tree(tree), content_type="text/plain; charset=utf-8")

    run = PageRun(store, run_id)
    family, _ = cached_family(store, run)

    def region() -> tuple[str, bool, str]:
        root_id, tree = run_tree(store, run)
        html = render_to_string("runs/_tree_list.html", {
            "run_id": run_id, "entries": tree_entries_with_kinds(detail.tree_entries(tree), kinds_of(family)),
            # Node links are the detail URL with the id quoted as reverse() quotes it: one
            # reverse() per tree instead of one per node.
            "detail_base": reverse("runs:detail", args=["-"])[:-2],
        })
        return root_id, tree is not None, html

    # A 500-run tree takes ~100 ms to render (seconds to build when uncached): the region is
    # cached until a run of this family changes.
    root_id, has_tree, html = cached_for_family(store, "tree-region", run_id, (prefix_key(),), region)
    # Not cached with the region: a new replay of a run in the tree does not change the tree's marker.
    outside = outside_tree(family, detail.tree_ids(run_tree(store, run)[1]), root_id)
    context = {"nav": "runs", "run_id": run_id, "root_id": root_id, "tree": has_tree, "tree_html": mark_safe(html),
               "outside": outside}
    return render(request, "runs/tree.html", context)
