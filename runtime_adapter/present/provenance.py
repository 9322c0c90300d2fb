"""Where a run came from and what came of it: distributed handoffs, derived runs, recovery attempts.

The runtime leaves these facts in a run's metadata, and nowhere else:
- `Agent.continueDistributedRun` / `WorkflowRunner.continueDistributedRun` pass a `DistributedRunEnvelope`'s
  metadata to `branchRun` or `replayRun`, so the continued run carries it: `sourceRunId` (always, stamped by
  `DistributedRunEnvelope.create`), the caller's `queue`, `transport`, `workerId`, `handoffTarget`…, and the
  source's `executionIdentity` and `distributedAuthScope` (`createDistributedEnvelope` copies them). A `resume`
  envelope continues the same run and leaves no mark.
- `replayRun` writes `metadata.replay` (`mode` `frozen_trace` or `partial_frozen_trace`) and emits
  `replay_completed` (`workflow_replay_completed`) last: a replay persisted without it stopped half-way
  (`_checkpointRun` saves the run after `replay_started`).
- `TraceSerializer.exportPartialRun` names the source in `metadata.replaySourceRunId` / `replayCheckpointId`:
  a partial export imported back into a store.
- `DistributedRecoveryRunner.executePlan` branches (`branch_from_failure_checkpoint`) or replays
  (`partial_replay`) with `metadata.recovery` = `{sourceRunId, action, incidentType}`.

These functions read those facts and add the control plane's own notes about a recovery plan; the runtime's
payloads themselves are never changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime_adapter.js.jsjson import dumps
from runtime_adapter.js.jsvalues import nullish, prop, to_js_string, truthy
from runtime_adapter.present.detail import TreeEntry, operator_call
from runtime_adapter.present.formatting import clip
from runtime_adapter.present.incident_view import step_note
from runtime_adapter.records import Run, RunStoreError, replay_source

if TYPE_CHECKING:
    from runtime_adapter.queries.scanning import RunStore
    from runtime_adapter.rows import RunRow

# Kinds of derived run, as the lineage graph, the tree and the pages name them.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "branch": ("branch", "branches"),
    "replay": ("replay", "replays"),
    "partial_replay": ("partial replay", "partial replays"),
    "partial_export": ("partial export", "partial exports"),
    "recovery": ("recovery run", "recovery runs"),
    "": ("run below them", "runs below them"),
}
KIND_ORDER = ("replay", "partial_replay", "branch", "recovery", "partial_export", "")
REPLAY_FINISHED_EVENTS = frozenset({"replay_completed", "workflow_replay_completed"})
# DistributedRecoveryRunner.executePlan picks the first plan step whose action is one of these, and runs only that.
RUNNER_ACTIONS = ("resolve_approval", "resume_replay", "branch_from_failure_checkpoint", "partial_replay")
BRANCH_ACTIONS = ("branch_from_failure_checkpoint", "workflow_branch_from_failure_checkpoint")
RECOVERY_READ_LIMIT = 200  # branches and replays of one run read whole to find its recovery attempts
NOTE = "Control plane note: "


def kind_label(kind: str, count: int = 1) -> str:
    singular, plural = KIND_LABELS.get(kind, KIND_LABELS[""])
    return singular if count == 1 else plural


def _text(value: Any) -> str | None:
    """A metadata value as a page shows it: strings as they are, anything else as the runtime prints it."""
    if nullish(value):
        return None
    if isinstance(value, str):
        return value or None
    return dumps(value) if isinstance(value, (dict, list)) else to_js_string(value)


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# Derived runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derivation:
    """How a run was derived from another: `kind` is one of KIND_LABELS' keys (never "")."""

    kind: str
    source_id: str | None       # the run it was branched, replayed or exported from
    checkpoint_id: str | None   # the source's checkpoint it starts from
    via: str = ""               # a recovery run's own kind: "branch", "partial_replay" or "replay"
    recovery_source_id: str | None = None
    recovery_action: str | None = None
    incident_type: str | None = None
    replay_finished: bool | None = None  # replays: whether replay_completed was recorded; None otherwise

    @property
    def label(self) -> str:
        return kind_label(self.kind)

    @property
    def via_label(self) -> str:
        return kind_label(self.via) if self.via else ""


