"""Deterministic synthetic run stores, byte for byte in the runtime's file format.

Runs are recorded the way the runtime's `Agent`, `WorkflowRunner`, `DelegationRuntime`,
`branchRun` and replay code append steps, events and checkpoints: field names, value
formats and ordering are copied from the conformance stores, so views and benchmarks see
data shaped like production. Every run comes out already in `Run.fromJSON(x).toJSON()`
form and is written as `JSON.stringify(run, null, 2)` without a trailing newline.

Runs are built in independent groups (a delegation tree, a branch family, one agent run…),
each from its own seeded random source, so output is reproducible for a (seed, now) pair
and memory stays bounded by the largest group, whatever the store size.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import random
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from .jsjson import dumps as js_dumps
from .jsjson import number_to_string

Json = dict[str, Any]
Shape = list[Any]  # a tree shape: the list of its children's shapes; a leaf is []

DAY_MS = 86_400_000
WINDOW_MS = 7 * DAY_MS
BIG_TREE_SIZE = 500  # count >= 10,000
MEDIUM_TREE_SIZE = 320  # count >= 1,000
BIG_RUN_CHECKPOINT_EVERY = 250
STATUS_ORDER = ("pending", "running", "waiting_for_approval", "paused", "completed", "failed", "cancelled")
TIMING_KEYS = ("retrievalMs", "modelMs", "toolMs", "workflowMs", "verifierMs")


# --------------------------------------------------------------------------------------------
# Encoding


def dumps_run(value: Any) -> str:
    """`JSON.stringify(value, null, 2)` for generated runs, equal to `jsjson.dumps(value, 2)`.

    Checkpoint snapshots share step, message and tool-call objects with their run, so each
    shared object is encoded once and re-indented where it appears again. Supports what the
    generator emits: string keys already in JS order, no lone surrogates, no `undefined`.
    """
    if type(value) is dict or type(value) is list:
        return _encode(value, "", {}) if value else ("{}" if type(value) is dict else "[]")
    return _encode([value], "", {})[4:-2]


def _encode(value: Json | list[Any], pad: str, memo: dict[int, tuple[int, str]]) -> str:
    """Encode a non-empty object or array whose first line is already indented by `pad`."""
    cached = memo.get(id(value))
    if cached is not None:
        level, text = cached
        if level == len(pad):
            return text
        if level < len(pad):
            # JSON strings never hold a raw newline, so this only shifts the indentation.
            return text.replace("\n", "\n" + " " * (len(pad) - level))
    inner = pad + "  "
    parts: list[str] = []
    if type(value) is dict:
        for key, item in value.items():
            parts.append(encode_basestring(key) + ": " + _scalar_or_nested(item, inner, memo))
        text = "{\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "}"
    else:
        for item in value:
            parts.append(_scalar_or_nested(item, inner, memo))
        text = "[\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "]"
    if cached is None:
        memo[id(value)] = (len(pad), text)
    return text


def _scalar_or_nested(item: Any, pad: str, memo: dict[int, tuple[int, str]]) -> str:
    kind = type(item)
    if kind is str:
        return encode_basestring(item)
    if kind is dict or kind is list:
        return _encode(item, pad, memo) if item else ("{}" if kind is dict else "[]")
    if item is None:
        return "null"
    if kind is int:
        return str(item)
    if item is True:
        return "true"
    if item is False:
        return "false"
    if kind is float:
        return number_to_string(item)
    raise TypeError(f"{kind.__name__} is not JSON serialisable")


def _compact(value: Any) -> str:
    # What the runtime puts in message contents and function_call arguments.
    return js_dumps(value)


# --------------------------------------------------------------------------------------------
# Time


@functools.lru_cache(maxsize=8192)
def _second_prefix(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def _iso(ms: int) -> str:
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


def _epoch_ms(now: datetime | None) -> int:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return int(now.timestamp() * 1000)


# --------------------------------------------------------------------------------------------
# Vocabulary

_TOPICS = ("refund policy", "SSO setup", "rate limits", "data retention", "webhook retries", "billing cycles",
           "API keys", "export formats", "audit logging", "seat licensing", "invoice disputes", "GDPR requests")
_CUSTOMERS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
              "Tyrell", "Soylent", "Cyberdyne", "Wonka", "Aperture")
_CITIES = ("Lisbon", "Berlin", "Austin", "Osaka", "Nairobi", "Toronto", "Lyon", "Porto", "Bogotá", "Kraków")
_PEOPLE = ("Paulo", "Ana", "Mei", "Jonas", "Priya", "Tomás", "Aisha", "Lars", "Chloé", "Kenji")
_DESCRIPTIONS = ("Support agent for order questions.", "Order assistant", "Research agent", "Billing helper",
                 "Grounded support agent", "Ops triage agent", "", "")
_TENANTS = ("acme", "globex", "initech", "hooli")
_MODELS = (("gpt-4o-mini", 0.00000015, 0.0000006), ("claude-3-5-haiku", 0.0000008, 0.000004),
           ("gpt-4.1", 0.000002, 0.000008), ("mistral-large", 0.000002, 0.000006))

_PLAIN_TASKS = (
    ("What is our {topic}?", "Our {topic} is described in the admin guide; changes apply within 24 hours."),
    ("Summarize the {topic} doc for {customer}.", "{customer}: the {topic} doc covers setup, limits and escalation."),
    ("Draft a reply to {customer} about {topic}.", "Hi {customer} team, thanks for asking about {topic}. Here is what changed…"),
    ("Explain {topic} in two sentences.", "{topic} controls how requests are handled. Admins can adjust it per workspace."),
    ("Hello runtime, what can you do?", "I can answer questions, look up orders and open tickets."),
    ("Translate the {topic} FAQ into Portuguese.", "Perguntas frequentes sobre {topic}: …"),
    ("Résumé of {customer}'s last call — key risks?", "Risks for {customer}: renewal timing and {topic}."),
    ("Classify this ticket: '{topic} is broken for {customer}'", "category=bug; area={topic}; priority=high"),
)
_TOOL_TASKS = (
    ("Where is order {order}?", ("lookup_order",)),
    ("Where is order {order} and how is the weather in {city}?", ("lookup_order", "get_weather")),
    ("Search the docs for {topic} and summarize.", ("search_docs",)),
    ("Email {person} the answer about {topic}.", ("search_docs", "send_email")),
    ("Update CRM account {account} with the renewal date.", ("crm_update",)),
    ("Sync inventory for {warehouse}.", ("sync_inventory",)),
    ("Open a ticket for the {topic} outage at {customer}.", ("search_docs", "create_ticket")),
    ("Research {topic} for {customer} and publish the brief.", ("research", "fetch_page", "publish_report")),
    ("Count the items in order {order} and check stock in {warehouse}.", ("lookup_order", "count_items", "sync_inventory")),
)
_APPROVAL_TASKS = (
    ("Email {person} the {topic} summary.", "send_email", "Tool requires explicit approval.", "metadata"),
    ("Notify all {customer} admins about {topic}.", "notify_user", "External writes require approval.", "rule"),
    ("Update CRM account {account} to churn-risk.", "crm_update", "CRM writes need a second pair of eyes.", "rule"),
    ("Publish the {topic} report for {customer}.", "publish_report", "Tool requires explicit approval.", "metadata"),
    ("Open a P1 ticket for {customer}.", "create_ticket", "Business hours only.", "hook"),
)
_SUPERVISOR_TASKS = ("Produce the quarterly churn report for {customer}", "Prepare the {topic} migration plan",
                     "Audit {customer}'s {topic} setup", "Write the {topic} post-mortem",
                     "Compare {customer} usage against plan")
_LEAD_ROLES = ("research_lead", "writing_lead", "review_lead", "data_lead", "ops_lead")
_WORKER_ROLES = ("researcher", "writer", "analyst", "reviewer", "fact_checker", "summarizer", "translator")
_WORKER_TASKS = ("Collect churn metrics for {customer}", "Draft the executive summary", "Check sources on {topic}",
                 "Pull usage for {customer}", "Review the {topic} section", "Summarize support tickets about {topic}",
                 "Estimate impact of {topic}", "List open risks for {customer}", "Translate the summary")

# (workflowId, name, steps); a step ending in "*" runs an agent child (AgentWorkflowStep).
_WORKFLOWS = (
    ("nightly-etl", "Nightly ETL", ("extract", "transform", "load")),
    ("deploy-flow", "Deploy service", ("build", "test", "deploy", "verify")),
    ("provision-flow", "Provision environment", ("allocate", "configure", "verify")),
    ("incident-triage", "Incident triage", ("collect", "analyze*", "notify")),
    ("research-and-write", "Research and write", ("research*", "write*", "publish")),
    ("invoice-reconciliation", "Invoice reconciliation", ("fetch", "match", "review*", "post")),
    ("support-escalation", "Support escalation", ("classify*", "draft*", "route")),
)

# Release rollout over the week: (phase from which it is deployed, metadata fields).
_RELEASES: tuple[tuple[float, Json], ...] = (
    (0.0, {"release": {"version": "2026.11.1"}}),
    (0.0, {"release": "v3.1.4"}),
    (0.0, {"releaseLabel": "support-2026.10"}),
    (0.3, {"release": {"version": "2026.11.2", "channel": "stable"}}),
    (0.45, {"release": "v3.2.0"}),
    (0.6, {"release": {"version": "2026.11.3", "channel": "canary", "label": "v2026.11.3-rc.1"},
           "releaseLabel": "v2026.11.3-rc.1"}),
    (0.75, {"release": {"version": "2026.11.3"}}),
)


@dataclass(frozen=True)
class _Tool:
    name: str
    side_effect: str
    tags: tuple[str, ...]
    required: tuple[str, ...]
    make_args: Callable[[_Ctx], Json]
    make_result: Callable[[_Ctx, Json], Any]
    retryability: str = "unknown"
    execution_policy: str = "auto"
    cost_hint: str = "unknown"

    def metadata(self) -> Json:
        return {
            "examples": [], "tags": list(self.tags), "version": "1.0.0", "sideEffectLevel": self.side_effect,
            "timeout": None, "authRequirements": [], "idempotencyHint": "unknown", "costHint": self.cost_hint,
            "retryabilityHint": self.retryability, "executionPolicy": self.execution_policy,
            "verificationPolicy": "auto",
        }


def _email(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower() + "@example.com"


def _order_result(ctx: _Ctx, args: Json) -> Json:
    return {"orderId": args["orderId"], "status": ctx.pick(("shipped", "processing", "delivered", "on_hold")),
            "items": [{"sku": f"SKU-{ctx.between(1, 99)}", "qty": ctx.between(1, 4),
                       "price": ctx.pick((9.99, 24.5, 0.1, 129, 3.75))}],
            "eta": f"2026-12-{ctx.between(1, 28):02d}"}


_TOOL_LIST = (
    _Tool("lookup_order", "none", ("orders",), ("orderId",),
          lambda c: {"orderId": c.fields["order"]}, _order_result),
    _Tool("get_weather", "none", (), ("city",), lambda c: {"city": c.fields["city"]},
          lambda c, a: f"{c.pick(('Sunny', 'Cloudy', 'Rainy'))} in {a['city']}, {c.between(-3, 31)}°C"),
    _Tool("search_docs", "none", ("docs",), ("query",), lambda c: {"query": c.fields["topic"]},
          lambda c, a: {"hits": [f"{a['query']} guide", f"{a['query']} FAQ"][: c.between(1, 2)], "total": c.between(1, 40)}),
    _Tool("send_email", "external_write", ("email",), ("to", "subject"),
          lambda c: {"to": _email(c.fields["person"]), "subject": f"About {c.fields['topic']}"},
          lambda c, a: {"delivered": True, "messageId": f"msg-{c.hex(8)}"}),
    _Tool("crm_update", "external_write", ("crm",), ("accountId", "field"),
          lambda c: {"accountId": c.fields["account"], "field": c.pick(("renewalDate", "tier", "owner"))},
          lambda c, a: {"updated": True, "accountId": a["accountId"]}),
    _Tool("sync_inventory", "none", (), ("query",), lambda c: {"query": c.fields["warehouse"]},
          lambda c, a: {"synced": True, "query": a["query"], "skus": c.between(10, 5000)}, retryability="retryable"),
    _Tool("create_ticket", "external_write", ("tickets",), ("title", "priority"),
          lambda c: {"title": c.text("{topic} outage at {customer}"), "priority": c.pick(("P1", "P2", "P3"))},
          lambda c, a: {"ticketId": f"OPS-{c.between(100, 9999)}", "priority": a["priority"]}),
    _Tool("fetch_page", "none", (), ("url",),
          lambda c: {"url": f"https://docs.example.com/{c.fields['topic'].lower().replace(' ', '-')}?page={c.between(1, 40)}"},
          lambda c, a: {"status": 200, "bytes": c.between(800, 90000)}, retryability="retryable"),
    _Tool("research", "none", (), ("query",), lambda c: {"query": c.text("{topic} at {customer}")},
          lambda c, a: {"summary": f"{a['query']}: market is growing.", "sources": c.between(2, 9)}),
    _Tool("notify_user", "external_write", ("notifications",), ("query",), lambda c: {"query": c.fields["topic"]},
          lambda c, a: {"notified": c.between(1, 300)}),
    _Tool("publish_report", "none", (), ("query",), lambda c: {"query": c.pick(("Q1", "Q2", "Q3", "Q4"))},
          lambda c, a: {"published": True, "url": f"https://reports.example.com/{a['query'].lower()}"},
          execution_policy="require_approval", cost_hint="low"),
    _Tool("count_items", "none", (), ("list",), lambda c: {"list": [1, 2, 3][: c.between(1, 3)]},
          lambda c, a: len(a["list"])),
    _Tool("delegate_task", "none", ("delegation",), ("assignee", "task"), lambda c: {}, lambda c, a: None),
)
_TOOLS = {tool.name: tool for tool in _TOOL_LIST}


# --------------------------------------------------------------------------------------------
# Per-group context


class _Ctx:
    """One group's random source and settings shared by its runs (release, tenant, trace)."""

    def __init__(self, seed: int, index: int, phase: float, now_ms: int) -> None:
        # String seeds go through SHA-512, so the stream is the same in every process.
        self.rng = random.Random(f"agnostic-synthetic:{seed}:{index}")
        self.now_ms = now_ms
        self.release = self._release(phase)
        self.tenant = self.pick(_TENANTS)
        self.trace_id = self.hex(32) if self.rng.random() < 0.2 else None
        self.model = self.pick(_MODELS)
        self.fields: dict[str, str] = {"topic": self.pick(_TOPICS), "customer": self.pick(_CUSTOMERS), "city": self.pick(_CITIES),
                       "person": self.pick(_PEOPLE), "order": f"A-{self.between(100, 9999)}",
                       "account": f"acct-{self.between(1, 999)}", "warehouse": f"warehouse-{self.between(1, 12)}"}

    def _release(self, phase: float) -> Json:
        if self.rng.random() < 0.1:
            return {}
        live = [fields for since, fields in _RELEASES if since <= phase]
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


