"""The compare form (issue 12, item 10): a bad or unknown id is an error on the form, with both ids kept
in the inputs, and each side card shows its run's release."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import body, write_store


@pytest.fixture
def two_releases(runs_settings, tmp_path):
    records = [
        run_record("old-run", created="2026-02-01T00:00:00.000Z", metadata={"release": {"version": "2026.2.1"}}),
        run_record("new-run", status="failed", created="2026-02-02T00:00:00.000Z", metadata={"release": "2026.2.2"}),
    ]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    cache.clear()


def input_value(text: str, name: str) -> str:
    return re.search(rf'<input type="text" name="{name}" value="([^"]*)"', text).group(1)


def test_an_unknown_right_id_is_a_404_shown_on_the_form(client, two_releases):
    response = client.get("/compare/", {"left": "old-run", "right": "ghost-run"})
    text = body(response)
    assert response.status_code == 404
    assert 'name="left"' in text and 'name="right"' in text
    assert input_value(text, "left") == "old-run" and input_value(text, "right") == "ghost-run"
    errors = re.search(r'<div class="inc-errors" role="alert" id="compare-errors">.*?</div>', text, re.S).group(0)
    assert "Right run: No run with this id in this store: ghost-run" in errors
    assert "Left run" not in errors
    assert re.search(r'name="right" [^>]*aria-invalid="true"', text)
    assert not re.search(r'name="left" [^>]*aria-invalid', text)
    assert "Page not found" not in text and 'id="compare-steps"' not in text
    assert_valid_html(text)


def test_both_unknown_ids_are_both_named(client, two_releases):
    text = body(client.get("/compare/", {"left": "ghost-a", "right": "ghost-b"}))
    assert "Left run (baseline): No run with this id in this store: ghost-a" in text
    assert "Right run: No run with this id in this store: ghost-b" in text


def test_an_unknown_left_id_is_named_on_the_left(client, two_releases):
    response = client.get("/compare/", {"left": "ghost-a", "right": "new-run"})
    assert response.status_code == 404
    text = body(response)
    assert "Left run (baseline): No run with this id in this store: ghost-a" in text
    assert input_value(text, "right") == "new-run"


def test_a_bad_id_is_a_400_on_the_form_with_the_ids_kept(client, two_releases):
    response = client.get("/compare/", {"left": "../etc", "right": "new-run"})
    text = body(response)
    assert response.status_code == 400
    assert input_value(text, "left") == "../etc" and input_value(text, "right") == "new-run"
    assert "These parameters cannot be used" in text
    assert_valid_html(text)


def test_side_cards_show_each_runs_release(client, two_releases):
    text = body(client.get("/compare/", {"left": "old-run", "right": "new-run"}))
    cards = re.findall(r'<section class="panel inc-side-card">.*?</section>', text, re.S)
    assert len(cards) == 2
    assert "2026.2.1" in cards[0] and "2026.2.2" in cards[1]
