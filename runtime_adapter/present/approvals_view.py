"""How the approvals pages word the inbox and its history: waits, the verdicts that asked, the confidence and
verifier records, and the `resumeRun` calls an operator would make (shown to copy, never made)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import to_js_string
from runtime_adapter.present.detail import pretty
from runtime_adapter.present.formatting import DASH, duration, finite_number
from runtime_adapter.queries.approvals import Approval, Decision, Resolution, ToolRequest
from runtime_adapter.records import InvalidRunId, check_run_id

# What a page says for each Resolution.outcome.
OUTCOME_LABELS = {
    "executed": "the tool ran",
    "denied": "denied: the run failed",
    "no_outcome": "no outcome recorded yet",
    "unresolved": "never resolved",
}
HISTORY_NOTE = ("“Approved by the caller” is resumeRun(runId, { approved: true }); any other call leaves the "
                "decision to the agent's approval handler, and the outcome says what it decided.")
HANDLER_NOTE = ("Without approved: true, resumeRun asks the agent's approval handler (toolPolicy.resolveApproval), "
                "which may still approve; with none configured it denies and the run fails.")


def waited(seconds: float | None) -> str:
    """`3 d 4 h`; a request stamped later than now (a clock ahead of ours) reads as such."""
    if seconds is None:
        return DASH
    if seconds < 0:
        return "requested after now"
    return duration(seconds * 1000)


def resume_call(run_id: str, approved: bool) -> str:
    """`await agent.resumeRun("<id>", { approved: true, reason: "…" });` with the id as a JS string literal."""
    reason = "Approved after review" if approved else "Denied after review"
    return f"await agent.resumeRun({dumps(run_id)}, {{ approved: {'true' if approved else 'false'}, reason: {dumps(reason)} }});"


def decision_text(decision: Decision) -> str:
    """`rule external-approval at evaluate (source: rule)`, `verifier (source: verifier)`."""
    parts = []
    if decision.rule_id:
        parts.append(f"rule {decision.rule_id}")
    if decision.stage:
        parts.append(("at " if parts else "") + decision.stage)
    text = " ".join(parts) or "a policy decision"
    if decision.source:
        text += f" (source: {decision.source})"
    return text


def _number(value: Any) -> str:
    number = finite_number(value)
    return DASH if number is None else to_js_string(value)


def confidence_text(confidence: Any) -> str | None:
    """The tool-confidence assessment: `score 0 · completeness 0 · missing: query`."""
    if not isinstance(confidence, dict):
        return None if confidence is None else to_js_string(confidence) if not isinstance(confidence, list) else dumps(confidence)
    parts = [f"score {_number(confidence.get('score'))}", f"completeness {_number(confidence.get('completeness'))}"]
    required, provided = confidence.get("requiredArguments"), confidence.get("providedRequiredArguments")
    if isinstance(required, list):
        given = set(map(dumps, provided)) if isinstance(provided, list) else set()
        missing = [to_js_string(name) for name in required if dumps(name) not in given]
        if missing:
            parts.append("missing: " + ", ".join(missing))
    return " · ".join(parts)


def verification_text(verification: Any) -> str | None:
    """The verifier's verdict: `require_approval: Broadcast to all customers needs sign-off.`"""
    if not isinstance(verification, dict):
        return None if verification is None else dumps(verification)
    action = verification.get("action")
    reason = verification.get("reason")
    text = to_js_string(action) if action is not None else "no action"
    return f"{text}: {reason}" if isinstance(reason, str) and reason else text


@dataclass(frozen=True)
class RequestView:
    tool_name: str | None
    arguments: str | None  # pretty JSON
    side_effect_level: str | None
    execution_policy: str | None
    verification_policy: str | None
    reason: str | None
    confidence: str | None
    verification: str | None


def request_view(request: ToolRequest) -> RequestView:
    return RequestView(
        tool_name=request.tool_name,
        arguments=pretty(request.arguments) if request.arguments is not None else None,
        side_effect_level=request.side_effect_level, execution_policy=request.execution_policy,
        verification_policy=request.verification_policy, reason=request.reason,
        confidence=confidence_text(request.confidence), verification=verification_text(request.verification),
    )


@dataclass(frozen=True)
class ApprovalView:
    approval: Approval
    request: RequestView | None
    asked_by: list[tuple[str, str | None]]  # each verdict that asked, and its reason
    waited: str
    approve_call: str | None
    deny_call: str | None
    root_link: bool  # the root id names a run a URL can hold


def _linkable(run_id: str) -> bool:
    try:
        check_run_id(run_id)
    except InvalidRunId:
        return False
    return True


def approval_views(approvals: list[Approval]) -> list[ApprovalView]:
    views = []
    for approval in approvals:
        request = approval.request
        views.append(ApprovalView(
            approval=approval, request=request_view(request) if request else None,
            asked_by=[(decision_text(decision), decision.reason) for decision in approval.decisions],
            waited=waited(approval.waiting_seconds),
            # A waiting run without pendingApproval: resumeRun returns it unchanged, so no call is offered.
            approve_call=resume_call(approval.run_id, True) if request else None,
            deny_call=resume_call(approval.run_id, False) if request else None,
            root_link=_linkable(approval.root_run_id),
        ))
    return views


@dataclass(frozen=True)
class ResolutionView:
    resolution: Resolution
    request: RequestView
    asked_by: list[tuple[str, str | None]]
    decided: str  # how resumeRun was called (see HISTORY_NOTE)
    outcome: str
    waited: str


def resolution_views(resolutions: list[Resolution]) -> list[ResolutionView]:
    views = []
    for item in resolutions:
        if item.outcome == "unresolved":
            decided = "no resumeRun call answered it"
        elif item.approved:
            decided = "approved by the caller"  # resumeRun(runId, {approved: true})
        else:
            decided = "left to the approval handler"  # resumeRun without approved: true
        views.append(ResolutionView(
            resolution=item, request=request_view(item.request),
            asked_by=[(decision_text(decision), decision.reason) for decision in item.decisions],
            decided=decided, outcome=OUTCOME_LABELS.get(item.outcome, item.outcome), waited=waited(item.waited_seconds),
        ))
    return views
