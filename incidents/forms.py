"""Query-string and upload validation for the incident, compare and bundle pages."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django import forms

from controlplane import clock
from controlplane.filters import ApiRunFilterForm, RunFilterForm
from incidents.sides import RunRef, parse_run_ref
from runtime_adapter.queries.usage import usage_windows
from runtime_adapter.records import InvalidRunId, check_run_id
from runtime_adapter.rows import STATUSES, RunQuery

# Every value DistributedRecoveryPlanner's classifyIncident can return.
INCIDENT_TYPES = (
    "approval_blocked", "paused_replay", "workflow_child_failure", "queue_worker_failure",
    "service_handoff_failure", "tool_failure", "generic_failure", "generic_recovery",
)


class RunIdField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", True)
        kwargs.setdefault("max_length", 250)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        cleaned: str = super().clean(value)
        if cleaned:
            try:
                check_run_id(cleaned)
            except InvalidRunId as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned


def _choices(values: tuple[str, ...], blank: str) -> list[tuple[str, str]]:
    return [("", blank), *((value, value.replace("_", " ")) for value in values)]


class QueueForm(forms.Form):
    type = forms.ChoiceField(choices=_choices(INCIDENT_TYPES, "any incident type"), required=False)
    status = forms.ChoiceField(choices=_choices(STATUSES, "any status"), required=False)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class IncidentForm(forms.Form):
    compare = RunIdField(required=False)


class RunRefField(RunIdField):
    """A run id of the store the request reads, or `<store>:<run id>` for a run of another store (incidents.sides)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 400)  # a store's name, a colon and a whole run id
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        cleaned = super().clean(value)
        ref = parse_run_ref(cleaned) if cleaned else None
        if ref is not None and ref.store is not None:
            if not ref.run_id:
                raise forms.ValidationError(f"Name a run after “{ref.store}:”.")
            try:
                check_run_id(ref.run_id)
            except InvalidRunId as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned


class CompareForm(forms.Form):
    left = RunRefField(label="Left run (baseline)")
    right = RunRefField(label="Right run")
    row = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)

    def refs(self) -> tuple[RunRef, RunRef]:
        """The two sides as typed (call after is_valid)."""
        return parse_run_ref(self.cleaned_data["left"]), parse_run_ref(self.cleaned_data["right"])


UPLOAD_KIND_CHOICES = [
    ("auto", "Detect from the file"),
    ("bundle", "Trace bundle"),
    ("trace", "Run or partial trace"),
    ("state", "State bundle"),
]


class BundleForm(forms.Form):
    bundle = forms.FileField(label="File (.json)")
    # The page offers "auto" first; a POST without `kind` (a script written for trace bundles) keeps
    # opening trace bundles only and is told how to open anything else.
    kind = forms.ChoiceField(choices=UPLOAD_KIND_CHOICES, required=False, label="Open it as")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_bundle(self) -> Any:
        upload = self.cleaned_data["bundle"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {self.max_bytes:,} bytes.")
        return upload

    def clean_kind(self) -> str:
        return str(self.cleaned_data.get("kind") or "bundle")



WINDOW_CHOICES = [("", "any time"), ("day", "last 24 hours"), ("week", "last 7 days")]


class ClusterFilterForm(RunFilterForm):
    """The run-list filters over the runs whose failures are grouped, plus a window ending now (the overview's)."""

    window = forms.ChoiceField(choices=WINDOW_CHOICES, required=False, label="Time window")
    since = None  # the window is this page's range: it also sets the timeline's hourly buckets
    sort = None  # clusters are ordered by how many runs they hold
    order = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("window") and (data.get("created_after") or data.get("created_before")):
            raise forms.ValidationError("Choose a time window or “created after/before” dates, not both.")
        return data

    def query(self, limit: int, offset: int | None = None) -> RunQuery:
        query = super().query(limit, offset)
        window = self.cleaned_data.get("window")
        if not window:
            return query
        span = next(span for span in usage_windows(clock.now()) if span.name == window)
        return replace(query, created_after=span.start, created_before=span.end)

    @property
    def is_filtered(self) -> bool:
        return super().is_filtered or bool(getattr(self, "cleaned_data", {}).get("window"))


class ClusterMembersForm(ClusterFilterForm, ApiRunFilterForm):
    """A cluster's members: the filters above, paged newest first with an opaque cursor."""

    page = None
