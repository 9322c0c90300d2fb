"""Comparing runs of two named stores: `/compare/?left=<store>:<id>&right=<store>:<id>` and the same on the API."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from runtime_adapter.js import jsjson
from tests.factories import run_record
from tests.fixtures.traces import FIXTURES
from tests.html import assert_valid_html
from tests.web.runs_support import body, write_store

SECRET = "sk-live-staging0123456789abcdef"


def steps(*outputs: str) -> list[dict]:
    return [{"id": f"s{index}", "type": "tool", "toolName": "issue_refund", "status": "completed", "output": output,
             "createdAt": f"2026-01-01T00:00:0{index}.000Z"} for index, output in enumerate(outputs)]


@pytest.fixture
def stores(settings, tmp_path):
    """The live store, staging and production: the same refund, run by two releases."""
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "live", [
        run_record("live-run", steps=steps("ok")),
        run_record("live-run:replay:1700000000000", steps=steps("ok", "again")),
    ])
    staging = write_store(tmp_path / "staging", [
        run_record("refund-42", input=f"Refund 42 with api_key={SECRET}", steps=steps("looked up", "refunded"),
                   metadata={"release": "2026.11.3"}),
        run_record("staging-only"),
    ])
    production = write_store(tmp_path / "production", [
        run_record("refund-42", status="failed", input=f"Refund 42 password=hunter2-{SECRET}",
                   steps=steps("looked up", "payments API returned 503"), metadata={"release": "2026.11.2"}),
        run_record("production-only"),
    ])
    settings.CONTROLPLANE_STORES = {"staging": staging, "production": production}
    cache.clear()
    return tmp_path


def compare(client, left: str, right: str, prefix: str = ""):
    return client.get(f"{prefix}/compare/", {"left": left, "right": right})


def test_two_runs_with_the_same_id_in_two_stores_are_compared_side_by_side(client, stores):
    response = compare(client, "staging:refund-42", "production:refund-42")
    page = body(response)
    assert response.status_code == 200
    assert "payments API returned 503" in page and "refunded" in page
    # Each side says which store it reads and links to its run there.
    assert 'href="/s/staging/runs/refund-42/"' in page and 'href="/s/production/runs/refund-42/"' in page
    assert 'href="/s/production/incidents/refund-42/"' in page
    assert 'href="/s/staging/runs/?release=2026.11.3"' in page
    assert page.count('class="cmp-store"') == 2
    assert_valid_html(response.content)


def test_the_swap_link_keeps_each_side_in_its_store(client, stores):
    page = body(compare(client, "staging:refund-42", "production:refund-42"))
    assert 'href="/compare/?left=production%3Arefund-42&amp;right=staging%3Arefund-42"' in page
    swapped = compare(client, "production:refund-42", "staging:refund-42")
    assert swapped.status_code == 200


def test_a_bare_id_is_a_run_of_the_store_the_page_reads(client, stores):
    under_staging = compare(client, "refund-42", "production:refund-42", prefix="/s/staging")
    assert under_staging.status_code == 200
    page = body(under_staging)
    # The left side is this page's store: its links stay under /s/staging/, the right one goes to production.
    assert 'href="/s/staging/runs/refund-42/"' in page and 'href="/s/production/runs/refund-42/"' in page
    assert compare(client, "refund-42", "production:refund-42").status_code == 404  # not in the live store


def test_the_default_store_can_be_named_too(client, stores):
    response = compare(client, "default:live-run", "production:refund-42", prefix="/s/staging")
    assert response.status_code == 200
    assert 'href="/runs/live-run/"' in body(response)


def test_a_run_id_with_colons_still_works_bare(client, stores):
    response = compare(client, "live-run", "live-run:replay:1700000000000")
    assert response.status_code == 200 and "again" in body(response)


def test_an_unknown_store_is_a_400_naming_the_stores(client, stores):
    response = compare(client, "stagin:refund-42", "production:refund-42")
    page = body(response)
    assert response.status_code == 400
    assert "No store is named “stagin” (the stores: default, staging, production)" in page
    assert_valid_html(response.content)


def test_a_store_without_the_run_is_the_helpful_404(client, stores):
    response = compare(client, "staging:refund-42", "production:staging-only")
    page = body(response)
    assert response.status_code == 404
    assert "No run with this id in store “production”: staging-only" in page
    assert "Nothing to compare: a run is not in this store." in page


def test_a_store_name_without_an_id_is_a_400(client, stores):
    response = compare(client, "staging:", "production:refund-42")
    assert response.status_code == 400 and "Name a run after “staging:”." in body(response)


def test_the_start_of_an_id_in_another_store_opens_the_whole_id(client, stores):
    response = compare(client, "staging:refund-", "production:prod")
    assert response.status_code == 302
    assert response["Location"] == "/compare/?left=staging%3Arefund-42&right=production%3Aproduction-only"


def test_both_sides_are_redacted_by_their_stores(client, stores, settings):
    page = body(compare(client, "staging:refund-42", "production:refund-42"))
    assert SECRET not in page and "hunter2" not in page
    api = client.get("/api/compare/", {"left": "staging:refund-42", "right": "production:refund-42"})
    assert api.status_code == 200 and SECRET not in api.content.decode()
    settings.CONTROLPLANE_REDACT_SECRETS = False
    cache.clear()
    assert SECRET in body(compare(client, "staging:refund-42", "production:refund-42"))


def test_the_api_compares_runs_of_two_stores(client, stores):
    response = client.get("/api/compare/", {"left": "staging:refund-42", "right": "production:refund-42"})
    payload = json.loads(response.content)
    assert response.status_code == 200
    assert set(payload) == {"diff", "alignment", "measures"}
    assert payload["diff"]["statusChanged"] is True
    assert payload["measures"]["left"]["release"] == "2026.11.3"
    assert payload["measures"]["right"]["release"] == "2026.11.2"


def test_the_api_answers_an_unknown_store_with_a_400_and_a_missing_run_with_a_404(client, stores):
    unknown = client.get("/api/compare/", {"left": "prod:refund-42", "right": "staging:refund-42"})
    assert unknown.status_code == 400
    error = json.loads(unknown.content)
    assert "No store is named “prod”" in error["error"] and "staging, production" in error["error"]
    assert list(error["fields"]) == ["left"]
    missing = client.get("/api/compare/", {"left": "production:nope", "right": "staging:refund-42"})
    assert missing.status_code == 404 and "error" in json.loads(missing.content)


def test_a_comparison_across_stores_shows_a_run_rewritten_in_its_store(client, stores):
    assert "now different" not in body(compare(client, "staging:refund-42", "production:refund-42"))
    path = stores / "production" / "refund-42.json"
    record = jsjson.loads(path.read_text())
    record["steps"] = steps("looked up", "now different")
    path.write_text(jsjson.dumps(record, 2))
    assert "now different" in body(compare(client, "staging:refund-42", "production:refund-42"))


def test_the_compare_form_says_how_to_name_another_stores_run(client, stores):
    page = body(client.get("/compare/"))
    assert "&lt;store&gt;:&lt;run id&gt;" in page
    assert "<code>default</code>, <code>staging</code>, <code>production</code>" in page
    assert 'aria-describedby="compare-help"' in page


def test_an_uploaded_trace_is_compared_with_the_run_it_came_from(client, stores):
    """The offline copy of a run against a live store: `upload-<token>:<id>` names a run of an upload."""
    posted = client.post("/bundles/open/", {"bundle": SimpleUploadedFile("t.json", (FIXTURES / "refund.run-trace.json")
                                                                         .read_bytes()), "kind": "auto"})
    upload = posted["Location"].split("/")[2]
    response = compare(client, f"{upload}:refund-7f3a", "production:refund-42")
    page = body(response)
    assert response.status_code == 200
    assert f'href="/s/{upload}/runs/refund-7f3a/"' in page
    assert "sk-live-4f9a2b7c1d8e6f3a5b0c9d2e" not in page
