"""Deep links to a run's steps and events (issue 12, item 9): anchors, copy-link buttons, landing on a row
past the first page, failed steps linked from the incident page, and the incident note's time and release."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx, step, write_store

# big-run (tests/web/conftest.py tmp_runs): 250 steps, 450 events; the steps tab pages by 100, events by 200.


def row(text: str, anchor: str) -> str:
    found = re.search(rf'<tr id="{anchor}"[^>]*>.*?</tr>', text, re.S)
    assert found, f"no row #{anchor}"
    return found.group(0)


def test_every_step_row_has_an_anchor_numbered_as_the_page_shows_it(client, tmp_runs):
    text = body(client.get("/runs/big-run/"))
    assert re.findall(r'<tr id="(step-\d+)"', text) == [f"step-{n}" for n in range(1, 101)]
    assert 'href="/runs/big-run/steps/?step=3#step-3"' in row(text, "step-3")
    assert ">3</a></td>" in row(text, "step-3")


def test_every_event_row_has_an_anchor_and_a_link(client, tmp_runs):
    text = body(client.get("/runs/big-run/events/"))
    assert re.findall(r'<tr id="(event-\d+)"', text) == [f"event-{n}" for n in range(1, 201)]
    assert 'href="/runs/big-run/events/?event=17#event-17"' in row(text, "event-17")


def test_loaded_more_rows_keep_their_anchors(client, tmp_runs):
    text = body(htmx(client, "/runs/big-run/steps/?offset=200", target="detail-more"))
    assert re.findall(r'<tr id="(step-\d+)"', text) == [f"step-{n}" for n in range(201, 251)]


def test_copy_link_buttons_copy_the_absolute_url_with_the_anchor(client, tmp_runs, settings):
    settings.CONTROLPLANE_BASE_URL = "https://cp.example.com"
    steps = body(client.get("/runs/big-run/"))
    assert ('<button type="button" class="copy copy-link" data-copy="https://cp.example.com/runs/big-run/steps/'
            '?step=3#step-3" aria-label="Copy link to step 3"') in row(steps, "step-3")
    events = body(client.get("/runs/big-run/events/"))
    assert 'data-copy="https://cp.example.com/runs/big-run/events/?event=17#event-17"' in row(events, "event-17")


def test_without_a_configured_origin_the_copy_button_puts_the_pages_origin_in(client, tmp_runs):
    text = row(body(client.get("/runs/big-run/")), "step-3")
    placeholder = re.search(r'data-copy-origin="(origin-[0-9a-f]+)"', text).group(1)
    assert f'data-copy="{placeholder}/runs/big-run/steps/?step=3#step-3"' in text


def test_a_filtered_event_link_keeps_the_filter(client, tmp_runs):
    text = body(client.get("/runs/big-run/events/?type=tock"))
    assert 'href="/runs/big-run/events/?type=tock&amp;event=2#event-2"' in row(text, "event-2")


@pytest.mark.parametrize("url", ["/runs/big-run/steps/?step=150", "/runs/big-run/?step=150",
                                 "/runs/big-run/?tab=steps&step=150"])
def test_a_step_past_the_first_page_is_rendered_and_marked(client, tmp_runs, url):
    response = client.get(url)
    text = body(response)
    assert response.status_code == 200
    assert 'class="anchored deep-target"' in row(text, "step-150")
    assert text.count("deep-target") == 1
    assert "Showing 101–200 of 250" in text
    assert 'id="step-1"' not in text
    assert_valid_html(text)


@pytest.mark.parametrize("url", ["/runs/big-run/events/?event=417", "/runs/big-run/?event=417"])
def test_an_event_past_the_first_page_is_rendered_and_marked(client, tmp_runs, url):
    text = body(client.get(url))
    assert 'class="anchored deep-target"' in row(text, "event-417")
    assert "Showing 401–450 of 450" in text
    assert re.search(r'href="/runs/big-run/events/"[^>]*aria-current="page"', text)


def test_tab_parameter_opens_that_tab(client, tmp_runs):
    text = body(client.get("/runs/big-run/?tab=events"))
    assert re.search(r'href="/runs/big-run/events/"[^>]*aria-current="page"', text)
    assert 'id="event-1"' in text


@pytest.mark.parametrize("query", ["step=0", "step=x", "event=-3", "tab=nonsense"])
def test_bad_deep_link_parameters_are_a_400(client, tmp_runs, query):
    assert client.get(f"/runs/big-run/?{query}").status_code == 400


def test_expanding_a_step_opens_its_json_in_a_full_width_row(client, tmp_runs):
    text = body(client.get("/runs/big-run/"))
    head = re.search(r"<thead>.*?</thead>", text, re.S).group(0)
    columns = len(re.findall(r"<th[ >]", head))
    assert '<summary class="mono small" aria-controls="step-3-json"' in row(text, "step-3")
    assert "<pre>" not in row(text, "step-3")
    json_row = re.search(r'<tr class="row-json" id="step-3-json"><td colspan="(\d+)"><pre>(.*?)</pre>', text, re.S)
    assert json_row and int(json_row.group(1)) == columns
    assert "&quot;id&quot;: &quot;s2&quot;" in json_row.group(2)


# The incident page and note ------------------------------------------------------------------

@pytest.fixture
def failing_store(runs_settings, tmp_path):
    steps = [step(i, "tool", "completed", i % 60, 20) for i in range(130)]
    steps[4]["status"] = "failed"
    steps[4]["error"] = {"message": "first failure"}
    steps[120]["status"] = "failed"
    steps[120]["error"] = {"message": "late failure"}
    record = run_record("failing", status="failed", steps=steps, created="2026-03-04T05:06:07.000Z",
                        errors=[{"name": "ToolError", "message": "late failure"}],
                        metadata={"release": {"version": "2026.3.1"}})
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [record])
    cache.clear()


def test_incident_failed_steps_link_to_their_rows_on_the_run_page(client, failing_store):
    text = body(client.get("/incidents/failing/"))
    table = re.search(r"<h2>Failed steps</h2>.*?</table>", text, re.S).group(0)
    assert 'href="/runs/failing/steps/?step=5#step-5"' in table
    assert 'href="/runs/failing/steps/?step=121#step-121"' in table
    assert "late failure" in table
    landed = body(client.get("/runs/failing/steps/?step=121"))
    assert 'class="anchored deep-target"' in row(landed, "step-121")


def test_incident_note_has_the_runs_time_and_release(client, failing_store):
    note = client.get("/incidents/failing/report.md").content.decode()
    assert "- Created: `2026-03-04T05:06:07.000Z`" in note
    assert "- Release: `2026.3.1`" in note


def test_incident_note_without_a_release_says_so(client, tmp_runs):
    note = client.get("/incidents/child-1/report.md").content.decode()
    assert "- Created: `2026-01-01T00:00:01.000Z`" in note
    assert "- Release: none" in note


def test_copied_incident_note_has_time_and_release_too(client, failing_store):
    text = body(client.get("/incidents/failing/"))
    copied = re.search(r'class="copy inc-copy-md" data-copy="([^"]*)"', text).group(1)
    assert "- Created: `2026-03-04T05:06:07.000Z`" in copied and "- Release: `2026.3.1`" in copied


def test_incident_note_links_each_failed_step_to_its_row(client, failing_store, settings):
    settings.CONTROLPLANE_BASE_URL = "https://cp.example.com"
    note = client.get("/incidents/failing/report.md").content.decode()
    assert "- [step 121](https://cp.example.com/runs/failing/steps/?step=121#step-121) `s120` (tool): late failure" in note


def test_a_hostile_release_stays_inert_in_the_note(client, runs_settings, tmp_path):
    release = "[x](javascript:alert(1)) `tick` <b>"
    record = run_record("hostile-release", status="failed", errors=[{"message": "boom"}], metadata={"release": release})
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [record])
    cache.clear()
    note = client.get("/incidents/hostile-release/report.md").content.decode()
    assert f"- Release: ``{release}``" in note  # a code span: no link, no HTML


def test_step_and_event_times_read_as_offsets_from_the_runs_start(client, runs_settings, tmp_path):
    from tests.factories import run_record
    from tests.html import page_text
    from tests.web.runs_support import write_store

    record = run_record("timed", created="2026-01-01T00:00:00.000Z",
                        steps=[{"id": "timed:step:1", "type": "model", "status": "completed",
                                "createdAt": "2026-01-01T00:00:00.760Z", "durationMs": 5},
                               {"id": "timed:step:2", "type": "tool", "status": "completed",
                                "createdAt": "2026-01-01T00:02:05.000Z", "durationMs": 5}],
                        events=[{"id": "e1", "type": "run_started", "timestamp": "2026-01-01T00:00:00.000Z"},
                                {"id": "e2", "type": "tool_call", "timestamp": "2026-01-01T00:00:12.300Z"}])
    record["timestamps"]["startedAt"] = "2026-01-01T00:00:00.000Z"
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [record])
    steps = page_text(client.get("/runs/timed/steps/").content)
    assert "+760 ms" in steps and "+2 min 5 s" in steps
    events = page_text(client.get("/runs/timed/events/").content)
    assert "+0 ms" in events and "+12.3 s" in events
