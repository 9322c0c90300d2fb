"""Agent runs: one function per way an `Agent` run ends up in the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .encoding import compact
from .recorder import Context, Json, Recorder, iso, new_lineage
from .vocabulary import APPROVAL_TASKS, DESCRIPTIONS, PLAIN_TASKS, REGRESSED_RELEASE, TOOL_TASKS, TOOLS


def agent_metadata(ctx: Context, description: str, *, extra: Json | None = None) -> Json:
    metadata: Json = {"description": description}
    metadata.update(ctx.release)
    if ctx.chance(0.25):
        metadata["tenant"] = ctx.tenant
    if ctx.chance(0.08):
        metadata["executionIdentity"] = {"actorId": f"user-{ctx.between(1, 99)}", "serviceId": "support-api",
                                         "tenantId": ctx.tenant, "sessionId": f"sess-{ctx.between(1, 999)}",
                                         "scopes": ["orders:read", "email:send"]}
    if extra:
        metadata.update(extra)
    return metadata


def tool_call(ctx: Context, name: str, number: int) -> Json:
    return {"name": name, "arguments": TOOLS[name].make_args(ctx), "id": f"call_{number}"}


def answer(ctx: Context, results: list[Any]) -> str:
    if results and ctx.chance(0.5):
        return f"Final answer based on {compact(results[-1])}"
    return ctx.text(ctx.pick(("Done: {customer} is all set on {topic}.", "Order {order} is on its way.",
                              "Summary sent to {person}.", "All checks passed for {warehouse}.")))


def _plain(run: Recorder, ctx: Context) -> None:
    task, answer = ctx.pick(PLAIN_TASKS)
    run.input = ctx.text(task)
    if ctx.chance(0.15):
        _retrieval(run, ctx)
    run.start_agent(run.metadata["description"])
    message = ctx.text(answer)
    run.model_turn(message, [], 0)
    if ctx.chance(0.12):
        # The adapter returned no message: the whole result object becomes the output.
        prompt, completion, cost = ctx.usage(2)
        output: Any = {"message": "", "data": {"answer": ctx.between(1, 100), "tags": ["faq", ctx.fields["topic"]],
                                               "customer": ctx.fields["customer"]},
                       "usage": {"prompt": prompt, "completion": completion, "total": prompt + completion},
                       "cost": cost}
        run.complete(output)
        return
    if ctx.chance(0.1):
        _self_verification(run, ctx, passed=True)
    run.complete(message)


def _retrieval(run: Recorder, ctx: Context) -> None:
    # RAG agents search before the run starts, and leave their query in metrics.debug.
    query = run.input
    run.event("retrieval_started", {"query": query})
    started = run.ms
    run.ms += ctx.between(30, 400)
    run.event("retrieval_completed", {"query": query, "matches": [
        {"id": f"doc-{ctx.between(1, 500)}", "score": round(0.5 + ctx.rng.random() / 2, 3)}
        for _ in range(ctx.between(1, 3))]})
    run.timings["retrievalMs"] = run.ms - started
    run.debug = {"lastRetrievalQuery": query, "lastRetrievalStartedAt": iso(started)}


def _self_verification(run: Recorder, ctx: Context, *, passed: bool) -> None:
    run.tick(1, 3)
    created = run.ms
    run.event("self_verification_started", {"output": run.steps[-1]["output"]["message"]})
    run.ms += ctx.between(200, 1500)
    if passed:
        verdict = {"passed": True, "notes": "answer is grounded"}
        run.event("self_verification_completed", verdict)
        run.add_step("self_verification", created, {"messageCount": len(run.messages)}, output=verdict)
        run.tick(0, 1)
        run.checkpoint("self_verification_completed", verdict)
    else:
        run.event("self_verification_failed", {"message": "self-check model timed out"})
        run.add_step("self_verification", created, {"messageCount": len(run.messages)}, status="failed",
                     error={"name": "Error", "message": "self-check model timed out"})


def _tool_turns(ctx: Context, names: tuple[str, ...]) -> list[list[str]]:
    turns: list[list[str]] = []
    index = 0
    while index < len(names):
        width = 2 if ctx.chance(0.35) and index + 1 < len(names) else 1
        turns.append(list(names[index:index + width]))
        index += width
    return turns


def _tools(run: Recorder, ctx: Context, *, verify: bool = False) -> None:
    task, names = ctx.pick(TOOL_TASKS)
    run.input = ctx.text(task)
    run.start_agent(run.metadata["description"])
    results: list[Any] = []
    number = 0
    for turn in _tool_turns(ctx, names):
        calls = []
        for name in turn:
            number += 1
            calls.append(tool_call(ctx, name, number))
        run.model_turn(None, calls, len(names))
        for call in calls:
            external = TOOLS[call["name"]].side_effect == "external_write"
            results.append(run.call_tool(call, verify=verify and external))
    run.model_turn(answer(ctx, results), [], len(names))
    run.complete(run.steps[-1]["output"]["message"])


def _tools_verified(run: Recorder, ctx: Context) -> None:
    _tools(run, ctx, verify=True)


def _approval_setup(run: Recorder, ctx: Context) -> tuple[Json, str]:
    task, name, reason, source = ctx.pick(APPROVAL_TASKS)
    run.input = ctx.text(task)
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, name, 1)
    run.model_turn(None, [call], 1)
    # What ToolPolicy records at the stage that asks, as Agent._executeToolCall does: the tool's executionPolicy or
    # a rule at `evaluate` (the run stops there), or a beforeExecute hook after an allowed `evaluate`.
    if source == "metadata":
        decisions: list[Json] = [{"action": "require_approval", "reason": reason, "source": "metadata"}]
    elif source == "rule":
        decisions = [{"action": "require_approval", "reason": reason, "ruleId": f"approve-{name.replace('_', '-')}",
                      "source": "rule"}]
    else:
        decisions = [{"action": "allow", "reason": None, "source": "default"},
                     {"action": "require_approval", "reason": reason}]
    record = run.request_tool(call, decisions=decisions)
    if source == "rule":
        run.tick(0, 1)  # the time an earlier version of this generator spent on a second decision: every run stays as it was
    return record, reason


def _approval_waiting(run: Recorder, ctx: Context) -> None:
    record, reason = _approval_setup(run, ctx)
    run.wait_for_approval(record, reason)


def _approval_approved(run: Recorder, ctx: Context) -> None:
    record, reason = _approval_setup(run, ctx)
    request = run.wait_for_approval(record, reason)
    run.resolve_approval(request, True, "operator approved")
    started = run.start_tool(record)
    result = TOOLS[record["toolName"]].make_result(ctx, record["arguments"])
    run.ms += ctx.between(15, 1500)
    run.finish_tool(record, started, result)
    run.tick(0, 2)
    run.checkpoint("tool_approved_and_resumed", {"toolName": record["toolName"]})
    run.model_turn(answer(ctx, [result]), [], 1)
    run.complete(run.steps[-1]["output"]["message"])


def _approval_denied(run: Recorder, ctx: Context) -> None:
    record, reason = _approval_setup(run, ctx)
    request = run.wait_for_approval(record, reason)
    denial = ctx.pick(("Denied by on-call operator.", "Not during the change freeze.", "Wrong recipient list."))
    # The runtime keeps pendingApproval on a denied run (s02).
    run.resolve_approval(request, False, denial)
    run.fail("ToolPolicyError", denial)


def _tool_paused_setup(run: Recorder, ctx: Context) -> Json:
    task, names = ctx.pick(TOOL_TASKS)
    run.input = ctx.text(task)
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, names[0], 1)
    run.model_turn(None, [call], len(names))
    return call


def _pause_before_model(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.pause({"reason": "Paused at before_model.", "stage": "before_model",
               "payload": {"messageCount": len(run.messages)}})


def _pause_after_model(run: Recorder, ctx: Context) -> None:
    _tool_paused_setup(run, ctx)
    reason = ctx.pick(("Paused at after_model.", "Operator review of model output."))
    run.pause({"reason": reason, "stage": "after_model", "payload": run.steps[-1]["output"]})


def _pause_before_tool(run: Recorder, ctx: Context) -> None:
    call = _tool_paused_setup(run, ctx)
    run.pause({"reason": "Paused at before_tool.", "stage": "before_tool", "payload": {"toolCall": call}})


def _pause_after_tool(run: Recorder, ctx: Context) -> None:
    call = _tool_paused_setup(run, ctx)
    result = run.call_tool(call)
    run.pause({"reason": "Paused at after_tool.", "stage": "after_tool",
               "payload": {"toolCall": call, "toolResult": result}})


def _pause_confidence(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    message = ctx.text(ctx.pick(PLAIN_TASKS)[1])
    run.model_turn(message, [], 0)
    run.settle_state()
    assessment = run.state["assessment"]
    run.tick(0, 2)
    run.event("confidence_policy_decision", {"action": "pause", "confidence": 0.65, "threshold": 0.7})
    run.output = message
    run.pause({"reason": "Run confidence 0.65 is below the pause threshold 0.7.", "stage": "confidence_review",
               "source": "confidence_policy", "assessment": assessment})


def _pause_manual_waiting(run: Recorder, ctx: Context) -> None:
    record, reason = _approval_setup(run, ctx)
    run.wait_for_approval(record, reason)
    run.ms += ctx.between(60_000, 1_800_000)
    # Both pendingApproval and pendingPause stay set (s02).
    run.pause({"reason": "Operator is investigating", "stage": "manual",
               "payload": {"operator": f"ops-{ctx.between(1, 9)}", "ticket": f"INC-{ctx.between(1, 999)}"}})


def _pause_adaptive_retry(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Email {person} the weekly {topic} digest.")
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, "send_email", 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    run.verify_tool(record, {"action": "allow", "reason": "verified by policy reviewer"})
    started = run.start_tool(record)
    # The tool step is left running: the retry policy escalated to an operator instead.
    run.add_step("tool", started, {"toolName": "send_email", "arguments": call["arguments"]}, status="running")
    run.tick(1, 3)
    run.event("adaptive_retry_escalated", {"toolName": "send_email", "priorFailures": ctx.between(2, 5)})
    run.pause({"reason": "Prior failures indicate operator review is safer than continuing automatic retries.",
               "stage": "adaptive_retry_escalation", "toolName": "send_email"})


def _pause_resumed(run: Recorder, ctx: Context) -> None:
    call = _tool_paused_setup(run, ctx)
    result = run.call_tool(call)
    pause = {"reason": "Paused at after_tool.", "stage": "after_tool",
             "payload": {"toolCall": call, "toolResult": result}}
    run.pause(pause)
    run.resume(pause)
    run.model_turn(answer(ctx, [result]), [], 1)
    run.complete(run.steps[-1]["output"]["message"])


def _cancel_waiting(run: Recorder, ctx: Context) -> None:
    record, reason = _approval_setup(run, ctx)
    run.wait_for_approval(record, reason)
    run.cancel({"reason": "Cancelled manually."})


def _cancel_paused(run: Recorder, ctx: Context) -> None:
    _pause_before_model(run, ctx)
    run.cancel({"reason": "User withdrew the request.", "requestedBy": f"user-{ctx.between(1, 99)}"})


def _running_model(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.metadata["host"] = f"worker-{ctx.between(1, 8)}"
    run.start_agent(run.metadata["description"])
    run.stuck_model_call()


def _running_tool(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Export every page of the {topic} docs for {customer}.")
    run.metadata["host"] = f"worker-{ctx.between(1, 8)}"
    run.start_agent(run.metadata["description"])
    calls = [tool_call(ctx, "fetch_page", 1), tool_call(ctx, "fetch_page", 2)]
    run.model_turn(None, calls, 1)
    run.call_tool(calls[0])
    record = run.request_tool(calls[1])
    started = run.start_tool(record)
    run.add_step("tool", started, {"toolName": "fetch_page", "arguments": calls[1]["arguments"]}, status="running")


def _pending(run: Recorder, ctx: Context) -> None:
    # Enqueued by a distributed envelope and not picked up yet: nothing has happened.
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.metadata.update({"transport": "queue", "queue": "runtime-job-queue"})
    run.ms += 1


def _fail_tool(run: Recorder, ctx: Context, *, retries: int = 0) -> None:
    name = ctx.pick(("sync_inventory", "fetch_page", "lookup_order", "research"))
    run.input = ctx.text(ctx.pick((f"Use {name} for {{customer}}.", "Refresh {warehouse} stock levels.",
                                   "Check order {order} for {customer}.")))
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, name, 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    message = ctx.pick(("Inventory service returned 503", "upstream timeout after 30000ms", "ECONNRESET",
                        "research API timeout", "404 Not Found"))
    for _ in range(retries + 1):
        run.fail_tool(record, message)
    run.fail("ToolExecutionError", f'Tool "{name}" failed: {message}')


def _fail_refund_provider(run: Recorder, ctx: Context) -> None:
    """The refund provider refuses: the message names the status, the order and a request id, so no two match."""
    run.input = ctx.text(ctx.pick(("Refund order {order} for {customer}.", "Issue a refund on {order}.")))
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, "issue_refund", 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    message = (f"Refund provider returned {ctx.pick((429, 503, 502))} for order {call['arguments']['orderId']} "
               f"(request {ctx.hex(4)}…)")
    run.fail_tool(record, message)
    run.fail("ToolExecutionError", f'Tool "issue_refund" failed: {message}')


def _fail_tool_retry(run: Recorder, ctx: Context) -> None:
    _fail_tool(run, ctx, retries=1)


def _fail_type_error(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Sync inventory for {warehouse}, then reprice order {order}.")
    run.start_agent(run.metadata["description"])
    calls = [tool_call(ctx, "sync_inventory", 1), tool_call(ctx, "lookup_order", 2)]
    run.model_turn(None, calls, 2)
    run.call_tool(calls[0])
    record = run.request_tool(calls[1])
    message = "Cannot read properties of undefined (reading 'sku')"
    run.fail_tool(record, message, error_name="TypeError")
    run.fail("ToolExecutionError", f'Tool "lookup_order" failed: {message}')


def _fail_rate_limit(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.stuck_model_call()
    run.ms += ctx.between(500, 30_000)
    run.fail("RateLimitError", f"Rate limit exceeded (429), attempt {ctx.between(2, 5)}")


def _fail_model_outage(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.stuck_model_call()
    run.ms += ctx.between(1000, 60_000)
    run.fail("Error", ctx.pick(("upstream model outage", "model endpoint unreachable", "Error")))


def _fail_verifier_deny(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Email {person} the {topic} numbers.")
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, "send_email", 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    reason = ctx.pick(("unsafe action", "recipient is outside the tenant", "contains personal data"))
    run.verify_tool(record, {"action": "deny", "reason": reason})
    run.fail("ToolPolicyError", reason)


def _fail_verifier_throws(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Email {person} the {topic} numbers.")
    run.start_agent(run.metadata["description"])
    call = tool_call(ctx, "send_email", 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    run.verify_tool(record, None, error="verifier backend unavailable")
    run.fail("ToolPolicyError", 'Verifier failed for tool "send_email": verifier backend unavailable')


def _fail_unknown_tool(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Archive the {topic} tickets for {customer}.")
    run.start_agent(run.metadata["description"])
    run.model_turn(None, [{"name": "archive_tickets", "arguments": {"query": ctx.fields["topic"]}, "id": "call_1"}], 3)
    run.fail("ToolNotFoundError", "Tool archive_tickets not found.")


def _fail_policy(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text("Delete stale records for {customer}.")
    run.start_agent(run.metadata["description"])
    run.model_turn(None, [{"name": "delete_records", "arguments": {"query": "stale"}, "id": "call_1"}], 2)
    run.fail("ToolPolicyError", 'Tool "delete_records" is blocked by policy.')


def _fail_self_verification(run: Recorder, ctx: Context) -> None:
    run.input = ctx.text(ctx.pick(PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.model_turn(ctx.text(ctx.pick(PLAIN_TASKS)[1]), [], 0)
    run.output = run.steps[-1]["output"]["message"]
    _self_verification(run, ctx, passed=False)
    run.fail("Error", "self-check model timed out")


_Scenario = Callable[[Recorder, Context], None]
_SCENARIOS: dict[str, tuple[_Scenario, int]] = {
    "plain": (_plain, 26), "tools": (_tools, 24), "tools_verified": (_tools_verified, 5),
    "approval_waiting": (_approval_waiting, 7), "approval_approved": (_approval_approved, 3),
    "approval_denied": (_approval_denied, 1), "pause_before_model": (_pause_before_model, 1),
    "pause_after_model": (_pause_after_model, 1), "pause_before_tool": (_pause_before_tool, 1),
    "pause_after_tool": (_pause_after_tool, 1), "pause_confidence": (_pause_confidence, 1),
    "pause_manual_waiting": (_pause_manual_waiting, 1), "pause_adaptive_retry": (_pause_adaptive_retry, 1),
    "pause_resumed": (_pause_resumed, 2), "cancel_waiting": (_cancel_waiting, 1), "cancel_paused": (_cancel_paused, 1),
    "running_model": (_running_model, 1), "running_tool": (_running_tool, 1), "pending": (_pending, 0),
    "fail_tool": (_fail_tool, 3), "fail_tool_retry": (_fail_tool_retry, 2), "fail_type_error": (_fail_type_error, 1),
    "fail_rate_limit": (_fail_rate_limit, 2), "fail_model_outage": (_fail_model_outage, 1),
    "fail_verifier_deny": (_fail_verifier_deny, 1), "fail_verifier_throws": (_fail_verifier_throws, 1),
    "fail_unknown_tool": (_fail_unknown_tool, 1), "fail_policy": (_fail_policy, 1),
    "fail_self_verification": (_fail_self_verification, 1), "fail_refund_provider": (_fail_refund_provider, 0),
}
_SCENARIO_NAMES = tuple(_SCENARIOS)
_SCENARIO_CUMULATIVE: list[int] = []
for _name in _SCENARIO_NAMES:
    _SCENARIO_CUMULATIVE.append((_SCENARIO_CUMULATIVE[-1] if _SCENARIO_CUMULATIVE else 0) + _SCENARIOS[_name][1])


def _release_version(fields: Json) -> Any:
    release = fields.get("release")
    return release.get("version") if isinstance(release, dict) else release


def agent_run(ctx: Context, scenario: str | None, start_ms: int, *, lineage: Json | None = None,
              run_id: str | None = None, extra: Json | None = None) -> Recorder:
    if scenario is None:
        scenario = ctx.rng.choices(_SCENARIO_NAMES, cum_weights=_SCENARIO_CUMULATIVE)[0]
        # The regression: in one release the refund provider fails about one agent run in six; before it, one in 400.
        regressed = _release_version(ctx.release) == REGRESSED_RELEASE
        if scenario in ("plain", "tools") and ctx.chance(0.4 if regressed else 0.006):
            scenario = "fail_refund_provider"
    run_id = run_id or ctx.uuid()
    run = Recorder(ctx, run_id, "", start_ms, agent_metadata(ctx, ctx.pick(DESCRIPTIONS), extra=extra),
                   lineage or new_lineage(run_id))
    correlate(ctx, run)
    _SCENARIOS[scenario][0](run, ctx)
    return run


def correlate(ctx: Context, run: Recorder, parent: Recorder | None = None) -> None:
    # Runs started from an instrumented API carry its W3C trace context; a tree shares one trace.
    if ctx.trace_id is None:
        return
    parent_span = parent.metadata.get("correlation", {}).get("spanId") if parent else None
    run.metadata["correlation"] = {"traceId": ctx.trace_id, "spanId": ctx.hex(16), "parentSpanId": parent_span,
                                   "originService": "support-api"}
