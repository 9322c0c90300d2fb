"""The run-list filters every page over many runs shares (runs, clusters, releases), validated before any store is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms

from controlplane import clock
from runtime_adapter.js.dates import iso_ms
from runtime_adapter.rows import SORTS, STATUSES, RunQuery, decode_cursor

STATUS_CHOICES = [(status, status.replace("_", " ")) for status in STATUSES]
SORT_CHOICES = [(sort, sort) for sort in SORTS]
ORDER_CHOICES = [("desc", "↓ descending"), ("asc", "↑ ascending")]
# Preset time ranges, as Jaeger and Langfuse offer them: `?since=24h` is the last 24 hours before now.
SINCE = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7),
         "30d": timedelta(days=30)}
SINCE_CHOICES = [("", "any time"), ("15m", "last 15 minutes"), ("1h", "last hour"), ("24h", "last 24 hours"),
                 ("7d", "last 7 days"), ("30d", "last 30 days")]
# An offset past any store's size; a larger one (2**63, say) would overflow SQLite's integers.
MAX_OFFSET = 10**9


class InstantField(forms.DateTimeField):
    """A date and time as a UTC instant; one that UTC cannot hold (year 0 or 10000) is refused."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("This date and time is outside the range of years 1 to 9999 in UTC.") from None


FILTER_FIELDS = ("status", "release", "q", "correlation", "since", "created_after", "created_before", "roots", "attention",
                 "sort", "order")


class RunFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=500, strip=True, label="Search")
    status = forms.MultipleChoiceField(required=False, choices=STATUS_CHOICES, widget=forms.CheckboxSelectMultiple)
    # Not stripped and as long as a listed label can be (listing.TEXT_LIMIT): matched exactly as runs carry it.
    release = forms.CharField(required=False, max_length=2000, strip=False)
    correlation = forms.CharField(required=False, max_length=500, strip=True, label="Correlation id")
    since = forms.ChoiceField(required=False, choices=SINCE_CHOICES, label="Time range")
    created_after = InstantField(required=False, label="Created after")
    created_before = InstantField(required=False, label="Created before")
    roots = forms.BooleanField(required=False, label="Roots only")
    attention = forms.BooleanField(required=False, label="Needs attention")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    order = forms.ChoiceField(required=False, choices=ORDER_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        after, before = data.get("created_after"), data.get("created_before")
        if data.get("since"):
            if after or before:
                raise forms.ValidationError("Choose a time range or “created after/before” dates, not both.")
            data["created_after"] = clock.now().astimezone(UTC) - SINCE[data["since"]]
        elif after and before and after >= before:
            raise forms.ValidationError("“Created after” must be earlier than “created before”.")
        return data

    def query(self, limit: int, offset: int | None = None) -> RunQuery:
        data = self.cleaned_data
        if offset is None:
            offset = ((data.get("page") or 1) - 1) * limit
        return RunQuery(
            statuses=tuple(data.get("status") or ()),
            release=data.get("release") or None,
            text=data.get("q") or None,
            correlation_id=data.get("correlation") or None,
            created_after=iso_ms(data["created_after"]) if data.get("created_after") else None,
            created_before=iso_ms(data["created_before"]) if data.get("created_before") else None,
            roots_only=bool(data.get("roots")),
            attention_only=bool(data.get("attention")),
            sort=data.get("sort") or "created",
            descending=(data.get("order") or "desc") == "desc",
            offset=offset,
            limit=limit,
        )

    @property
    def is_filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in FILTER_FIELDS if name not in ("sort", "order"))


class ApiRunFilterForm(RunFilterForm):
    cursor = forms.CharField(required=False, max_length=100)
    limit = forms.IntegerField(required=False, min_value=1, max_value=500)

    def clean_cursor(self) -> int | None:
        cursor = self.cleaned_data.get("cursor")
        if not cursor:
            return None
        try:
            offset = decode_cursor(cursor)
        except ValueError:
            offset = MAX_OFFSET + 1
        if offset > MAX_OFFSET:
            raise forms.ValidationError("This cursor was not issued by this API.")
        return offset
