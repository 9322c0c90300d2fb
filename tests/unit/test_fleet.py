"""Failure clusters, release summaries and release comparisons over in-memory stores."""

from __future__ import annotations

import pytest

from runtime_adapter.queries.fleet import (
    UnknownCluster,
    UnknownRelease,
    cluster_detail,
    cluster_report,
    release_comparison,
    release_report,
)
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.factories import run_record
from tests.parity import fleet_records


def failed(run_id: str, message: str, *, release: str = "r1", created: str = "2026-01-01T00:00:00.000Z",
           tool: str = "refund", name: str = "ToolExecutionError", **fields):
    steps = [{"id": f"{run_id}:step:1", "type": "tool", "status": "failed", "durationMs": 7,
              "payload": {"toolName": tool}}]
    return run_record(run_id, status="failed", created=created, steps=steps, metadata={"release": release},
                      errors=[{"name": name, "message": message}], **fields)


def completed(run_id: str, *, release: str = "r1", created: str = "2026-01-01T00:00:00.000Z", **fields):
    return run_record(run_id, status="completed", created=created, metadata={"release": release}, **fields)


def test_messages_that_differ_only_in_ids_and_numbers_are_one_cluster():
    store = InMemoryRunStore([
        failed("a", "Refund provider returned 429 for order 1234 (request 8f3a…)", created="2026-01-01T00:00:01.000Z"),
        failed("b", "Refund provider returned 503 for order 98 (request c01d…)", created="2026-01-01T00:00:02.000Z"),
        failed("c", "Upstream timeout after 30s.", created="2026-01-01T00:00:03.000Z"),
        completed("d"),
    ])
    report = cluster_report(store, RunQuery())
    assert [(c.count, c.message_template) for c in report.clusters] == [
        (2, "Refund provider returned <n> for order <n> (request <hex>)"),
        (1, "Upstream timeout after <duration>."),
    ]
    refund = report.clusters[0]
    assert refund.sample_run_ids == ["b", "a"]  # newest first
    assert (refund.tool_name, refund.error_name, refund.incident_type) == ("refund", "ToolExecutionError", "tool_failure")
    assert refund.share == 0.5 and report.runs == 4
    assert (refund.first_seen, refund.last_seen) == ("2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z")
    assert sum(refund.timeline) == 2


def test_a_cluster_id_is_the_same_in_every_process_and_changes_with_the_signature():
    first = cluster_report(InMemoryRunStore([failed("a", "Boom 1")]), RunQuery()).clusters[0].id
    again = cluster_report(InMemoryRunStore([failed("zz", "Boom 999")]), RunQuery()).clusters[0].id
    other_tool = cluster_report(InMemoryRunStore([failed("a", "Boom 1", tool="lookup")]), RunQuery()).clusters[0].id
    assert first == again != other_tool


def test_approvals_cluster_by_tool_and_pauses_by_reason():
    store = InMemoryRunStore([
        run_record("w1", status="waiting_for_approval", pendingApproval={"toolName": "send_email"}),
        run_record("w2", status="waiting_for_approval", pendingApproval={"toolName": "send_email"}),
        run_record("w3", status="waiting_for_approval", pendingApproval={"toolName": "deploy"}),
        run_record("p1", status="paused", pendingPause={"reason": "Confidence 0.2 is low", "stage": "before_model"}),
        run_record("p2", status="paused", pendingPause={"reason": "Confidence 0.31 is low", "stage": "before_model"}),
    ])
    clusters = {(c.tool_name, c.message_template): c.count for c in cluster_report(store, RunQuery()).clusters}
    assert clusters == {("send_email", "waiting for approval"): 2, ("deploy", "waiting for approval"): 1,
                        ("", "Confidence <n> is low"): 2}


def test_messages_that_are_only_placeholders_still_cluster():
    store = InMemoryRunStore([failed("a", "1234"), failed("b", "98"), failed("c", "")])
    assert sorted((c.message_template, c.count) for c in cluster_report(store, RunQuery()).clusters) == [
        ("", 1), ("<n>", 2)]


def test_no_runs_and_no_failures():
    assert cluster_report(InMemoryRunStore([]), RunQuery()).clusters == []
    assert release_report(InMemoryRunStore([]), RunQuery()) == []
    report = cluster_report(InMemoryRunStore([completed("a")]), RunQuery())
    assert (report.clusters, report.runs) == ([], 1)