def _lineage(root: str, parent: str | None = None, origin: str | None = None, checkpoint: str | None = None) -> Json:
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


# --------------------------------------------------------------------------------------------
# One run being recorded


class _Run:
    """Appends steps, events and checkpoints in the order and shapes the runtime's Run does."""

    def __init__(self, ctx: _Ctx, run_id: str, task: Any, start_ms: int, metadata: Json,
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
        self.lineage = lineage or _lineage(run_id)
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
        self.events.append({"id": f"{self.id}:{self.event_count}", "type": kind, "timestamp": _iso(self.ms),
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
                        "timestamp": _iso(self.ms), "status": self.status, "payload": payload}
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
        step["createdAt"] = _iso(created)
        step["updatedAt"] = _iso(self.ms)
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

    def model_turn(self, message: str | None, calls: list[Json], tool_count: int, *, duration: int | None = None) -> Json:
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
        tool = _TOOLS[call["name"]]
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
                              "function_call": {"name": name, "arguments": _compact(record["arguments"])}})
        self.messages.append({"role": "function", "name": name, "content": _compact(result)})
        graph = self.state.setdefault("evidenceGraph", {"nodes": [], "edges": []})
        graph["nodes"].append({"id": f"{self.id}:evidence:tool:{len(self.tool_results)}", "type": "tool_result",
                               "label": name, "result": result})

    def call_tool(self, call: Json, *, verify: bool = False) -> Any:
        record = self.request_tool(call)
        if verify:
            self.verify_tool(record, {"action": "allow", "reason": "verified by policy reviewer"})
        started = self.start_tool(record)
        result = _TOOLS[call["name"]].make_result(self.ctx, call["arguments"])
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
        self.checkpoint(f"{kind}_completed", {"workflowId": self.workflow_id} if kind == "workflow" else {"output": output})
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
                "createdAt": _iso(self.created_ms),
                "startedAt": None if self.started_ms is None else _iso(self.started_ms),
                "updatedAt": _iso(self.ms),
                "completedAt": None if self.completed_ms is None else _iso(self.completed_ms),
                "failedAt": None if self.failed_ms is None else _iso(self.failed_ms),
                "cancelledAt": None if self.cancelled_ms is None else _iso(self.cancelled_ms),
            },
            "status": self.status, "output": self.output, "pendingApproval": self.pending_approval,
            "pendingPause": self.pending_pause, "metrics": self.metrics(), "metadata": metadata,
        }


# --------------------------------------------------------------------------------------------
# Agent scenarios: one function per way an Agent run ends up in the store


def _agent_metadata(ctx: _Ctx, description: str, *, extra: Json | None = None) -> Json:
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


def _tool_call(ctx: _Ctx, name: str, number: int) -> Json:
    return {"name": name, "arguments": _TOOLS[name].make_args(ctx), "id": f"call_{number}"}


def _answer(ctx: _Ctx, results: list[Any]) -> str:
    if results and ctx.chance(0.5):
        return f"Final answer based on {_compact(results[-1])}"
    return ctx.text(ctx.pick(("Done: {customer} is all set on {topic}.", "Order {order} is on its way.",
                              "Summary sent to {person}.", "All checks passed for {warehouse}.")))


def _plain(run: _Run, ctx: _Ctx) -> None:
    task, answer = ctx.pick(_PLAIN_TASKS)
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


def _retrieval(run: _Run, ctx: _Ctx) -> None:
    # RAG agents search before the run starts, and leave their query in metrics.debug.
    query = run.input
    run.event("retrieval_started", {"query": query})
    started = run.ms
    run.ms += ctx.between(30, 400)
    run.event("retrieval_completed", {"query": query, "matches": [
        {"id": f"doc-{ctx.between(1, 500)}", "score": round(0.5 + ctx.rng.random() / 2, 3)}
        for _ in range(ctx.between(1, 3))]})
    run.timings["retrievalMs"] = run.ms - started
    run.debug = {"lastRetrievalQuery": query, "lastRetrievalStartedAt": _iso(started)}


def _self_verification(run: _Run, ctx: _Ctx, *, passed: bool) -> None:
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


def _tool_turns(ctx: _Ctx, names: tuple[str, ...]) -> list[list[str]]:
    turns: list[list[str]] = []
    index = 0
    while index < len(names):
        width = 2 if ctx.chance(0.35) and index + 1 < len(names) else 1
        turns.append(list(names[index:index + width]))
        index += width
    return turns