def replay_finished(run: Run) -> bool:
    return any(prop(event, "type") in REPLAY_FINISHED_EVENTS for event in run["events"])


def derivation(run: Run) -> Derivation | None:
    """The run's derivation from its metadata, None for a run started afresh (or a delegated child)."""
    metadata = run["metadata"]
    lineage = metadata.get("lineage") if isinstance(metadata.get("lineage"), dict) else {}
    replay = metadata.get("replay") if isinstance(metadata.get("replay"), dict) else None
    origin, origin_checkpoint = _id(lineage.get("branchOriginRunId")), _id(lineage.get("branchCheckpointId"))
    finished = replay_finished(run) if replay is not None else None
    if _id(metadata.get("replaySourceRunId")) and replay is None:
        base = Derivation("partial_export", replay_source(run),
                          _id(metadata.get("replayCheckpointId")) or origin_checkpoint)
    elif replay is not None:
        checkpoint = _id(replay.get("sourceCheckpointId"))
        partial = replay.get("mode") == "partial_frozen_trace" or checkpoint is not None
        base = Derivation("partial_replay" if partial else "replay", replay_source(run) or origin,
                          checkpoint or (origin_checkpoint if partial else None), replay_finished=finished)
    elif origin:
        base = Derivation("branch", origin, origin_checkpoint)
    else:
        base = None
    recovery = metadata.get("recovery")
    if not isinstance(recovery, dict):
        return base
    recovery_source = _id(recovery.get("sourceRunId"))
    return Derivation(
        "recovery", base.source_id if base else recovery_source, base.checkpoint_id if base else None,
        via=base.kind if base else "", recovery_source_id=recovery_source,
        recovery_action=_text(recovery.get("action")), incident_type=_text(recovery.get("incidentType")),
        replay_finished=finished,
    )


# The handoff panel ---------------------------------------------------------------------------------

HANDOFF_FIELDS = (("queue", "Queue"), ("transport", "Transport"), ("workerId", "Worker"),
                  ("handoffTarget", "Handoff target"), ("destination", "Destination"))
IDENTITY_FIELDS = (("actorId", "Actor"), ("serviceId", "Service"), ("tenantId", "Tenant"), ("sessionId", "Session"))


@dataclass(frozen=True)
class Fact:
    label: str
    key: str
    value: str


@dataclass(frozen=True)
class Handoff:
    continued: bool            # continued from a distributed envelope (it left its metadata on this run)
    action: str | None         # "replay" or "branch": what the receiving runtime did with the envelope
    source_run_id: str | None  # the envelope's metadata.sourceRunId
    checkpoint_id: str | None
    facts: list[Fact]          # queue, transport, worker, handoff target
    identity: list[Fact]       # executionIdentity: actor, service, tenant, session
    scopes: list[str]          # executionIdentity.scopes
    identity_raw: str | None   # an executionIdentity that is not an object, as it is
    auth_scope: list[str]      # metadata.distributedAuthScope
    auth_scope_raw: str | None

    @property
    def has_identity(self) -> bool:
        return bool(self.identity or self.scopes or self.identity_raw)

    @property
    def has_auth_scope(self) -> bool:
        return bool(self.auth_scope or self.auth_scope_raw)


def _texts(values: list[Any]) -> list[str]:
    return [text for text in (_text(value) for value in values) if text is not None]