def test_cluster_detail_pages_members_newest_first_and_refuses_unknown_ids():
    store = InMemoryRunStore([failed(f"r{i}", f"Boom {i}", created=f"2026-01-01T00:00:0{i}.000Z",
                                     release="r1" if i < 3 else "r2") for i in range(6)])
    cluster_id = cluster_report(store, RunQuery()).clusters[0].id
    detail = cluster_detail(store, cluster_id, RunQuery(limit=4))
    assert [row.id for row in detail.members.rows] == ["r5", "r4", "r3", "r2"]
    assert detail.members.next_cursor is not None and detail.members.total == 6
    assert detail.by_release == {"r1": 3, "r2": 3}
    with pytest.raises(UnknownCluster):
        cluster_detail(store, "0" * 16, RunQuery())
    # Known, but nothing in this scope: an empty cluster, not a 404.
    empty = cluster_detail(store, cluster_id, RunQuery(release="r3"))
    assert empty.cluster.count == 0 and empty.members.rows == []


def test_release_summary_rates_and_distributions():
    store = InMemoryRunStore([
        failed("a", "x", release="v1"), completed("b", release="v1", metrics={"cost": 0.5, "tokenUsage": {"total": 10}}),
        completed("c", release="v1", metrics={"cost": 1.5, "tokenUsage": {"total": 30}}),
        run_record("d", status="waiting_for_approval", metadata={"release": "v1"}, pendingApproval={"toolName": "t"}),
        run_record("e", status="completed"),  # no release: not a row
    ])
    [v1] = release_report(store, RunQuery())
    api = v1.as_api()
    assert (api["release"], api["runs"], api["failed"], api["failureRate"]) == ("v1", 4, 1, 0.25)
    assert api["waitingRate"] == 0.25 and api["cost"]["mean"] == 0.5 and api["tokens"]["mean"] == 10


def test_all_failed_and_one_release_compare_without_significance():
    store = InMemoryRunStore([failed(f"a{i}", "boom", release="v1") for i in range(5)])
    comparison = release_comparison(store, RunQuery(), "v1", "v1")
    assert comparison.failure_rate_delta == 0 and not comparison.failure_test.significant
    api = comparison.as_api()
    assert api["base"]["failureRateInterval"][1] == 1.0 and api["base"]["failureRate"] == 1.0
    with pytest.raises(UnknownRelease):
        release_comparison(store, RunQuery(), "v1", "v9")


def test_a_regression_is_significant_and_its_clusters_are_new_resolved_or_grown():
    records = []
    for i in range(60):
        records.append(failed(f"b{i}", f"Old bug {i}", tool="legacy") if i < 3 else
                       completed(f"b{i}", input=f"question {i}"))
    for i in range(60):
        if i < 20:
            records.append(failed(f"h{i}", f"Refund provider returned 429 for order {i}", input=f"question {i}",
                                  release="r2"))
        else:
            records.append(completed(f"h{i}", input=f"question {i}", release="r2"))
    comparison = release_comparison(InMemoryRunStore(records), RunQuery(), "r1", "r2")
    api = comparison.as_api()
    assert api["significant"] is True and api["failureRateDelta"] == pytest.approx(20 / 60 - 3 / 60)
    assert [c["messageTemplate"] for c in api["clusters"]["new"]] == ["Refund provider returned <n> for order <n>"]
    assert [c["messageTemplate"] for c in api["clusters"]["resolved"]] == ["Old bug <n>"]
    # question 0..2 failed in r1 and failed in r2; 3..19 went from completed to failed.
    changed = api["pairs"]["outcomeChanged"]
    assert api["pairs"]["matched"] == 57  # b0..b2 have the default input ("task b0"), not a question
    assert len(changed) == 17 and {(p["baseStatus"], p["headStatus"]) for p in changed} == {("completed", "failed")}
    assert changed[0]["input"].startswith("question ")
    tools = {tool["toolName"]: tool for tool in api["tools"]}
    assert tools["refund"]["head"]["errorRate"] == 1.0 and tools["refund"]["base"]["calls"] == 0


