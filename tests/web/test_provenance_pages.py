"""Provenance on the pages (issue 13 §5): the handoff panel, recovery history, runs a tree leaves out, lineage
kinds, the runner's notes on a recovery plan, and exports that say they are redacted."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import quote

import pytest
from django.core.cache import cache

from runtime_adapter.inspectors import create_recovery_plan, validate_trace
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.factories import run_record
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import body, write_store

DISTRIBUTED = "s08_distributed"
WORKFLOWS = "s06_workflows"
SEEDED = "s09_reference_seeded"
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
PASSWORD = "password=hunter2-prod"


def meta(run):
    return run["metadata"]


def queue_failure() -> str:
    """The queue worker's continuation that failed and that DistributedRecoveryRunner then recovered."""
    return corpus.the_run(DISTRIBUTED, "the failed queue continuation a recovery branch names", lambda run: (
        meta(run).get("workerId") == "worker-b" and run["status"] == "failed"
        and corpus.ids_where(DISTRIBUTED, lambda other: (meta(other).get("recovery") or {}).get("sourceRunId") == run["id"])))


def recovery_of(scenario: str, source: str) -> str:
    return corpus.the_run(scenario, f"the recovery run of {source}",
                          lambda run: (meta(run).get("recovery") or {}).get("sourceRunId") == source)


def branch_handoff() -> str:
    return corpus.the_run(DISTRIBUTED, "the run continued from a branch envelope with an identity",
                          lambda run: meta(run).get("handoffTarget") and meta(run).get("executionIdentity"))


def identity_only() -> str:
    """A run started with an execution identity and auth scope, then handed off (not itself continued)."""
    return corpus.the_run(DISTRIBUTED, "the identity-carrying source of the branch handoff",
                          lambda run: run["id"] == meta(corpus.get_run(DISTRIBUTED, branch_handoff()))["sourceRunId"])


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


# The handoff panel -----------------------------------------------------------------------------------


def test_a_queue_continuation_shows_queue_transport_worker_and_source_in_its_handoff_panel(client, scenario):
    scenario(DISTRIBUTED)
    run_id = queue_failure()
    source = meta(corpus.get_run(DISTRIBUTED, run_id))["sourceRunId"]
    response = client.get(f"/runs/{run_id}/")
    assert response.status_code == 200
    html = body(response)
    panel = html[html.index('id="run-handoff"'):]
    panel = panel[:panel.index("</section>")]
    assert "<h2 id=\"run-handoff-title\">Handoff</h2>" in html
    for label, value in (("Queue", "runtime-job-queue"), ("Transport", "queue"), ("Worker", "worker-b")):
        assert re.search(rf"<dt>{label}</dt><dd[^>]*><bdi>{value}</bdi></dd>", panel), label
    assert f'href="/runs/{source}/"' in panel and "<code>replay</code>" in panel
    assert_valid_html(response.content)


def test_a_branch_envelope_shows_the_identity_and_auth_scope_it_carried(client, scenario):
    scenario(DISTRIBUTED)
    html = body(client.get(f"/runs/{branch_handoff()}/"))
    panel = text_of(html[html.index('id="run-handoff"'):html.index("</section>", html.index('id="run-handoff"'))])
    for expected in ("Continued by branch", "Handoff target worker-identity", "Transport grpc", "Actor user-42",
                     "Service api-gateway", "Tenant acme", "Session sess-1", "runs:write", "Distributed auth scope",
                     "crmToken"):
        assert expected in " ".join(panel.split()), expected


def test_a_run_with_an_identity_but_no_handoff_shows_it_without_calling_it_a_handoff(client, scenario):
    scenario(DISTRIBUTED)
    html = body(client.get(f"/runs/{identity_only()}/"))
    assert '<h2 id="run-handoff-title">Provenance</h2>' in html
    assert "Execution identity" in html and "user-42" in html and "Continued by" not in html


def test_a_plain_run_has_no_handoff_panel(client, scenario):
    scenario(corpus.BRANCHES)
    assert 'id="run-handoff"' not in body(client.get(f"/runs/{corpus.root()}/"))


