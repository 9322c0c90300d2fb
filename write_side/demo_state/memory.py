"""Demo memory: `working.json`, `profile.json` and `policy.json` exactly as the runtime's `FileLayerStore`
writes them for `Memory` (`JSON.stringify(records, null, 2)`, no trailing newline), about the customers
the demo runs talk about.

Records are `Memory._createRecord`'s `{value, createdAt, updatedAt, expiresAt, metadata}` (epoch ms,
`expiresAt` null without a TTL, keys lower-cased as `Memory` stores them). Some have expired and stay in
the file (expiry is lazy), one entry was written to the store directly (a raw value, not a record) and
one value carries a secret, so the page's expiry, raw-value and redaction paths all show on the demo.
Times count back from the newest demo run, so the same runs and seed give the same bytes.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime_adapter.js.dates import parse_iso
from runtime_adapter.js.jsjson import dumps
from write_side.synthetic.vocabulary import CUSTOMERS, PEOPLE

LAYERS = ("working", "profile", "policy")
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# When the demo has no runs to date it by.
FALLBACK_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TIERS = ("enterprise", "growth", "starter")
LANGUAGES = ("en-GB", "pt-PT", "de-DE", "ja-JP")


def _runs(runs_dir: Path) -> list[dict[str, Any]]:
    """The demo runs' ids, inputs and creation times (unreadable files are passed over)."""
    runs = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(run, dict) or not isinstance(run.get("id"), str):
            continue
        timestamps = run["timestamps"] if isinstance(run.get("timestamps"), dict) else {}
        created = parse_iso(timestamps.get("createdAt"))
        runs.append({"id": run["id"], "input": run.get("input") if isinstance(run.get("input"), str) else "",
                     "created": created})
    return runs


def _customer_runs(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each customer's newest run whose input names it."""
    newest: dict[str, dict[str, Any]] = {}
    for customer in CUSTOMERS:
        pattern = re.compile(rf"\b{re.escape(customer)}\b")
        named = [run for run in runs if run["created"] and pattern.search(run["input"])]
        if named:
            newest[customer] = max(named, key=lambda run: (run["created"], run["id"]))
    return newest


def _record(value: Any, at: int, ttl: int | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """`Memory._createRecord(value, ttlMs, metadata)` at `at` (ms)."""
    return {"value": value, "createdAt": at, "updatedAt": at, "expiresAt": at + ttl if ttl else None,
            "metadata": dict(metadata or {})}


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def demo_layers(runs_dir: Path, *, seed: int = 7) -> dict[str, dict[str, Any]]:
    """The three layers' records, key → value, in the order `Memory` would have set them."""
    rng = random.Random(seed)
    runs = _runs(runs_dir)
    dated = [run["created"] for run in runs if run["created"]]
    now = int((max(dated) if dated else FALLBACK_NOW).timestamp() * 1000)
    by_customer = _customer_runs(runs)
    customers = sorted(by_customer) or list(CUSTOMERS[:4])
    rng.shuffle(customers)
    chosen = customers[:4]
    fallback_run = max(runs, key=lambda run: (run["created"] or FALLBACK_NOW, run["id"]))["id"] if runs else None

    def run_of(customer: str) -> str | None:
        run = by_customer.get(customer)
        return run["id"] if run else fallback_run

    def source(customer: str, kind: str) -> dict[str, Any]:
        run_id = run_of(customer)
        return {"source": kind, **({"runId": run_id} if run_id else {})}

    profile: dict[str, Any] = {}
    for index, customer in enumerate(chosen):
        at = now - rng.randint(2, 20) * DAY - rng.randint(0, 23) * HOUR
        profile[f"customer:{_slug(customer)}"] = _record({
            "name": customer, "tier": TIERS[index % len(TIERS)], "contact": rng.choice(PEOPLE),
            "preferredLanguage": rng.choice(LANGUAGES), "openTickets": rng.randint(0, 4),
        }, at, metadata=source(customer, "crm_sync"))
    first, second = chosen[0], chosen[1 % len(chosen)]
    # A discount offered for a week, long past: it stays in the file until the runtime next reads it.
    profile[f"customer:{_slug(second)}:discount"] = _record(
        {"percent": 15, "reason": "renewal at risk"}, now - 12 * DAY, 7 * DAY, source(second, "agent"))
    # What a careless tool call stored: the page must never show this key in clear.
    profile[f"customer:{_slug(first)}:integration"] = _record(
        {"webhook": "https://crm.example.com/hooks/orders", "apiKey": "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e",
         "note": "pilot credentials, rotate after go-live"},
        now - 3 * DAY, metadata=source(first, "agent"))

    working: dict[str, Any] = {}
    for hours_ago, ttl_hours, customer, task in ((50, 2, chosen[0], "refund follow-up"),
                                                 (30, 1, chosen[2 % len(chosen)], "invoice dispute"),
                                                 (1, 24 * 30, chosen[1 % len(chosen)], "SSO setup"),
                                                 (0, 24 * 30, chosen[3 % len(chosen)], "renewal call")):
        at = now - hours_ago * HOUR - rng.randint(1, 50) * MINUTE
        working[f"task:{_slug(customer)}"] = _record(
            {"task": task, "customer": customer, "step": rng.choice(("waiting_for_reply", "drafting", "escalated"))},
            at, ttl_hours * HOUR, source(customer, "agent"))
    working["last_handoff"] = _record(
        {"from": "triage_agent", "to": "billing_helper", "customer": chosen[0]}, now - 20 * MINUTE, 2 * HOUR,
        source(chosen[0], "agent"))
    # Written straight through FileLayerStore.set by an older integration, not through Memory: a raw value.
    working["MigrationNote"] = f"Imported from the v2 agent: call {chosen[0]} before any renewal change."

    policy: dict[str, Any] = {
        "refund_limit": _record({"currency": "EUR", "maxAmount": 500}, now - 40 * DAY,
                                metadata={"source": "policy_pack"}),
        "approval_required_tools": _record(["send_email", "crm_update", "publish_report", "issue_refund"],
                                           now - 40 * DAY, metadata={"source": "policy_pack"}),
        "freeze:deploys": _record({"reason": "end-of-quarter freeze", "owner": rng.choice(PEOPLE)},
                                  now - 2 * DAY, 30 * DAY, {"source": "ops"}),
    }
    return {"working": working, "profile": profile, "policy": policy}


def write_demo_memory(target: Path, runs_dir: Path, *, seed: int = 7) -> dict[str, Any]:
    """Write each missing layer file under `target`; files already there are left as they are."""
    missing = [name for name in LAYERS if not (target / f"{name}.json").exists()]
    if not missing:
        return {}
    layers = demo_layers(runs_dir, seed=seed)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for name in missing:
        try:
            with open(target / f"{name}.json", "x", encoding="utf-8") as handle:
                handle.write(dumps(layers[name], 2))
        except FileExistsError:
            continue
        written[name] = len(layers[name])
    return {"directory": str(target), "entries": written} if written else {}
