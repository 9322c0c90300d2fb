"""Jobs: the FileJobStore's jobs with the signals an operator needs, and one job with its history and runs."""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from controlplane.http import invalid_parameters, partial_or_page
from runtime_adapter.durable import jobs as durable
from runtime_adapter.present.jobs_view import SIGNAL_LABELS, job_rows, job_view, pretty_json

from . import store
from .forms import JobFilterForm


def unavailable(request: HttpRequest, error: durable.JobStoreUnavailable, *, job_id: str = "") -> HttpResponse:
    # Not a 5xx: the control plane answers as it should; what is missing is the job directory it was pointed at
    # (the list says so with a 200, a job in it is not found).
    context = {"nav": "jobs", "setting": durable.SETTING, "configured": store.url(), "reason": error.reason,
               "location": error.location, "job_id": job_id}
    return render(request, "jobs/unavailable.html", context, status=404 if job_id else 200)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    size = settings.CONTROLPLANE_PAGE_SIZE
    options = store.reading()
    try:
        page = durable.list_jobs(store.url(), form.query(size), **options)
    except durable.JobStoreUnavailable as error:
        return unavailable(request, error)
    context = {
        "nav": "jobs", "form": form, "page": page, "rows": job_rows(page.jobs, options["now"]),
        "number": form.number, "pages": max(1, math.ceil(page.total / size)),
        "signals": [(name, SIGNAL_LABELS[name], page.signal_counts[name]) for name in durable.SIGNALS],
        "signal_choices": form.fields["signal"].choices, "now": options["now"],
    }
    return partial_or_page(request, "jobs/_list_table.html", "jobs/list.html", context)


@require_safe
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    options = store.reading()
    try:
        detail = durable.job_detail(store.url(), job_id, run_exists=store.run_exists(request), **options)
    except durable.JobStoreUnavailable as error:
        return unavailable(request, error, job_id=job_id)
    except durable.JobNotFound:
        return render(request, "jobs/unknown_job.html", {"nav": "jobs", "job_id": job_id}, status=404)
    except durable.UnreadableJob as unreadable:
        error = unreadable.error
        content = pretty_json(error.content) if error.content is not None else ""
        return render(request, "jobs/unreadable_job.html",
                      {"nav": "jobs", "error": error, "content": content}, status=422)
    context = {"nav": "jobs", "job": detail.job, "view": job_view(detail, options["now"]),
               "directory": detail.directory, "redacting": settings.CONTROLPLANE_REDACT_SECRETS}
    return render(request, "jobs/detail.html", context)