def test_a_recovery_run_links_the_run_it_recovers_and_its_incident(client, scenario):
    scenario(DISTRIBUTED)
    source = queue_failure()
    html = body(client.get(f"/runs/{recovery_of(DISTRIBUTED, source)}/"))
    panel = html[html.index('id="run-handoff"'):]
    assert "Recovery attempt" in panel and "<code>branch_from_failure_checkpoint</code>" in panel
    assert f'href="/incidents/{source}/"' in panel and "queue worker failure" in panel


@pytest.fixture
def provenance_store(runs_settings, tmp_path):
    """A failed run, its recovery replay that never finished (no replay_completed), a recovery branch that
    failed again, a continuation whose handoff fields hold secrets, and two unreadable files."""
    source = "src-run"
    records = [
        run_record(source, status="failed", errors=[{"name": "ToolError", "message": "crm down"}],
                   steps=[{"id": "src-run:step:1", "type": "model", "status": "completed",
                           "createdAt": "2026-01-01T00:00:00.100Z"},
                          {"id": "src-run:step:2", "type": "tool", "status": "failed",
                           "createdAt": "2026-01-01T00:00:00.300Z", "payload": {"toolName": "update_crm"}}],
                   checkpoints=[
                       {"id": "src-run:checkpoint:1", "label": f"before {PASSWORD}", "status": "running",
                        "timestamp": "2026-01-01T00:00:00.200Z"},
                       {"id": "src-run:checkpoint:2", "label": "run_failed", "status": "failed",
                        "timestamp": "2026-01-01T00:00:00.400Z"}]),
        run_record(f"{source}:partial-replay:1", root=source, status="running", created="2026-01-01T00:01:00.000Z",
                   branch_origin=source, branch_checkpoint="src-run:checkpoint:1",
                   events=[{"id": "e1", "type": "replay_started", "timestamp": "2026-01-01T00:01:00.000Z"}],
                   metadata={"recovery": {"sourceRunId": source, "action": "partial_replay"},
                             "replay": {"mode": "partial_frozen_trace", "sourceRunId": source,
                                        "sourceCheckpointId": "src-run:checkpoint:1"}}),
        run_record("recovery-branch", root=source, status="failed", created="2026-01-01T00:02:00.000Z",
                   branch_origin=source, branch_checkpoint="src-run:checkpoint:2",
                   errors=[{"name": "ToolError", "message": f"retry failed with {SECRET}"}],
                   metadata={"recovery": {"sourceRunId": source, "action": "branch_from_failure_checkpoint",
                                          "incidentType": "tool_failure"}}),
        run_record("plain-branch", root=source, status="paused", created="2026-01-01T00:03:00.000Z",
                   branch_origin=source, branch_checkpoint="src-run:checkpoint:1"),
        run_record("handoff-secret", root=source, status="completed", created="2026-01-01T00:04:00.000Z",
                   branch_origin=source, branch_checkpoint="src-run:checkpoint:1",
                   metadata={"sourceRunId": source, "transport": "queue", "workerId": SECRET,
                             "handoffTarget": f"worker {PASSWORD}",
                             "executionIdentity": {"actorId": "ops", "sessionId": SECRET, "scopes": [PASSWORD]},
                             "distributedAuthScope": ["crmToken", SECRET]}),
    ]
    url = write_store(tmp_path / "runs", records, corrupt={"broken.json": b'{"id": "broken", ', "list.json": b"[1]"})
    runs_settings.CONTROLPLANE_RUN_STORE = url
    cache.clear()
    return records


def test_handoff_fields_and_identity_are_redacted(client, provenance_store):
    response = client.get("/runs/handoff-secret/")
    html = body(response)
    assert response.status_code == 200 and 'id="run-handoff"' in html
    assert SECRET not in html and "hunter2" not in html
    panel = html[html.index('id="run-handoff"'):]
    assert panel.count("[REDACTED]") >= 4 and "crmToken" in panel
    assert_valid_html(response.content)


