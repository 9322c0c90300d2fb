"""The releases page, the release comparison, its Markdown summary and the release API."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache

from runtime_adapter.queries.statistics import two_proportion_test, wilson_interval
from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx, json_body, write_store

BASE, HEAD = "2026.11.1", "2026.11.2"
RUNS = 20  # per release; input i runs once in each
HEAD_FAILED = range(8)  # inputs whose head run failed with the new refund error
HEAD_WAITING = (8, 9)
BASE_FAILED = (18, 19)  # inputs whose base run timed out (fixed in head)
HOSTILE = '<script>alert("rel")</script>&"x'


def _step(run_id: str, index: int, kind: str, status: str, duration: int, tool: str | None = None) -> dict:
    step = {"id": f"{run_id}:s{index}", "type": kind, "status": status, "durationMs": duration,
            "createdAt": "2026-11-01T00:00:00.000Z"}
    if tool:
        step["payload"] = {"toolName": tool}
    return step


def release_run(run_id: str, release: str | None, index: int, *, day: int, status: str = "completed",
                seconds: int = 1, cost: float = 0.01, tokens: int = 100, error: dict | None = None,
                failing_tool: str | None = None, input_text: str | None = None, **fields) -> dict:
    created = f"2026-11-{day:02d}T10:{index:02d}:00.000Z"
    ended = f"2026-11-{day:02d}T10:{index:02d}:{seconds:02d}.000Z"
    steps = [_step(run_id, 0, "model", "completed", 300), _step(run_id, 1, "tool", "completed", 120, "lookup_order")]
    if failing_tool:
        steps.append(_step(run_id, 2, "tool", "failed", 900, failing_tool))
    timestamps = {"createdAt": created, "updatedAt": ended, "startedAt": created}
    if status == "completed":
        timestamps["completedAt"] = ended
    elif status == "failed":
        timestamps["failedAt"] = ended
    record = run_record(run_id, status=status, created=created, input=input_text or f"refund request {index}",
                        metadata={"release": release} if release else {},
                        steps=steps, errors=[error] if error else [],
                        metrics={"tokenUsage": {"prompt": tokens // 2, "completion": tokens // 2, "total": tokens},
                                 "cost": cost, "timings": {}},
                        **fields)
    record["timestamps"] = timestamps
    return record


def regression_records() -> list[dict]:
    """Base: 2 timeouts in 20 runs. Head: 8 refund failures (messages differ only in numbers and ids), 2 waiting."""
    records = []
    for i in range(RUNS):
        if i in BASE_FAILED:
            records.append(release_run(f"base-{i:02d}", BASE, i, day=1, status="failed", seconds=30,
                                       error={"name": "TimeoutError", "message": "Upstream timeout after 30s."},
                                       failing_tool="search_catalog"))
        else:
            records.append(release_run(f"base-{i:02d}", BASE, i, day=1, seconds=1 + i % 3))
    for i in range(RUNS):
        if i in HEAD_FAILED:
            message = f"Refund provider returned {429 if i % 2 else 503} for order {1000 + i * 37} (request {i:02x}9f3a{i}c21)"
            records.append(release_run(f"head-{i:02d}", HEAD, i, day=10, status="failed", seconds=5, cost=0.05,
                                       tokens=400, error={"name": "ProviderError", "message": message},
                                       failing_tool="issue_refund"))
        elif i in HEAD_WAITING:
            records.append(release_run(f"head-{i:02d}", HEAD, i, day=10, status="waiting_for_approval", seconds=2,
                                       pendingApproval={"toolName": "issue_refund", "reason": "refund above limit"}))
        else:
            records.append(release_run(f"head-{i:02d}", HEAD, i, day=10, seconds=2 + i % 3, cost=0.02, tokens=150))
    records.append(release_run("unlabelled", None, 0, day=12))
    return records


@pytest.fixture
def regression(runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", regression_records())
    cache.clear()
    return runs_settings


def use_store(settings, directory, records) -> None:
    settings.CONTROLPLANE_RUN_STORE = write_store(directory, records)
    cache.clear()


def compare_url(base: str = BASE, head: str = HEAD, path: str = "/releases/compare/", **extra: str) -> str:
    return f"{path}?{urlencode({'base': base, 'head': head, **extra})}"


def text_of(html: str) -> str:
    """Visible text, whitespace collapsed: what a user reads."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# The releases page ---------------------------------------------------------------------


