"""Query strings of the approvals pages: the inbox's filters and cursor, and the history's."""

from __future__ import annotations

from typing import Any

from django import forms

from controlplane.filters import MAX_OFFSET
from runtime_adapter.queries.approvals import ApprovalFilters
from runtime_adapter.rows import decode_cursor

# How long an approval has waited at least: `?age=1h`.
AGES = {"15m": 15 * 60, "1h": 3600, "1d": 86400, "7d": 7 * 86400}
AGE_CHOICES = [("", "any time"), ("15m", "over 15 minutes"), ("1h", "over 1 hour"), ("1d", "over 1 day"),
               ("7d", "over 7 days")]


class CursorField(forms.CharField):
    """An opaque cursor issued by these pages, as the offset it holds."""

    def __init__(self) -> None:
        super().__init__(required=False, max_length=100)

    def clean(self, value: Any) -> int:
        text = super().clean(value)
        if not text:
            return 0
        try:
            offset = decode_cursor(text)
        except ValueError:
            offset = MAX_OFFSET + 1
        if offset > MAX_OFFSET:
            raise forms.ValidationError("This cursor was not issued by this page; start again from the first page.")
        return offset


class HistoryFilterForm(forms.Form):
    # Names exactly as the runs carry them (not stripped): a filter matches them exactly.
    tool = forms.CharField(required=False, max_length=500, strip=False, label="Tool")
    side_effect = forms.CharField(required=False, max_length=200, strip=False, label="Side-effect level")
    release = forms.CharField(required=False, max_length=2000, strip=False, label="Release")
    cursor = CursorField()
    limit = forms.IntegerField(required=False, min_value=1, max_value=500)

    def filters(self) -> ApprovalFilters:
        data = self.cleaned_data
        return ApprovalFilters(tool=data["tool"] or None, side_effect_level=data["side_effect"] or None,
                               release=data["release"] or None, waited_seconds=AGES.get(data.get("age") or ""))

    @property
    def is_filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in ("tool", "side_effect", "release", "age"))


class ApprovalFilterForm(HistoryFilterForm):
    age = forms.ChoiceField(required=False, choices=AGE_CHOICES, label="Waiting")