def _tools(run: _Run, ctx: _Ctx, *, verify: bool = False) -> None:
    task, names = ctx.pick(_TOOL_TASKS)
    run.input = ctx.text(task)
    run.start_agent(run.metadata["description"])
    results: list[Any] = []
    number = 0
    for turn in _tool_turns(ctx, names):
        calls = []
        for name in turn:
            number += 1
            calls.append(_tool_call(ctx, name, number))
        run.model_turn(None, calls, len(names))
        for call in calls:
            external = _TOOLS[call["name"]].side_effect == "external_write"
            results.append(run.call_tool(call, verify=verify and external))
    run.model_turn(_answer(ctx, results), [], len(names))
    run.complete(run.steps[-1]["output"]["message"])


def _tools_verified(run: _Run, ctx: _Ctx) -> None:
    _tools(run, ctx, verify=True)


def _approval_setup(run: _Run, ctx: _Ctx) -> tuple[Json, str]:
    task, name, reason, source = ctx.pick(_APPROVAL_TASKS)
    run.input = ctx.text(task)
    run.start_agent(run.metadata["description"])
    call = _tool_call(ctx, name, 1)
    run.model_turn(None, [call], 1)
    decisions: list[Json] = ([{"action": "require_approval", "reason": reason, "source": "metadata"}] if source == "metadata"
                 else [{"action": "allow", "reason": None, "source": "default"}, {"action": "allow"}])
    return run.request_tool(call, decisions=decisions), reason


def _approval_waiting(run: _Run, ctx: _Ctx) -> None:
    record, reason = _approval_setup(run, ctx)
    run.wait_for_approval(record, reason)


def _approval_approved(run: _Run, ctx: _Ctx) -> None:
    record, reason = _approval_setup(run, ctx)
    request = run.wait_for_approval(record, reason)
    run.resolve_approval(request, True, "operator approved")
    started = run.start_tool(record)
    result = _TOOLS[record["toolName"]].make_result(ctx, record["arguments"])
    run.ms += ctx.between(15, 1500)
    run.finish_tool(record, started, result)
    run.tick(0, 2)
    run.checkpoint("tool_approved_and_resumed", {"toolName": record["toolName"]})
    run.model_turn(_answer(ctx, [result]), [], 1)
    run.complete(run.steps[-1]["output"]["message"])


def _approval_denied(run: _Run, ctx: _Ctx) -> None:
    record, reason = _approval_setup(run, ctx)
    request = run.wait_for_approval(record, reason)
    denial = ctx.pick(("Denied by on-call operator.", "Not during the change freeze.", "Wrong recipient list."))
    # The runtime keeps pendingApproval on a denied run (s02).
    run.resolve_approval(request, False, denial)
    run.fail("ToolPolicyError", denial)


def _tool_paused_setup(run: _Run, ctx: _Ctx) -> Json:
    task, names = ctx.pick(_TOOL_TASKS)
    run.input = ctx.text(task)
    run.start_agent(run.metadata["description"])
    call = _tool_call(ctx, names[0], 1)
    run.model_turn(None, [call], len(names))
    return call