def test_releases_page_lists_one_row_per_release_newest_first(client, regression):
    response = client.get("/releases/")
    assert response.status_code == 200
    html = body(response)
    assert_valid_html(response.content)
    rows = re.findall(r'<th scope="row" class="rel-name"><a href="/runs/\?release=([^"]+)"', html)
    assert rows == [quote(HEAD, safe=""), quote(BASE, safe="")]
    assert "unlabelled" not in html  # a run without a release label is in no row
    assert "2 releases" in text_of(html)


def test_releases_page_shows_rates_percentiles_and_means(client, regression):
    html = body(client.get("/releases/"))
    head_row = text_of(re.search(r"<tr>\s*<th scope=\"row\" class=\"rel-name\">.*?</tr>", html, re.S).group(0))
    low, high = wilson_interval(8, 20)
    # head: 8 of 20 failed, 2 waiting, none paused; p50/p95 of the 18 ended runs; tokens (8×400 + 2×100 + 10×150) / 20;
    # cost (8×0.05 + 2×0.01 + 10×0.02) / 20.
    assert head_row.split() == [HEAD, "20", "14", "d", "ago", "14", "d", "ago", "40.0%",
                                f"{low * 100:.1f}–{high * 100:.1f}%", "10.0%", "0%", "4.00", "s", "5.00", "s", "245",
                                "$0.03", "vs", BASE]


def test_releases_page_links_each_release_to_its_runs_and_to_a_comparison(client, regression):
    html = body(client.get("/releases/"))
    assert f'href="/runs/?release={quote(HEAD, safe="")}"' in html
    assert f'href="/releases/compare/?base={BASE}&amp;head={HEAD}"' in html
    # The compare picker defaults to the newest release against the one before it.
    assert re.search(rf'<select name="base">.*<option value="{re.escape(BASE)}" selected>', html)
    assert re.search(rf'<select name="head"><option value="{re.escape(HEAD)}" selected>', html)


def test_releases_page_applies_the_list_filters(client, regression):
    html = body(client.get("/releases/?created_after=2026-11-05T00:00"))
    assert re.findall(r'class="rel-name"><a href="/runs/\?release=([^"]+)"', html) == [HEAD]
    assert "among the runs that match these filters" in html
    # The compare picker keeps the filter.
    assert '<input type="hidden" name="created_after" value="2026-11-05T00:00">' in html


def test_releases_page_with_htmx_returns_the_table_only(client, regression):
    response = htmx(client, "/releases/?status=failed")
    html = body(response)
    assert html.startswith('<div id="releases-table">') and "<html" not in html
    assert_valid_html(response.content)


def test_releases_page_without_runs_says_so(client, runs_settings, tmp_path):
    use_store(runs_settings, tmp_path / "empty", [])
    response = client.get("/releases/")
    assert response.status_code == 200
    assert "No run in this store carries a release label" in body(response)
    assert '<form class="rel-pick' not in body(response)
    assert_valid_html(response.content)


def test_releases_page_with_one_release_says_there_is_nothing_to_compare(client, runs_settings, tmp_path):
    use_store(runs_settings, tmp_path / "one", [release_run(f"r{i}", BASE, i, day=1) for i in range(3)])
    html = body(client.get("/releases/"))
    assert "Only one release has runs here" in html
    assert ">vs " not in html


def test_releases_page_escapes_a_hostile_release_label(client, runs_settings, tmp_path):
    use_store(runs_settings, tmp_path / "hostile", [release_run("h1", HOSTILE, 1, day=1),
                                                     release_run("h2", BASE, 2, day=2)])
    response = client.get("/releases/")
    html = body(response)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;rel&quot;)&lt;/script&gt;&amp;&quot;x" in html
    assert f'href="/runs/?release={quote(HOSTILE, safe="")}"' in html
    assert_valid_html(response.content)


def test_releases_page_refuses_invalid_filters(client, regression):
    response = client.get("/releases/?created_after=yesterday")
    assert response.status_code == 400
    assert "Invalid parameters: created_after:" in body(response)


def test_nav_links_the_releases_page(client, regression):
    html = body(client.get("/runs/"))
    assert '<a href="/releases/" >Releases</a>' in html
    assert '<a href="/releases/" aria-current="page">Releases</a>' in body(client.get("/releases/"))


# The comparison page -------------------------------------------------------------------