def handoff(run: Run) -> Handoff | None:
    """The distributed handoff this run was continued from, and the identity it ran under; None if neither."""
    metadata = run["metadata"]
    facts = [Fact(label, key, text) for key, label in HANDOFF_FIELDS if (text := _text(metadata.get(key))) is not None]
    source = _text(metadata.get("sourceRunId"))
    identity_value = metadata.get("executionIdentity")
    identity: list[Fact] = []
    scopes: list[str] = []
    identity_raw = None
    if isinstance(identity_value, dict):
        identity = [Fact(label, key, text) for key, label in IDENTITY_FIELDS
                    if (text := _text(identity_value.get(key))) is not None]
        given = identity_value.get("scopes")
        scopes = _texts(given) if isinstance(given, list) else [text] if (text := _text(given)) else []
    elif not nullish(identity_value):
        identity_raw = _text(identity_value)
    scope_value = metadata.get("distributedAuthScope")
    auth_scope = _texts(scope_value) if isinstance(scope_value, list) else []
    auth_scope_raw = None if isinstance(scope_value, list) or nullish(scope_value) else _text(scope_value)
    continued = source is not None or bool(facts)
    derived = derivation(run)
    action = checkpoint = None
    if continued and derived is not None:
        via = derived.via or derived.kind
        action = "replay" if via in ("replay", "partial_replay") else "branch" if via == "branch" else None
        checkpoint = derived.checkpoint_id
    result = Handoff(continued, action, source, checkpoint, facts, identity, scopes, identity_raw, auth_scope,
                     auth_scope_raw)
    if not continued and not result.has_identity and not result.has_auth_scope:
        return None
    return result


@dataclass(frozen=True)
class RunProvenance:
    handoff: Handoff | None
    derivation: Derivation | None

    @property
    def shown(self) -> bool:
        """Worth a panel: a handoff, an identity, or a derivation the Lineage panel does not already say."""
        derived = self.derivation
        return self.handoff is not None or (derived is not None and (
            derived.kind in ("recovery", "partial_export", "partial_replay") or derived.replay_finished is False))


def run_provenance(run: Run) -> RunProvenance:
    return RunProvenance(handoff(run), derivation(run))


# Recovery attempts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryAttempt:
    run_id: str
    status: str
    created_at: str | None
    via: str                  # "branch", "partial replay"…: what the runner made
    action: str | None        # metadata.recovery.action
    incident_type: str | None
    outcome: str              # what became of it, beyond its status
    replay_unfinished: bool   # a replay without replay_completed


@dataclass(frozen=True)
class UnreadRun:
    run_id: str
    reason: str


@dataclass(frozen=True)
class RecoveryHistory:
    attempts: list[RecoveryAttempt]
    unread: list[UnreadRun]   # related runs that could not be read, with why
    not_read: int             # related runs past RECOVERY_READ_LIMIT, not looked at


def _outcome(run: Run) -> str:
    status = run["status"]
    if status == "failed":
        errors = [error for error in run["errors"] if isinstance(error, dict)]
        last = errors[-1] if errors else {}
        name, message = _text(last.get("name")), _text(last.get("message"))
        return clip(": ".join(part for part in (name, message) if part) or "no error recorded", 200)
    pause = run["pendingPause"]
    if status == "paused" and isinstance(pause, dict):
        if pause.get("stage") == "branch":
            return "never resumed: still paused where it was branched"
        return clip(_text(pause.get("reason")) or "paused", 200)
    approval = run["pendingApproval"]
    if status == "waiting_for_approval" and isinstance(approval, dict):
        tool = _text(approval.get("toolName"))
        return f"waiting for approval of {tool}" if tool else "waiting for approval"
    if status == "running":
        return "still running, or its process stopped"
    return ""


def recovery_history(store: RunStore, run_id: str, *, limit: int = RECOVERY_READ_LIMIT) -> RecoveryHistory:
    """Runs whose `metadata.recovery.sourceRunId` is `run_id`, oldest first.

    DistributedRecoveryRunner makes them with `branchRun` or `replayRun` from that run, so they are among its
    branches and replays (two store queries); only those are read whole, at most `limit` of them.
    """
    candidates: dict[str, RunRow] = {}
    for row in [*store.related_rows(run_id)["branches"], *store.replay_rows(run_id)]:
        if row.id != run_id:
            candidates.setdefault(row.id, row)
    ordered = sorted(candidates.values(), key=lambda row: (row.created_at or "", row.id))
    attempts: list[RecoveryAttempt] = []
    unread: list[UnreadRun] = []
    for row in ordered[:limit]:
        try:
            run = store.get_run(row.id)
        except RunStoreError as error:
            unread.append(UnreadRun(row.id, str(error)))
            continue
        derived = derivation(run)
        if derived is None or derived.kind != "recovery" or derived.recovery_source_id != run_id:
            continue
        created = run["timestamps"].get("createdAt")
        attempts.append(RecoveryAttempt(
            run_id=run["id"], status=run["status"], created_at=created if isinstance(created, str) else None,
            via=derived.via_label or "run", action=derived.recovery_action, incident_type=derived.incident_type,
            outcome=_outcome(run), replay_unfinished=derived.replay_finished is False,
        ))
    return RecoveryHistory(attempts, unread, max(0, len(ordered) - limit))


