"""`DistributedRecoveryPlanner.createPlan(runId, {compareToRunId})`: advisory only.

The plan says what an operator could do; the control plane never executes a step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime_adapter.inspectors.incident import create_incident_report
from runtime_adapter.js.jsvalues import js_or, prop, to_js_string, truthy

if TYPE_CHECKING:
    from runtime_adapter.port import BaseRunStore

REPLAY_STAGES = ("replay", "workflow_replay")


def _is_paused_replay(report: dict[str, Any]) -> bool:
    return report["status"] == "paused" and prop(report["pendingPause"], "stage") in REPLAY_STAGES


def _steps_of_type(report: dict[str, Any], step_type: str) -> bool:
    return any(prop(step, "type") == step_type for step in report["failedSteps"])


def classify_incident(report: dict[str, Any]) -> str:
    if truthy(report["pendingApproval"]):
        return "approval_blocked"
    if _is_paused_replay(report):
        return "paused_replay"
    failure = report["failure"]
    name = to_js_string(js_or(prop(failure, "name"), ""))
    message = to_js_string(js_or(prop(failure, "message"), ""))
    failure_text = f"{name} {message}".lower()
    if _steps_of_type(report, "workflow_step") or "workflow" in failure_text or "child branch" in failure_text:
        return "workflow_child_failure"
    if "queue" in failure_text:
        return "queue_worker_failure"
    if "handoff" in failure_text or "remote" in failure_text:
        return "service_handoff_failure"
    if _steps_of_type(report, "tool"):
        return "tool_failure"
    return "generic_failure" if report["status"] == "failed" else "generic_recovery"


def recovery_policy(report: dict[str, Any], incident_type: str) -> dict[str, Any]:
    return {
        "incidentType": incident_type,
        "requiresApprovalForBranch": _steps_of_type(report, "tool")
        or incident_type in ("workflow_child_failure", "service_handoff_failure"),
        "prefersWorkflowScopedRecovery": incident_type == "workflow_child_failure",
        "prefersReplayFirst": incident_type == "paused_replay",
        "prefersCompareFirst": incident_type in ("queue_worker_failure", "service_handoff_failure"),
    }


def plan_steps(report: dict[str, Any], policy: dict[str, Any], compare_to_run_id: str | None) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    run_id = report["runId"]
    approval = report["pendingApproval"]
    if truthy(approval):
        steps.append({
            "action": "resolve_approval",
            "priority": "high",
            "reason": "Run is blocked on approval.",
            "runId": run_id,
            "payload": {
                "toolName": js_or(prop(approval, "toolName"), None),
                "toolCallId": js_or(prop(prop(approval, "toolCall"), "id"), None),
            },
            "requiresApproval": False,
        })
    if _is_paused_replay(report):
        pause = report["pendingPause"]
        steps.append({
            "action": "resume_replay",
            "priority": "high",
            "reason": "Run is paused in replay mode and can be resumed from persisted state.",
            "runId": run_id,
            "payload": {
                "sourceRunId": js_or(prop(pause, "sourceRunId"), None),
                "sourceCheckpointId": js_or(prop(pause, "sourceCheckpointId"), None),
            },
            "requiresApproval": False,
        })
    last_checkpoint_id = prop(report["lastCheckpoint"], "id")
    if report["failedSteps"]:
        workflow_scoped = policy["prefersWorkflowScopedRecovery"] is True
        steps.append({
            "action": "workflow_branch_from_failure_checkpoint" if workflow_scoped else "branch_from_failure_checkpoint",
            "priority": "high",
            "reason": (
                "Branch the workflow recovery path from the failure boundary before retrying distributed work."
                if workflow_scoped
                else "Branch from the failure boundary before retrying distributed work."
            ),
            "runId": run_id,
            "payload": {
                "failedStepId": prop(report["failedSteps"][-1], "id"),
                "checkpointId": js_or(last_checkpoint_id, None),
            },
            "requiresApproval": policy["requiresApprovalForBranch"] is True,
        })
    elif truthy(last_checkpoint_id):
        steps.append({
            "action": "partial_replay",
            "priority": "medium",
            "reason": "Use the most recent checkpoint for deterministic inspection.",
            "runId": run_id,
            "payload": {"checkpointId": last_checkpoint_id},
            "requiresApproval": False,
        })
    comparison = report["comparison"]
    if comparison and (truthy(comparison.get("statusChanged")) or truthy(comparison.get("outputChanged"))):
        steps.append({
            "action": "compare_to_known_good",
            "priority": "medium",
            "reason": "Trace comparison shows a material divergence from the comparison run.",
            "runId": run_id,
            "payload": {"compareToRunId": compare_to_run_id},
            "requiresApproval": False,
        })
    return steps


def plan_from_report(report: dict[str, Any], compare_to_run_id: str | None = None) -> dict[str, Any]:
    incident_type = classify_incident(report)
    policy = recovery_policy(report, incident_type)
    steps = plan_steps(report, policy, compare_to_run_id)
    lineage = prop(report["summary"], "lineage")
    correlation = (
        {
            "traceId": report["rootRunId"],
            "spanId": report["runId"],
            "parentSpanId": js_or(prop(lineage, "parentRunId"), prop(lineage, "branchOriginRunId"), None),
        }
        if truthy(lineage)
        else None
    )
    return {
        "runId": report["runId"],
        "status": report["status"],
        "incidentType": incident_type,
        "recoveryPolicy": policy,
        "correlation": correlation,
        "incident": report,
        "steps": steps,
        "recommendedAction": steps[0]["action"] if steps else "inspect_report",
    }


def create_recovery_plan(store: BaseRunStore, run_id: str, compare_to_run_id: str | None = None) -> dict[str, Any]:
    report = create_incident_report(store, run_id, compare_to_run_id)
    return plan_from_report(report, compare_to_run_id)