def test_comparison_shows_failure_rates_with_wilson_intervals(client, regression):
    response = client.get(compare_url())
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = text_of(body(response))
    for failed in (2, 8):
        low, high = wilson_interval(failed, 20)
        assert f"{low * 100:.1f}–{high * 100:.1f}%" in text
    assert "Failed 10.0% (2)" in text and "40.0% (8)" in text and "+30.0 pp" in text


def test_comparison_says_the_failure_rate_rise_is_significant_and_names_the_test(client, regression):
    test = two_proportion_test(8, 20, 2, 20)
    assert test.significant and test.test == "two-proportion z-test"
    text = text_of(body(client.get(compare_url())))
    assert (f"The failure rate rose by 30.0 pp: statistically significant at the 5% level "
            f"(two-proportion z-test, p = {test.p_value:.2f}).") in text


def test_comparison_of_a_small_difference_says_not_significant_with_fishers_test(client, runs_settings, tmp_path):
    records = [release_run(f"a{i}", BASE, i, day=1) for i in range(5)]
    records += [release_run(f"b{i}", HEAD, i, day=2, status="failed" if i == 0 else "completed",
                            error={"name": "E", "message": "x"} if i == 0 else None) for i in range(5)]
    use_store(runs_settings, tmp_path / "small", records)
    text = text_of(body(client.get(compare_url())))
    assert "The failure rate rose by 20.0 pp: not statistically significant at the 5% level (Fisher's exact test, p = 1.00)." in text


def test_comparison_shows_percentiles_and_one_chart_per_measure(client, regression):
    html = body(client.get(compare_url()))
    charts = re.findall(r'<svg class="rel-cdf"[^>]*role="img" aria-label="([^"]+)"', html)
    assert len(charts) == 3
    assert [label.split(":")[0] for label in charts] == ["Duration", "Tokens", "Cost"]
    # The runs waiting for approval have not ended: they have no duration.
    assert "base 2026.11.1: 20 runs, median 2.00 s; head 2026.11.2: 18 runs, median 4.00 s" in unescape(charts[0])
    assert html.count('class="rel-line rel-line-base"') == 3 and html.count('class="rel-line rel-line-head"') == 3
    text = text_of(html)
    assert "p50 2.00 s 4.00 s +2.00 s" in text
    assert "p99 30.0 s 5.00 s −25.0 s" in text


def test_comparison_lists_tools_and_step_types_with_deltas(client, regression):
    html = body(client.get(compare_url()))
    tools = html[html.index('id="rel-tools"'):html.index('id="rel-types"')]
    text = text_of(tools)
    # issue_refund: only in head, 8 failed calls in 20 runs; lookup_order: one call per run on both sides.
    assert "issue_refund 0 0.4 +0.4 — 100% — — 900 ms —" in text
    assert "lookup_order 1 1 ±0 0% 0% ±0 pp 120 ms 120 ms ±0 ms" in text
    assert "search_catalog 0.1 0 −0.1 100% — — 900 ms — —" in text
    types = text_of(html[html.index('id="rel-types"'):])
    assert "tool 1.1 1.4 +0.3" in types and "model 1 1 ±0" in types


def test_comparison_lists_new_resolved_and_grown_clusters_with_links(client, regression):
    html = body(client.get(compare_url()))
    section = html[html.index('id="rel-clusters"'):html.index('id="rel-pairs"')]
    new = section[section.index("rel-cluster-new"):section.index("rel-cluster-resolved")]
    resolved = section[section.index("rel-cluster-resolved"):section.index("rel-cluster-grown")]
    grown = section[section.index("rel-cluster-grown"):]
    # The eight refund failures are one cluster however their numbers and ids differ.
    refund = re.findall(r'<a class="rel-template" href="/incidents/clusters/([0-9a-f]+)/">([^<]*)</a>', new)
    assert len(refund) == 2  # the refund failures, and the runs waiting to approve issue_refund
    assert "8 runs (40.0%) in head" in text_of(new) and "2 runs (10.0%) in head" in text_of(new)
    assert any(unescape(template).startswith("Refund provider returned <n> for order <n>") for _, template in refund)
    assert "Upstream timeout after &lt;duration&gt;." in resolved and "2 runs (10.0%) in base" in text_of(resolved)
    assert "None." in grown


def test_comparison_cluster_links_match_the_cluster_ids_of_the_api(client, regression):
    html = body(client.get(compare_url()))
    payload = json_body(client.get(compare_url(path="/api/releases/compare/")))
    for cluster in payload["clusters"]["new"] + payload["clusters"]["resolved"]:
        assert f'href="/incidents/clusters/{cluster["id"]}/"' in html


