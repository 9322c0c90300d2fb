"""Every error has one shape: pages render error.html, the API answers {"error", …fields}."""

from __future__ import annotations

import pytest

from tests.html import assert_valid_html
from tests.web.runs_support import json_body


@pytest.mark.parametrize("path", ["/runs/?created_after=never", "/incidents/?page=0", "/runs/x/export/partial.json?checkpoint=" + "c" * 1001])
def test_invalid_parameters_on_any_page_are_the_same_400_page(client, tmp_runs, path):
    response = client.get(path)
    body = response.content.decode()
    assert response.status_code == 400
    assert '<h1>400 · Bad request</h1>' in body and '<p class="error-message">Invalid parameters: ' in body
    assert_valid_html(response.content)


@pytest.mark.parametrize(("path", "field"), [("/api/runs/?limit=0", "limit"), ("/api/incidents/x/?compare=a/b", "compare"),
                                             ("/api/compare/?left=a", "right")])
def test_invalid_parameters_on_any_api_are_the_same_json_body(client, tmp_runs, path, field):
    response = client.get(path)
    payload = json_body(response)
    assert response.status_code == 400
    assert payload["error"].startswith(f"Invalid parameters: {field}: ") or f"; {field}: " in payload["error"]
    assert set(payload) == {"error", "fields"} and field in payload["fields"]


def test_an_unknown_run_is_the_same_404_page_and_body(client, tmp_runs):
    page = client.get("/runs/ghost/").content.decode()
    assert "<h1>404 · Not found</h1>" in page and "<code class=\"mono\">ghost</code>" in page
    assert json_body(client.get("/api/runs/ghost/")) == {"error": 'Run "ghost" not found.', "run_id": "ghost"}


def test_a_bad_content_length_is_the_error_page_without_a_session(client, tmp_runs):
    response = client.generic("POST", "/runs/", b"", CONTENT_LENGTH="x")
    assert response.status_code == 400
    assert b"<h1>400 \xc2\xb7 Bad request</h1>" in response.content
    assert b"The Content-Length header is not a number." in response.content