def test_handoff_secrets_show_when_redaction_is_turned_off(client, provenance_store, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    assert SECRET in body(client.get("/runs/handoff-secret/"))


def test_a_replay_without_replay_completed_says_it_did_not_finish(client, provenance_store):
    html = body(client.get("/runs/src-run:partial-replay:1/"))
    assert "This replay did not finish" in html and "replay_completed" in html


# Recovery history on the incident page ---------------------------------------------------------------


def test_the_incident_page_lists_its_recovery_attempts_with_their_outcome(client, scenario):
    scenario(DISTRIBUTED)
    source = queue_failure()
    recovery = recovery_of(DISTRIBUTED, source)
    response = client.get(f"/incidents/{source}/")
    html = body(response)
    assert response.status_code == 200
    history = html[html.index('id="inc-recovery-title"'):]
    history = history[:history.index("</section>")]
    assert f'href="/runs/{recovery}/"' in history
    assert '<span class="status status-completed">' in history
    assert "<code>branch_from_failure_checkpoint</code>" in history and "queue worker failure" in history
    assert_valid_html(response.content)


def test_a_recovery_without_an_incident_type_is_listed_too(client, scenario):
    scenario(corpus.BRANCHES)
    failed_root = corpus.the_run(corpus.BRANCHES, "the failed root a recovery branch names", lambda run: (
        corpus.ids_where(corpus.BRANCHES, lambda other: (meta(other).get("recovery") or {}).get("sourceRunId") == run["id"])))
    html = body(client.get(f"/incidents/{failed_root}/"))
    assert f'href="/runs/{recovery_of(corpus.BRANCHES, failed_root)}/"' in html


def test_recovery_history_flags_an_unfinished_replay_and_redacts_outcomes(client, provenance_store):
    response = client.get("/incidents/src-run/")
    html = body(response)
    assert response.status_code == 200
    history = html[html.index('id="inc-recovery-title"'):]
    history = history[:history.index("</section>")]
    assert history.index("src-run:partial-replay:1") < history.index("recovery-branch")  # oldest first
    assert "replay did not finish" in history
    assert "retry failed with [REDACTED]" in history and SECRET not in html
    assert "plain-branch" not in history  # a branch without metadata.recovery is no recovery attempt
    assert_valid_html(response.content)


def test_a_run_without_recovery_attempts_says_so(client, scenario):
    scenario(DISTRIBUTED)
    replay = corpus.the_run(DISTRIBUTED, "the failed queue continuation nothing recovered", lambda run: (
        meta(run).get("workerId") == "worker-b" and run["status"] == "failed" and run["id"] != queue_failure()))
    assert "No recovery attempt" in body(client.get(f"/incidents/{replay}/"))


# Runs a tree leaves out ------------------------------------------------------------------------------


def test_the_tree_page_names_the_replays_and_branches_the_runtimes_tree_leaves_out(client, scenario):
    scenario(corpus.BRANCHES)
    root = corpus.root()
    derived = [run["id"] for run in corpus.runs(corpus.BRANCHES)
               if run["id"] != root and corpus.lineage(run)["rootRunId"] == root and not corpus.lineage(run)["parentRunId"]]
    response = client.get(f"/runs/{root}/tree/")
    html = body(response)
    assert response.status_code == 200
    section = html[html.index('id="tree-outside"'):]
    section = section[:section.index("</section>")]
    assert len(derived) >= 5
    for run_id in derived:
        assert f'href="/runs/{quote(run_id)}/"' in section or f'href="/runs/{run_id}/"' in section, run_id
    sentence = " ".join(text_of(section).split())
    assert re.search(r"\d+ replays, 1 partial replay, \d+ branches and 1 partial export derived from this tree are not part of it", sentence), sentence
    assert "RunTreeInspector" in sentence
    assert_valid_html(response.content)


def test_a_tree_headed_by_a_replay_says_so_and_lists_its_recovery_run(client, scenario):
    scenario(DISTRIBUTED)
    replay = queue_failure()
    source = meta(corpus.get_run(DISTRIBUTED, replay))["sourceRunId"]
    html = body(client.get(f"/runs/{replay}/tree/"))
    note = " ".join(text_of(html[html.index("tree-head-note"):html.index("</p>", html.index("tree-head-note"))]).split())
    assert "is a partial replay of" in note and "heads a tree of its own" in note
    assert f'href="/runs/{source}/tree/"' in html
    outside = html[html.index('id="tree-outside"'):]
    assert f'href="/runs/{recovery_of(DISTRIBUTED, replay)}/"' in outside and "recovery run" in outside


def test_a_derived_run_inside_a_tree_is_tagged_and_the_legend_names_its_kind(client, scenario):
    scenario(SEEDED)
    export = corpus.the_run(SEEDED, "the imported partial export", lambda run: "replaySourceRunId" in meta(run))
    parent = corpus.lineage(corpus.get_run(SEEDED, export))["parentRunId"]
    html = body(client.get(f"/runs/{parent}/tree/"))
    assert re.search(r'<span class="kind-tag kind-partial_export">partial export</span>', html)
    legend = html[html.index('class="kind-legend'):]
    assert "partial export" in legend[:legend.index("</p>")]


def test_the_incident_page_says_which_runs_are_not_in_its_run_tree_this_run_among_them(client, scenario):
    scenario(DISTRIBUTED)
    replay = queue_failure()
    response = client.get(f"/incidents/{replay}/")
    html = body(response)
    note = html[html.index('id="incident-outside"'):]
    note = note[:note.index("</div>")]
    text = " ".join(text_of(note).split())
    assert "1 partial replay and 1 recovery run of this family are not part of its run tree" in text
    assert "this run among them" in text
    assert f'href="/incidents/{recovery_of(DISTRIBUTED, replay)}/"' in note
    assert_valid_html(response.content)


def test_tree_page_of_an_unknown_run_is_a_404(client, scenario):
    assert client.get("/runs/no-such-run/tree/").status_code == 404


# Lineage kinds --------------------------------------------------------------------------------------


def test_the_lineage_dot_draws_each_kind_of_derived_run_its_own_way(client, scenario):
    scenario(corpus.BRANCHES)
    dot = client.get(f"/runs/{corpus.root()}/lineage.dot").content.decode()
    edges = [line for line in dot.splitlines() if "->" in line]
    assert any('style="dotted,bold"' in line and 'label="partial replay · ' in line for line in edges)
    assert any("arrowhead=onormal" in line and 'label="partial export · ' in line for line in edges)
    assert any("style=dotted" in line and 'label="replay"' in line for line in edges)
    assert any("style=dashed" in line and "arrowhead" not in line for line in edges)


def test_a_recovery_edge_is_bold_in_its_own_colour(client, scenario):
    scenario(DISTRIBUTED)
    dot = client.get(f"/runs/{queue_failure()}/lineage.dot").content.decode()
    assert any("style=bold" in line and 'label="recovery · ' in line for line in dot.splitlines() if "->" in line)


def test_the_lineage_page_legend_and_family_table_name_the_kinds(client, scenario):
    scenario(corpus.BRANCHES)
    response = client.get(f"/runs/{corpus.root()}/lineage/")
    html = body(response)
    legend = html[html.index('class="legend'):]
    legend = legend[:legend.index("</p>")]
    for name in ("partial replay", "partial export", "recovery run"):
        assert name in legend
    table = " ".join(text_of(html[html.index("Runs in this family"):]).split())
    assert "partial export of" in table and "partial replay of" in table
    assert_valid_html(response.content)


# The recovery plan: the runner's notes, ours labelled, the runtime's untouched ----------------------


def test_a_workflow_branch_step_says_the_runner_cannot_execute_it(client, scenario):
    scenario(WORKFLOWS)
    store = InMemoryRunStore(corpus.runs(WORKFLOWS))
    failed = [run["id"] for run in corpus.runs(WORKFLOWS) if run["status"] == "failed"
              and create_recovery_plan(store, run["id"], None)["recommendedAction"] == "workflow_branch_from_failure_checkpoint"]
    assert failed
    html = body(client.get(f"/incidents/{failed[0]}/"))
    plan = html[html.index('class="panel inc-plan"'):]
    plan = plan[:plan.index("</section>")]
    assert "<code class=\"inc-action\">workflow_branch_from_failure_checkpoint</code>" in plan
    assert "Control plane note: DistributedRecoveryRunner cannot execute this step" in plan
    assert "Branch the workflow recovery path from the failure boundary before retrying distributed work." in plan
    assert 'returns executedAction &quot;inspect_report&quot;' in html


def test_the_plan_in_the_api_is_still_the_runtimes_own(client, scenario):
    scenario(WORKFLOWS)
    store = InMemoryRunStore(corpus.runs(WORKFLOWS))
    run_id = next(run["id"] for run in corpus.runs(WORKFLOWS) if run["status"] == "failed")
    payload = json.loads(client.get(f"/api/incidents/{run_id}/").content)
    plan = payload.get("plan", payload.get("recoveryPlan"))
    assert json.dumps(plan, sort_keys=True) == json.dumps(create_recovery_plan(store, run_id, None), sort_keys=True)
    assert "Control plane" not in json.dumps(payload)


def test_a_safer_checkpoint_before_the_failing_tool_is_our_labelled_suggestion(client, provenance_store):
    html = body(client.get("/incidents/src-run/"))
    suggestion = html[html.index("Control plane suggestion"):]
    suggestion = suggestion[:suggestion.index("</section>")]
    call = 'agent.branchRun(&quot;src-run&quot;, { checkpointId: &quot;src-run:checkpoint:1&quot; })'
    assert call in suggestion and f'data-copy="{call}"' in suggestion
    assert "<code>update_crm</code>" in suggestion and "Ours, not the runtime's" in suggestion
    assert "hunter2" not in html  # the checkpoint's label is run text: redacted like the rest


def test_no_suggestion_when_the_plan_already_branches_before_the_tool(client, scenario):
    scenario(corpus.FAILURES)
    first_tool_failed = corpus.the_run(corpus.FAILURES, "the run whose only tool call failed right after the model", lambda run: (
        run["status"] == "failed" and [step.get("type") for step in run["steps"]] == ["model", "tool"]
        and run["steps"][1].get("status") == "failed" and corpus.tool_names(run) == ["sync_inventory"]
        and [cp["label"] for cp in run["checkpoints"]] == ["run_started", "model_response", "run_failed"]))
    html = body(client.get(f"/incidents/{first_tool_failed}/"))
    assert "Control plane suggestion" in html  # run_failed is after the tool; model_response is before it
    assert "model_response" in html[html.index("Control plane suggestion"):]


# Exports ------------------------------------------------------------------------------------------


def _json(response):
    assert response.status_code == 200, response.content[:200]
    return json.loads(response.content)


def test_exports_say_they_are_redacted_and_stay_valid_traces(client, scenario):
    root = corpus.root()
    checkpoint = corpus.checkpoint_id(corpus.get_run(corpus.BRANCHES, root), "tool_completed")
    for url in (f"/runs/{root}/export/trace.json", f"/runs/{root}/export/partial.json?checkpoint={quote(checkpoint)}",
                f"/runs/{root}/export/bundle.json", "/runs/export/bundle.json", f"/api/runs/{root}/trace/",
                "/api/bundle/?root=" + quote(root)):
        payload = _json(client.get(url))
        assert payload["metadata"]["redacted"] is True, url
        assert validate_trace(payload, True)["valid"] is True, url


def test_exports_made_without_redaction_do_not_claim_it(client, scenario, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    payload = _json(client.get(f"/runs/{corpus.root()}/export/trace.json"))
    assert "redacted" not in payload["metadata"]


def test_the_tree_page_lists_what_it_leaves_out_beside_unreadable_files_and_redacts_labels(client, provenance_store):
    response = client.get("/runs/src-run/tree/")
    html = body(response)
    assert response.status_code == 200
    outside = html[html.index('id="tree-outside"'):]
    outside = outside[:outside.index("</section>")]
    for run_id in ("src-run:partial-replay:1", "recovery-branch", "plain-branch", "handoff-secret"):
        assert f'href="/runs/{run_id}/"' in outside, run_id
    assert "replay did not finish" in outside
    lineage = body(client.get("/runs/src-run/lineage/"))
    assert "before password=[REDACTED]" in lineage and "hunter2" not in lineage + html
    assert_valid_html(response.content)
