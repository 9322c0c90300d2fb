"""Query strings of the job pages: filters by status, handler and signal, and the page."""

from __future__ import annotations

from django import forms

from runtime_adapter.durable.jobs import JobQuery
from runtime_adapter.present.jobs_view import SIGNAL_CHOICES


class JobFilterForm(forms.Form):
    # Not choices: a job written by hand through saveJob may hold any status or handler name.
    status = forms.CharField(required=False, max_length=200, strip=False)
    handler = forms.CharField(required=False, max_length=500, strip=False)
    signal = forms.ChoiceField(required=False, choices=SIGNAL_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    @property
    def number(self) -> int:
        return self.cleaned_data.get("page") or 1

    def query(self, page_size: int | None) -> JobQuery:
        data = self.cleaned_data
        offset = (self.number - 1) * page_size if page_size else 0
        return JobQuery(status=data["status"], handler=data["handler"], signal=data["signal"], offset=offset,
                        limit=page_size)

    @property
    def is_filtered(self) -> bool:
        return self.query(None).filtered
