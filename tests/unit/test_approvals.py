"""The approvals inbox and history derived from runs (runtime_adapter.queries.approvals), and their wording
(runtime_adapter.present.approvals_view), on runs written the way Agent._gateToolCall and resumeRun write them
and on the conformance corpus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runtime_adapter.js.dates import iso_ms
from runtime_adapter.present.approvals_view import (
    approval_views,
    confidence_text,
    decision_text,
    resolution_views,
    resume_call,
    waited,
)
from runtime_adapter.queries.approvals import (
    ApprovalFilters,
    Decision,
    approval_history,
    pending_approvals,
)
from runtime_adapter.records import CorruptRun, StoreEntry
from runtime_adapter.rows import decode_cursor
from runtime_adapter.stores.memory import InMemoryRunStore
from runtime_adapter.stores.redacting import RedactingStore
from tests.factories import run_record
from tests.fixtures import corpus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SECRET = "sk-live-9f8e7d6c5b4a39281706"


def at(minutes_ago: float) -> str:
    return iso_ms(NOW - timedelta(minutes=minutes_ago))


def later(stamp: str, ms: int) -> str:
    return iso_ms(datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(milliseconds=ms))


def tool_metadata(side_effect: str = "external_write", policy: str = "auto") -> dict[str, Any]:
    """A Tool's metadata as its constructor fills it in (src/tools/adapters/Tool.js)."""
    return {"examples": [], "tags": [], "version": "1.0.0", "sideEffectLevel": side_effect, "timeout": None,
            "authRequirements": [], "idempotencyHint": "unknown", "costHint": "unknown",
            "retryabilityHint": "unknown", "executionPolicy": policy, "verificationPolicy": "auto"}


def _request(run_id: str, tool: str, arguments: Any, side_effect: str, policy: str) -> dict[str, Any]:
    call = {"name": tool, "arguments": arguments, "id": "tool_use_1"}
    return {"runId": run_id, "toolName": tool, "toolCall": call, "arguments": arguments,
            "metadata": tool_metadata(side_effect, policy)}


def _event(run_id: str, number: int, kind: str, stamp: str, payload: Any) -> dict[str, Any]:
    return {"id": f"{run_id}:{number}", "type": kind, "timestamp": stamp, "payload": payload}


def waiting_run(run_id: str, *, tool: str = "send_email", arguments: Any = None, side_effect: str = "external_write",
                policy: str = "auto", reason: str | None = "External writes require approval.",
                requested: str | None = None, release: str | None = None, root: str | None = None,
                decision: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
                status: str = "waiting_for_approval") -> dict[str, Any]:
    """A run stopped by Agent._gateToolCall: the tool call recorded, the policy's verdict in
    state.policyDecisions, pendingApproval set and an approval_requested event, then a waiting_for_approval
    checkpoint; updatedAt is a few milliseconds after the request."""
    requested = requested or at(90)
    arguments = {"to": "ops@example.com"} if arguments is None else arguments
    request = _request(run_id, tool, arguments, side_effect, policy)
    pending = {**request, "reason": reason, **(extra or {})}
    verdict = decision or {"action": "require_approval", "reason": reason, "ruleId": "external-approval",
                           "source": "rule"}
    created = later(requested, -40)
    metadata = {"release": release} if release else {}
    return run_record(
        run_id, status=status, created=created, root=root, metadata=metadata,
        timestamps={"createdAt": created, "startedAt": created, "updatedAt": later(requested, 3)},
        toolCalls=[request], pendingApproval=pending,
        state={"policyDecisions": [{"toolName": tool, "stage": "evaluate", "decision": verdict}]},
        events=[_event(run_id, 1, "run_started", created, {"input": "task"}),
                _event(run_id, 2, "tool_requested", later(requested, -5), request),
                _event(run_id, 3, "policy_decision", later(requested, -2),
                       {"toolName": tool, "stage": "evaluate", "decision": verdict}),
                _event(run_id, 4, "approval_requested", requested, pending)],
        checkpoints=[{"id": f"{run_id}:checkpoint:1", "label": "waiting_for_approval", "status": status,
                      "timestamp": later(requested, 2), "snapshot": {"toolName": tool}}],
    )


