"""Query strings of the memory page and its API: key search, one layer, expiry, and a layer's cursor."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from runtime_adapter.durable.memory import MAX_PAGE_SIZE, PAGE_SIZE, MemoryQuery, decode_cursor

STATE_CHOICES = [("", "any"), ("expired", "expired"), ("live", "not expired")]


class MemoryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=500, strip=True, label="Key contains")
    layer = forms.ChoiceField(required=False, label="Layer")
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES, label="Expiry")
    cursor = forms.CharField(required=False, max_length=200)
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)

    def __init__(self, data: Any, *, layers: Iterable[str]) -> None:
        super().__init__(data)
        names = list(layers)
        self.fields["layer"].choices = [("", "all layers"), *((name, name) for name in names)]
        known = ", ".join(names) if names else "none (CONTROLPLANE_MEMORY_LAYERS is empty)"
        self.fields["layer"].error_messages["invalid_choice"] = (
            f"No memory layer is named “%(value)s”; the configured layers are: {known}.")

    def clean_cursor(self) -> tuple[int, str] | None:
        cursor = self.cleaned_data["cursor"]
        if not cursor:
            return None
        try:
            return decode_cursor(cursor)
        except ValueError:
            raise forms.ValidationError("This is not a cursor this page gave out; open the layer again without it.") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("cursor") and not data.get("layer"):
            self.add_error("cursor", "A cursor pages one layer: add layer=<name> (the Next link carries both).")
        return data

    @property
    def is_filtered(self) -> bool:
        return bool(self.cleaned_data.get("q") or self.cleaned_data.get("state"))

    def query(self) -> MemoryQuery:
        data = self.cleaned_data
        return MemoryQuery(q=data["q"], layer=data["layer"] or None, state=data["state"], cursor=data["cursor"],
                           limit=data["limit"] or PAGE_SIZE)
