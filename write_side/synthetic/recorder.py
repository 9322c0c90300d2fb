"""Recording one run the way the runtime's `Run` does: steps, events, checkpoints and snapshots."""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .encoding import compact
from .vocabulary import CITIES, CUSTOMERS, MODELS, PEOPLE, RELEASES, TENANTS, TOOLS, TOPICS

Json = dict[str, Any]
TIMING_KEYS = ("retrievalMs", "modelMs", "toolMs", "workflowMs", "verifierMs")


@functools.lru_cache(maxsize=8192)
def _second_prefix(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def iso(ms: int) -> str:
    """`new Date(ms).toISOString()`."""
    seconds, millis = divmod(ms, 1000)
    return f"{_second_prefix(seconds)}.{millis:03d}Z"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _utc_string(ms: int) -> str:
    """`new Date(ms).toUTCString()`, as the Agent's system prompt embeds it (never locale-dependent)."""
    t = time.gmtime(ms // 1000)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def epoch_ms(now: datetime | None) -> int:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return int(now.timestamp() * 1000)


class Context:
    """One group's random source and settings shared by its runs (release, tenant, trace)."""

    def __init__(self, seed: int, index: int, phase: float, now_ms: int) -> None:
        # String seeds go through SHA-512, so the stream is the same in every process.
        self.rng = random.Random(f"agnostic-synthetic:{seed}:{index}")
        self.now_ms = now_ms
        self.release = self._release(phase)
        self.tenant = self.pick(TENANTS)
        self.trace_id = self.hex(32) if self.rng.random() < 0.2 else None
        self.model = self.pick(MODELS)
        # One subject per group, so a run's input, tool arguments and answer agree.
        self.fields: dict[str, str] = {
            "topic": self.pick(TOPICS), "customer": self.pick(CUSTOMERS), "city": self.pick(CITIES),
            "person": self.pick(PEOPLE), "order": f"A-{self.between(100, 9999)}",
            "account": f"acct-{self.between(1, 999)}", "warehouse": f"warehouse-{self.between(1, 12)}",
        }

    def _release(self, phase: float) -> Json:
        if self.rng.random() < 0.1:
            return {}
        live = [fields for since, fields in RELEASES if since <= phase]
        # The newest releases take most traffic once they are out.
        return live[-1] if self.rng.random() < 0.5 else self.pick(live)

    def pick(self, items: tuple[Any, ...] | list[Any]) -> Any:
        return items[int(self.rng.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low + 1))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def text(self, template: str) -> str:
        return template.format(**self.fields)

    def usage(self, message_count: int) -> tuple[int, int, float]:
        prompt = 40 + 35 * message_count + self.between(0, 400)
        completion = self.between(8, 260)
        _, price_in, price_out = self.model
        return prompt, completion, round(prompt * price_in + completion * price_out, 6)


def new_lineage(root: str, parent: str | None = None, origin: str | None = None, checkpoint: str | None = None) -> Json:
    return {"rootRunId": root, "parentRunId": parent, "childRunIds": [], "branchOriginRunId": origin,
            "branchCheckpointId": checkpoint}


def _state_signature(state: Json) -> tuple[Any, ...]:
    # State only grows (entries appended, keys added), so sizes two levels down identify it.
    return tuple(
        (key, len(value) if type(value) is list else
         tuple(len(v) if type(v) in (list, dict) else 0 for v in value.values()) if type(value) is dict else id(value))
        for key, value in state.items()
    )


def _freeze(state: Json) -> Json:
    # Checkpoint snapshots copy the containers the run keeps appending to; leaves are shared.
    copy: Json = {}
    for key, value in state.items():
        if type(value) is dict:
            copy[key] = {k: (v[:] if type(v) is list else dict(v) if type(v) is dict else v) for k, v in value.items()}
        elif type(value) is list:
            copy[key] = value[:]
        else:
            copy[key] = value
    return copy


class Recorder:
    """Appends steps, events and checkpoints in the order and shapes the runtime's Run does."""

    def __init__(self, ctx: Context, run_id: str, task: Any, start_ms: int, metadata: Json,
                 lineage: Json | None = None, *, workflow_id: str | None = None) -> None:
        self.ctx = ctx
        self.id = run_id
        self.input = task
        self.ms = start_ms
        self.created_ms = start_ms
        self.started_ms: int | None = None
        self.completed_ms: int | None = None
        self.failed_ms: int | None = None
        self.cancelled_ms: int | None = None
        self.state: Json = {}
        self.messages: list[Json] = []
        self.steps: list[Json] = []
        self.tool_calls: list[Json] = []
        self.tool_results: list[Json] = []
        self.checkpoints: list[Json] = []
        self.errors: list[Json] = []
        self.events: list[Json] = []
        self.status = "pending"
        self.output: Any = None
        self.pending_approval: Json | None = None
        self.pending_pause: Json | None = None
        self.usage = [0, 0, 0]
        self.cost: float = 0
        self.timings = dict.fromkeys(TIMING_KEYS, 0)
        self.child_items: list[Json] = []
        self.debug: Json = {}
        self.metadata = metadata
        self.after_lineage: Json = {}
        self.lineage = lineage or new_lineage(run_id)
        self.workflow_id = workflow_id
        self.tool_meta: dict[str, Json] = {}
        self.step_count = 0
        self.snapshot_parts: dict[str, tuple[Any, Any]] = {}
        self.event_count = 0
        self.checkpoint_count = 0

    # -- clock and records ---------------------------------------------------------------

    def tick(self, low: int = 1, high: int = 3) -> int:
        self.ms += self.ctx.between(low, high)
        return self.ms

    def event(self, kind: str, payload: Any) -> None:
        self.event_count += 1
        self.events.append({"id": f"{self.id}:{self.event_count}", "type": kind, "timestamp": iso(self.ms),
                            "payload": payload})

    def metrics(self) -> Json:
        prompt, completion, total = self.usage
        return {"tokenUsage": {"prompt": prompt, "completion": completion, "total": total}, "cost": self.cost,
                "timings": dict(self.timings),
                "childRuns": {"count": len(self.child_items), "items": self.child_items[:]}, "debug": dict(self.debug)}

    def snapshot(self) -> Json:
        return {"state": self._unchanged("state", _state_signature(self.state), lambda: _freeze(self.state)),
                "messages": self._unchanged("messages", len(self.messages), self.messages.copy),
                "steps": self._unchanged("steps", len(self.steps), self.steps.copy),
                "toolCalls": self._unchanged("toolCalls", len(self.tool_calls), self.tool_calls.copy),
                "toolResults": self._unchanged("toolResults", len(self.tool_results), self.tool_results.copy),
                "metrics": self._unchanged("metrics", self._metrics_signature(), self.metrics),
                "pendingApproval": self.pending_approval, "pendingPause": self.pending_pause, "output": self.output,
                "status": self.status}

    def _unchanged(self, name: str, signature: Any, copy: Callable[[], Any]) -> Any:
        """The previous snapshot's copy while the part has not changed, else a new copy.

        Everything the run records is append-only, so a signature of lengths and totals
        detects change; reusing the object lets `dumps_run` encode it once for all
        checkpoints, which is most of a file's bytes.
        """
        previous = self.snapshot_parts.get(name)
        if previous is not None and previous[0] == signature:
            return previous[1]
        value = copy()
        self.snapshot_parts[name] = (signature, value)
        return value

    def _metrics_signature(self) -> tuple[Any, ...]:
        return (*self.usage, self.cost, *self.timings.values(), len(self.child_items), len(self.debug))

    def checkpoint(self, label: str, payload: Any, *, snapshot: bool = True) -> Json:
        self.checkpoint_count += 1
        record: Json = {"id": f"{self.id}:checkpoint:{self.checkpoint_count}", "label": label,
                        "timestamp": iso(self.ms), "status": self.status, "payload": payload}
        if snapshot:
            record["snapshot"] = self.snapshot()
        if self.workflow_id is None:
            record["messageCount"] = len(self.messages)
            record["toolCallCount"] = len(self.tool_calls)
            record["toolResultCount"] = len(self.tool_results)
        else:
            record["workflowId"] = self.workflow_id
            record["completedSteps"] = self.state["workflow"]["completedStepIds"][:]
        self.checkpoints.append(record)
        return record

    def add_step(self, kind: str, created: int, payload: Any, *, status: str = "completed", output: Any = None,
                 error: Json | None = None, key: str | None = None) -> Json:
        self.step_count += 1
        if key is None:
            step: Json = {"id": f"{self.id}:step:{self.step_count}", "type": kind}
        else:
            step = {"id": f"{self.id}:workflow-step:{key}:{self.step_count}", "key": key, "type": kind}
        step["status"] = status
        step["createdAt"] = iso(created)
        step["updatedAt"] = iso(self.ms)
        step["payload"] = payload
        step["output"] = output
        step["error"] = error
        if status != "running":
            step["durationMs"] = self.ms - created
        self.steps.append(step)
        return step

    def add_usage(self, prompt: int, completion: int, cost: float) -> None:
        self.usage[0] += prompt
        self.usage[1] += completion
        self.usage[2] += prompt + completion
        self.cost += cost

    def load_snapshot(self, snapshot: Json) -> None:
        """Start from a checkpoint, as `branchRun` and partial replays do."""
        self.state = _freeze(snapshot["state"])
        self.messages = snapshot["messages"][:]
        self.steps = snapshot["steps"][:]
        self.tool_calls = snapshot["toolCalls"][:]
        self.tool_results = snapshot["toolResults"][:]
        metrics = snapshot["metrics"]
        usage = metrics["tokenUsage"]
        self.usage = [usage["prompt"], usage["completion"], usage["total"]]
        self.cost = metrics["cost"]
        self.timings = dict(metrics["timings"])
        self.child_items = metrics["childRuns"]["items"][:]
        self.debug = dict(metrics["debug"])
        self.step_count = len(self.steps)

    # -- agent lifecycle -------------------------------------------------------------------

    def begin(self) -> None:
        self.ms += self.ctx.between(1, 4)
        self.started_ms = self.ms
        self.status = "running"

    def start_agent(self, description: str) -> None:
        self.begin()
        prefix = f"{description}\n" if description else ""
        self.messages = [{"role": "system", "content": f"{prefix}Current date and time is: {_utc_string(self.ms)}"},
                         {"role": "user", "content": self.input}]
        self.event("run_started", {"input": self.input})
        self.tick(0, 2)
        self.checkpoint("run_started", {"input": self.input})

    def model_turn(self, message: str | None, calls: list[Json], tool_count: int, *,
                   duration: int | None = None) -> Json:
        self.tick(1, 4)
        created = self.ms
        self.event("model_request", {"messageCount": len(self.messages), "toolCount": tool_count})
        elapsed = duration if duration is not None else self.ctx.between(350, 4200)
        self.ms += elapsed - 1
        self.event("model_response", {"hasToolCalls": bool(calls), "message": message})
        self.ms += 1
        step = self.add_step("model", created, {"messageCount": len(self.messages)},
                             output={"message": message, "toolCalls": calls})
        self.add_usage(*self.ctx.usage(len(self.messages)))
        self.timings["modelMs"] += elapsed - self.ctx.between(0, 3)
        self.tick(0, 2)
        self.checkpoint("model_response", {"hasToolCalls": bool(calls)})
        return step

    def stuck_model_call(self) -> None:
        """A model call still in flight when the process died or the adapter threw."""
        self.tick(1, 4)
        self.event("model_request", {"messageCount": len(self.messages), "toolCount": 0})
        self.add_step("model", self.ms, {"messageCount": len(self.messages)}, status="running")

    def request_tool(self, call: Json, *, decisions: list[Json] | None = None) -> Json:
        tool = TOOLS[call["name"]]
        meta = self.tool_meta.get(tool.name)
        if meta is None:
            meta = self.tool_meta[tool.name] = tool.metadata()
        record = {"runId": self.id, "toolName": tool.name, "toolCall": call, "arguments": call["arguments"],
                  "metadata": meta}
        self.tool_calls.append(record)
        self.tick(1, 3)
        self.event("tool_requested", record)
        required = list(tool.required)
        confidence = {"toolName": tool.name, "score": 0.85, "completeness": 1, "requiredArguments": required,
                      "providedRequiredArguments": required}
        self.state.setdefault("toolConfidence", []).append(confidence)
        self.tick(0, 2)
        self.event("tool_confidence_scored", confidence)
        if decisions is None:
            decisions = [{"action": "allow", "reason": None, "source": "default"}, {"action": "allow"}]
        for stage, decision in zip(("evaluate", "before_execute"), decisions, strict=False):
            entry = {"toolName": tool.name, "stage": stage, "decision": decision}
            self.state.setdefault("policyDecisions", []).append(entry)
            self.tick(0, 1)
            self.event("policy_decision", entry)
        return record

    def verify_tool(self, record: Json, verdict: Json | None, error: str | None = None) -> None:
        self.tick(1, 3)
        created = self.ms
        payload = {"toolName": record["toolName"], "arguments": record["arguments"]}
        self.event("verifier_started", payload)
        self.ms += self.ctx.between(40, 900)
        if error is not None:
            self.event("verifier_failed", {"toolName": record["toolName"], "message": error})
            self.add_step("verifier", created, payload, status="failed", error={"name": "Error", "message": error})
            return
        self.event("verifier_completed", {"toolName": record["toolName"], "verdict": verdict})
        self.add_step("verifier", created, payload, output=verdict)
        self.timings["verifierMs"] += self.ms - created
        graph = self.state.setdefault("evidenceGraph", {"nodes": [], "edges": []})
        graph["nodes"].append({"id": f"{self.id}:evidence:verifier:{len(self.steps)}", "type": "verifier",
                               "label": record["toolName"], "verdict": verdict, "reviewers": [], "strategy": None})
        self.tick(0, 1)
        self.checkpoint("verifier_completed", {"toolName": record["toolName"], "verdict": verdict})

    def start_tool(self, record: Json) -> int:
        self.tick(2, 20)
        self.event("tool_started", {"toolName": record["toolName"], "arguments": record["arguments"]})
        return self.ms

    def finish_tool(self, record: Json, started: int, result: Any, *, checkpoint: bool = True) -> None:
        name = record["toolName"]
        self.event("tool_completed", {"toolName": name, "result": result})
        self.add_step("tool", started, {"toolName": name, "arguments": record["arguments"]}, output=result)
        self.timings["toolMs"] += self.ms - started
        if checkpoint:
            self.tick(0, 2)
            self.checkpoint("tool_completed", {"toolName": name})
        self.tool_results.append({"toolName": name, "result": result})
        self.messages.append({"role": "assistant", "content": "",
                              "function_call": {"name": name, "arguments": compact(record["arguments"])}})
        self.messages.append({"role": "function", "name": name, "content": compact(result)})
        graph = self.state.setdefault("evidenceGraph", {"nodes": [], "edges": []})
        graph["nodes"].append({"id": f"{self.id}:evidence:tool:{len(self.tool_results)}", "type": "tool_result",
                               "label": name, "result": result})

    def call_tool(self, call: Json, *, verify: bool = False) -> Any:
        record = self.request_tool(call)
        if verify:
            self.verify_tool(record, {"action": "allow", "reason": "verified by policy reviewer"})
        started = self.start_tool(record)
        result = TOOLS[call["name"]].make_result(self.ctx, call["arguments"])
        self.ms += self.ctx.between(15, 1800)
        self.finish_tool(record, started, result)
        return result

    def fail_tool(self, record: Json, message: str, *, error_name: str = "Error") -> None:
        started = self.start_tool(record)
        self.ms += self.ctx.between(20, 3000)
        name = record["toolName"]
        self.event("tool_failed", {"toolName": name, "message": message})
        self.add_step("tool", started, {"toolName": name, "arguments": record["arguments"]}, status="failed",
                      error={"name": error_name, "message": message})

    def settle_state(self) -> None:
        scores = [entry["score"] for entry in self.state.get("toolConfidence", [])]
        average = round(sum(scores) / len(scores), 3) if scores else 1
        confident = bool(scores)
        self.state.setdefault("evidenceGraph", {"nodes": [], "edges": []})
        self.state.setdefault("toolConfidence", [])
        self.state["assessment"] = {"uncertainty": 0.15 if confident else 0.35,
                                    "confidence": 0.85 if confident else 0.65, "evidenceConflicts": 0,
                                    "averageToolConfidence": average, "verification": None}

    def complete(self, output: Any, *, kind: str = "run") -> None:
        if self.workflow_id is None:
            self.settle_state()
        self.tick(1, 3)
        self.output = output
        self.status = "completed"
        self.completed_ms = self.ms
        payload = {"workflowId": self.workflow_id, "results": output} if kind == "workflow" else {"output": output}
        self.event(f"{kind}_completed", payload)
        self.tick(0, 2)
        self.checkpoint(f"{kind}_completed",
                        {"workflowId": self.workflow_id} if kind == "workflow" else {"output": output})
        self.tick(0, 1)

    def fail(self, name: str, message: str) -> None:
        self.tick(1, 3)
        self.errors.append({"name": name, "message": message})
        self.status = "failed"
        self.failed_ms = self.ms
        self.event("run_failed", {"name": name, "message": message})
        self.tick(0, 2)
        self.checkpoint("run_failed", {"name": name, "message": message})
        self.tick(0, 1)

    def wait_for_approval(self, record: Json, reason: str) -> Json:
        request = dict(record)
        request["reason"] = reason
        self.tick(1, 3)
        self.event("approval_requested", request)
        self.pending_approval = request
        self.status = "waiting_for_approval"
        self.tick(0, 2)
        self.checkpoint("waiting_for_approval", {"toolName": record["toolName"]})
        self.tick(0, 1)
        return request

    def resolve_approval(self, request: Json, approved: bool, reason: str) -> None:
        # Resolution happens minutes later, when an operator answers.
        self.ms += self.ctx.between(20_000, 900_000)
        self.event("approval_resolved", {"request": request, "approved": approved, "reason": reason})
        if approved:
            self.pending_approval = None
        self.status = "running"
        self.tick(0, 2)
        self.checkpoint("approval_resolved", {"approved": approved, "reason": reason})

    def pause(self, pause: Json) -> None:
        self.tick(1, 3)
        self.event("run_paused", pause)
        self.pending_pause = pause
        self.status = "paused"
        self.tick(0, 2)
        self.checkpoint("run_paused", pause)
        self.tick(0, 1)

    def resume(self, pause: Json) -> None:
        self.ms += self.ctx.between(5_000, 600_000)
        payload = {"reason": pause["reason"], "stage": pause["stage"]}
        self.event("run_resumed", payload)
        self.pending_pause = None
        self.status = "running"
        if self.started_ms is None:
            self.started_ms = self.ms
        self.tick(0, 2)
        self.checkpoint("run_resumed", payload)

    def cancel(self, reason: Json) -> None:
        self.ms += self.ctx.between(10_000, 3_600_000)
        self.event("run_cancelled", reason)
        self.pending_approval = None
        self.pending_pause = None
        self.status = "cancelled"
        self.cancelled_ms = self.ms
        self.tick(0, 2)
        self.checkpoint("run_cancelled", reason)
        self.tick(0, 1)

    # -- output ------------------------------------------------------------------------------

    def to_json(self) -> Json:
        metadata = dict(self.metadata)
        metadata["lineage"] = self.lineage
        metadata.update(self.after_lineage)
        return {
            "id": self.id, "input": self.input, "state": self.state, "messages": self.messages,
            "steps": self.steps, "toolCalls": self.tool_calls, "toolResults": self.tool_results,
            "checkpoints": self.checkpoints, "errors": self.errors, "events": self.events,
            "timestamps": {
                "createdAt": iso(self.created_ms),
                "startedAt": None if self.started_ms is None else iso(self.started_ms),
                "updatedAt": iso(self.ms),
                "completedAt": None if self.completed_ms is None else iso(self.completed_ms),
                "failedAt": None if self.failed_ms is None else iso(self.failed_ms),
                "cancelledAt": None if self.cancelled_ms is None else iso(self.cancelled_ms),
            },
            "status": self.status, "output": self.output, "pendingApproval": self.pending_approval,
            "pendingPause": self.pending_pause, "metrics": self.metrics(), "metadata": metadata,
        }