def test_a_cluster_that_grows_significantly_is_grown():
    records = [failed(f"b{i}", f"Flaky {i}") if i < 2 else completed(f"b{i}") for i in range(100)]
    records += [failed(f"h{i}", f"Flaky {i}", release="r2") if i < 30 else completed(f"h{i}", release="r2")
                for i in range(100)]
    api = release_comparison(InMemoryRunStore(records), RunQuery(), "r1", "r2").as_api()
    assert [c["messageTemplate"] for c in api["clusters"]["grown"]] == ["Flaky <n>"]
    assert api["clusters"]["new"] == [] and api["clusters"]["resolved"] == []


def test_the_parity_fixture_holds_every_kind_of_cluster():
    report = cluster_report(InMemoryRunStore(fleet_records()), RunQuery())
    kinds = {c.incident_type for c in report.clusters}
    assert {"tool_failure", "approval_blocked"} <= kinds and len(report.clusters) >= 4
    api = release_comparison(InMemoryRunStore(fleet_records()), RunQuery(), "r1", "r2").as_api()
    assert api["clusters"]["new"] and api["pairs"]["matched"] == 12


def test_with_no_run_on_one_side_nothing_is_new_or_resolved():
    store = InMemoryRunStore([failed("a", "Boom 1", release="v1"), completed("b", release="v2")])
    api = release_comparison(store, RunQuery(statuses=("failed",)), "v1", "v2").as_api()  # v2 has no failed run
    assert api["head"]["runs"] == 0 and api["clusters"] == {"new": [], "resolved": [], "grown": []}
    assert api["test"]["name"] == "none" and api["significant"] is False


def test_a_known_cluster_outside_the_scope_keeps_its_signature():
    store = InMemoryRunStore([failed("a", "Boom 1", release="v1", tool="refund")])
    cluster_id = cluster_report(store, RunQuery()).clusters[0].id
    empty = cluster_detail(store, cluster_id, RunQuery(release="v2")).cluster.as_api()
    assert (empty["count"], empty["toolName"], empty["messageTemplate"], empty["errorName"]) == (
        0, "refund", "Boom <n>", "ToolExecutionError")


def test_runs_without_an_input_are_never_paired():
    records = [run_record(f"{release}-{i}", status="completed", input=value, metadata={"release": release})
               for release in ("v1", "v2") for i, value in enumerate((None, "", "same question"))]
    api = release_comparison(InMemoryRunStore(records), RunQuery(), "v1", "v2").as_api()
    assert api["pairs"]["matched"] == 1


def test_values_javascript_reads_as_infinity_are_left_out_of_distributions_and_deltas(tmp_path):
    from runtime_adapter.js import jsjson
    from runtime_adapter.stores.file import FileRunStore

    big = run_record("big", status="completed", metadata={"release": "v1"}, input="q",
                     metrics={"cost": 12345, "tokenUsage": {"total": 5}})
    fine = run_record("fine", status="completed", metadata={"release": "v2"}, input="q",
                      metrics={"cost": 0.5, "tokenUsage": {"total": 5}})
    for record in (big, fine):
        text = jsjson.dumps(record, 2).replace('"cost": 12345', '"cost": 1e999')  # JSON.parse reads Infinity
        (tmp_path / f"{record['id']}.json").write_text(text, encoding="utf-8")
    comparison = release_comparison(FileRunStore(tmp_path), RunQuery(), "v1", "v2")
    assert comparison.base.cost.values == [] and comparison.base.cost.mean is None
    assert comparison.cost_changes[0].cost_delta == 0.5


def test_a_large_release_keeps_the_shape_of_its_distribution_not_every_value():
    records = [completed(f"r{i}", release="v1", metrics={"cost": i / 1000, "tokenUsage": {"total": i}}) for i in range(3000)]
    [summary] = InMemoryRunStore(records).release_summaries(RunQuery())  # a comparison's side
    assert len(summary.tokens.values) == 1001
    assert summary.tokens.values[0] == 0 and summary.tokens.values[-1] == 2999 and summary.tokens.p50 == 1499.5
    # The releases page draws no chart: the same figures without its points.
    [listed] = release_report(InMemoryRunStore(records), RunQuery())
    assert listed.tokens.values == [] and listed.tokens.p50 == 1499.5 and listed.cost.p99 == summary.cost.p99
