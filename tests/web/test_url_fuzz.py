"""Every query parameter of every URL, fuzzed: bad input is a 4xx with a reason, never a 5xx.

The URLs come from walking the URL conf and the parameter names from every form the
views parse requests with, so a page or parameter added later is fuzzed too.
"""

from __future__ import annotations

import base64
import inspect as pyinspect
import json

import pytest
from django import forms
from django.urls import resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import controlplane.filters
import incidents.forms
import releases.forms
import runs.forms
from runtime_adapter.rows import encode_cursor
from tests.fixtures.crawl import _kwarg_sets, named_patterns

RUN_ID, OTHER_ID = "child-1", "root-1"


FORMS = [form for module in (controlplane.filters, runs.forms, incidents.forms, releases.forms)
         for _, form in pyinspect.getmembers(module, pyinspect.isclass)
         if issubclass(form, forms.Form) and form.__module__ == module.__name__]
PARAMS = sorted({name for form in FORMS for name in form.base_fields})
URLS = sorted({reverse(name, kwargs=kwargs) for name, pattern in named_patterns()
               for kwargs in _kwarg_sets(pattern, RUN_ID)})


def params_read_by(path: str) -> list[str]:
    """The fields of every form the view behind `path` names in its source."""
    source = pyinspect.getsource(pyinspect.getmodule(pyinspect.unwrap(resolve(path).func)))
    view = pyinspect.getsource(pyinspect.unwrap(resolve(path).func))
    used = [form for form in FORMS if f"{form.__name__}(" in view]
    # A view may parse through a helper of its module: then every form that module names.
    used = used or [form for form in FORMS if f"{form.__name__}(" in source]
    return sorted({name for form in used for name in form.base_fields})


def one_url_per_view() -> list[str]:
    seen: dict[object, str] = {}
    for path in URLS:
        seen.setdefault(pyinspect.unwrap(resolve(path).func), path)
    return sorted(seen.values())

TRICKY = [
    "", " ", "0", "-1", "1e309", "NaN", str(2**63), str(-(2**63)), str(2**64 + 1), "9" * 5000,
    "9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+14:00", "9999-12-31", "0001-01-01", "2026-02-30",
    "2026-11-24T12:00:00Z", "2026-11-24 12:00", base64.urlsafe_b64encode(str(2**63).encode()).decode(),
    base64.urlsafe_b64encode(b"-5").decode(), base64.urlsafe_b64encode(b"9" * 90).decode(), encode_cursor(2**63),
    encode_cursor(2**64), encode_cursor(10**40),
    RUN_ID, OTHER_ID, "../etc/passwd", "a/b", "a\\b", "\u202egnp.exe", "x" * 5000, "on", "true", "text", "svg",
    "%00", "\x00", "<script>alert(1)</script>", f"{RUN_ID},{OTHER_ID}", ",,,", "' OR 1=1 --", "*", "%", "_",
]
values = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
)
query = st.dictionaries(st.sampled_from(PARAMS + ["unknown", "page"]), st.one_of(values, st.lists(values, max_size=3)),
                        max_size=5)


@pytest.mark.parametrize("path", URLS)
def test_no_query_string_makes_a_page_fail(client, tmp_runs, path):
    @settings(max_examples=40, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(query, st.booleans())
    def check(params, partial):
        headers = {"HTTP_HX_REQUEST": "true"} if partial else {}
        response = client.get(path, params, **headers)
        assert response.status_code < 500, (path, params, response.content[:300])
        if response.status_code == 400 and path.startswith("/api/"):
            assert json.loads(response.content)["error"]

    check()


@pytest.mark.parametrize("path", one_url_per_view())
def test_every_tricky_value_of_every_parameter_a_view_reads_is_a_4xx_at_worst(client, tmp_runs, path):
    failures = []
    for name in params_read_by(path):
        for value in TRICKY:
            response = client.get(path, {name: value})
            if response.status_code >= 500:
                failures.append((name, value))
    assert failures == []


def test_the_fuzz_covers_every_form_and_url():
    assert {"cursor", "created_after", "created_before", "page", "offset", "left", "right", "compare"} <= set(PARAMS)
    assert "/api/runs/" in URLS and f"/runs/{RUN_ID}/" in URLS and "/compare/" in URLS