def test_comparison_shows_a_cluster_that_grew_with_its_share_in_each_release(client, runs_settings, tmp_path):
    timeout = {"name": "TimeoutError", "message": "Upstream timeout after 30s."}
    records = [release_run(f"a{i:02d}", BASE, i, day=1, status="failed" if i < 2 else "completed",
                           error=timeout if i < 2 else None, failing_tool="search" if i < 2 else None) for i in range(30)]
    records += [release_run(f"b{i:02d}", HEAD, i, day=2, status="failed" if i < 15 else "completed",
                            error=timeout if i < 15 else None, failing_tool="search" if i < 15 else None)
                for i in range(30)]
    use_store(runs_settings, tmp_path / "grown", records)
    html = body(client.get(compare_url()))
    grown = text_of(html[html.index("rel-cluster-grown"):html.index('id="rel-pairs"')])
    assert "Upstream timeout after <duration>." in grown
    assert "2 runs (6.7%) → 15 runs (50.0%)" in grown


def test_comparison_pairs_runs_of_the_same_input_and_links_each_pair(client, regression):
    html = body(client.get(compare_url()))
    pairs = html[html.index('id="rel-pairs"'):html.index('id="rel-tools"')]
    text = text_of(pairs)
    assert "20 inputs ran in both releases (the latest run of each input in each release); 12 changed outcome." in text
    assert 'href="/compare/?left=base-00&amp;right=head-00"' in pairs  # completed → failed
    assert 'href="/compare/?left=base-19&amp;right=head-19"' in pairs  # failed → completed
    assert "refund request 0 completed failed" in text
    assert "Largest cost changes" in text and "+$0.04" in text
    assert "Largest duration changes" in text and "−28.0 s" in text


def test_comparison_offers_the_markdown_summary_to_copy_and_download(client, regression):
    html = body(client.get(compare_url()))
    copy = re.search(r'<button type="button" class="copy rel-copy-md" data-copy="([^"]*)" data-copy-origin="(origin-[0-9a-f]+)"', html)
    assert copy is not None
    markdown, origin = unescape(copy.group(1)), copy.group(2)
    assert markdown.startswith(f"# Release `{HEAD}` compared with `{BASE}`")
    assert f"{origin}/releases/compare/?base={BASE}&head={HEAD}" in markdown
    assert f'href="/releases/compare/summary.md?base={BASE}&amp;head={HEAD}" download' in html


def test_comparison_applies_the_list_filters(client, regression):
    text = text_of(body(client.get(compare_url(status="failed"))))
    assert "In scope 2 8" in text
    assert "Failed 100% (2)" in text


def test_comparison_with_htmx_returns_the_report_and_the_new_title(client, regression):
    response = htmx(client, compare_url(base=HEAD, head=BASE))
    html = body(response)
    assert html.startswith('<div id="compare-report"') and "<html" not in html
    assert 'id="compare-title" hx-swap-oob="true"' in html
    assert_valid_html(response.content)


@pytest.mark.parametrize(("query", "field"), [({"head": HEAD}, "base"), ({"base": BASE}, "head"), ({}, "base")])
def test_comparison_without_a_release_is_a_400_naming_it(client, regression, query, field):
    response = client.get(f"/releases/compare/?{urlencode(query)}")
    assert response.status_code == 400
    assert f"Invalid parameters: {field}: Name the {field} release" in body(response)
    assert_valid_html(response.content)


def test_comparison_with_an_unknown_release_is_a_helpful_404(client, regression):
    response = client.get(compare_url(head="2026.99.9"))
    html = body(response)
    assert response.status_code == 404
    assert "<h1>404 · Not found</h1>" in html and "No run carries the release “2026.99.9”." in re.sub(r"<[^>]+>", "", html)
    # Each known release is offered in place of the unknown one.
    assert f'href="/releases/compare/?base={BASE}&amp;head={HEAD}"' in html
    assert_valid_html(response.content)


def test_comparison_of_a_hostile_release_label_is_escaped(client, runs_settings, tmp_path):
    use_store(runs_settings, tmp_path / "hostile", [release_run("h1", HOSTILE, 1, day=1, status="failed",
                                                                error={"name": "E", "message": HOSTILE}),
                                                     release_run("h2", BASE, 2, day=2)])
    for url in (compare_url(base=HOSTILE, head=BASE), compare_url(base=BASE, head="<b>nope</b>")):
        response = client.get(url)
        assert "<script>alert" not in body(response) and "<b>nope" not in body(response)
        assert_valid_html(response.content)


