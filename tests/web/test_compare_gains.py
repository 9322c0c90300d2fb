"""Compare two runs, gains: each run's release and measures with their changes, per-step deltas in the
aligned view, "compare with the same input in release X" on a run page, and tick-two-and-compare on the run list."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from runtime_adapter.present.alignment import Change, step_usage
from runtime_adapter.queries.listing import TEXT_LIMIT
from runtime_adapter.queries.same_input import RELEASE_LIMIT
from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import body, write_store

INPUT = "Refund order 1234 please"
HOSTILE_RELEASE = '<script>alert("rel")</script>&amp;'
MINUS = "\u2212"


def timed(created: str, ms: int | None) -> dict:
    """Timestamps of a run created at `created` that ended `ms` later (None: still running)."""
    stamps = {"createdAt": created, "startedAt": created, "updatedAt": created}
    if ms is not None:
        seconds = int(created[17:19]) + ms / 1000
        stamps["completedAt"] = f"{created[:17]}{seconds:06.3f}Z"
    return stamps


def usage(total: int, cost: float) -> dict:
    return {"tokenUsage": {"prompt": total - 10, "completion": 10, "total": total}, "cost": cost}


def model(index: int, ms: int, tokens: int, cost: float, text: str = "ok") -> dict:
    return {"id": f"m{index}", "type": "model", "status": "completed", "durationMs": ms,
            "output": {"message": text, "toolCalls": [], "usage": {"prompt": tokens - 5, "completion": 5, "total": tokens},
                       "cost": cost}}


def tool(index: int, ms: int) -> dict:
    # A tool's own output may say "cost": it is the tool's business, not the step's usage.
    return {"id": f"t{index}", "type": "tool", "status": "completed", "durationMs": ms,
            "payload": {"toolName": "lookup_order"}, "output": {"status": "shipped", "cost": 999}}


def release_run(run_id: str, release: str | None, created: str, *, ms: int | None = 1000, status: str = "completed",
                input_: object = INPUT, steps: list | None = None, tokens: int = 100, cost: float = 0.1) -> dict:
    metadata = {"release": {"version": release}} if release else {}
    return run_record(run_id, status=status, input=input_, created=created, metadata=metadata,
                      timestamps=timed(created, ms), metrics=usage(tokens, cost), steps=steps or [])


def base_steps() -> list[dict]:
    return [model(0, 100, 40, 0.02), tool(1, 50), model(2, 80, 30, 0.01, "done")]


def head_steps() -> list[dict]:
    return [model(0, 220, 55, 0.03), tool(1, 50), model(2, 80, 30, 0.01, "done differently")]


@pytest.fixture
def releases_store(runs_settings, tmp_path):
    records = [
        release_run("base-1", "2026.11.1", "2026-11-20T10:00:00.000Z", ms=2000, tokens=100, cost=0.1, steps=base_steps()),
        release_run("base-0", "2026.11.1", "2026-11-19T10:00:00.000Z"),
        release_run("head-1", "2026.11.2", "2026-11-21T10:00:00.000Z", ms=3000, tokens=150, cost=0.05,
                    status="failed", steps=head_steps()),
        release_run("head-0", "2026.11.2", "2026-11-20T11:00:00.000Z"),
        release_run("hostile-rel", HOSTILE_RELEASE, "2026-11-18T10:00:00.000Z"),
        release_run("no-release", None, "2026-11-22T10:00:00.000Z"),
        release_run("other-input", "2026.11.3", "2026-11-22T10:00:00.000Z", input_="Where is order 98?"),
        release_run("running", "2026.11.4", "2026-11-22T12:00:00.000Z", ms=None, status="running"),
    ]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)


# -- the summary: each run's release and measures, with the change --------------------------------


def summary_table(html: str) -> str:
    return html.split('<table class="cmp-measures">')[1].split("</table>")[0]


def row_of(table: str, label: str) -> list[str]:
    row = re.search(rf'<th scope="row">{label}</th>(.*?)</tr>', table, re.S).group(1)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_compare_summary_shows_each_runs_release(client, releases_store):
    response = client.get("/compare/", {"left": "base-1", "right": "head-1"})
    assert response.status_code == 200
    assert row_of(summary_table(body(response)), "Release") == ["2026.11.1", "2026.11.2", "different release"]
    assert_valid_html(response.content)


def test_a_run_without_a_release_says_so(client, releases_store):
    html = body(client.get("/compare/", {"left": "base-1", "right": "no-release"}))
    assert row_of(summary_table(html), "Release") == ["2026.11.1", "no release", "different release"]


def test_the_release_links_to_its_runs(client, releases_store):
    html = body(client.get("/compare/", {"left": "base-1", "right": "head-1"}))
    assert 'href="/runs/?release=2026.11.2"' in html


def test_compare_summary_shows_duration_tokens_and_cost_with_the_change(client, releases_store):
    table = summary_table(body(client.get("/compare/", {"left": "base-1", "right": "head-1"})))
    assert row_of(table, "Duration") == ["2.00 s", "3.00 s", "+1.00 s (+50%) slower"]
    assert row_of(table, "Tokens") == ["100", "150", "+50 (+50%) more"]
    assert row_of(table, "Cost") == ["$0.10", "$0.05", f"{MINUS}$0.05 ({MINUS}50%) less"]


def test_equal_measures_read_as_no_change(client, releases_store):
    table = summary_table(body(client.get("/compare/", {"left": "base-0", "right": "head-0"})))
    assert row_of(table, "Duration")[2] == "±0 no change"
    assert row_of(table, "Release")[2] == "different release"


def test_an_unfinished_run_has_no_duration_to_compare(client, releases_store):
    table = summary_table(body(client.get("/compare/", {"left": "base-1", "right": "running"})))
    assert row_of(table, "Duration") == ["2.00 s", "—", "not comparable"]


def test_hostile_release_names_are_inert_on_the_compare_page(client, releases_store):
    html = body(client.get("/compare/", {"left": "base-1", "right": "hostile-rel"}))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;rel&quot;)&lt;/script&gt;&amp;amp;" in html


# -- the aligned view: per-step latency, token and cost deltas ------------------------------------


def aligned_rows(html: str) -> list[str]:
    return re.findall(r'<div class="align-row kind-\w+[^"]*"[^>]*data-row="\d+">.*?(?=<div class="align-row kind-|</div>\s*</section>)',
                      html, re.S)


def deltas(row: str) -> str:
    found = re.search(r'<p class="align-changes">(.*?)</p>', row, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def test_aligned_steps_show_their_latency_token_and_cost_deltas(client, releases_store):
    rows = aligned_rows(body(client.get("/compare/", {"left": "base-1", "right": "head-1"})))
    assert deltas(rows[0]) == ("right vs left: latency +120 ms (+120%) slower tokens +15 (+38%) more"
                               " cost +$0.01 (+50%) more")


def test_steps_with_equal_measures_show_no_delta_line(client, releases_store):
    rows = aligned_rows(body(client.get("/compare/", {"left": "base-1", "right": "head-1"})))
    assert deltas(rows[1]) == "" and deltas(rows[2]) == ""


def test_a_tools_own_cost_is_not_read_as_the_steps_cost(client, releases_store):
    html = body(client.get("/compare/", {"left": "base-1", "right": "head-1"}))
    assert "$999" not in html
    assert "55 tokens" in html and "$0.03" in html


def test_step_usage_reads_a_child_runs_metrics_and_model_usage_only():
    workflow = {"type": "workflow_step", "output": {"metrics": usage(15, 0.05)}}
    assert step_usage(workflow) == (15, 0.05)
    assert step_usage({"type": "model", "output": {"usage": {"input_tokens": 7, "output_tokens": 3}}}) == (10, None)
    assert step_usage({"type": "tool", "output": {"usage": {"total": 5}, "cost": 3}}) == (None, None)
    assert step_usage({"type": "tool", "usage": {"totalTokens": 4}, "cost": 0.5}) == (4, 0.5)
    assert step_usage(None) == (None, None)


def test_a_change_is_worded_with_sign_percent_and_a_word():
    assert (Change("duration", "latency", 100, 220).text, Change("duration", "latency", 100, 220).percent) == ("+120 ms", "+120%")
    faster = Change("duration", "latency", 200, 190)
    assert (faster.text, faster.percent, faster.word) == (f"{MINUS}10 ms", f"{MINUS}5.0%", "faster")
    assert Change("cost", "cost", 0.1 + 0.2, 0.3).direction == "same"
    assert Change("tokens", "tokens", 0, 10).percent == ""
    assert Change("tokens", "tokens", None, 10).direction == "unknown"


def test_the_compare_api_keeps_its_keys_and_adds_the_measures(client, releases_store):
    payload = json.loads(client.get("/api/compare/", {"left": "base-1", "right": "head-1"}).content)
    assert list(payload) == ["diff", "alignment", "measures"]
    assert payload["measures"] == {
        "left": {"runId": "base-1", "release": "2026.11.1", "durationMs": 2000, "totalTokens": 100, "cost": 0.1},
        "right": {"runId": "head-1", "release": "2026.11.2", "durationMs": 3000, "totalTokens": 150, "cost": 0.05},
        "delta": {"durationMs": 1000, "totalTokens": 50, "cost": -0.05},
    }


# -- the run page: the same input in other releases ----------------------------------------------


def same_input_links(html: str) -> list[tuple[str, str]]:
    nav = html.split('<nav class="same-input"')[1].split("</nav>")[0] if '<nav class="same-input"' in html else ""
    return [(href.replace("&amp;", "&"), re.sub(r"<[^>]+>", "", text))
            for href, text in re.findall(r'<a href="([^"]+)">(Compare with release .*?)</a>', nav, re.S)]


def test_run_page_offers_the_newest_run_of_each_other_release_with_the_same_input(client, releases_store):
    response = client.get("/runs/base-1/")
    links = same_input_links(body(response))
    assert [text for _, text in links] == [
        "Compare with release 2026.11.4", "Compare with release 2026.11.2",
        "Compare with release &lt;script&gt;alert(&quot;rel&quot;)&lt;/script&gt;&amp;amp;",
    ]
    assert [urlsplit(href).path for href, _ in links] == ["/compare/"] * 3
    assert [parse_qs(urlsplit(href).query) for href, _ in links] == [
        {"left": ["base-1"], "right": [right]} for right in ("running", "head-1", "hostile-rel")
    ]
    assert_valid_html(response.content)


def test_run_page_leaves_out_its_own_release_runs_without_one_and_other_inputs(client, releases_store):
    links = same_input_links(body(client.get("/runs/head-1/")))
    rights = [parse_qs(urlsplit(href).query)["right"][0] for href, _ in links]
    assert rights == ["running", "base-1", "hostile-rel"]


def test_run_page_says_the_status_of_each_offered_run(client, releases_store):
    html = body(client.get("/runs/base-1/"))
    nav = html.split('<nav class="same-input"')[1].split("</nav>")[0]
    assert "newest run running" in nav and "newest run failed" in nav and "newest run completed" in nav


def test_hostile_release_names_are_inert_on_the_run_page(client, releases_store):
    html = body(client.get("/runs/base-1/"))
    assert "<script>alert" not in html


def test_run_page_without_the_input_in_another_release_offers_nothing(client, releases_store):
    assert '<nav class="same-input"' not in body(client.get("/runs/other-input/"))


def test_an_input_equal_only_in_its_listed_text_is_not_the_same_input(client, runs_settings, tmp_path):
    long_text = "x" * TEXT_LIMIT
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [
        release_run("a", "r1", "2026-11-20T10:00:00.000Z", input_=long_text + "a"),
        release_run("b", "r2", "2026-11-20T11:00:00.000Z", input_=long_text + "b"),
        release_run("c", "r3", "2026-11-20T12:00:00.000Z", input_=long_text + "a"),
    ])
    rights = [parse_qs(urlsplit(href).query)["right"][0] for href, _ in same_input_links(body(client.get("/runs/a/")))]
    assert rights == ["c"]


def test_run_page_lists_a_few_releases_and_counts_the_rest(client, runs_settings, tmp_path):
    records = [release_run(f"run-{i}", f"r{i}", f"2026-11-20T10:{i:02d}:00.000Z") for i in range(RELEASE_LIMIT + 3)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    html = body(client.get("/runs/run-0/"))
    assert len(same_input_links(html)) == RELEASE_LIMIT
    assert "and 2 more releases" in html


# -- the run list: tick two and compare ----------------------------------------------------------


def test_run_list_rows_have_a_checkbox_in_a_compare_form(client, releases_store):
    response = client.get("/runs/")
    html = body(response)
    assert '<form id="compare-pick" class="compare-pick" method="get" action="/compare/" data-compare-pick>' in html
    assert '<button type="submit" class="compare-pick-button">Compare selected</button>' in html
    assert html.count('name="run" value=') == 8
    assert '<input type="checkbox" class="pick" name="run" value="base-1" form="compare-pick" aria-label="Compare run base-1">' in html
    assert_valid_html(response.content)


def test_the_checkboxes_come_with_the_table_in_an_htmx_swap(client, releases_store):
    html = body(client.get("/runs/", {"page": "1"}, headers={"HX-Request": "true"}))
    assert html.startswith('<div id="list-table">') and 'id="compare-pick"' in html


def test_two_ticked_runs_open_their_comparison_older_on_the_left(client, releases_store):
    response = client.get("/compare/?pick=1&run=head-1&run=base-1")
    assert response.status_code == 302
    assert response["Location"] == "/compare/?left=base-1&right=head-1"
    assert client.get(response["Location"]).status_code == 200


def test_ticked_runs_open_their_comparison_in_the_same_store(client, releases_store):
    response = client.get("/s/default/compare/", {"pick": "1", "run": ["base-1", "head-1"]})
    assert response["Location"] == "/s/default/compare/?left=base-1&right=head-1"


@pytest.mark.parametrize(("query", "message"), [
    ("pick=1", "0 runs were ticked"),
    ("pick=1&run=base-1", "1 run was ticked"),
    ("pick=1&run=base-1&run=base-1", "1 run was ticked"),
    ("pick=1&run=base-1&run=head-1&run=head-0", "3 runs were ticked"),
])
def test_anything_but_two_ticked_runs_is_a_400_saying_so(client, releases_store, query, message):
    response = client.get(f"/compare/?{query}")
    assert response.status_code == 400
    assert f"Tick exactly two runs to compare; {message}." in body(response)
    assert_valid_html(response.content)


def test_a_ticked_id_that_is_not_a_run_id_is_a_400(client, releases_store):
    response = client.get("/compare/", {"pick": "1", "run": ["base-1", "a/b"]})
    assert response.status_code == 400
    assert "These parameters cannot be used" in body(response)


def test_a_ticked_run_that_is_gone_is_a_404(client, releases_store):
    response = client.get("/compare/", {"pick": "1", "run": ["base-1", "ghost"]}, follow=True)
    assert response.status_code == 404
