"""Query parameters of the run pages and API, validated before any store is read."""

from __future__ import annotations

from typing import Any

from django import forms


class TabForm(forms.Form):
    offset = forms.IntegerField(required=False, min_value=0, max_value=10_000_000)
    type = forms.CharField(required=False, max_length=200)


class PartialExportForm(forms.Form):
    checkpoint = forms.CharField(required=False, max_length=1000)


class TreeForm(forms.Form):
    format = forms.ChoiceField(required=False, choices=[("html", "html"), ("text", "text")])


class ApiTreeForm(forms.Form):
    root = forms.BooleanField(required=False)


class BundleForm(forms.Form):
    root = forms.CharField(required=False, max_length=1000)
    ids = forms.CharField(required=False, max_length=200_000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("root")) == bool(data.get("ids")):
            raise forms.ValidationError("Give either root=<run id> or ids=<id>,<id>.")
        return data

    @property
    def run_ids(self) -> list[str]:
        raw = self.cleaned_data.get("ids") or ""
        seen: dict[str, None] = {}
        for part in raw.split(","):
            if part.strip():
                seen.setdefault(part.strip(), None)
        return list(seen)