def _pause_before_model(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.pause({"reason": "Paused at before_model.", "stage": "before_model",
               "payload": {"messageCount": len(run.messages)}})


def _pause_after_model(run: _Run, ctx: _Ctx) -> None:
    _tool_paused_setup(run, ctx)
    reason = ctx.pick(("Paused at after_model.", "Operator review of model output."))
    run.pause({"reason": reason, "stage": "after_model", "payload": run.steps[-1]["output"]})


def _pause_before_tool(run: _Run, ctx: _Ctx) -> None:
    call = _tool_paused_setup(run, ctx)
    run.pause({"reason": "Paused at before_tool.", "stage": "before_tool", "payload": {"toolCall": call}})


def _pause_after_tool(run: _Run, ctx: _Ctx) -> None:
    call = _tool_paused_setup(run, ctx)
    result = run.call_tool(call)
    run.pause({"reason": "Paused at after_tool.", "stage": "after_tool",
               "payload": {"toolCall": call, "toolResult": result}})


def _pause_confidence(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    message = ctx.text(ctx.pick(_PLAIN_TASKS)[1])
    run.model_turn(message, [], 0)
    run.settle_state()
    assessment = run.state["assessment"]
    run.tick(0, 2)
    run.event("confidence_policy_decision", {"action": "pause", "confidence": 0.65, "threshold": 0.7})
    run.output = message
    run.pause({"reason": "Run confidence 0.65 is below the pause threshold 0.7.", "stage": "confidence_review",
               "source": "confidence_policy", "assessment": assessment})


def _pause_manual_waiting(run: _Run, ctx: _Ctx) -> None:
    record, reason = _approval_setup(run, ctx)
    run.wait_for_approval(record, reason)
    run.ms += ctx.between(60_000, 1_800_000)
    # Both pendingApproval and pendingPause stay set (s02).
    run.pause({"reason": "Operator is investigating", "stage": "manual",
               "payload": {"operator": f"ops-{ctx.between(1, 9)}", "ticket": f"INC-{ctx.between(1, 999)}"}})


def _pause_adaptive_retry(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Email {person} the weekly {topic} digest.")
    run.start_agent(run.metadata["description"])
    call = _tool_call(ctx, "send_email", 1)
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


def _pause_resumed(run: _Run, ctx: _Ctx) -> None:
    call = _tool_paused_setup(run, ctx)
    result = run.call_tool(call)
    pause = {"reason": "Paused at after_tool.", "stage": "after_tool", "payload": {"toolCall": call, "toolResult": result}}
    run.pause(pause)
    run.resume(pause)
    run.model_turn(_answer(ctx, [result]), [], 1)
    run.complete(run.steps[-1]["output"]["message"])


def _cancel_waiting(run: _Run, ctx: _Ctx) -> None:
    record, reason = _approval_setup(run, ctx)
    run.wait_for_approval(record, reason)
    run.cancel({"reason": "Cancelled manually."})


def _cancel_paused(run: _Run, ctx: _Ctx) -> None:
    _pause_before_model(run, ctx)
    run.cancel({"reason": "User withdrew the request.", "requestedBy": f"user-{ctx.between(1, 99)}"})


def _running_model(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.metadata["host"] = f"worker-{ctx.between(1, 8)}"
    run.start_agent(run.metadata["description"])
    run.stuck_model_call()


def _running_tool(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Export every page of the {topic} docs for {customer}.")
    run.metadata["host"] = f"worker-{ctx.between(1, 8)}"
    run.start_agent(run.metadata["description"])
    calls = [_tool_call(ctx, "fetch_page", 1), _tool_call(ctx, "fetch_page", 2)]
    run.model_turn(None, calls, 1)
    run.call_tool(calls[0])
    record = run.request_tool(calls[1])
    started = run.start_tool(record)
    run.add_step("tool", started, {"toolName": "fetch_page", "arguments": calls[1]["arguments"]}, status="running")


def _pending(run: _Run, ctx: _Ctx) -> None:
    # Enqueued by a distributed envelope and not picked up yet: nothing has happened.
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.metadata.update({"transport": "queue", "queue": "runtime-job-queue"})
    run.ms += 1


def _fail_tool(run: _Run, ctx: _Ctx, *, retries: int = 0) -> None:
    name = ctx.pick(("sync_inventory", "fetch_page", "lookup_order", "research"))
    run.input = ctx.text(ctx.pick((f"Use {name} for {{customer}}.", "Refresh {warehouse} stock levels.",
                                   "Check order {order} for {customer}.")))
    run.start_agent(run.metadata["description"])
    call = _tool_call(ctx, name, 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    message = ctx.pick(("Inventory service returned 503", "upstream timeout after 30000ms", "ECONNRESET",
                        "research API timeout", "404 Not Found"))
    for _ in range(retries + 1):
        run.fail_tool(record, message)
    run.fail("ToolExecutionError", f'Tool "{name}" failed: {message}')


def _fail_tool_retry(run: _Run, ctx: _Ctx) -> None:
    _fail_tool(run, ctx, retries=1)


def _fail_type_error(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Sync inventory for {warehouse}, then reprice order {order}.")
    run.start_agent(run.metadata["description"])
    calls = [_tool_call(ctx, "sync_inventory", 1), _tool_call(ctx, "lookup_order", 2)]
    run.model_turn(None, calls, 2)
    run.call_tool(calls[0])
    record = run.request_tool(calls[1])
    message = "Cannot read properties of undefined (reading 'sku')"
    run.fail_tool(record, message, error_name="TypeError")
    run.fail("ToolExecutionError", f'Tool "lookup_order" failed: {message}')


def _fail_rate_limit(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.stuck_model_call()
    run.ms += ctx.between(500, 30_000)
    run.fail("RateLimitError", f"Rate limit exceeded (429), attempt {ctx.between(2, 5)}")


def _fail_model_outage(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.stuck_model_call()
    run.ms += ctx.between(1000, 60_000)
    run.fail("Error", ctx.pick(("upstream model outage", "model endpoint unreachable", "Error")))


def _fail_verifier_deny(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Email {person} the {topic} numbers.")
    run.start_agent(run.metadata["description"])
    call = _tool_call(ctx, "send_email", 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    reason = ctx.pick(("unsafe action", "recipient is outside the tenant", "contains personal data"))
    run.verify_tool(record, {"action": "deny", "reason": reason})
    run.fail("ToolPolicyError", reason)


def _fail_verifier_throws(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Email {person} the {topic} numbers.")
    run.start_agent(run.metadata["description"])
    call = _tool_call(ctx, "send_email", 1)
    run.model_turn(None, [call], 1)
    record = run.request_tool(call)
    run.verify_tool(record, None, error="verifier backend unavailable")
    run.fail("ToolPolicyError", 'Verifier failed for tool "send_email": verifier backend unavailable')


def _fail_unknown_tool(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Archive the {topic} tickets for {customer}.")
    run.start_agent(run.metadata["description"])
    run.model_turn(None, [{"name": "archive_tickets", "arguments": {"query": ctx.fields["topic"]}, "id": "call_1"}], 3)
    run.fail("ToolNotFoundError", "Tool archive_tickets not found.")


def _fail_policy(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text("Delete stale records for {customer}.")
    run.start_agent(run.metadata["description"])
    run.model_turn(None, [{"name": "delete_records", "arguments": {"query": "stale"}, "id": "call_1"}], 2)
    run.fail("ToolPolicyError", 'Tool "delete_records" is blocked by policy.')


def _fail_self_verification(run: _Run, ctx: _Ctx) -> None:
    run.input = ctx.text(ctx.pick(_PLAIN_TASKS)[0])
    run.start_agent(run.metadata["description"])
    run.model_turn(ctx.text(ctx.pick(_PLAIN_TASKS)[1]), [], 0)
    run.output = run.steps[-1]["output"]["message"]
    _self_verification(run, ctx, passed=False)
    run.fail("Error", "self-check model timed out")


_Scenario = Callable[[_Run, _Ctx], None]
_SCENARIOS: dict[str, tuple[_Scenario, int]] = {
    "plain": (_plain, 26), "tools": (_tools, 24), "tools_verified": (_tools_verified, 5),
    "approval_waiting": (_approval_waiting, 4), "approval_approved": (_approval_approved, 3),
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
    "fail_self_verification": (_fail_self_verification, 1),
}
_SCENARIO_NAMES = tuple(_SCENARIOS)
_SCENARIO_CUMULATIVE: list[int] = []
for _name in _SCENARIO_NAMES:
    _SCENARIO_CUMULATIVE.append((_SCENARIO_CUMULATIVE[-1] if _SCENARIO_CUMULATIVE else 0) + _SCENARIOS[_name][1])


def _agent_run(ctx: _Ctx, scenario: str | None, start_ms: int, *, lineage: Json | None = None,
               run_id: str | None = None, extra: Json | None = None) -> _Run:
    if scenario is None:
        scenario = ctx.rng.choices(_SCENARIO_NAMES, cum_weights=_SCENARIO_CUMULATIVE)[0]
    run_id = run_id or ctx.uuid()
    run = _Run(ctx, run_id, "", start_ms, _agent_metadata(ctx, ctx.pick(_DESCRIPTIONS), extra=extra),
               lineage or _lineage(run_id))
    _correlate(ctx, run)
    _SCENARIOS[scenario][0](run, ctx)
    return run


def _correlate(ctx: _Ctx, run: _Run, parent: _Run | None = None) -> None:
    # Runs started from an instrumented API carry its W3C trace context; a tree shares one trace.
    if ctx.trace_id is None:
        return
    parent_span = parent.metadata.get("correlation", {}).get("spanId") if parent else None
    run.metadata["correlation"] = {"traceId": ctx.trace_id, "spanId": ctx.hex(16), "parentSpanId": parent_span,
                                   "originService": "support-api"}


# --------------------------------------------------------------------------------------------
# Delegation trees


def _shape(ctx: _Ctx, size: int, max_fanout: int) -> Shape:
    """A random tree with exactly `size` nodes."""
    if size <= 1:
        return []
    rest = size - 1
    fanout = min(rest, ctx.between(2, max_fanout) if rest >= 2 else 1)
    cuts = sorted(ctx.rng.sample(range(1, rest), fanout - 1)) if fanout > 1 else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, rest], strict=True)]
    return [_shape(ctx, part, max_fanout) for part in parts]


def _deep_shape(ctx: _Ctx, size: int, depth: int) -> Shape:
    """A chain `depth` levels deep with the remaining nodes hung off it as leaves."""
    spine: list[Shape] = [[] for _ in range(depth + 1)]
    for upper, lower in zip(spine, spine[1:], strict=False):
        upper.append(lower)
    for _ in range(size - depth - 1):
        ctx.pick(spine[:-1]).insert(0, [])
    return spine[0]


def _shape_size(shape: Shape) -> int:
    return 1 + sum(_shape_size(child) for child in shape)


def _shape_depth(shape: Shape) -> int:
    return 1 + max((_shape_depth(child) for child in shape), default=0)


@dataclass
class _Tree:
    runs: list[Json] = field(default_factory=list)
    failed: bool = False


def _delegating_agent(ctx: _Ctx, shape: Shape, start_ms: int, lineage: Json, role: str, task: str,
                      parent: _Run | None, fail_last: bool, tree: _Tree) -> _Run:
    """An agent whose `delegate_task` tool runs `DelegationRuntime.delegate` for each child shape.

    Only the last child may fail (`fail_last`), so a failure never drops planned runs; a
    failed child fails its parent's tool call, and so the parent, as in the runtime.
    """
    run_id = ctx.uuid()
    lineage = dict(lineage, childRunIds=[])
    if lineage["rootRunId"] == "":
        lineage["rootRunId"] = run_id
    extra: Json = {"assignee": role, "delegatedBy": "lead"} if parent else {}
    description = f"{role.replace('_', ' ')} worker" if parent else "Supervisor"
    run = _Run(ctx, run_id, task, start_ms, _agent_metadata(ctx, description, extra=extra), lineage)
    _correlate(ctx, run, parent)
    run.start_agent(description)
    if not shape:
        _leaf_work(run, ctx, failing=fail_last)
        tree.runs.append(run.to_json())
        return run
    number = 0
    remaining = list(shape)
    while remaining:
        width = min(len(remaining), ctx.between(1, 3))
        batch, remaining = remaining[:width], remaining[width:]
        calls = []
        for child_shape in batch:
            number += 1
            assignee = ctx.pick(_LEAD_ROLES if child_shape else _WORKER_ROLES)
            calls.append((child_shape, {"name": "delegate_task", "arguments": {"assignee": assignee,
                                                                              "task": ctx.text(ctx.pick(_WORKER_TASKS))},
                                        "id": f"delegate_{number}"}))
        run.model_turn(None, [call for _, call in calls], 1)
        for position, (child_shape, call) in enumerate(calls):
            last = not remaining and position == len(calls) - 1
            if _delegate(ctx, run, call, child_shape, fail_last and last, tree):
                tree.runs.append(run.to_json())
                return run
    run.model_turn(f"Lead summary of {number} delegated results.", [], 1)
    run.complete(run.steps[-1]["output"]["message"])
    tree.runs.append(run.to_json())
    return run


def _delegate(ctx: _Ctx, run: _Run, call: Json, child_shape: Shape, fail_child: bool, tree: _Tree) -> bool:
    """Run one delegated child inside the parent's tool call; True when the parent failed."""
    record = run.request_tool(call)
    started = run.start_tool(record)
    assignee, task = call["arguments"]["assignee"], call["arguments"]["task"]
    contract = "research-contract" if assignee == "researcher" else None
    run.tick(1, 6)
    run.event("delegation_runtime_started", {"assignee": assignee, "prompt": task, "contract": contract})
    child_lineage = _lineage(run.lineage["rootRunId"], run.id)
    child = _delegating_agent(ctx, child_shape, run.ms + 1, child_lineage, assignee, task, run, fail_child, tree)
    run.lineage["childRunIds"].append(child.id)
    run.ms = child.ms + ctx.between(1, 4)
    if child.status == "failed":
        message = child.errors[-1]["message"]
        run.event("tool_failed", {"toolName": "delegate_task", "message": message})
        run.add_step("tool", started, {"toolName": "delegate_task", "arguments": call["arguments"]}, status="failed",
                     error={"name": "Error", "message": message})
        run.fail("ToolExecutionError", f'Tool "delegate_task" failed: {message}')
        return True
    run.event("delegation_runtime_completed", {"assignee": assignee, "agentRunId": child.id, "status": child.status,
                                               "contractId": contract})
    _aggregate(run, child, {"scope": "delegation_runtime", "assignee": assignee, "contractId": contract})
    result = {"agentRunId": child.id, "status": child.status, "output": child.output}
    run.tick(0, 1)
    run.finish_tool(record, started, result)
    return False


def _aggregate(parent: _Run, child: _Run, metadata: Json) -> None:
    # `aggregateChildRun`: the child's usage and cost are added to the parent's own.
    prompt, completion, total = child.usage
    parent.usage = [parent.usage[0] + prompt, parent.usage[1] + completion, parent.usage[2] + total]
    parent.cost += child.cost
    parent.child_items.append({"runId": child.id, "status": child.status,
                               "tokenUsage": {"prompt": prompt, "completion": completion, "total": total},
                               "cost": child.cost, "timings": dict(child.timings), "metadata": metadata})


def _leaf_work(run: _Run, ctx: _Ctx, *, failing: bool) -> None:
    if failing:
        run.stuck_model_call()
        run.ms += ctx.between(500, 20_000)
        name, message = ctx.pick((("Error", f"{run.metadata.get('assignee', 'worker')} model endpoint unreachable"),
                                  ("RateLimitError", "Rate limit exceeded (429), attempt 3")))
        run.fail(name, message)
        return
    if ctx.chance(0.3):
        call = _tool_call(ctx, ctx.pick(("search_docs", "research", "fetch_page")), 1)
        run.model_turn(None, [call], 1)
        result = run.call_tool(call)
        run.model_turn(f"{run.metadata.get('assignee', 'worker')}: {run.input} ({_compact(result)[:60]})", [], 1)
    else:
        run.model_turn(f"{run.metadata.get('assignee', 'worker')}: {run.input}", [], 0)
    run.complete(run.steps[-1]["output"]["message"])


def _tree_group(ctx: _Ctx, shape: Shape, start_ms: int, *, may_fail: bool = True) -> tuple[list[Json], Json]:
    tree = _Tree()
    task = ctx.text(ctx.pick(_SUPERVISOR_TASKS))
    fail = may_fail and ctx.chance(0.12)
    root = _delegating_agent(ctx, shape, start_ms, _lineage(""), "supervisor", task, None, fail, tree)
    return tree.runs, {"rootRunId": root.id, "size": len(tree.runs), "depth": _shape_depth(shape)}


def _wide_group(ctx: _Ctx, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A fan-out hub whose children are linked through lineage config, as s05's hub is."""
    hub = _Run(ctx, ctx.uuid(), ctx.text("Fan out {topic} checks to every region"), start_ms,
               _agent_metadata(ctx, "Fan-out hub"))
    _correlate(ctx, hub)
    hub.start_agent("Fan-out hub")
    hub.model_turn(f"Dispatching {size - 1} regional checks.", [], 0, duration=ctx.between(200, 900))
    hub.complete(hub.steps[-1]["output"]["message"])
    runs = []
    clock = hub.ms
    for number in range(1, size):
        child = _Run(ctx, ctx.uuid(), f"fan-out {ctx.fields['topic']} check #{number}", clock + ctx.between(1, 40),
                     _agent_metadata(ctx, "", extra={"region": f"region-{number}"}), _lineage(hub.id, hub.id))
        _correlate(ctx, child, hub)
        child.start_agent("")
        if ctx.chance(0.06):
            child.stuck_model_call()
            child.ms += ctx.between(1000, 9000)
            child.fail("Error", "upstream model outage")
        else:
            child.model_turn(f"fast: region-{number} ok", [], 0, duration=ctx.between(150, 1500))
            child.complete(child.steps[-1]["output"]["message"])
        hub.lineage["childRunIds"].append(child.id)
        runs.append(child.to_json())
        clock = child.created_ms
    runs.append(hub.to_json())
    return runs, {"rootRunId": hub.id, "size": size, "depth": 2}


# --------------------------------------------------------------------------------------------
# Workflows


def _workflow_definition(ctx: _Ctx, agent_steps: int) -> tuple[str, str, tuple[str, ...]]:
    fitting = [wf for wf in _WORKFLOWS if sum(step.endswith("*") for step in wf[2]) == agent_steps]
    chosen: tuple[str, str, tuple[str, ...]] = ctx.pick(fitting) if fitting else ctx.pick(_WORKFLOWS[:3])
    return chosen


def _workflow_input(ctx: _Ctx, workflow_id: str) -> Any:
    if ctx.chance(0.5):
        return {"ticket": f"OPS-{ctx.between(100, 9999)}", "env": ctx.pick(("staging", "prod", "eu-west-1")),
                "requestedBy": ctx.pick(_PEOPLE)}
    return ctx.text(ctx.pick(("nightly batch {warehouse}", "deploy v3.2.0 to {customer}", "triage {topic} incident",
                              "reconcile {customer} invoices")))


def _start_workflow(ctx: _Ctx, start_ms: int, workflow_id: str, name: str, *, run_id: str | None = None) -> _Run:
    metadata: Json = {"workflowId": workflow_id, "workflowName": name}
    metadata.update(ctx.release)
    run_id = run_id or ctx.uuid()
    run = _Run(ctx, run_id, _workflow_input(ctx, workflow_id), start_ms, metadata, workflow_id=workflow_id)
    _correlate(ctx, run)
    run.state = {"workflow": {"workflowId": workflow_id, "results": {}, "completedStepIds": [], "compensations": []}}
    run.begin()
    run.event("workflow_started", {"workflowId": workflow_id, "input": run.input})
    run.tick(0, 2)
    run.checkpoint("workflow_started", {"workflowId": workflow_id})
    return run


def _workflow_step_done(run: _Run, key: str, created: int, depends: list[str], output: Any) -> None:
    workflow = run.state["workflow"]
    run.event("workflow_step_completed", {"workflowId": run.workflow_id, "stepId": key, "result": output})
    run.add_step("workflow_step", created, {"workflowId": run.workflow_id, "stepId": key, "dependsOn": depends},
                 output=output, key=key)
    run.timings["workflowMs"] += run.ms - created
    workflow["results"][key] = output
    workflow["completedStepIds"].append(key)
    run.tick(0, 2)
    run.checkpoint("workflow_step_completed", {"workflowId": run.workflow_id, "stepId": key})


def _function_output(ctx: _Ctx, key: str, run: _Run) -> Any:
    return ctx.pick(({"rows": ctx.between(10, 90_000)}, {"ok": True, "step": key},
                     {"input": run.input if isinstance(run.input, str) else run.input.get("ticket")}, "ok"))


def _agent_step(ctx: _Ctx, run: _Run, key: str, depends: list[str], prompt: str, *, outcome: str) -> _Run:
    """An `AgentWorkflowStep`: a child agent run recorded inside the workflow step."""
    created = run.ms
    agent = key.rstrip("*")
    run.tick(0, 2)
    run.event("agent_step_started", {"workflowId": run.workflow_id, "stepId": key, "agent": agent, "prompt": prompt})
    child_id = ctx.uuid()
    child = _Run(ctx, child_id, prompt, run.ms + 1, _agent_metadata(ctx, f"{agent} agent"),
                 _lineage(run.lineage["rootRunId"], run.id))
    _correlate(ctx, child, run)
    child.start_agent(f"{agent} agent")
    if outcome == "running":
        child.stuck_model_call()
    elif outcome == "failed":
        child.stuck_model_call()
        child.ms += ctx.between(1000, 20_000)
        child.fail("Error", ctx.pick(("upstream model outage", "Rate limit exceeded (429), attempt 3")))
    else:
        child.model_turn(f"{agent}: {prompt}", [], 0)
        child.complete(child.steps[-1]["output"]["message"])
    run.lineage["childRunIds"].append(child_id)
    run.ms = child.ms + ctx.between(1, 4)
    if child.status == "completed":
        run.event("agent_step_completed", {"workflowId": run.workflow_id, "stepId": key, "agent": agent,
                                           "agentRunId": child_id, "output": child.output})
        _aggregate(run, child, {"scope": "workflow_child", "workflowId": run.workflow_id, "stepId": key,
                                "assignee": agent})
        run.timings["modelMs"] += child.timings["modelMs"]
        run.tick(0, 1)
        run.checkpoint("agent_step_completed", {"workflowId": run.workflow_id, "stepId": key, "agent": agent,
                                                "agentRunId": child_id})
        output = {"agentRunId": child_id, "output": child.output, "status": "completed", "metrics": child.metrics()}
        run.tick(0, 2)
        _workflow_step_done(run, key, created, depends, output)
    return child


def _fail_workflow(run: _Run, ctx: _Ctx, key: str, created: int, depends: list[str], message: str,
                   compensate: list[str]) -> None:
    workflow = run.state["workflow"]
    for done in reversed(compensate):
        run.tick(1, 20)
        workflow["compensations"].append(done)
        run.event("workflow_compensation_completed", {"workflowId": run.workflow_id, "stepId": done})
        run.checkpoint("workflow_compensation_completed", {"workflowId": run.workflow_id, "stepId": done})
    run.tick(1, 3)
    run.event("workflow_step_failed", {"workflowId": run.workflow_id, "stepId": key, "message": message})
    run.add_step("workflow_step", created, {"workflowId": run.workflow_id, "stepId": key, "dependsOn": depends},
                 status="failed", error={"name": "Error", "message": message}, key=key)
    run.tick(0, 1)
    run.errors.append({"name": "Error", "message": message, "stepId": key})
    run.status = "failed"
    run.failed_ms = run.ms
    run.event("workflow_failed", {"workflowId": run.workflow_id, "stepId": key, "message": message})
    run.tick(0, 2)
    run.checkpoint("workflow_failed", {"workflowId": run.workflow_id, "stepId": key})
    run.tick(0, 1)


def _workflow_group(ctx: _Ctx, size: int, start_ms: int, *, outcome: str | None = None) -> tuple[list[Json], _Run]:
    """A WorkflowRunner run with `size - 1` agent children; returns every run and the workflow."""
    workflow_id, name, steps = _workflow_definition(ctx, size - 1)
    run = _start_workflow(ctx, start_ms, workflow_id, name)
    outcome = outcome or ctx.rng.choices(("completed", "failed", "paused", "cancelled", "running"),
                                         weights=(78, 12, 5, 3, 2))[0]
    agent_keys = [step for step in steps if step.endswith("*")][: size - 1]
    runs: list[Json] = []
    previous: list[str] = []
    for position, raw in enumerate(steps):
        key = raw.rstrip("*")
        last = position == len(steps) - 1 or (agent_keys and raw == agent_keys[-1] and outcome in ("failed", "running"))
        run.tick(1, 4)
        created = run.ms
        run.event("workflow_step_started", {"workflowId": workflow_id, "stepId": key})
        if raw in agent_keys:
            child_outcome = outcome if raw == agent_keys[-1] and outcome in ("failed", "running") else "completed"
            child = _agent_step(ctx, run, raw, previous[-1:], ctx.text(f"{key.capitalize()} the {{topic}} findings"),
                                outcome=child_outcome)
            runs.append(child.to_json())
            if child.status == "failed":
                _fail_workflow(run, ctx, key, created, previous[-1:], child.errors[-1]["message"], [])
                break
            if child.status == "running":
                run.add_step("workflow_step", created, {"workflowId": workflow_id, "stepId": key,
                                                        "dependsOn": previous[-1:]}, status="running", key=key)
                break
        elif last and outcome == "failed":
            run.ms += ctx.between(100, 5000)
            _fail_workflow(run, ctx, key, created, previous[-1:], f"health check failed: {ctx.pick((503, 500, 429))}",
                           previous[-2:] if ctx.chance(0.6) else [])
            break
        elif last and outcome == "running":
            run.ms += ctx.between(5, 500)
            run.add_step("workflow_step", created, {"workflowId": workflow_id, "stepId": key,
                                                    "dependsOn": previous[-1:]}, status="running", key=key)
            break
        elif last and outcome in ("paused", "cancelled"):
            _pause_workflow(run, ctx, key, created, previous[-1:], outcome)
            break
        else:
            run.ms += ctx.between(20, 30_000)
            _workflow_step_done(run, key, created, previous[-1:], _function_output(ctx, key, run))
        previous.append(key)
    if run.status == "running" and outcome == "completed":
        run.complete(dict(run.state["workflow"]["results"]), kind="workflow")
    runs.append(run.to_json())
    return runs, run


def _pause_workflow(run: _Run, ctx: _Ctx, key: str, created: int, depends: list[str], outcome: str) -> None:
    run.ms += ctx.between(5, 200)
    reason = ctx.pick(("awaiting change window", "stop here", "manual gate: security review"))
    run.add_step("workflow_step", created, {"workflowId": run.workflow_id, "stepId": key, "dependsOn": depends},
                 status="paused", key=key)
    payload = {"workflowId": run.workflow_id, "reason": reason, "stepId": key}
    run.event("workflow_paused", payload)
    run.pending_pause = {"reason": reason, "workflowId": run.workflow_id, "stepId": key}
    run.status = "paused"
    run.tick(0, 2)
    run.checkpoint("workflow_paused", payload)
    if outcome == "cancelled":
        run.ms += ctx.between(60_000, 7_200_000)
        run.event("workflow_cancelled", {"workflowId": run.workflow_id, "reason": "Cancelled manually."})
        run.pending_pause = None
        run.status = "cancelled"
        run.cancelled_ms = run.ms
        run.tick(0, 2)
        run.checkpoint("workflow_cancelled", {"workflowId": run.workflow_id, "reason": "Cancelled manually."})
    run.tick(0, 1)


# --------------------------------------------------------------------------------------------
# Branches and replays


def _later(ctx: _Ctx, after_ms: int) -> int:
    # Operators branch or replay minutes to hours later, but never in the future.
    return min(after_ms + ctx.between(30_000, 5_400_000), ctx.now_ms - ctx.between(1_000, 60_000))


def _source_metadata(source: Json) -> Json:
    # A frozen replay copies the source's metadata (lineage included, rebuilt by the caller).
    return {key: value for key, value in source["metadata"].items() if key not in ("lineage", "replay")}


def _derived_metadata(ctx: _Ctx, source: Json, extra: Json) -> Json:
    """Branches and partial replays get the agent's or workflow's own metadata plus the caller's."""
    metadata = source["metadata"]
    if "workflowId" in metadata:
        derived: Json = {"workflowId": metadata["workflowId"], "workflowName": metadata.get("workflowName")}
    else:
        derived = {"description": metadata.get("description", "")}
    derived.update(extra)
    derived.update(ctx.release)
    return derived


def _branch(ctx: _Ctx, source: Json, checkpoint: Json, *, resume: bool, label: str, extra: Json | None = None) -> _Run:
    """`branchRun(sourceRunId, checkpointId)`: a new run seeded from a checkpoint snapshot."""
    source_lineage = source["metadata"]["lineage"]
    run_id = ctx.uuid()
    metadata = _derived_metadata(ctx, source, {"branchLabel": label, **(extra or {})})
    workflow_id = metadata.get("workflowId")
    run = _Run(ctx, run_id, source["input"], _later(ctx, _ms_of(source["timestamps"]["updatedAt"])), metadata,
               _lineage(source_lineage["rootRunId"], source_lineage["parentRunId"], source["id"], checkpoint["id"]),
               workflow_id=workflow_id)
    run.load_snapshot(checkpoint["snapshot"])
    prefix = "workflow" if workflow_id else "run"
    origin = {"sourceRunId": source["id"], "sourceCheckpointId": checkpoint["id"]}
    payload = {"workflowId": workflow_id, **origin} if workflow_id else origin
    run.event(f"{prefix}_branched", payload)
    pause = {"reason": f'Branched from checkpoint "{checkpoint["label"]}".', "stage": "branch", **origin}
    run.pending_pause = pause
    run.status = "paused"
    run.tick(0, 2)
    run.checkpoint(f"{prefix}_branched", payload)
    run.tick(0, 1)
    if resume and not workflow_id:
        run.resume(pause)
        run.model_turn(_answer(ctx, [result["result"] for result in run.tool_results]), [], 1)
        run.complete(run.steps[-1]["output"]["message"])
    return run


def _ms_of(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _frozen_replay(ctx: _Ctx, source: Json, *, purpose: str | None = None) -> _Run:
    """`replay(runId)` in frozen-trace mode: a copy of the source under `<src>:replay:<ms>`."""
    start = _later(ctx, _ms_of(source["timestamps"]["updatedAt"]))
    metadata = _source_metadata(source)
    if purpose:
        metadata["purpose"] = purpose
    lineage = dict(source["metadata"]["lineage"], childRunIds=[])
    run = _Run(ctx, f"{source['id']}:replay:{start}", source["input"], start, metadata, lineage,
               workflow_id=metadata.get("workflowId"))
    run.after_lineage = {"replay": {"mode": "frozen_trace", "sourceRunId": source["id"], "sourceCheckpointId": None,
                                    "replayedAt": _iso(start)}}
    run.load_snapshot({"state": source["state"], "messages": source["messages"], "steps": source["steps"],
                       "toolCalls": source["toolCalls"], "toolResults": source["toolResults"],
                       "metrics": source["metrics"]})
    run.errors = source["errors"][:]
    run.output = source["output"]
    run.begin()
    origin = {"sourceRunId": source["id"], "sourceCheckpointId": None}
    run.event("replay_started", dict(origin, mode="frozen_trace"))
    run.tick(0, 2)
    run.checkpoint("replay_started", dict(origin, mode="frozen_trace"))
    run.tick(1, 3)
    run.status = source["status"]
    if run.status == "completed":
        run.completed_ms = run.ms
    elif run.status == "failed":
        run.failed_ms = run.ms
    run.event("replay_completed", dict(origin, status=run.status))
    run.tick(0, 2)
    run.checkpoint("replay_completed", dict(origin, status=run.status))
    run.tick(0, 1)
    return run


def _partial_replay(ctx: _Ctx, source: Json, checkpoint: Json, *, extra: Json | None = None) -> _Run:
    """A replay prepared from a checkpoint and left paused (stage `replay` / `workflow_replay`)."""
    start = _later(ctx, _ms_of(source["timestamps"]["updatedAt"]))
    source_lineage = source["metadata"]["lineage"]
    metadata = _derived_metadata(ctx, source, extra or {})
    workflow_id = metadata.get("workflowId")
    run = _Run(ctx, f"{source['id']}:partial-replay:{start}", source["input"], start, metadata,
               _lineage(source_lineage["rootRunId"], None, source["id"], checkpoint["id"]), workflow_id=workflow_id)
    run.after_lineage = {"replay": {"mode": "partial_frozen_trace", "sourceRunId": source["id"],
                                    "sourceCheckpointId": checkpoint["id"], "replayedAt": _iso(start)}}
    run.load_snapshot(checkpoint["snapshot"])
    run.begin()
    prefix, stage, what = ("workflow_replay", "workflow_replay", "Frozen workflow replay") if workflow_id else (
        "replay", "replay", "Frozen replay")
    origin: Json = {"workflowId": workflow_id} if workflow_id else {}
    origin.update({"sourceRunId": source["id"], "sourceCheckpointId": checkpoint["id"]})
    run.event(f"{prefix}_started", dict(origin, mode="partial_frozen_trace"))
    run.tick(0, 2)
    run.checkpoint(f"{prefix}_started", dict(origin, mode="partial_frozen_trace"))
    run.tick(1, 3)
    run.status = "paused"
    run.pending_pause = {"reason": f'{what} prepared from checkpoint "{checkpoint["id"]}".', "stage": stage,
                         "sourceRunId": source["id"], "sourceCheckpointId": checkpoint["id"]}
    run.event(f"{prefix}_completed", dict(origin, status="paused"))
    run.tick(0, 2)
    run.checkpoint(f"{prefix}_completed", dict(origin, status="paused"))
    run.tick(0, 1)
    return run


def _checkpoint_with(run: Json, labels: tuple[str, ...]) -> Json:
    matching = [cp for cp in run["checkpoints"] if cp["label"] in labels and "snapshot" in cp]
    chosen: Json = matching[-1] if matching else run["checkpoints"][0]
    return chosen


def _branch_family(ctx: _Ctx, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A tool run, then what operators derived from it: branches, a branch of a branch, replays."""
    failed_source = ctx.chance(0.3)
    source = _agent_run(ctx, "fail_tool" if failed_source else "tools", start_ms).to_json()
    runs = [source]
    info: Json = {"sourceRunId": source["id"]}
    plan = ["branch_resumed", "branch_paused", "replay", "partial_replay", "branch_of_branch"]
    if failed_source:
        plan = ["recovery_branch", "replay", "branch_paused", "partial_replay", "branch_of_branch"]
    for step in plan[: size - 1]:
        if step == "branch_resumed":
            derived = _branch(ctx, source, _checkpoint_with(source, ("tool_completed", "model_response")), resume=True,
                              label=ctx.pick(("post-tool-investigation", "rerun-final-answer", "try-new-prompt")))
        elif step == "recovery_branch":
            derived = _branch(ctx, source, _checkpoint_with(source, ("model_response",)), resume=True,
                              label="recovery", extra={"recovery": {"sourceRunId": source["id"],
                                                                    "action": "branch_from_failure_checkpoint"}})
        elif step == "branch_paused":
            derived = _branch(ctx, source, source["checkpoints"][0], resume=False, label="edited-input")
        elif step == "replay":
            derived = _frozen_replay(ctx, source, purpose=ctx.pick((None, "regression-check")))
        elif step == "partial_replay":
            derived = _partial_replay(ctx, source, _checkpoint_with(source, ("tool_completed", "model_response")),
                                      extra={"purpose": "partial"})
        else:
            base = next((run for run in runs if run["metadata"].get("branchLabel") and run["status"] == "completed"),
                        source)
            derived = _branch(ctx, base, _checkpoint_with(base, ("model_response", "run_completed")), resume=True,
                              label="second-order")
        runs.append(derived.to_json())
        info.setdefault(step, derived.id)
    return runs, info


def _distributed_group(ctx: _Ctx, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A queue handoff whose remote continuation failed (`QueueWorkerError`), then its recovery branch."""
    source = _agent_run(ctx, "plain", start_ms).to_json()
    checkpoint = _checkpoint_with(source, ("model_response",))
    correlation = {"traceId": source["metadata"]["lineage"]["rootRunId"], "spanId": source["id"],
                   "parentSpanId": None, "checkpointId": checkpoint["id"], "status": source["status"],
                   "originService": "service-a", "runtimeKind": "agent", "action": "replay",
                   "destinationWorker": "worker-b"}
    replay = _partial_replay(ctx, source, checkpoint, extra={"transport": "queue", "queue": "runtime-job-queue",
                                                             "workerId": "worker-b", "correlation": correlation,
                                                             "sourceRunId": source["id"]})
    # referenceDistributedIncident forces the paused replay to failed: a failed run with pendingPause.
    replay.steps.append({"id": f"{replay.id}:step:recovery-target", "type": "tool", "status": "failed",
                         "output": None})
    replay.errors.append({"name": "QueueWorkerError", "message": "Simulated remote continuation failure."})
    replay.status = "failed"
    replay.tick(1, 3)
    replay.failed_ms = replay.ms
    replay_json = replay.to_json()
    runs = [source, replay_json]
    info: Json = {"sourceRunId": source["id"], "replayRunId": replay.id}
    if size >= 3:
        branch = _branch(ctx, replay_json, replay_json["checkpoints"][-1], resume=True, label="recovery",
                         extra={"recovery": {"sourceRunId": replay.id, "action": "branch_from_failure_checkpoint",
                                             "incidentType": "queue_worker_failure"}})
        runs.append(branch.to_json())
        info["recoveryRunId"] = branch.id
    return runs, info


def _workflow_family(ctx: _Ctx, size: int, start_ms: int) -> tuple[list[Json], Json]:
    """A completed workflow, a partial workflow replay left paused, and maybe a branch left paused."""
    runs, workflow = _workflow_group(ctx, 1, start_ms, outcome="completed")
    source = runs[-1]
    checkpoint = _checkpoint_with(source, ("workflow_step_completed",))
    replay = _partial_replay(ctx, source, checkpoint)
    runs.append(replay.to_json())
    info: Json = {"workflowRunId": source["id"], "workflowReplayRunId": replay.id}
    if size >= 3:
        branch = _branch(ctx, source, source["checkpoints"][-1], resume=False, label="after-collect")
        runs.append(branch.to_json())
        info["workflowBranchRunId"] = branch.id
    return runs, info


# --------------------------------------------------------------------------------------------
# The big pair (compare benchmark)


def _big_run(ctx: _Ctx, run_id: str, start_ms: int, steps: int, *, variant: bool) -> _Run:
    """A long batch workflow with `steps` steps (two events each, plus start and end).

    Checkpoints are kept every few hundred steps and without snapshots, as in the
    runtime's seeded reference runs: a snapshot per step would make the file quadratic.
    """
    metadata: Json = {"workflowId": "bulk-reindex", "workflowName": "Bulk reindex",
                      "releaseLabel": "v3.2.0" if variant else "v3.1.4"}
    run = _Run(ctx, run_id, {"index": "documents", "batches": steps}, start_ms, metadata, workflow_id="bulk-reindex")
    run.state = {"workflow": {"workflowId": "bulk-reindex", "results": {}, "completedStepIds": [], "compensations": []}}
    run.begin()
    run.event("workflow_started", {"workflowId": "bulk-reindex", "input": run.input})
    run.checkpoint("workflow_started", {"workflowId": "bulk-reindex"}, snapshot=False)
    batch = 0
    changed = {steps // 3, (2 * steps) // 3}
    while len(run.steps) < steps:
        batch += 1
        key = f"batch-{batch}"
        if variant and batch == steps // 2 and len(run.steps) + 2 <= steps:
            _big_step(run, key, failed=True)  # inserted: a batch that failed once, then retried
        _big_step(run, key, output={"indexed": 199 if variant and batch in changed else 200, "batch": batch})
        if len(run.steps) % BIG_RUN_CHECKPOINT_EVERY == 0:
            run.checkpoint("workflow_step_completed", {"workflowId": "bulk-reindex", "stepId": key}, snapshot=False)
    run.output = {"batches": batch, "indexed": 200 * batch - (2 if variant else 0)}
    run.tick(1, 3)
    run.status = "completed"
    run.completed_ms = run.ms
    run.event("workflow_completed", {"workflowId": "bulk-reindex", "results": run.output})
    run.checkpoint("workflow_completed", {"workflowId": "bulk-reindex"}, snapshot=False)
    run.tick(0, 1)
    return run


def _big_step(run: _Run, key: str, *, failed: bool = False, output: Any = None) -> None:
    run.tick(1, 3)
    created = run.ms
    run.event("workflow_step_started", {"workflowId": "bulk-reindex", "stepId": key})
    run.ms += 40 + (created % 37)
    payload = {"workflowId": "bulk-reindex", "stepId": key, "dependsOn": []}
    if failed:
        run.event("workflow_step_failed", {"workflowId": "bulk-reindex", "stepId": key, "message": "shard busy"})
        run.add_step("workflow_step", created, payload, status="failed",
                     error={"name": "Error", "message": "shard busy"}, key=key)
        return
    run.event("workflow_step_completed", {"workflowId": "bulk-reindex", "stepId": key, "result": output})
    run.add_step("workflow_step", created, payload, output=output, key=key)
    run.state["workflow"]["completedStepIds"].append(key)


def _big_pair(ctx: _Ctx, steps: int, start_ms: int) -> tuple[list[Json], Json]:
    left = _big_run(ctx, ctx.uuid(), start_ms, steps, variant=False)
    right = _big_run(ctx, ctx.uuid(), left.ms + 3_600_000, steps, variant=True)
    info = {"leftRunId": left.id, "rightRunId": right.id, "steps": len(left.steps), "events": len(left.events),
            "rightSteps": len(right.steps), "rightEvents": len(right.events)}
    return [left.to_json(), right.to_json()], info


# --------------------------------------------------------------------------------------------
# The plan: which groups, in what order, summing to exactly `count` runs


@dataclass(frozen=True)
class _Group:
    index: int
    kind: str
    size: int
    offset: int  # runs generated before this group: sets its place in the 7-day window
    variant: str | None = None


# Every feature once, first, so even a 120-run demo shows all of them.
_SHOWCASE: tuple[tuple[str, int, str | None], ...] = (
    ("tree", 9, None), ("agent", 1, "approval_waiting"), ("branch_family", 5, None), ("agent", 1, "fail_tool_retry"),
    ("workflow", 2, "failed"), ("agent", 1, "pause_before_tool"), ("deep_tree", 8, None),
    ("agent", 1, "fail_rate_limit"), ("agent", 1, "cancel_waiting"), ("agent", 1, "running_tool"),
    ("wide_tree", 16, None), ("distributed", 3, None), ("agent", 1, "fail_verifier_deny"),
    ("workflow_family", 3, None), ("agent", 1, "approval_approved"), ("agent", 1, "pause_after_model"),
    ("agent", 1, "tools"), ("agent", 1, "pending"), ("agent", 1, "pause_manual_waiting"),
    ("agent", 1, "fail_verifier_throws"), ("agent", 1, "running_model"), ("workflow", 1, "paused"),
    ("agent", 1, "approval_denied"), ("agent", 1, "pause_confidence"),
)
_KINDS = ("agent", "workflow", "workflow_family", "tree", "branch_family", "distributed", "deep_tree", "wide_tree")
_KIND_WEIGHTS = (700, 70, 15, 60, 45, 15, 5, 3)


def _random_group(rng: random.Random, count: int) -> tuple[str, int]:
    kind = rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
    if kind == "workflow":
        return kind, rng.choice((1, 1, 2, 3))
    if kind == "workflow_family":
        return kind, rng.randint(2, 3)
    if kind == "tree":
        return kind, rng.randint(3, 16)
    if kind == "branch_family":
        return kind, rng.randint(2, 6)
    if kind == "distributed":
        return kind, rng.randint(2, 3)
    if kind == "deep_tree":
        return kind, rng.randint(7, 14)
    if kind == "wide_tree":
        return kind, rng.randint(20, 80 if count >= 1000 else 30)
    return kind, 1


def _specials(count: int, big_run_steps: int) -> list[tuple[int, str, int]]:
    """(offset at which to place it, kind, size) for the benchmark fixtures."""
    specials = []
    if count >= 10_000:
        specials.append((count // 2, "big_tree", BIG_TREE_SIZE))
    elif count >= 1_000:
        specials.append((count // 2, "big_tree", MEDIUM_TREE_SIZE))
    if big_run_steps > 0 and count >= 2:
        specials.append(((3 * count) // 4, "big_pair", 2))
    return specials


def _plan(count: int, seed: int, big_run_steps: int) -> Iterator[_Group]:
    rng = random.Random(f"agnostic-synthetic-plan:{seed}")
    specials = _specials(count, big_run_steps)
    reserved = sum(size for _, _, size in specials)
    showcase = list(_SHOWCASE)
    emitted = index = 0
    while emitted < count:
        free = count - emitted - reserved
        if specials and (emitted >= specials[0][0] or free <= 0):
            _, kind, size = specials.pop(0)
            reserved -= size
            yield _Group(index, kind, size, emitted)
        elif showcase and showcase[0][1] <= free:
            kind, size, variant = showcase.pop(0)
            yield _Group(index, kind, size, emitted, variant)
        else:
            showcase = []
            kind, size = _random_group(rng, count)
            if size > free:
                kind, size = "agent", 1
            yield _Group(index, kind, size, emitted)
        emitted += size
        index += 1


# --------------------------------------------------------------------------------------------
# Building groups


@dataclass
class _Built:
    kind: str
    runs: list[Json]
    info: Json


def _build(group: _Group, count: int, seed: int, now_ms: int, big_run_steps: int) -> _Built:
    phase = group.offset / max(count, 1)
    ctx = _Ctx(seed, group.index, phase, now_ms)
    # Groups start in order across the window, with jitter; the last hours leave room for long
    # trees, late approvals and derived runs, so nothing ends after `now`.
    span = WINDOW_MS - 6 * 3_600_000
    start = now_ms - WINDOW_MS + int(phase * span) + ctx.between(0, max(1, span // max(count, 1)))
    kind = group.kind
    if kind == "agent":
        run = _agent_run(ctx, group.variant, start)
        return _Built(kind, [run.to_json()], {"scenario": group.variant, "runId": run.id})
    if kind == "workflow":
        runs, workflow = _workflow_group(ctx, group.size, start, outcome=group.variant)
        return _Built(kind, runs, {"workflowRunId": workflow.id, "status": workflow.status})
    if kind in ("tree", "big_tree"):
        shape = _shape(ctx, group.size, 3 if kind == "tree" else 9)
        runs, info = _tree_group(ctx, shape, start, may_fail=kind == "tree")
        return _Built(kind, runs, info)
    if kind == "deep_tree":
        depth = ctx.between(6, min(9, group.size - 1))
        runs, info = _tree_group(ctx, _deep_shape(ctx, group.size, depth), start, may_fail=False)
        return _Built(kind, runs, info)
    builders: dict[str, Callable[[_Ctx, int, int], tuple[list[Json], Json]]] = {
        "wide_tree": _wide_group, "branch_family": _branch_family, "distributed": _distributed_group,
        "workflow_family": _workflow_family,
    }
    if kind == "big_pair":
        runs, info = _big_pair(ctx, big_run_steps, start)
        return _Built(kind, runs, info)
    runs, info = builders[kind](ctx, group.size, start)
    return _Built(kind, runs, info)


def _groups(count: int, seed: int, now: datetime | None, big_run_steps: int) -> Iterator[_Built]:
    now_ms = _epoch_ms(now)
    for group in _plan(count, seed, big_run_steps):
        yield _checked(group, _build(group, count, seed, now_ms, big_run_steps))


def generate_runs(count: int, *, seed: int = 7, now: datetime | None = None, big_run_steps: int = 0) -> Iterator[Json]:
    """Yield `count` runs in normalised `toJSON()` form, deterministic for (count, seed, now, big_run_steps)."""
    for built in _groups(count, seed, now, big_run_steps):
        yield from built.runs


# --------------------------------------------------------------------------------------------
# Writing a store

PARALLEL_MIN_RUNS = 5_000  # below this a process pool costs more than it saves
_BATCH_GROUPS = 40
_TREE_KEYS = {"tree": "delegationTree", "big_tree": "bigTree", "deep_tree": "deepestTree", "wide_tree": "widestTree"}
_FAMILY_KEYS = {"branch_resumed": "branchRunId", "branch_paused": "pausedBranchRunId", "replay": "replayRunId",
                "partial_replay": "partialReplayRunId", "branch_of_branch": "branchOfBranchRunId",
                "recovery_branch": "recoveryBranchRunId"}
_STATUS_KEYS = {"failed": "failedRunId", "waiting_for_approval": "waitingRunId", "paused": "pausedRunId",
                "cancelled": "cancelledRunId", "running": "runningRunId", "pending": "pendingRunId"}

# What the summary needs from one written run: id, status, is a root, release label, bytes.
_Facts = tuple[str, str, bool, str | None, int]
_Written = tuple[str, Json, list[_Facts]]


def _release_label(metadata: Json) -> str | None:
    release = metadata.get("release")
    label = release.get("version") if isinstance(release, dict) else release or metadata.get("releaseLabel")
    return label if isinstance(label, str) and label else None


def _write_group(target: Path, built: _Built) -> _Written:
    facts: list[_Facts] = []
    for run in built.runs:
        data = dumps_run(run).encode("utf-8")
        # "x": never overwrite, even if two runs were ever given the same id.
        with open(target / f"{run['id']}.json", "xb") as handle:
            handle.write(data)
        metadata = run["metadata"]
        facts.append((run["id"], run["status"], metadata["lineage"]["parentRunId"] is None,
                      _release_label(metadata), len(data)))
    return built.kind, built.info, facts


def _write_batch(job: tuple[str, list[_Group], int, int, int, int]) -> list[_Written]:
    """Build and write a batch of groups (in a pool worker, or inline)."""
    directory, groups, count, seed, now_ms, big_run_steps = job
    target = Path(directory)
    return [_write_group(target, _checked(group, _build(group, count, seed, now_ms, big_run_steps)))
            for group in groups]


def _checked(group: _Group, built: _Built) -> _Built:
    if len(built.runs) != group.size:
        raise AssertionError(f"group {group} produced {len(built.runs)} runs")
    return built


@dataclass
class _Summary:
    directory: str
    seed: int
    now: str
    runs: int = 0
    bytes: int = 0
    roots: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    releases: set[str] = field(default_factory=set)
    notable: Json = field(default_factory=dict)

    def add(self, written: _Written) -> None:
        kind, info, facts = written
        for run_id, status, is_root, release, size in facts:
            self.runs += 1
            self.bytes += size
            self.roots += is_root
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if release:
                self.releases.add(release)
            if status in _STATUS_KEYS:
                self.notable.setdefault(_STATUS_KEYS[status], run_id)
        self._note(kind, info)

    def _note(self, kind: str, info: Json) -> None:
        if kind in _TREE_KEYS:
            for key, measure in ((_TREE_KEYS[kind], "depth" if kind == "deep_tree" else "size"),
                                 ("biggestTree", "size")):
                current = self.notable.get(key)
                if current is None or info[measure] > current[measure]:
                    self.notable[key] = info
        elif kind == "big_pair":
            self.notable["bigRunPair"] = info
        elif kind == "branch_family":
            for step, key in _FAMILY_KEYS.items():
                if step in info:
                    self.notable.setdefault(key, info[step])
        elif kind == "distributed":
            self.notable.setdefault("queueWorkerFailureRunId", info["replayRunId"])
        elif kind == "workflow_family":
            self.notable.setdefault("workflowReplayRunId", info["workflowReplayRunId"])
        elif kind == "workflow":
            self.notable.setdefault("workflowRunId", info["workflowRunId"])

    def as_dict(self, seconds: float, workers: int) -> Json:
        return {
            "directory": self.directory, "seed": self.seed, "now": self.now, "runs": self.runs, "files": self.runs,
            "bytes": self.bytes, "seconds": round(seconds, 3), "workers": workers,
            "runsPerSecond": round(self.runs / seconds, 1) if seconds else None, "roots": self.roots,
            "statuses": {status: self.statuses[status] for status in STATUS_ORDER if status in self.statuses},
            "releases": sorted(self.releases), "notable": self.notable,
        }


def _batches(plan: Iterator[_Group]) -> Iterator[list[_Group]]:
    batch: list[_Group] = []
    for group in plan:
        batch.append(group)
        if len(batch) >= _BATCH_GROUPS:
            yield batch
            batch = []
    if batch:
        yield batch


def _default_workers(count: int) -> int:
    if count < PARALLEL_MIN_RUNS:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cpus))


def write_store(directory: Path | str, count: int, *, seed: int = 7, now: datetime | None = None,
                big_run_steps: int = 0, progress: Callable[[int], None] | None = None,
                workers: int | None = None) -> Json:
    """Write `<id>.json` files exactly as the runtime's FileRunStore does into a new directory.

    Refuses (FileExistsError) a directory that exists and is not empty, so a real store is
    never touched. Large stores are written by a small process pool (`workers`, by default
    up to 4 processes from 5,000 runs); the files are the same whatever the worker count.
    Returns a small summary: counts by status, roots, releases and the ids of notable runs
    (biggest tree, big-run pair, one run per status…).
    """
    target = Path(directory)
    if target.exists():
        if not target.is_dir():
            raise FileExistsError(f"{target} exists and is not a directory")
        if any(os.scandir(target)):
            raise FileExistsError(f"{target} is not empty; refusing to write a synthetic store into it")
    target.mkdir(parents=True, exist_ok=True)
    now_ms = _epoch_ms(now)
    summary = _Summary(str(target), seed, _iso(now_ms))
    workers = workers or _default_workers(count)
    jobs = ((str(target), batch, count, seed, now_ms, big_run_steps)
            for batch in _batches(_plan(count, seed, big_run_steps)))
    began = time.perf_counter()
    if workers == 1:
        results: Iterator[list[_Written]] = map(_write_batch, jobs)
        _collect(results, summary, progress)
    else:
        # Ordered results keep the summary (first failed run, …) independent of scheduling.
        with multiprocessing.get_context(_start_method()).Pool(workers) as pool:
            _collect(pool.imap(_write_batch, jobs), summary, progress)
    return summary.as_dict(time.perf_counter() - began, workers)


def _start_method() -> str:
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _collect(results: Iterator[list[_Written]], summary: _Summary, progress: Callable[[int], None] | None) -> None:
    for batch in results:
        for written in batch:
            summary.add(written)
        if progress is not None:
            progress(summary.runs)