# The recovery plan: what the runner would do, and a safer checkpoint --------------------------------


def runner_step(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one step `DistributedRecoveryRunner.executePlan` would execute: the first it knows how to."""
    for step in plan.get("steps") or []:
        if isinstance(step, dict) and step.get("action") in RUNNER_ACTIONS:
            return step
    return None


def _runner_note(step: Any, chosen: dict[str, Any] | None) -> str:
    action = _text(prop(step, "action")) or "(no action)"
    if step is chosen:
        if prop(step, "requiresApproval"):
            return (NOTE + "DistributedRecoveryRunner.executePlan executes this step once it is approved "
                    "(approved: true, or an approvalDecider that approves it).")
        return NOTE + "DistributedRecoveryRunner.executePlan executes this step."
    if action in RUNNER_ACTIONS:
        return (NOTE + f"DistributedRecoveryRunner executes only the first step it can ({chosen.get('action') if chosen else '?'}); "
                "it would not execute this one.")
    instead = (f"it would execute {chosen.get('action')} instead" if chosen
               else 'with no step it can execute, executePlan returns executedAction "inspect_report"')
    if action == "workflow_branch_from_failure_checkpoint":
        run_id = _text(prop(step, "runId"))
        checkpoint = _text(prop(prop(step, "payload"), "checkpointId"))
        by_hand = (f" Branch by hand: {operator_call('branchRun', run_id, checkpoint, workflow=True)}."
                   if run_id and checkpoint else "")
        return (NOTE + "DistributedRecoveryRunner cannot execute this step: executePlan only picks "
                f"{', '.join(RUNNER_ACTIONS)}, so {instead}.{by_hand}")
    return NOTE + f"an operator step: DistributedRecoveryRunner does not execute {action}; {instead}."


def plan_steps(plan: Mapping[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """Each step as the runtime wrote it, with what the page says under it: the runtime-neutral note
    (`incident_view.step_note`) and ours about what DistributedRecoveryRunner would do with it."""
    chosen = runner_step(plan)
    steps = []
    for step in plan.get("steps") or []:
        notes = [note for note in (step_note(step), _runner_note(step, chosen)) if note]
        steps.append((step, " ".join(notes) or None))
    return steps


def runner_outcome(plan: Mapping[str, Any]) -> str:
    """What `DistributedRecoveryRunner.executePlan(plan)` would do, in a sentence (ours, not the runtime's)."""
    step = runner_step(plan)
    if step is None:
        return ('DistributedRecoveryRunner.executePlan would execute nothing for this plan: it returns '
                'executedAction "inspect_report".')
    action = step.get("action")
    does = {
        "resolve_approval": "resume the run with approved: true (resumeRun)",
        "resume_replay": "resume the paused replay (resumeRun)",
        "branch_from_failure_checkpoint": "branch from the step's checkpoint with metadata.recovery (branchRun), "
                                          "then resume the branch unless autoResumeBranch is off",
        "partial_replay": "replay from the step's checkpoint with metadata.recovery (replayRun)",
    }[str(action)]
    if step.get("requiresApproval"):
        return (f"The step {action} needs approval: DistributedRecoveryRunner.executePlan returns executedAction "
                '"waiting_for_recovery_approval" unless it is called with approved: true or an approvalDecider '
                f"approves; then it would {does}.")
    return f"DistributedRecoveryRunner.executePlan would {does}."


@dataclass(frozen=True)
class CheckpointSuggestion:
    """Ours: the last checkpoint recorded before the failing tool step started, when the plan branches later."""

    checkpoint_id: str
    label: str | None
    plan_checkpoint_id: str | None
    plan_checkpoint_label: str | None
    tool_name: str | None
    step_id: str | None
    call: str


def _labels(run: Run) -> dict[str, str | None]:
    return {checkpoint_id: _text(prop(checkpoint, "label")) for checkpoint in run["checkpoints"]
            if (checkpoint_id := _text(prop(checkpoint, "id"))) is not None}


def _before(checkpoint: Any, step_id: str | None, started: str | None) -> bool | None:
    """Whether the checkpoint was taken before the step started: its snapshot lacks the step, else by time."""
    steps = prop(prop(checkpoint, "snapshot"), "steps")
    if isinstance(steps, list) and step_id is not None:
        return all(prop(step, "id") != step_id for step in steps)
    stamp = _text(prop(checkpoint, "timestamp"))
    if stamp is None or started is None:
        return None
    return stamp < started  # both the runtime's toISOString(): fixed width, so text order is time order


def safe_checkpoint(run: Run, plan: Mapping[str, Any]) -> CheckpointSuggestion | None:
    """The last checkpoint of `run` taken before its first failed tool step started, when the plan's branch
    step starts from a later one (the runtime branches from the last checkpoint, after the failure)."""
    branch = next((step for step in plan.get("steps") or []
                   if isinstance(step, dict) and step.get("action") in BRANCH_ACTIONS), None)
    if branch is None:
        return None
    failed = next((step for step in run["steps"]
                   if prop(step, "type") == "tool" and prop(step, "status") == "failed"), None)
    if failed is None:
        return None
    step_id = _text(prop(failed, "id"))
    started = _text(prop(failed, "startedAt")) or _text(prop(failed, "createdAt"))
    chosen = None
    for checkpoint in run["checkpoints"]:
        if _text(prop(checkpoint, "id")) is not None and _before(checkpoint, step_id, started):
            chosen = checkpoint
    planned = _text(prop(branch.get("payload"), "checkpointId"))
    checkpoint_id = _text(prop(chosen, "id"))
    if checkpoint_id is None or checkpoint_id == planned:
        return None
    workflow = branch.get("action") == "workflow_branch_from_failure_checkpoint" or truthy(run["metadata"].get("workflowId"))
    labels = _labels(run)
    return CheckpointSuggestion(
        checkpoint_id=checkpoint_id, label=labels.get(checkpoint_id), plan_checkpoint_id=planned,
        plan_checkpoint_label=labels.get(planned) if planned else None,
        tool_name=_text(prop(prop(failed, "payload"), "toolName")), step_id=step_id,
        call=operator_call("branchRun", run["id"], checkpoint_id, workflow=workflow),
    )


# Exports and the tree --------------------------------------------------------------------------------


def export_metadata(metadata: dict[str, Any], *, redacted: bool) -> dict[str, Any]:
    """An export's metadata saying it was redacted (`redacted: true`) when it was; any trace metadata is
    valid under the runtime's schema 1.1, which only requires the key."""
    return {**metadata, "redacted": True} if redacted else metadata


@dataclass(frozen=True)
class DerivedTreeEntry(TreeEntry):
    """A tree entry for a run derived from another (a branch of a delegated child sits in its parent's tree)."""

    derivation: str = ""
    derivation_label: str = ""


def tree_entries_with_kinds(entries: Sequence[TreeEntry], kinds: Mapping[str, str]) -> list[TreeEntry]:
    """`entries` with each derived run's kind (`kinds`: run id -> KIND_LABELS key) for its tag."""
    result: list[TreeEntry] = []
    for entry in entries:
        kind = kinds.get(entry.id) if entry.id else None
        if kind:
            result.append(DerivedTreeEntry(**{name: getattr(entry, name) for name in entry.__dataclass_fields__},
                                           derivation=kind, derivation_label=kind_label(kind)))
        else:
            result.append(entry)
    return result
