"""JSON for scripts: the jobs with their signals, and one job (redacted) with its history.

Errors are `{"error": …}`: 400 for bad parameters, 404 for an unknown job or a job store that is missing or unset
(with `setting`), 422 for an unreadable job file.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from controlplane.http import api_error, invalid_parameters, json_response
from runtime_adapter.durable import jobs as durable

from . import store
from .forms import JobFilterForm


def _unavailable(error: durable.JobStoreUnavailable) -> HttpResponse:
    return api_error(404, f"The job store cannot be read: {error.reason}", setting=durable.SETTING,
                     location=error.location or None)


@require_safe
def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET)
    if not form.is_valid():
        return invalid_parameters(request, form)
    size = settings.CONTROLPLANE_PAGE_SIZE
    try:
        page = durable.list_jobs(store.url(), form.query(size), **store.reading())
    except durable.JobStoreUnavailable as error:
        return _unavailable(error)
    return json_response({
        "jobs": [job.as_api() for job in page.jobs], "total": page.total,
        "page": form.number, "pageSize": size,
        "errors": [error.as_api() for error in page.errors],
    })


@require_safe
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    try:
        detail = durable.job_detail(store.url(), job_id, run_exists=store.run_exists(request), **store.reading())
    except durable.JobStoreUnavailable as error:
        return _unavailable(error)
    except durable.JobNotFound:
        return api_error(404, f'No job "{job_id}" in the job store: it has no file named {job_id}.json.', jobId=job_id)
    except durable.UnreadableJob as unreadable:
        error = unreadable.error
        return api_error(422, f"The job file {error.file} cannot be read as a job: {error.reason}.",
                         jobId=job_id, effect=error.effect or None)
    job = detail.job
    return json_response({
        **job.as_api(), "file": job.file, "notes": list(job.notes),
        "history": [entry.as_api() for entry in job.history],
        "runs": [{"runId": mention.run_id, "places": list(mention.places), "inRunStore": mention.exists}
                 for mention in detail.runs],
        "job": job.record,
    })