def resolved_run(run_id: str, *, approved: bool, reason: str, outcome: str, tool: str = "send_email",
                 requested: str | None = None, waited_ms: int = 60_000, side_effect: str = "external_write",
                 arguments: Any = None) -> dict[str, Any]:
    """A run resumed by `resumeRun(runId, {approved, reason})`: approval_resolved, then the tool ran or the run
    failed (the runtime keeps pendingApproval on a denied run)."""
    run = waiting_run(run_id, tool=tool, requested=requested, side_effect=side_effect, arguments=arguments)
    asked = run["events"][-1]
    resolved = later(asked["timestamp"], waited_ms)
    events = [*run["events"], _event(run_id, 5, "approval_resolved", resolved,
                                     {"request": asked["payload"], "approved": approved, "reason": reason})]
    if outcome == "executed":
        events.append(_event(run_id, 6, "tool_started", later(resolved, 3), {"toolName": tool, "arguments": {}}))
        events.append(_event(run_id, 7, "run_completed", later(resolved, 9), {"output": "done"}))
        run.update(status="completed", pendingApproval=None)
    else:
        message = reason if approved is False else "Execution denied."
        events.append(_event(run_id, 6, "run_failed", later(resolved, 2), {"name": "ToolPolicyError", "message": message}))
        run.update(status="failed", errors=[{"name": "ToolPolicyError", "message": message}])
    run["events"] = events
    run["timestamps"]["updatedAt"] = later(resolved, 10)
    return run


def store(*records: dict[str, Any], errors: tuple[StoreEntry, ...] = ()) -> RedactingStore:
    return RedactingStore(InMemoryRunStore(records, errors=errors))


