"""Query strings of the audit log page and API: the entry filters, named as the entries' fields, and the cursor."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django import forms

from controlplane import clock
from controlplane.filters import SINCE, SINCE_CHOICES, STATUS_CHOICES, InstantField
from runtime_adapter.durable.audit import AuditQuery, BadCursor, Cursor

FILTER_FIELDS = ("eventType", "runId", "status", "since", "after", "before")


class AuditFilterForm(forms.Form):
    eventType = forms.CharField(required=False, max_length=200, strip=True, label="Event type")
    # Not stripped: matched exactly as the entries carry it (the run page passes its id as it is).
    runId = forms.CharField(required=False, max_length=2000, strip=False, label="Run id")
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *STATUS_CHOICES], label="Run status")
    since = forms.ChoiceField(required=False, choices=SINCE_CHOICES, label="Time range")
    after = InstantField(required=False, label="From")
    before = InstantField(required=False, label="Until")
    cursor = forms.CharField(required=False, max_length=200)

    def clean_cursor(self) -> Cursor | None:
        text = self.cleaned_data.get("cursor")
        if not text:
            return None
        try:
            return Cursor.decode(text)
        except BadCursor as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        after, before = data.get("after"), data.get("before")
        if data.get("since"):
            if after or before:
                raise forms.ValidationError("Choose a time range or “from/until” dates, not both.")
            data["after"] = clock.now().astimezone(UTC) - SINCE[data["since"]]
        elif after and before and after >= before:
            raise forms.ValidationError("“From” must be earlier than “until”.")
        return data

    def query(self, limit: int) -> AuditQuery:
        data = self.cleaned_data
        return AuditQuery(
            event_type=data.get("eventType") or None,
            run_id=data.get("runId") or None,
            status=data.get("status") or None,
            after=data.get("after"),
            before=data.get("before"),
            cursor=data.get("cursor"),
            limit=limit,
        )

    @property
    def is_filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in FILTER_FIELDS)


class ApiAuditFilterForm(AuditFilterForm):
    limit = forms.IntegerField(required=False, min_value=1, max_value=500)
