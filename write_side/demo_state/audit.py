"""The demo's audit log: a FileAuditSink JSONL file, line for line as the runtime appends it.

Replayed from the demo runs' own events the way `FileAuditSink.handleEvent` sees them (src/runtime/FileAuditSink.js):
an event is logged when its type is one of the sink's default `eventTypes` and its payload's tool metadata, or a tool
call the run has made so far, has a side-effect level among `external_write`, `system_write`, `destructive`. Each
line is `JSON.stringify({timestamp, eventType, runId, status, payload})` with the run's status at that event.

Beside them, a second agent process (a CRM sync whose runs are kept in another store, so their ids are not in the
demo run directory) logs writes whose payloads carry credentials as the sink writes them, unredacted, and a few
through a `piiSafe: true` sink (RuntimeEventRedactor's `[REDACTED]`). Two writers appending at once left one
corrupt line in the middle, and the last line is cut short, as when a writer is mid-append.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime_adapter.js.dates import iso_ms, parse_iso
from runtime_adapter.js.jsjson import dumps

# FileAuditSink's defaults.
EVENT_TYPES = ("tool_requested", "policy_decision", "approval_requested", "approval_resolved", "tool_started",
               "tool_completed", "tool_failed", "run_completed", "run_failed")
RISKY = ("external_write", "system_write", "destructive")
# The run's status after Agent.js sets it for each event (setStatus comes before _emitEvent).
_STATUS_AFTER = {"run_started": "running", "run_resumed": "running", "approval_requested": "waiting_for_approval",
                 "approval_resolved": "running", "run_completed": "completed", "run_failed": "failed",
                 "run_paused": "paused", "run_cancelled": "cancelled"}
# RuntimeEventRedactor's default sensitive keys, and its "contains token, secret or password" rule.
_PII_KEYS = {key.lower() for key in ("authorization", "apiKey", "api_key", "auth", "authToken", "password", "secret",
                                     "token", "accessToken", "refreshToken", "sessionToken", "ssn", "email", "phone")}


def _pii_safe(value: Any) -> Any:
    """What `new RuntimeEventRedactor().redact(entry)` returns."""
    if isinstance(value, list):
        return [_pii_safe(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: "[REDACTED]" if key.lower() in _PII_KEYS or any(word in key.lower() for word in
                                                                   ("token", "secret", "password"))
            else _pii_safe(item) for key, item in value.items()}


def _risky(metadata: Any) -> bool:
    return isinstance(metadata, dict) and metadata.get("sideEffectLevel") in RISKY


def _payload_risk(payload: Any) -> bool:
    """`payload.metadata || payload.toolCall?.metadata`, with JS truthiness (an empty object is truthy)."""
    if not isinstance(payload, dict):
        return False
    metadata = payload.get("metadata")
    if metadata is None or metadata is False or metadata == "" or metadata == 0:
        tool_call = payload.get("toolCall")
        metadata = tool_call.get("metadata") if isinstance(tool_call, dict) else None
    return _risky(metadata)


def _entry(moment: datetime, event_type: str, run_id: str | None, status: str | None, payload: Any) -> dict[str, Any]:
    return {"timestamp": iso_ms(moment), "eventType": event_type, "runId": run_id, "status": status,
            "payload": payload if payload else {}}


def _run_entries(record: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """The lines the sink appends while this run executes."""
    entries = []
    status = "running"
    risky_call = False  # run.toolCalls so far holds a risky call
    for event in record.get("events") or []:
        if not isinstance(event, dict):
            continue
        kind, payload = event.get("type"), event.get("payload")
        if not isinstance(kind, str):
            continue
        status = _STATUS_AFTER.get(kind, status)
        if kind == "tool_requested" and isinstance(payload, dict):
            risky_call = risky_call or _risky(payload.get("metadata"))  # run.addToolCall(request) comes first
        moment = parse_iso(event.get("timestamp"))
        if kind not in EVENT_TYPES or moment is None or not (_payload_risk(payload) or risky_call):
            continue
        # handleEvent stamps its own `new Date()`, a moment after the event's.
        entries.append(_entry(moment + timedelta(milliseconds=rng.choice((0, 0, 1))), kind, record.get("id"),
                              status, payload))
    return entries


def _secret(rng: random.Random, prefix: str, length: int = 32) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


def _crm_entries(rng: random.Random, newest: datetime, count: int = 12) -> list[dict[str, Any]]:
    """A CRM sync agent's writes: credentials in arguments, results and errors, some through a piiSafe sink."""
    entries = []
    tools = (("update_crm_contact", "external_write"), ("rotate_webhook_secret", "system_write"),
             ("delete_customer_record", "destructive"))
    for index in range(count):
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        tool, level = tools[index % len(tools)]
        start = newest - timedelta(hours=rng.uniform(1, 70))
        metadata = {"sideEffectLevel": level, "executionPolicy": "auto", "verificationPolicy": "auto"}
        arguments: dict[str, Any] = {"contactId": f"C-{rng.randint(10000, 99999)}"}
        if tool == "update_crm_contact":
            arguments.update(apiKey=_secret(rng, "sk-live-"), email=f"customer{index}@example.com",
                             fields={"tier": rng.choice(("gold", "silver"))})
        elif tool == "rotate_webhook_secret":
            arguments.update(endpoint="https://hooks.example.com/crm", newSecret=_secret(rng, "whsec_", 24))
        else:
            arguments.update(reason="GDPR erasure request", confirm=True)
        request = {"runId": run_id, "toolName": tool, "toolCall": {"name": tool, "arguments": arguments,
                                                                    "id": "call_1"},
                   "arguments": arguments, "metadata": metadata}
        failed = index % 4 == 3
        lines = [
            ("tool_requested", "running", request),
            ("policy_decision", "running", {"toolName": tool, "stage": "evaluate",
                                            "decision": {"action": "allow", "reason": None, "source": "default"}}),
            ("tool_started", "running", {"toolName": tool, "arguments": arguments}),
        ]
        if failed:
            lines += [("tool_failed", "running", {"toolName": tool, "message": (
                "connect ECONNREFUSED: postgres://crm_sync:Pa55word-" + _secret(rng, "", 8) + "@crm-db.internal:5432/crm")}),
                ("run_failed", "failed", {"name": "ToolExecutionError",
                                          "message": f'Tool "{tool}" failed: connection refused'})]
        else:
            lines += [("tool_completed", "running", {"toolName": tool, "result": {
                "ok": True, "request": {"headers": {"Authorization": "Bearer " + _secret(rng, "eyJhbGciOiJIUzI1NiJ9.", 40)}}}}),
                ("run_completed", "completed", {"output": f"{tool} done for {arguments['contactId']}"})]
        pii_safe = index % 3 == 2
        for step, (kind, status, payload) in enumerate(lines):
            entry = _entry(start + timedelta(milliseconds=140 * step + rng.randint(0, 90)), kind, run_id, status, payload)
            entries.append(_pii_safe(entry) if pii_safe else entry)
    return entries


