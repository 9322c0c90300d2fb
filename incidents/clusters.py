"""Failure clusters: the clusters page, a cluster page and their JSON API.

A cluster is every run that needs attention with one failure signature
(`runtime_adapter.queries.fleet`); its id is a hash of that signature, so a cluster's
URL stays the same across restarts and re-indexing.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane import clock
from controlplane.caching import cached
from controlplane.http import (
    api_error,
    error_page,
    invalid_parameters,
    json_response,
    partial_or_page,
    wants_partial,
)
from controlplane.stores import store_for
from incidents.forms import ClusterFilterForm, ClusterMembersForm
from incidents.reports import incident_payloads
from runtime_adapter.present.cluster_view import shown_cluster
from runtime_adapter.queries.fleet import ClusterDetail, UnknownCluster, cluster_detail, cluster_report
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, RunNotFound
from runtime_adapter.rows import ClusterReport, RunQuery

CLUSTERS_PER_PAGE = 100
ROOTS_SHOWN = 20
CLUSTER_ID = re.compile(r"[0-9a-f]{16}")


def _report(store: RunStore, query: RunQuery) -> ClusterReport:
    scope = replace(query, offset=0, limit=0)
    return cached(store, "cluster-report", (repr(scope),), lambda: cluster_report(store, scope))


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def clusters(request: HttpRequest) -> HttpResponse:
    form = ClusterFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    number = form.cleaned_data["page"] or 1
    query = form.query(CLUSTERS_PER_PAGE)

    def region() -> str:
        report = _report(store, query)
        start = (number - 1) * CLUSTERS_PER_PAGE
        return render_to_string("incidents/_clusters_table.html", {
            "form": form, "report": report, "number": number,
            "shown": [shown_cluster(cluster, report.window) for cluster in report.clusters[start:start + CLUSTERS_PER_PAGE]],
            "pages": max(1, math.ceil(len(report.clusters) / CLUSTERS_PER_PAGE)),
            "shown_from": start + 1, "shown_to": min(start + CLUSTERS_PER_PAGE, len(report.clusters)),
        }, request)

    # A page of 100 clusters takes ~100 ms to render: the region is cached while the store is
    # unchanged, per query string and store prefix (its links), and for a minute at most (its relative times).
    minute = clock.now().strftime("%Y-%m-%dT%H:%M")
    table = mark_safe(cached(store, "clusters-region", (request.GET.urlencode(), get_script_prefix(), minute), region))
    if wants_partial(request):
        return HttpResponse(table)
    return render(request, "incidents/clusters.html",
                  {"nav": "incidents", "form": form, "releases": store.releases(), "table": table})


def _unknown_cluster(request: HttpRequest, cluster_id: str, api: bool) -> HttpResponse:
    message = (f"No run in this store has the failure signature {cluster_id}." if CLUSTER_ID.fullmatch(cluster_id)
               else "A cluster id is 16 hexadecimal characters, as in the links of the clusters page.")
    if api:
        return api_error(404, message, cluster_id=cluster_id)
    return error_page(request, 404, message, back_url=reverse("incidents:clusters"), back_text="All failure clusters")


def _detail(store: RunStore, cluster_id: str, query: RunQuery) -> tuple[ClusterDetail, str | None]:
    """The cluster in scope of `query`, and the latest completed run given its newest member's input."""

    def compute() -> tuple[ClusterDetail, str | None]:
        detail = cluster_detail(store, cluster_id, query)
        newest = store.rows_by_id([detail.cluster.newest_run_id]).get(detail.cluster.newest_run_id)
        # The newest completed run given exactly the same input (its listed text, then the whole input's key).
        completed = [row for row in store.rows_with_input(newest.input_text, statuses=("completed",), limit=20)
                     if row.input_key == newest.input_key] if newest and newest.input_key else []
        return detail, completed[0].id if completed else None

    return cached(store, "cluster-detail", (cluster_id, repr(query)), compute)


def _newest_incident(store: RunStore, run_id: str) -> dict[str, Any] | None:
    if not run_id:
        return None
    try:
        report, plan = incident_payloads(store, run_id, None)
    except (RunNotFound, CorruptRun):
        return None  # written over or removed since the index saw it: the members list still shows it
    return {"report": report, "plan": plan, "recommendations": report["recommendations"][:3]}


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def cluster(request: HttpRequest, cluster_id: str) -> HttpResponse:
    form = ClusterMembersForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    store = store_for(request)
    query = form.query(form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE, form.cleaned_data["cursor"] or 0)
    if not CLUSTER_ID.fullmatch(cluster_id):
        return _unknown_cluster(request, cluster_id, api=False)
    try:
        detail, completed_id = _detail(store, cluster_id, query)
    except UnknownCluster:
        return _unknown_cluster(request, cluster_id, api=False)
    roots = list(detail.by_root.items())
    context = {
        "nav": "incidents", "form": form, "cluster_id": cluster_id, "detail": detail, "members": detail.members,
        **shown_cluster(detail.cluster, detail.window), "roots": roots[:ROOTS_SHOWN],
        "roots_hidden": len(roots) - min(len(roots), ROOTS_SHOWN), "completed_id": completed_id,
        "incident": _newest_incident(store, detail.cluster.newest_run_id),
        "first_page": not form.cleaned_data["cursor"], "shown_from": query.offset + 1,
        "shown_to": query.offset + len(detail.members.rows),
    }
    return partial_or_page(request, "incidents/_cluster_members.html", "incidents/cluster.html", context)


@require_safe
def api_clusters(request: HttpRequest) -> HttpResponse:
    """`{"clusters": [...], "total"}`, most runs first, paged as the clusters page is (`page`)."""
    form = ClusterFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    report = _report(store_for(request), form.query(CLUSTERS_PER_PAGE))
    start = ((form.cleaned_data["page"] or 1) - 1) * CLUSTERS_PER_PAGE
    listed = report.clusters[start:start + CLUSTERS_PER_PAGE]
    return json_response({"clusters": [cluster.as_api() for cluster in listed], "total": len(report.clusters)})


@require_safe
def api_cluster(request: HttpRequest, cluster_id: str) -> HttpResponse:
    """`{"cluster": {...}, "runIds": [...], "nextCursor"}`: members newest first, `limit` at a time."""
    form = ClusterMembersForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    if not CLUSTER_ID.fullmatch(cluster_id):
        return _unknown_cluster(request, cluster_id, api=True)
    query = form.query(form.cleaned_data["limit"] or settings.CONTROLPLANE_PAGE_SIZE, form.cleaned_data["cursor"] or 0)
    store = store_for(request)
    try:
        detail = cached(store, "cluster-members", (cluster_id, repr(query)),
                        lambda: cluster_detail(store, cluster_id, query))
    except UnknownCluster:
        return _unknown_cluster(request, cluster_id, api=True)
    return json_response({"cluster": detail.cluster.as_api(), "runIds": [row.id for row in detail.members.rows],
                          "nextCursor": detail.members.next_cursor})
