"""Query strings of the release pages: the run-list filters, and the two releases to compare."""

from __future__ import annotations

from django import forms

from controlplane.filters import RunFilterForm

# The list filters a release page applies (and carries from one release page to another).
SCOPE_FIELDS = ("q", "status", "correlation", "since", "created_after", "created_before", "roots", "attention")


class ReleaseFilterForm(RunFilterForm):
    """The run-list filters that choose which runs count; a release page has no paging or order of its own."""

    release = None
    sort = None
    order = None
    page = None


class ReleaseField(forms.CharField):
    def __init__(self, missing: str) -> None:
        # Not stripped: a release label is matched exactly as the runs carry it.
        super().__init__(max_length=2000, strip=False, error_messages={"required": missing})


class CompareForm(ReleaseFilterForm):
    base = ReleaseField("Name the base release, the one to compare against.")
    head = ReleaseField("Name the head release, the one to check.")