def _read_runs(runs_dir: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            runs.append(record)
    return runs


def audit_lines(runs_dir: Path, *, seed: int = 7) -> list[str]:
    """The log's lines (the last without its newline: cut short), oldest first."""
    rng = random.Random(seed)
    runs = _read_runs(runs_dir)
    entries = [entry for record in runs for entry in _run_entries(record, rng)]
    moments = [parse_iso(entry["timestamp"]) for entry in entries] or [
        parse_iso((record.get("timestamps") or {}).get("updatedAt")) for record in runs]
    newest = max((moment for moment in moments if moment is not None), default=datetime(2026, 11, 24, tzinfo=UTC))
    entries += _crm_entries(rng, newest)
    entries.sort(key=lambda entry: entry["timestamp"])
    lines = [dumps(entry) for entry in entries]
    if len(lines) > 2:
        # Two processes appending at once: one line cut short and run into the next one.
        middle = len(lines) // 2
        lines[middle: middle + 2] = [lines[middle][: len(lines[middle]) * 3 // 5] + lines[middle + 1]]
    # The last line, cut short: a running run asking for a risky tool as the log was read.
    running = [record["id"] for record in runs if record.get("status") == "running"]
    run_id = running[0] if running else str(uuid.UUID(int=rng.getrandbits(128), version=4))
    arguments = {"to": "ops@example.com", "subject": "Nightly digest"}
    request = {"runId": run_id, "toolName": "send_email", "toolCall": {"name": "send_email", "arguments": arguments,
                                                                      "id": "call_1"},
               "arguments": arguments, "metadata": {"sideEffectLevel": "external_write"}}
    cut = dumps(_entry(newest + timedelta(seconds=2), "tool_requested", run_id, "running", request))
    return [*lines, cut[: len(cut) // 2]]


def write_demo_audit(target: Path, runs_dir: Path, *, seed: int = 7) -> dict[str, Any]:
    """Write the log at `target` unless it exists; a summary of what was written, or {} when nothing was."""
    if target.exists():
        return {}
    lines = audit_lines(runs_dir, seed=seed)
    text = "".join(line + "\n" for line in lines[:-1]) + lines[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    try:
        os.link(partial, target)  # never over a file another writer put there meanwhile
    except FileExistsError:
        return {}
    finally:
        partial.unlink()
    return {"path": str(target), "lines": len(lines)}
