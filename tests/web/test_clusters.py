"""Failure clusters: the clusters page, a cluster page, their JSON API and the overview's failure panels.

Every test runs against the scanning file store and the SQLite-indexed one (the `fleet` fixture).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from django.core.cache import cache
from django.utils.html import escape

from controlplane.stores import reset_stores
from runtime_adapter.queries.failure_signature import failure_signature
from tests.factories import run_record
from tests.fixtures.hostile import SECRETS
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx, json_body, write_store

DAY = "2026-11-24"  # the pinned clock's day (tests/conftest.py: 12:00 UTC)
REFUND_TEMPLATE = "Refund provider returned <n> for order <n> (request <hex>…)"
SECRET_VALUES = [secret.value for secret in SECRETS if secret.name in ("stripe", "aws-access-key", "openai")]
HOSTILE_MESSAGE = '<script>alert("cluster")</script> broke order 77'


def failed_tool_run(run_id: str, created: str, tool: str, name: str, message: str, **fields) -> dict:
    steps = [
        {"id": f"{run_id}:step:1", "type": "model", "status": "completed", "durationMs": 12},
        {"id": f"{run_id}:step:2", "type": "tool", "status": "failed", "durationMs": 30,
         "payload": {"toolName": tool, "arguments": {"orderId": run_id}},
         "error": {"name": name, "message": message}},
    ]
    record = run_record(run_id, status="failed", created=created, steps=steps,
                        errors=[{"name": name, "message": message}], **fields)
    record["timestamps"]["failedAt"] = created
    return record


def refund(index: int, hour: int, release: str, **fields) -> dict:
    message = f"Refund provider returned {[429, 503][index % 2]} for order {1000 + index * 37} (request {index:02x}9f3ab…)"
    return failed_tool_run(f"refund-{index}", f"{DAY}T{hour:02d}:0{index % 10}:00.000Z", "issue_refund",
                           "ToolExecutionError", message, metadata={"release": release},
                           input=f"refund order {1000 + index * 37}" if index != 5 else "refund the duplicate charge",
                           **fields)


def fleet_records() -> list[dict]:
    records = [refund(index, hour, release) for index, hour, release in
               [(0, 1, "r1"), (1, 3, "r1"), (2, 5, "r2"), (3, 7, "r2"), (4, 9, "r2")]]
    # The newest refund failure is a child run, so it has a root of its own.
    records.append(refund(5, 11, "r2", parent="order-flow", root="order-flow"))
    records.append(run_record("order-flow", status="completed", created=f"{DAY}T10:59:00.000Z",
                              children=["refund-5"], metadata={"release": "r2"}))
    # The same input completed earlier: the cluster page offers to compare the two.
    records.append(run_record("refund-ok", status="completed", created="2026-11-20T08:00:00.000Z",
                              input="refund the duplicate charge", metadata={"release": "r1"}))
    records += [failed_tool_run(f"timeout-{index}", f"2026-11-2{index}T06:00:00.000Z", "inventory", "TimeoutError",
                                f"Upstream timeout after {10 * (index + 1)}s.", metadata={"release": "r1"})
                for index in range(2)]
    records += [run_record(f"approval-{index}", status="waiting_for_approval", created=f"{DAY}T0{index}:30:00.000Z",
                           pendingApproval={"toolName": "send_email", "reason": f"external write {index}",
                                            "arguments": {"to": f"user{index}@example.com"}})
                for index in range(3)]
    records += [run_record(f"paused-{index}", status="paused", created=f"2026-11-22T1{index}:00:00.000Z",
                           pendingPause={"reason": f"Confidence 0.{index + 3} is below the threshold", "stage": "before_model"})
                for index in range(2)]
    records.append(failed_tool_run("hostile-1", f"{DAY}T02:00:00.000Z", "render", "<b>Bad</b>", HOSTILE_MESSAGE))
    secrets = " ".join(SECRET_VALUES)
    records.append(failed_tool_run("leaky-1", f"{DAY}T04:00:00.000Z", "charge", "AuthError",
                                   f"charge rejected with {secrets}"))
    records += [run_record(f"ok-{index}", status="completed", created=f"2026-11-2{index}T09:00:00.000Z")
                for index in range(4)]
    return records


@pytest.fixture(params=["scanned", "indexed"])
def fleet(request, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_FILE_INDEX = request.param == "indexed"
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", fleet_records())
    cache.clear()
    return tmp_path / "runs"


def clusters_api(client, query: str = "") -> dict:
    response = client.get(f"/api/clusters/{query}")
    assert response.status_code == 200
    return json_body(response)


def cluster_id_of(client, template: str) -> str:
    return next(cluster["id"] for cluster in clusters_api(client)["clusters"] if cluster["messageTemplate"] == template)


# The JSON API -------------------------------------------------------------------------


def test_api_lists_clusters_most_runs_first_with_exactly_the_issue_keys(client, fleet):
    payload = clusters_api(client)
    assert list(payload) == ["clusters", "total"]
    assert payload["total"] == len(payload["clusters"]) == 6
    assert [cluster["count"] for cluster in payload["clusters"]] == [6, 3, 2, 2, 1, 1]
    assert set(payload["clusters"][0]) == {"id", "count", "incidentType", "toolName", "errorName", "messageTemplate",
                                           "firstSeen", "lastSeen", "releases", "sampleRunIds", "recommendedAction"}


def test_messages_that_differ_only_in_ids_and_numbers_are_one_cluster(client, fleet):
    refund_cluster = clusters_api(client)["clusters"][0]
    assert refund_cluster["messageTemplate"] == REFUND_TEMPLATE
    assert refund_cluster["count"] == 6
    assert refund_cluster["toolName"] == "issue_refund"
    assert refund_cluster["errorName"] == "ToolExecutionError"
    assert refund_cluster["incidentType"] == "tool_failure"
    assert refund_cluster["releases"] == {"r2": 4, "r1": 2}
    assert refund_cluster["sampleRunIds"] == ["refund-5", "refund-4", "refund-3"]
    assert refund_cluster["firstSeen"] == f"{DAY}T01:00:00.000Z"
    assert refund_cluster["lastSeen"] == f"{DAY}T11:05:00.000Z"
    assert refund_cluster["recommendedAction"]


def test_another_kind_of_failure_approvals_and_pauses_each_make_one_cluster(client, fleet):
    by_template = {cluster["messageTemplate"]: cluster for cluster in clusters_api(client)["clusters"]}
    assert by_template["Upstream timeout after <duration>."]["count"] == 2
    approvals = by_template["waiting for approval"]
    assert (approvals["count"], approvals["toolName"], approvals["incidentType"]) == (3, "send_email", "approval_blocked")
    assert by_template["Confidence <n> is below the threshold"]["count"] == 2


def test_cluster_ids_are_the_hash_of_the_signature(client, fleet):
    cluster = clusters_api(client)["clusters"][0]
    signature = failure_signature(incident_type="tool_failure", step_type="tool", tool_name="issue_refund",
                                  error_name="ToolExecutionError", message="Refund provider returned 429 for order 1 (request 0a9f3ab…)")
    assert cluster["id"] == signature.cluster_id
    assert re.fullmatch(r"[0-9a-f]{16}", cluster["id"])


def test_cluster_ids_are_stable_across_a_fresh_index_of_the_same_directory(client, fleet, runs_settings, tmp_path):
    before = {cluster["messageTemplate"]: cluster["id"] for cluster in clusters_api(client)["clusters"]}
    reset_stores()
    cache.clear()
    runs_settings.DATA_DIR = tmp_path / "fresh-data"  # a new, empty index directory
    runs_settings.DATA_DIR.mkdir()
    runs_settings.CONTROLPLANE_FILE_INDEX = True
    after = {cluster["messageTemplate"]: cluster["id"] for cluster in clusters_api(client)["clusters"]}
    assert after == before
    assert client.get(f"/incidents/clusters/{before[REFUND_TEMPLATE]}/").status_code == 200


def test_api_filters_by_release_status_text_and_time(client, fleet):
    assert [c["count"] for c in clusters_api(client, "?release=r1")["clusters"]] == [2, 2]
    statuses = clusters_api(client, "?status=waiting_for_approval")["clusters"]
    assert [c["messageTemplate"] for c in statuses] == ["waiting for approval"]
    assert [c["count"] for c in clusters_api(client, "?q=refund")["clusters"]] == [6]
    day = clusters_api(client, f"?created_after={DAY}T00:00&created_before={DAY}T06:00")
    assert {c["messageTemplate"]: c["count"] for c in day["clusters"]}[REFUND_TEMPLATE] == 3


def test_api_window_is_the_last_day_or_week_before_now(client, fleet):
    day = {c["messageTemplate"]: c["count"] for c in clusters_api(client, "?window=day")["clusters"]}
    assert "Upstream timeout after <duration>." not in day  # 2026-11-20 and 21
    assert day[REFUND_TEMPLATE] == 6
    week = {c["messageTemplate"] for c in clusters_api(client, "?window=week")["clusters"]}
    assert "Upstream timeout after <duration>." in week


def test_api_cluster_pages_its_members_newest_first_with_a_cursor(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    seen, cursor, pages = [], "", 0
    while True:
        response = client.get(f"/api/clusters/{cluster_id}/?limit=4" + (f"&cursor={cursor}" if cursor else ""))
        payload = json_body(response)
        assert list(payload) == ["cluster", "runIds", "nextCursor"]
        assert payload["cluster"]["id"] == cluster_id and payload["cluster"]["count"] == 6
        seen += payload["runIds"]
        pages += 1
        cursor = payload["nextCursor"]
        if not cursor:
            break
    assert pages == 2
    assert seen == [f"refund-{index}" for index in (5, 4, 3, 2, 1, 0)]


def test_api_cluster_keys_match_the_list_entry(client, fleet):
    listed = clusters_api(client)["clusters"][1]
    payload = json_body(client.get(f"/api/clusters/{listed['id']}/"))
    assert payload["cluster"] == listed
    assert payload["nextCursor"] is None


@pytest.mark.parametrize("path", ["/api/clusters/0123456789abcdef/", "/api/clusters/not-a-cluster/"])
def test_api_unknown_cluster_is_a_json_404(client, fleet, path):
    response = client.get(path)
    assert response.status_code == 404
    payload = json_body(response)
    assert payload["error"] and payload["cluster_id"] == path.split("/")[3]


@pytest.mark.parametrize("query", ["?window=year", "?created_after=yesterday", "?status=lost",
                                   f"?window=day&created_after={DAY}T00:00", "?page=0"])
def test_api_bad_list_parameters_are_a_400_naming_the_reason(client, fleet, query):
    response = client.get(f"/api/clusters/{query}")
    assert response.status_code == 400
    assert json_body(response)["error"].startswith("Invalid parameters")


@pytest.mark.parametrize("query", ["?cursor=bogus", "?limit=0", "?limit=100000"])
def test_api_bad_member_parameters_are_a_400(client, fleet, query):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    response = client.get(f"/api/clusters/{cluster_id}/{query}")
    assert response.status_code == 400
    assert set(json_body(response)) == {"error", "fields"}


# The clusters page --------------------------------------------------------------------


def test_clusters_page_shows_one_row_per_cluster_most_runs_first(client, fleet):
    response = client.get("/incidents/clusters/")
    assert response.status_code == 200
    text = body(response)
    templates = re.findall(r'<code class="cluster-template">([^<]*)</code>', text)
    assert templates[0] == escape(REFUND_TEMPLATE)
    assert len(templates) == 6
    assert "&lt;n&gt;" in text and "&lt;hex&gt;" in text
    assert_valid_html(response.content)


def test_clusters_page_row_shows_count_share_seen_releases_action_and_samples(client, fleet):
    text = body(client.get("/incidents/clusters/"))
    first = text.split('<li><article class="cluster-card', 2)[1]
    assert '<strong class="cluster-count">6</strong> runs' in first
    assert "28.6% of 21 runs" in first  # 6 of the 21 runs in the store
    shown = " ".join(re.sub(r"<[^>]+>", " ", first).split())  # the card's text as a reader sees it
    assert "r2 ×4" in shown and "r1 ×2" in shown
    assert "tool <code>issue_refund</code>" in first and "<code>ToolExecutionError</code>" in first
    for run_id in ("refund-5", "refund-4", "refund-3"):
        assert f'href="/runs/{run_id}/"' in first
    assert 'href="/runs/refund-2/"' not in first
    assert re.search(r"<dt>Seen</dt><dd><time datetime=\"2026-11-24T01:00:00.000Z\"", first)


def test_clusters_page_draws_an_accessible_timeline_per_cluster(client, fleet):
    text = body(client.get("/incidents/clusters/"))
    charts = re.findall(r'<svg class="cluster-timeline"[^>]*role="img" aria-label="([^"]+)"', text)
    assert len(charts) == 6
    assert charts[0].startswith("Runs over time: 6 from 2026-11-20")
    assert "in 24 bars" in charts[0]


def test_clusters_page_links_each_cluster_to_its_stable_page(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    assert f'href="/incidents/clusters/{cluster_id}/"' in body(client.get("/incidents/clusters/"))
    filtered = body(client.get("/incidents/clusters/?release=r2"))
    assert f'href="/incidents/clusters/{cluster_id}/?release=r2"' in filtered


def test_clusters_page_filters_like_the_run_list(client, fleet):
    text = body(client.get("/incidents/clusters/?status=paused&release="))
    assert re.findall(r'<code class="cluster-template">([^<]*)</code>', text) == ["Confidence &lt;n&gt; is below the threshold"]
    assert "matching these filters" in text
    assert 'value="paused" checked' in text


def test_clusters_page_says_when_no_cluster_matches(client, fleet):
    text = body(client.get("/incidents/clusters/?q=nothing-like-this"))
    assert "No run that needs attention matches these filters" in text


def test_clusters_page_pages_past_a_hundred_clusters(client, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_FILE_INDEX = True
    records = [failed_tool_run(f"kind-{index}", f"{DAY}T01:00:00.000Z", f"tool_{chr(97 + index % 26)}{index // 26}",
                               "Error", "broke") for index in range(105)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "many", records)
    first = body(client.get("/incidents/clusters/"))
    assert first.count('<article class="cluster-card') == 100
    assert "Page 1 of 2" in first and "showing 1–100" in first
    second = body(client.get("/incidents/clusters/?page=2"))
    assert second.count('<article class="cluster-card') == 5
    assert clusters_api(client, "?page=2")["total"] == 105
    assert len(clusters_api(client, "?page=2")["clusters"]) == 5


def test_clusters_page_shows_a_new_failure_as_soon_as_the_store_has_it(client, fleet, runs_settings):
    runs_settings.CONTROLPLANE_INDEX_REFRESH_SECONDS = 0
    assert "Ledger locked" not in body(client.get("/incidents/clusters/"))
    write_store(fleet, [failed_tool_run("ledger-1", f"{DAY}T11:30:00.000Z", "post_ledger", "LockError",
                                        "Ledger locked by batch 4411")])
    assert "Ledger locked by batch &lt;n&gt;" in body(client.get("/incidents/clusters/"))


def test_clusters_page_htmx_request_returns_the_table_region_only(client, fleet):
    response = htmx(client, "/incidents/clusters/?release=r1")
    text = body(response)
    assert text.startswith('<div id="clusters-table"')
    assert "<html" not in text
    assert "HX-Request" in response["Vary"]
    assert_valid_html(response.content)


@pytest.mark.parametrize("query", ["?window=year", "?created_before=2026-13-01", f"?window=week&created_before={DAY}T00:00"])
def test_clusters_page_bad_parameters_are_a_400_page_with_the_reason(client, fleet, query):
    response = client.get(f"/incidents/clusters/{query}")
    assert response.status_code == 400
    assert "Invalid parameters" in body(response)


def test_clusters_page_refuses_both_a_window_and_dates_and_says_why(client, fleet):
    text = body(client.get(f"/incidents/clusters/?window=day&created_after={DAY}T00:00"))
    assert "Choose a time window or" in text


def test_incident_queue_links_to_the_clusters_page(client, fleet):
    link = re.search(r'<a href="([^"]+)">Group them into failure clusters', body(client.get("/incidents/"))).group(1)
    assert urljoin("/incidents/", link) == "/incidents/clusters/"
    assert client.get(urljoin("/incidents/", link)).status_code == 200


# A cluster page -----------------------------------------------------------------------


def test_cluster_page_shows_the_header_members_and_splits(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    response = client.get(f"/incidents/clusters/{cluster_id}/")
    assert response.status_code == 200
    text = body(response)
    assert f"<code class=\"runid\">{cluster_id}</code>" in text
    assert escape(REFUND_TEMPLATE) in text
    members = text.split('id="cluster-members"', 1)[1]
    assert re.findall(r'<td class="runid nowrap"><a href="/runs/([^/]+)/"', members) == \
        [f"refund-{index}" for index in (5, 4, 3, 2, 1, 0)]
    assert_valid_html(response.content)


def test_cluster_page_splits_members_by_release_and_by_root_run(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    text = body(client.get(f"/incidents/clusters/{cluster_id}/"))
    releases = text.split("<h2>By release</h2>", 1)[1].split("</table>", 1)[0]
    assert re.findall(r'\?release=(\w+)">\w+</a></td><td class="num">(\d+)', releases) == [("r2", "4"), ("r1", "2")]
    roots = text.split("<h2>By root run</h2>", 1)[1].split("</table>", 1)[0]
    assert 'href="/runs/order-flow/tree/"' in roots
    assert len(re.findall(r'href="/runs/[^"]+/tree/"', roots)) == 6


def test_cluster_page_summarises_the_newest_members_incident(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    text = body(client.get(f"/incidents/clusters/{cluster_id}/"))
    newest = text.split('class="panel cluster-newest"', 1)[1].split("</section>", 1)[0]
    assert 'href="/runs/refund-5/"' in newest
    assert 'href="/incidents/refund-5/"' in newest
    assert "tool failure" in newest
    assert "Refund provider returned 503 for order 1185" in newest


def test_cluster_page_compares_the_newest_failure_with_the_latest_completed_run_of_its_input(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    text = body(client.get(f"/incidents/clusters/{cluster_id}/"))
    assert 'href="/compare/?left=refund-5&amp;right=refund-ok"' in text


def test_cluster_page_says_when_no_completed_run_shares_the_input(client, fleet):
    cluster_id = cluster_id_of(client, "waiting for approval")
    text = body(client.get(f"/incidents/clusters/{cluster_id}/"))
    assert "/compare/?left=" not in text
    assert "No completed run had the same input" in text


def test_cluster_page_pages_members_with_an_older_link(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    text = body(client.get(f"/incidents/clusters/{cluster_id}/?limit=4"))
    older = re.search(r'<a href="\?limit=4&amp;cursor=([^"]+)" hx-get="[^"]+" hx-target="#cluster-members"[^>]*>Older', text)
    assert older
    page = htmx(client, f"/incidents/clusters/{cluster_id}/?limit=4&cursor={older.group(1)}")
    region = body(page)
    assert region.startswith('<section id="cluster-members"')
    assert re.findall(r'<td class="runid nowrap"><a href="/runs/([^/]+)/"', region) == ["refund-1", "refund-0"]
    assert "5–6 of 6 runs" in region and "← Newest</a>" in region
    assert_valid_html(page.content)


def test_cluster_page_keeps_the_filters_it_was_opened_with(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    text = body(client.get(f"/incidents/clusters/{cluster_id}/?release=r1"))
    members = text.split('id="cluster-members"', 1)[1]
    assert re.findall(r'<td class="runid nowrap"><a href="/runs/([^/]+)/"', members) == ["refund-1", "refund-0"]
    assert f'href="/incidents/clusters/{cluster_id}/">every run of this cluster' in text


def test_cluster_page_outside_the_filters_says_so(client, fleet):
    cluster_id = cluster_id_of(client, "Upstream timeout after <duration>.")
    response = client.get(f"/incidents/clusters/{cluster_id}/?window=day")
    assert response.status_code == 200
    assert "No run of this cluster matches these filters" in body(response)


@pytest.mark.parametrize("cluster_id", ["0123456789abcdef", "not-a-cluster", "ABCDEF0123456789"])
def test_unknown_cluster_page_is_a_helpful_404(client, fleet, cluster_id):
    response = client.get(f"/incidents/clusters/{cluster_id}/")
    assert response.status_code == 404
    text = body(response)
    assert 'href="/incidents/clusters/">All failure clusters' in text
    assert_valid_html(response.content)


def test_cluster_page_bad_cursor_is_a_400(client, fleet):
    cluster_id = cluster_id_of(client, REFUND_TEMPLATE)
    response = client.get(f"/incidents/clusters/{cluster_id}/?cursor=bogus")
    assert response.status_code == 400
    assert "cursor" in body(response)


# Hostile text and secrets -------------------------------------------------------------


def hostile_paths(client) -> list[str]:
    cluster_id = cluster_id_of(client, HOSTILE_MESSAGE.replace("77", "<n>").replace('"cluster"', "<value>"))
    leaky = next(c["id"] for c in clusters_api(client)["clusters"] if c["errorName"] == "AuthError")
    return ["/incidents/clusters/", f"/incidents/clusters/{cluster_id}/", "/api/clusters/",
            f"/api/clusters/{cluster_id}/", f"/incidents/clusters/{leaky}/", f"/api/clusters/{leaky}/", "/"]


def test_hostile_messages_are_escaped_on_every_cluster_surface(client, fleet):
    for path in hostile_paths(client):
        response = client.get(path)
        if path.startswith("/api/"):
            assert response["Content-Type"] == "application/json", path  # JSON holds the text as it is
            continue
        text = body(response)
        assert "<script>alert" not in text, path
        assert "<b>Bad</b>" not in text, path
    page = body(client.get("/incidents/clusters/"))
    assert "&lt;script&gt;alert(&lt;value&gt;)&lt;/script&gt; broke order &lt;n&gt;" in page


def test_secrets_in_error_messages_never_reach_a_cluster_surface(client, fleet):
    for path in hostile_paths(client):
        text = body(client.get(path))
        for value in SECRET_VALUES:
            assert value not in text, (path, value)
    leaky = next(c for c in clusters_api(client)["clusters"] if c["errorName"] == "AuthError")
    assert "charge rejected with" in leaky["messageTemplate"]


# The overview -------------------------------------------------------------------------


def test_overview_charts_the_failure_rate_of_the_last_day_and_week(client, fleet):
    response = client.get("/")
    text = body(response)
    charts = re.findall(r'<svg class="rate-chart"[^>]*role="img" aria-label="([^"]+)"', text)
    assert len(charts) == 2
    assert charts[0].startswith("Share of runs that failed, per 1 h of the last 24 hours: ")
    day = text.split('id="overview-failures"', 1)[1].split("Last 7 days", 1)[0]
    assert "8 of 12 runs failed" in day
    assert text.count('<svg class="bar-chart"') == 4  # the usage charts are unchanged
    assert_valid_html(response.content)


def test_overview_rate_bars_say_how_many_runs_failed_in_each_bucket(client, fleet):
    text = body(client.get("/"))
    assert "2026-11-24 11:00:00 UTC – 2026-11-24 12:00:00 UTC: 1 of 1 run failed (100%)" in text


def test_overview_lists_the_top_five_clusters_of_the_last_day(client, fleet):
    text = body(client.get("/"))
    top = text.split("Top clusters", 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a href="/incidents/clusters/([0-9a-f]{16})/">', top)
    assert len(links) == 4  # refunds, approvals, the hostile one and the leaky one happened today
    assert links[0] == cluster_id_of(client, REFUND_TEMPLATE)
    assert '<strong class="top-cluster-count">6</strong>' in top
    assert 'href="/incidents/clusters/?window=day"' in top


def test_overview_failures_region_refreshes_alone(client, fleet):
    response = htmx(client, "/", target="overview-failures")
    text = body(response)
    assert text.startswith('<div id="overview-failures"')
    assert "HX-Target" in response["Vary"]
    assert_valid_html(response.content)
    assert body(htmx(client, "/")).startswith('<div id="overview-live"')
