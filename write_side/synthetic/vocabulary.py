"""What synthetic runs talk about: tasks, tools, workflows, releases, names."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .recorder import Context, Json


TOPICS = ("refund policy", "SSO setup", "rate limits", "data retention", "webhook retries", "billing cycles",
          "API keys", "export formats", "audit logging", "seat licensing", "invoice disputes", "GDPR requests")
CUSTOMERS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
             "Tyrell", "Soylent", "Cyberdyne", "Wonka", "Aperture")
CITIES = ("Lisbon", "Berlin", "Austin", "Osaka", "Nairobi", "Toronto", "Lyon", "Porto", "Bogotá", "Kraków")
PEOPLE = ("Paulo", "Ana", "Mei", "Jonas", "Priya", "Tomás", "Aisha", "Lars", "Chloé", "Kenji")
DESCRIPTIONS = ("Support agent for order questions.", "Order assistant", "Research agent", "Billing helper",
                "Grounded support agent", "Ops triage agent", "", "")
TENANTS = ("acme", "globex", "initech", "hooli")
MODELS = (("gpt-4o-mini", 0.00000015, 0.0000006), ("claude-3-5-haiku", 0.0000008, 0.000004),
          ("gpt-4.1", 0.000002, 0.000008), ("mistral-large", 0.000002, 0.000006))

PLAIN_TASKS = (
    ("What is our {topic}?", "Our {topic} is described in the admin guide; changes apply within 24 hours."),
    ("Summarize the {topic} doc for {customer}.", "{customer}: the {topic} doc covers setup, limits and escalation."),
    ("Draft a reply to {customer} about {topic}.",
     "Hi {customer} team, thanks for asking about {topic}. Here is what changed…"),
    ("Explain {topic} in two sentences.",
     "{topic} controls how requests are handled. Admins can adjust it per workspace."),
    ("Hello runtime, what can you do?", "I can answer questions, look up orders and open tickets."),
    ("Translate the {topic} FAQ into Portuguese.", "Perguntas frequentes sobre {topic}: …"),
    ("Résumé of {customer}'s last call — key risks?", "Risks for {customer}: renewal timing and {topic}."),
    ("Classify this ticket: '{topic} is broken for {customer}'", "category=bug; area={topic}; priority=high"),
)
TOOL_TASKS = (
    ("Where is order {order}?", ("lookup_order",)),
    ("Where is order {order} and how is the weather in {city}?", ("lookup_order", "get_weather")),
    ("Search the docs for {topic} and summarize.", ("search_docs",)),
    ("Email {person} the answer about {topic}.", ("search_docs", "send_email")),
    ("Update CRM account {account} with the renewal date.", ("crm_update",)),
    ("Sync inventory for {warehouse}.", ("sync_inventory",)),
    ("Open a ticket for the {topic} outage at {customer}.", ("search_docs", "create_ticket")),
    ("Research {topic} for {customer} and publish the brief.", ("research", "fetch_page", "publish_report")),
    ("Count the items in order {order} and check stock in {warehouse}.",
     ("lookup_order", "count_items", "sync_inventory")),
)
APPROVAL_TASKS = (
    ("Email {person} the {topic} summary.", "send_email", "Tool requires explicit approval.", "metadata"),
    ("Notify all {customer} admins about {topic}.", "notify_user", "External writes require approval.", "rule"),
    ("Update CRM account {account} to churn-risk.", "crm_update", "CRM writes need a second pair of eyes.", "rule"),
    ("Publish the {topic} report for {customer}.", "publish_report", "Tool requires explicit approval.", "metadata"),
    ("Open a P1 ticket for {customer}.", "create_ticket", "Business hours only.", "hook"),
)
SUPERVISOR_TASKS = ("Produce the quarterly churn report for {customer}", "Prepare the {topic} migration plan",
                    "Audit {customer}'s {topic} setup", "Write the {topic} post-mortem",
                    "Compare {customer} usage against plan")
LEAD_ROLES = ("research_lead", "writing_lead", "review_lead", "data_lead", "ops_lead")
WORKER_ROLES = ("researcher", "writer", "analyst", "reviewer", "fact_checker", "summarizer", "translator")
WORKER_TASKS = ("Collect churn metrics for {customer}", "Draft the executive summary", "Check sources on {topic}",
                "Pull usage for {customer}", "Review the {topic} section", "Summarize support tickets about {topic}",
                "Estimate impact of {topic}", "List open risks for {customer}", "Translate the summary")

# (workflowId, name, steps); a step ending in "*" runs an agent child (AgentWorkflowStep).
WORKFLOWS = (
    ("nightly-etl", "Nightly ETL", ("extract", "transform", "load")),
    ("deploy-flow", "Deploy service", ("build", "test", "deploy", "verify")),
    ("provision-flow", "Provision environment", ("allocate", "configure", "verify")),
    ("incident-triage", "Incident triage", ("collect", "analyze*", "notify")),
    ("research-and-write", "Research and write", ("research*", "write*", "publish")),
    ("invoice-reconciliation", "Invoice reconciliation", ("fetch", "match", "review*", "post")),
    ("support-escalation", "Support escalation", ("classify*", "draft*", "route")),
)

# Release rollout over the week: (phase from which it is deployed, metadata fields).
RELEASES: tuple[tuple[float, Json], ...] = (
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
class Tool:
    name: str
    side_effect: str
    tags: tuple[str, ...]
    required: tuple[str, ...]
    make_args: Callable[[Context], Json]
    make_result: Callable[[Context, Json], Any]
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


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def _email(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower() + "@example.com"


def _order_result(ctx: Context, args: Json) -> Json:
    return {"orderId": args["orderId"], "status": ctx.pick(("shipped", "processing", "delivered", "on_hold")),
            "items": [{"sku": f"SKU-{ctx.between(1, 99)}", "qty": ctx.between(1, 4),
                       "price": ctx.pick((9.99, 24.5, 0.1, 129, 3.75))}],
            "eta": f"2026-12-{ctx.between(1, 28):02d}"}


TOOL_LIST = (
    Tool("lookup_order", "none", ("orders",), ("orderId",),
         lambda c: {"orderId": c.fields["order"]}, _order_result),
    Tool("get_weather", "none", (), ("city",), lambda c: {"city": c.fields["city"]},
         lambda c, a: f"{c.pick(('Sunny', 'Cloudy', 'Rainy'))} in {a['city']}, {c.between(-3, 31)}°C"),
    Tool("search_docs", "none", ("docs",), ("query",), lambda c: {"query": c.fields["topic"]},
         lambda c, a: {"hits": [f"{a['query']} guide", f"{a['query']} FAQ"][: c.between(1, 2)],
                       "total": c.between(1, 40)}),
    Tool("send_email", "external_write", ("email",), ("to", "subject"),
         lambda c: {"to": _email(c.fields["person"]), "subject": f"About {c.fields['topic']}"},
         lambda c, a: {"delivered": True, "messageId": f"msg-{c.hex(8)}"}),
    Tool("crm_update", "external_write", ("crm",), ("accountId", "field"),
         lambda c: {"accountId": c.fields["account"], "field": c.pick(("renewalDate", "tier", "owner"))},
         lambda c, a: {"updated": True, "accountId": a["accountId"]}),
    Tool("sync_inventory", "none", (), ("query",), lambda c: {"query": c.fields["warehouse"]},
         lambda c, a: {"synced": True, "query": a["query"], "skus": c.between(10, 5000)}, retryability="retryable"),
    Tool("create_ticket", "external_write", ("tickets",), ("title", "priority"),
         lambda c: {"title": c.text("{topic} outage at {customer}"), "priority": c.pick(("P1", "P2", "P3"))},
         lambda c, a: {"ticketId": f"OPS-{c.between(100, 9999)}", "priority": a["priority"]}),
    Tool("fetch_page", "none", (), ("url",),
         lambda c: {"url": f"https://docs.example.com/{_slug(c.fields['topic'])}?page={c.between(1, 40)}"},
         lambda c, a: {"status": 200, "bytes": c.between(800, 90000)}, retryability="retryable"),
    Tool("research", "none", (), ("query",), lambda c: {"query": c.text("{topic} at {customer}")},
         lambda c, a: {"summary": f"{a['query']}: market is growing.", "sources": c.between(2, 9)}),
    Tool("notify_user", "external_write", ("notifications",), ("query",), lambda c: {"query": c.fields["topic"]},
         lambda c, a: {"notified": c.between(1, 300)}),
    Tool("publish_report", "none", (), ("query",), lambda c: {"query": c.pick(("Q1", "Q2", "Q3", "Q4"))},
         lambda c, a: {"published": True, "url": f"https://reports.example.com/{a['query'].lower()}"},
         execution_policy="require_approval", cost_hint="low"),
    Tool("count_items", "none", (), ("list",), lambda c: {"list": [1, 2, 3][: c.between(1, 3)]},
         lambda c, a: len(a["list"])),
    Tool("delegate_task", "none", ("delegation",), ("assignee", "task"), lambda c: {}, lambda c, a: None),
    Tool("issue_refund", "external_write", ("payments",), ("orderId", "amount"),
         lambda c: {"orderId": c.fields["order"], "amount": c.pick((12.5, 49, 129.99))},
         lambda c, a: {"refunded": True, "orderId": a["orderId"]}, retryability="retryable"),
)
# The release whose refund integration regressed: its runs fail at the refund provider far more
# often (the demo's release comparison and failure clusters show it), older releases only rarely.
REGRESSED_RELEASE = "2026.11.3"
TOOLS = {tool.name: tool for tool in TOOL_LIST}