def test_comparison_where_every_run_failed(client, runs_settings, tmp_path):
    error = {"name": "E", "message": "boom"}
    records = [release_run(f"{side}{i}", release, i, day=day, status="failed", error=error)
               for side, release, day in (("a", BASE, 1), ("b", HEAD, 2)) for i in range(6)]
    use_store(runs_settings, tmp_path / "failed", records)
    response = client.get(compare_url())
    assert response.status_code == 200
    text = text_of(body(response))
    low, _ = wilson_interval(6, 6)
    assert f"Failed 100% (6) {low * 100:.1f}–100%" in text
    assert "The failure rate did not change: not statistically significant" in text
    assert_valid_html(response.content)


def test_comparison_of_a_release_with_no_runs_in_scope_says_it_is_not_tested(client, regression):
    response = client.get(compare_url(created_after="2026-11-05T00:00"))
    text = text_of(body(response))
    assert response.status_code == 200
    assert "Not tested: the base release has no runs in scope." in text
    assert f"{BASE} (no runs in scope)" in text
    assert_valid_html(response.content)


# The Markdown summary ------------------------------------------------------------------


def test_markdown_summary_is_a_download_with_relative_links_by_default(client, regression):
    response = client.get(compare_url(path="/releases/compare/summary.md"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="release-2026.11.2-vs-2026.11.1.md"'
    text = response.content.decode()
    assert text.startswith(f"# Release `{HEAD}` compared with `{BASE}`\n")
    assert "- Failure rate: 10.0% (95% CI" in text and "+30.0 pp" in text
    assert "statistically significant at the 5% level (two-proportion z-test" in text
    assert "](/incidents/clusters/" in text
    assert "([compare](/compare/?left=base-00&right=head-00))" in text


def test_markdown_summary_says_which_runs_were_compared(client, regression):
    text = client.get(compare_url(path="/releases/compare/summary.md", status="failed", q="refund")).content.decode()
    assert "- Scope: status failed; text “refund”\n" in text
    assert "- Runs: 2 in `2026.11.1`" in text
    assert f"- Comparison: /releases/compare/?base={BASE}&head={HEAD}&status=failed&q=refund" in text


def test_markdown_summary_links_are_absolute_with_a_configured_origin(client, regression):
    regression.CONTROLPLANE_BASE_URL = "https://cp.example.com"
    text = client.get(compare_url(path="/releases/compare/summary.md")).content.decode()
    assert f"- Comparison: https://cp.example.com/releases/compare/?base={BASE}&head={HEAD}" in text
    assert "(https://cp.example.com/incidents/clusters/" in text
    assert "(https://cp.example.com/compare/?left=" in text
    html = body(client.get(compare_url()))
    assert "data-copy-origin" not in html and "https://cp.example.com/releases/compare/" in html


def test_markdown_summary_escapes_run_text(client, runs_settings, tmp_path):
    evil = "# heading [link](http://evil) ![img](x) <script>alert(1)</script> |pipe|"
    records = [release_run("a1", BASE, 1, day=1, input_text=evil),
               release_run("b1", HEAD, 1, day=2, input_text=evil, status="failed",
                           error={"name": "Err`or", "message": evil}, failing_tool="to`ol")]
    records[1]["steps"].append(_step("b1", 3, "tool", "completed", 10, "a|b"))
    use_store(runs_settings, tmp_path / "evil", records)
    text = client.get(compare_url(path="/releases/compare/summary.md")).content.decode()
    assert "<script>" not in text and "[link](http://evil)" not in text and "![img]" not in text
    assert "&lt;script&gt;" in text and "\\[link\\](http://evil)" in text
    # A backtick cannot close a code span early, nor a pipe split a table cell.
    assert "``to`ol``" in text and "| `a\\|b` |" in text


def test_markdown_summary_needs_both_releases(client, regression):
    response = client.get("/releases/compare/summary.md?base=x")
    assert response.status_code == 400
    assert client.get(compare_url(base="ghost", path="/releases/compare/summary.md")).status_code == 404


# The API -------------------------------------------------------------------------------

RELEASE_KEYS = {"release", "runs", "failed", "failureRate", "firstSeen", "lastSeen", "duration", "tokens", "cost"}


def test_api_lists_the_releases_with_the_documented_keys(client, regression):
    payload = json_body(client.get("/api/releases/"))
    assert set(payload) == {"releases"}
    head, base = payload["releases"]
    assert RELEASE_KEYS <= set(head) and set(head) - RELEASE_KEYS == {"waitingRate", "pausedRate"}
    assert head["release"] == HEAD and head["runs"] == 20 and head["failed"] == 8 and head["failureRate"] == 0.4
    assert head["firstSeen"] == "2026-11-10T10:00:00.000Z" and head["lastSeen"] == "2026-11-10T10:19:00.000Z"
    assert set(head["duration"]) >= {"p50", "p95"} and head["duration"]["p50"] == 4000
    assert head["tokens"] == {"mean": 245} and head["cost"]["mean"] == pytest.approx(0.031)
    assert base["release"] == BASE and base["failureRate"] == 0.1


def test_api_release_list_applies_the_filters(client, regression):
    payload = json_body(client.get("/api/releases/?q=unlabelled"))
    assert payload == {"releases": []}
    assert client.get("/api/releases/?created_before=soon").status_code == 400


def test_api_comparison_has_the_documented_keys(client, regression):
    payload = json_body(client.get(compare_url(path="/api/releases/compare/")))
    assert {"base", "head", "failureRateDelta", "significant", "tools", "clusters", "pairs"} <= set(payload)
    assert RELEASE_KEYS | {"failureRateInterval"} <= set(payload["base"])
    assert payload["base"]["failureRateInterval"] == pytest.approx(list(wilson_interval(2, 20)))
    assert payload["head"]["failureRateInterval"] == pytest.approx(list(wilson_interval(8, 20)))
    assert payload["failureRateDelta"] == pytest.approx(0.3) and payload["significant"] is True
    tool = next(tool for tool in payload["tools"] if tool["toolName"] == "issue_refund")
    assert set(tool) == {"toolName", "base", "head"} and {"calls", "errorRate", "p50Ms"} <= set(tool["head"])
    assert tool["head"]["calls"] == 8 and tool["head"]["errorRate"] == 1 and tool["head"]["p50Ms"] == 900
    assert set(payload["clusters"]) == {"new", "resolved", "grown"}
    cluster = payload["clusters"]["resolved"][0]
    assert set(cluster) == {"id", "count", "incidentType", "toolName", "errorName", "messageTemplate", "firstSeen",
                            "lastSeen", "releases", "sampleRunIds", "recommendedAction"}
    assert cluster["releases"] == {BASE: 2} and cluster["messageTemplate"] == "Upstream timeout after <duration>."
    assert payload["pairs"]["matched"] == 20 and len(payload["pairs"]["outcomeChanged"]) == 12
    changed = next(pair for pair in payload["pairs"]["outcomeChanged"] if pair["baseRunId"] == "base-00")
    assert set(changed) == {"input", "baseRunId", "headRunId", "baseStatus", "headStatus"}
    assert changed == {"input": "refund request 0", "baseRunId": "base-00", "headRunId": "head-00",
                       "baseStatus": "completed", "headStatus": "failed"}


@pytest.mark.parametrize(("query", "field"), [({"head": HEAD}, "base"), ({"base": BASE}, "head")])
def test_api_comparison_without_a_release_is_a_400_naming_it(client, regression, query, field):
    response = client.get(f"/api/releases/compare/?{urlencode(query)}")
    payload = json_body(response)
    assert response.status_code == 400
    assert payload["error"].startswith(f"Invalid parameters: {field}: ")
    assert set(payload) == {"error", "fields"} and field in payload["fields"]


def test_api_comparison_with_invalid_filters_is_a_400(client, regression):
    response = client.get(compare_url(path="/api/releases/compare/", created_after="2026-12-01", created_before="2026-11-01"))
    assert response.status_code == 400
    assert "must be earlier" in json_body(response)["error"]


def test_api_comparison_of_an_unknown_release_is_a_json_404(client, regression):
    response = client.get(compare_url(base="ghost", path="/api/releases/compare/"))
    assert response.status_code == 404
    assert json_body(response) == {"error": 'No run carries the release "ghost".', "release": "ghost"}


def test_api_comparison_with_one_release_compared_with_itself(client, runs_settings, tmp_path):
    use_store(runs_settings, tmp_path / "one", [release_run(f"r{i}", BASE, i, day=1) for i in range(3)])
    payload = json_body(client.get(compare_url(head=BASE, path="/api/releases/compare/")))
    assert payload["failureRateDelta"] == 0 and payload["significant"] is False
    assert payload["pairs"]["matched"] == 3 and payload["pairs"]["outcomeChanged"] == []