class CountingStore(RedactingStore):
    """Counts the run files read (get_run), which is what a page must bound."""

    reads = 0

    def get_run(self, run_id: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().get_run(run_id)


# The inbox --------------------------------------------------------------------------------------------

def test_inbox_lists_the_tool_arguments_side_effect_level_policy_and_reason_of_the_pending_request():
    page = pending_approvals(store(waiting_run("r1", tool="crm_update", arguments={"account": "acct-41"},
                                               side_effect="system_write", policy="require_approval",
                                               reason="CRM writes need a second pair of eyes.")),
                             ApprovalFilters(), NOW)
    [approval] = page.approvals
    assert approval.run_id == "r1"
    assert approval.tool_name == "crm_update"
    assert approval.request is not None
    assert approval.request.arguments == {"account": "acct-41"}
    assert approval.request.side_effect_level == "system_write"
    assert approval.request.execution_policy == "require_approval"
    assert approval.request.reason == "CRM writes need a second pair of eyes."
    assert approval.decisions == (Decision("evaluate", "require_approval", "rule", "external-approval",
                                           "CRM writes need a second pair of eyes."),)


def test_inbox_lists_the_longest_waiting_first_and_measures_the_wait_from_the_approval_request():
    page = pending_approvals(store(waiting_run("recent", requested=at(5)), waiting_run("oldest", requested=at(600)),
                                   waiting_run("middle", requested=at(60))), ApprovalFilters(), NOW)
    assert [approval.run_id for approval in page.approvals] == ["oldest", "middle", "recent"]
    assert [approval.waiting_seconds for approval in page.approvals] == [36_000, 3_600, 300]
    assert page.approvals[0].requested_at == at(600)


def test_inbox_leaves_out_runs_that_are_not_waiting_for_approval():
    paused = waiting_run("paused-too", status="paused")  # a pause on top of the request: resumeRun resumes the pause
    done = run_record("done", status="completed")
    page = pending_approvals(store(paused, done, waiting_run("waits")), ApprovalFilters(), NOW)
    assert [approval.run_id for approval in page.approvals] == ["waits"]
    assert page.total == 1


def test_inbox_filters_by_tool_release_side_effect_level_and_age():
    runs = store(waiting_run("a", tool="send_email", release="v1", requested=at(30)),
                 waiting_run("b", tool="deploy", side_effect="destructive", release="v2", requested=at(3000)),
                 waiting_run("c", tool="send_email", side_effect="none", release="v2", requested=at(120)))

    def ids(**filters: Any) -> list[str]:
        return [approval.run_id for approval in pending_approvals(runs, ApprovalFilters(**filters), NOW).approvals]

    assert ids(tool="send_email") == ["c", "a"]
    assert ids(release="v2") == ["b", "c"]
    assert ids(side_effect_level="destructive") == ["b"]
    assert ids(waited_seconds=3600) == ["b", "c"]
    assert ids(waited_seconds=86400) == ["b"]
    assert ids(waited_seconds=7 * 86400) == []
    assert ids(tool="send_email", release="v2", waited_seconds=3600) == ["c"]


def test_the_tool_filter_reads_the_tool_call_when_the_request_names_no_tool():
    record = waiting_run("unnamed", tool="notify_user")
    del record["pendingApproval"]["toolName"]
    page = pending_approvals(store(record), ApprovalFilters(tool="notify_user"), NOW)
    assert [approval.tool_name for approval in page.approvals] == ["notify_user"]


def test_inbox_records_the_confidence_and_the_verifier_verdict_that_asked():
    confidence = {"toolName": "notify_user", "score": 0, "completeness": 0, "requiredArguments": ["query"],
                  "providedRequiredArguments": []}
    verification = {"action": "require_approval", "reason": "Broadcast needs sign-off.", "source": "verifier"}
    allow = {"action": "allow", "reason": None, "source": "default"}
    page = pending_approvals(store(
        waiting_run("by-confidence", extra={"confidence": confidence}, decision=allow),
        waiting_run("by-verifier", extra={"verification": verification}, decision=allow, requested=at(10))),
        ApprovalFilters(), NOW)
    by_confidence, by_verifier = page.approvals
    assert by_confidence.request is not None and by_confidence.request.confidence == confidence
    assert by_confidence.decisions == ()  # the tool policy allowed it: the confidence policy asked
    assert by_verifier.request is not None and by_verifier.request.verification == verification
    assert by_verifier.decisions == (Decision("verifier", "require_approval", "verifier", None, "Broadcast needs sign-off."),)


def test_inbox_redacts_the_arguments_and_the_reason():
    record = waiting_run("secretive", arguments={"apiKey": "abc123", "note": f"use {SECRET}"},
                         reason=f"password={SECRET}")
    [approval] = pending_approvals(store(record), ApprovalFilters(), NOW).approvals
    assert approval.request is not None
    assert SECRET not in repr(approval.as_api())
    assert approval.request.arguments["apiKey"] == "[REDACTED]"
    assert "abc123" not in repr(approval)


def test_inbox_shows_secrets_when_redaction_is_turned_off():
    record = waiting_run("secretive", arguments={"note": f"use {SECRET}"})
    raw = RedactingStore(InMemoryRunStore([record]), secrets=False)
    [approval] = pending_approvals(raw, ApprovalFilters(), NOW, secrets=False).approvals
    assert approval.request is not None and approval.request.arguments == {"note": f"use {SECRET}"}


def test_a_page_reads_at_most_its_size_and_its_cursor_opens_the_next():
    runs = CountingStore(InMemoryRunStore([waiting_run(f"w{n:02d}", requested=at(100 - n)) for n in range(7)]))
    first = pending_approvals(runs, ApprovalFilters(), NOW, limit=3)
    assert runs.reads == 3
    assert [approval.run_id for approval in first.approvals] == ["w00", "w01", "w02"]
    assert first.total == 7
    assert first.next_cursor is not None
    second = pending_approvals(runs, ApprovalFilters(), NOW, offset=decode_cursor(first.next_cursor), limit=3)
    assert [approval.run_id for approval in second.approvals] == ["w03", "w04", "w05"]
    last = pending_approvals(runs, ApprovalFilters(), NOW, offset=6, limit=3)
    assert [approval.run_id for approval in last.approvals] == ["w06"]
    assert last.next_cursor is None
    assert runs.reads == 7


def test_the_side_effect_filter_narrows_the_runs_a_page_read():
    runs = CountingStore(InMemoryRunStore([waiting_run(f"w{n}", requested=at(100 - n),
                                                       side_effect="destructive" if n % 2 else "none")
                                           for n in range(6)]))
    page = pending_approvals(runs, ApprovalFilters(side_effect_level="destructive"), NOW, limit=4)
    assert runs.reads == 4
    assert page.read == 4
    assert [approval.run_id for approval in page.approvals] == ["w1", "w3"]
    assert page.total == 6  # the listing rows cannot tell the level
    assert page.next_cursor is not None


def test_unreadable_files_are_counted_and_do_not_hide_the_rest():
    broken = StoreEntry(source="broken.json", error="Unexpected end of JSON input")
    page = pending_approvals(store(waiting_run("fine"), errors=(broken,)), ApprovalFilters(), NOW)
    assert [approval.run_id for approval in page.approvals] == ["fine"]
    assert page.unreadable == 1


def test_a_run_corrupted_after_it_was_listed_is_counted_as_unreadable():
    class Flaky(RedactingStore):
        def get_run(self, run_id: str):  # type: ignore[no-untyped-def]
            if run_id == "torn":
                raise CorruptRun("torn.json", "Unexpected end of JSON input")
            return super().get_run(run_id)

    page = pending_approvals(Flaky(InMemoryRunStore([waiting_run("torn", requested=at(200)), waiting_run("fine")])),
                             ApprovalFilters(), NOW)
    assert [approval.run_id for approval in page.approvals] == ["fine"]
    assert page.unreadable == 1


@pytest.mark.parametrize("pending", ["just text", 42, [1, 2], {"toolCall": "nope", "metadata": [], "arguments": None}])
def test_a_pending_approval_of_any_shape_is_shown_without_failing(pending):
    record = waiting_run("odd")
    record["pendingApproval"] = pending
    record["events"] = [None, {"type": 5}, "x"]
    record["state"] = {"policyDecisions": "not a list"}
    [approval] = pending_approvals(store(record), ApprovalFilters(), NOW).approvals
    assert approval.run_id == "odd"
    assert approval.requested_at is not None  # the waiting_for_approval checkpoint
    if isinstance(pending, dict):
        assert approval.request is not None and approval.request.tool_name is None


def test_a_waiting_run_with_nothing_to_approve_is_listed_without_a_request():
    record = waiting_run("replayed")
    record["pendingApproval"] = None  # a frozen replay copies the status, not the request
    [approval] = pending_approvals(store(record), ApprovalFilters(), NOW).approvals
    assert approval.request is None
    assert approval_views([approval])[0].approve_call is None


def test_the_corpus_runs_waiting_for_approval_are_all_listed_with_their_side_effect_level():
    runs = store(*corpus.runs(corpus.APPROVALS))
    waiting = corpus.ids_where(corpus.APPROVALS, lambda run: run["status"] == "waiting_for_approval")
    page = pending_approvals(runs, ApprovalFilters(), NOW)
    assert sorted(approval.run_id for approval in page.approvals) == sorted(waiting)
    for approval in page.approvals:
        run = corpus.get_run(corpus.APPROVALS, approval.run_id)
        assert approval.tool_name == run["pendingApproval"]["toolName"]
        assert approval.request is not None
        assert approval.request.side_effect_level == run["pendingApproval"]["metadata"]["sideEffectLevel"]
        asked = [event["timestamp"] for event in run["events"] if event["type"] == "approval_requested"]
        assert approval.requested_at == asked[-1]
    requested = [approval.requested_at or "" for approval in page.approvals]
    assert requested == sorted(requested)


# The history ------------------------------------------------------------------------------------------

def test_history_pairs_each_resolution_with_its_request_and_says_what_followed():
    runs = store(resolved_run("yes", approved=True, reason="operator approved", outcome="executed", requested=at(300)),
                 resolved_run("no", approved=False, reason="Denied by on-call.", outcome="denied", requested=at(200),
                              waited_ms=5000))
    page = approval_history(runs, ApprovalFilters())
    denied, approved = page.resolutions  # newest first
    assert (approved.run_id, approved.approved, approved.outcome) == ("yes", True, "executed")
    assert approved.resolution_reason == "operator approved"
    assert approved.waited_seconds == 60
    assert (denied.run_id, denied.approved, denied.outcome) == ("no", False, "denied")
    assert denied.outcome_detail == "Denied by on-call."
    assert denied.waited_seconds == 5
    assert denied.decisions[0].rule_id == "external-approval"


def test_history_says_when_the_approval_handler_approved_a_call_without_approved_true():
    runs = store(resolved_run("handler", approved=False, reason="checked with handler", outcome="executed"))
    [resolution] = approval_history(runs, ApprovalFilters()).resolutions
    assert resolution.outcome == "executed"
    [view] = resolution_views([resolution])
    assert "approval handler" in view.decided
    assert view.outcome == "the tool ran"


def test_history_lists_a_request_never_resolved_in_a_run_that_stopped_waiting_but_not_the_pending_one():
    cancelled = waiting_run("cancelled", status="cancelled")
    page = approval_history(store(cancelled, waiting_run("still-waiting")), ApprovalFilters())
    assert [(item.run_id, item.outcome, item.resolved_at) for item in page.resolutions] == [("cancelled", "unresolved", None)]


def test_a_run_approved_once_and_waiting_again_shows_the_first_in_the_history():
    run = resolved_run("twice", approved=True, reason="ok", outcome="executed", requested=at(50))
    second = _request("twice", "deploy", {"env": "prod"}, "destructive", "require_approval")
    run["events"].append(_event("twice", 8, "approval_requested", at(10), {**second, "reason": "Deploys need approval."}))
    run.update(status="waiting_for_approval", pendingApproval={**second, "reason": "Deploys need approval."})
    runs = store(run)
    assert [item.request.tool_name for item in approval_history(runs, ApprovalFilters()).resolutions] == ["send_email"]
    [pending] = pending_approvals(runs, ApprovalFilters(), NOW).approvals
    assert (pending.tool_name, pending.requested_at) == ("deploy", at(10))


def test_history_redacts_arguments_and_reasons():
    runs = store(resolved_run("s", approved=False, reason=f"token={SECRET}", outcome="denied",
                              arguments={"password": "hunter2", "body": f"key {SECRET}"}))
    [resolution] = approval_history(runs, ApprovalFilters()).resolutions
    text = repr(resolution.as_api())
    assert SECRET not in text and "hunter2" not in text


def test_history_skips_runs_without_tool_calls_unread_and_bounds_its_reads():
    plain = [run_record(f"plain{n}", status="completed", created=at(n)) for n in range(5)]
    approvals = [resolved_run(f"r{n}", approved=True, reason="ok", outcome="executed", requested=at(100 + n))
                 for n in range(6)]
    runs = CountingStore(InMemoryRunStore([*plain, *approvals]))
    page = approval_history(runs, ApprovalFilters(), limit=2, reads=4)
    assert runs.reads == 2  # two runs held two approvals: enough for the page
    assert [item.run_id for item in page.resolutions] == ["r0", "r1"]
    assert page.next_cursor is not None
    rest = approval_history(runs, ApprovalFilters(), offset=decode_cursor(page.next_cursor), limit=50, reads=3)
    assert [item.run_id for item in rest.resolutions] == ["r2", "r3", "r4"]
    assert rest.read == 3


def test_history_of_the_corpus_holds_every_resolved_approval():
    runs = store(*corpus.runs(corpus.APPROVALS))
    resolved = corpus.ids_where(corpus.APPROVALS, lambda run: any(
        isinstance(event, dict) and event.get("type") == "approval_resolved" for event in run["events"]))
    page = approval_history(runs, ApprovalFilters(), limit=100, reads=1000)
    assert sorted(item.run_id for item in page.resolutions if item.resolved_at) == sorted(resolved)
    for item in page.resolutions:
        if item.resolved_at:
            run = corpus.get_run(corpus.APPROVALS, item.run_id)
            event = next(event for event in run["events"] if event["type"] == "approval_resolved")
            assert item.approved == event["payload"]["approved"]
            assert item.outcome == ("executed" if run["status"] == "completed" else "denied")


# Wording ------------------------------------------------------------------------------------------------

def test_the_resume_calls_quote_the_run_id_as_a_js_string():
    assert resume_call('evil"</script>\u2028id', True) == (
        'await agent.resumeRun("evil\\"</script>\u2028id", { approved: true, reason: "Approved after review" });')
    assert "approved: false" in resume_call("r1", False)


def test_waits_read_as_durations():
    assert waited(36_000) == "10 h"
    assert waited(90) == "1 min 30 s"
    assert waited(None) == "—"
    assert waited(-5) == "requested after now"


def test_decisions_and_confidence_read_as_phrases():
    assert decision_text(Decision("evaluate", "require_approval", "rule", "external-approval", None)) == (
        "rule external-approval at evaluate (source: rule)")
    assert decision_text(Decision("confidence", "require_approval", "confidence_policy", None, None)) == (
        "confidence (source: confidence_policy)")
    assert confidence_text({"score": 0.4, "completeness": 0.5, "requiredArguments": ["query", "to"],
                            "providedRequiredArguments": ["to"]}) == "score 0.4 · completeness 0.5 · missing: query"
