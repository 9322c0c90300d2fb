"""`manage.py export_otlp --endpoint URL [filters]`: push runs to an OpenTelemetry backend over OTLP/HTTP.

Spans are those of `/api/runs/<id>/otlp.json` (runtime_adapter.present.otlp), read through
the configured store (redacted as on every page), sent in batches as protobuf (or JSON),
retried with bounded exponential backoff on 429, 5xx and connection errors. Span ids are
derived from run and step ids, so sending the same runs twice replaces rather than duplicates.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from argparse import ArgumentParser
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from controlplane.filters import SINCE, RunFilterForm
from controlplane.http import form_errors
from controlplane.stores import DEFAULT_STORE, get_run_store, store_names
from runtime_adapter.js import jsjson
from runtime_adapter.present.otlp import export_request, family_ids, related_runs, span_count, to_protobuf_json
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, InvalidRunId, Run, RunNotFound, RunStoreError

PAGE = 200
RETRYABLE = frozenset({429}) | frozenset(range(500, 600))
CONTENT_TYPES = {"http/protobuf": "application/x-protobuf", "http/json": "application/json"}


class ExportFailed(Exception):
    pass


@dataclass
class Result:
    runs: int = 0
    sent: int = 0
    rejected: int = 0
    messages: tuple[str, ...] = ()
    retries: int = 0

    @property
    def accepted(self) -> int:
        return self.sent - self.rejected


class OtlpHttpSender:
    """POSTs ExportTraceServiceRequests; answers the rejected span count of ExportTraceServiceResponse.partial_success."""

    def __init__(self, endpoint: str, *, protocol: str, headers: dict[str, str], timeout: float, retries: int,
                 backoff: float, max_backoff: float, sleep: Any = time.sleep) -> None:
        self.endpoint, self.protocol, self.headers, self.timeout = endpoint, protocol, headers, timeout
        self.retries, self.backoff, self.max_backoff, self.sleep = retries, backoff, max_backoff, sleep
        self.retried = 0

    def encode(self, request: dict[str, Any]) -> bytes:
        # Parsing into the proto messages checks the body in both protocols, not only the binary one.
        message = ParseDict(to_protobuf_json(request), ExportTraceServiceRequest())
        if self.protocol == "http/json":
            return jsjson.dumps(request).encode("utf-8")
        return message.SerializeToString()

    def send(self, request: dict[str, Any]) -> tuple[int, str]:
        body = self.encode(request)
        headers = {**self.headers, "Content-Type": CONTENT_TYPES[self.protocol]}
        attempt = 0
        while True:
            delay = self.backoff * 2**attempt
            try:
                post = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(post, timeout=self.timeout) as response:  # noqa: S310 (an operator's URL)
                    return self.rejected(response.read(), response.headers.get("Content-Type", ""))
            except urllib.error.HTTPError as error:
                answer = error.read()[:300].decode("utf-8", "replace")
                if error.code not in RETRYABLE or attempt >= self.retries:
                    raise ExportFailed(f"{self.endpoint} answered {error.code} {error.reason}: {answer}".strip()) from None
                delay = _retry_after(error.headers.get("Retry-After"), delay)
            except (urllib.error.URLError, OSError) as error:
                if attempt >= self.retries:
                    reason = getattr(error, "reason", error)
                    raise ExportFailed(f"{self.endpoint} could not be reached after {attempt + 1} attempts: {reason}") from None
            attempt += 1
            self.retried += 1
            self.sleep(min(delay, self.max_backoff))

    def rejected(self, body: bytes, content_type: str) -> tuple[int, str]:
        if not body:
            return 0, ""
        if "json" in content_type:
            partial = json.loads(body).get("partialSuccess") or {}
            return int(partial.get("rejectedSpans") or 0), str(partial.get("errorMessage") or "")
        response = ExportTraceServiceResponse.FromString(body)
        return response.partial_success.rejected_spans, response.partial_success.error_message


def _retry_after(header: str | None, default: float) -> float:
    try:
        return max(0.0, float(header)) if header else default
    except ValueError:
        return default  # an HTTP date: the bounded backoff is as good


class Progress:
    """A bar redrawn in place on a terminal; elsewhere a plain counter line per batch."""

    def __init__(self, total: int, stream: OutputWrapper, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.tty = stream.isatty()
        self.crossed = False

    def __call__(self, runs: int, spans: int) -> None:
        if self.tty:
            total = max(self.total, runs)  # a search's count may have been a lower bound
            filled = int(self.width * runs / total) if total else self.width
            line = f"\r[{'#' * filled}{'-' * (self.width - filled)}] {runs:,}/{total:,} runs  {spans:,} spans"
            # Once past the total (a search's count may have been a lower bound), the bar ends its line once and
            # goes on redrawing the next.
            crossed = runs >= self.total and not self.crossed
            self.crossed = self.crossed or crossed
            self.stream.write(line, ending="\n" if crossed else "")
        else:
            self.stream.write(f"{runs}/{max(self.total, runs)} runs, {spans} spans sent")
        self.stream.flush()


class Command(BaseCommand):
    help = "Push runs to an OpenTelemetry backend (Jaeger, Tempo, Phoenix, Langfuse…) over OTLP/HTTP."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--endpoint", required=True,
                            help="OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (a bare host gets /v1/traces).")
        parser.add_argument("--store", default=DEFAULT_STORE, help="A configured run store's name (default: the default store).")
        parser.add_argument("--root", help="Export this run and the runs under it (its family), ignoring the filters.")
        parser.add_argument("--since", help=f"Runs created since an ISO time or in the last {', '.join(SINCE)}.")
        parser.add_argument("--until", help="Runs created before this ISO time.")
        parser.add_argument("--status", action="append", default=[], help="Only runs with this status (repeatable).")
        parser.add_argument("--release", help="Only runs of this release.")
        parser.add_argument("--search", help="Only runs matching this search (the run list's search syntax).")
        parser.add_argument("--roots-only", action="store_true", help="Only root runs.")
        parser.add_argument("--protocol", choices=sorted(CONTENT_TYPES), default="http/protobuf")
        parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                            help="Request header (repeatable); OTEL_EXPORTER_OTLP_HEADERS is read too.")
        parser.add_argument("--batch-spans", type=int, default=512, help="Spans per request (a bigger run goes alone).")
        parser.add_argument("--retries", type=int, default=5, help="Retries of a failed request (default 5).")
        parser.add_argument("--backoff", type=float, default=0.5, help="First retry delay in seconds, doubled each time.")
        parser.add_argument("--max-backoff", type=float, default=30.0, help="Longest retry delay in seconds.")
        parser.add_argument("--timeout", type=float, default=30.0, help="Seconds to wait for each answer.")
        parser.add_argument("--service-name", default="agnostic-agents", help="The resource's service.name.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["store"] not in store_names():
            raise CommandError(f"Unknown store {options['store']!r}; configured: {', '.join(store_names())}.")
        if options["batch_spans"] < 1 or options["retries"] < 0 or options["backoff"] < 0:
            raise CommandError("--batch-spans must be at least 1, --retries and --backoff at least 0.")
        sender = OtlpHttpSender(
            _traces_url(options["endpoint"]), protocol=options["protocol"], headers=_headers(options["header"]),
            timeout=options["timeout"], retries=options["retries"], backoff=options["backoff"],
            max_backoff=options["max_backoff"])
        store = get_run_store(options["store"])
        try:
            total, runs = self._runs(store, options)
            result = self._export(store, runs, total, sender, options["batch_spans"], options["service_name"])
        except ExportFailed as error:
            raise CommandError(str(error)) from None
        except RunStoreError as error:
            raise CommandError(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
        summary = f"{result.runs} runs exported: {result.sent} spans sent, {result.accepted} accepted"
        if result.rejected:
            summary += f", {result.rejected} rejected ({'; '.join(result.messages) or 'no reason given'})"
        if result.retries:
            summary += f"; {result.retries} requests retried"
        self.stdout.write(summary + ".")

    def _runs(self, store: RunStore, options: dict[str, Any]) -> tuple[int, Iterator[Run]]:
        """(how many, the runs): a family, or the runs the filters match, oldest first."""
        if options["root"]:
            ids = family_ids(store, store.get_run(options["root"])["id"])
            return len(ids), (store.get_run(run_id) for run_id in ids)
        form = RunFilterForm(_filter_data(options))
        if not form.is_valid():
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form_errors(form).items())
            raise CommandError(f"Invalid filters: {problems}")
        total = store.query_runs(form.query(1, offset=0)).total  # a search's may be a lower bound: pages go on

        def matching() -> Iterator[Run]:
            offset = 0
            while True:
                page = store.query_runs(form.query(PAGE, offset=offset))
                if not page.rows:
                    return
                for row in page.rows:
                    try:
                        yield store.get_run(row.id)
                    except (RunNotFound, InvalidRunId):
                        continue  # gone since it was listed
                offset += len(page.rows)
                if not page.has_next:
                    return

        return total, matching()

    def _export(self, store: RunStore, runs: Iterator[Run], total: int, sender: OtlpHttpSender, batch_spans: int,
                service_name: str) -> Result:
        result = Result()
        progress = Progress(total, self.stderr)
        lookup = _Lookups(store)
        batch: list[Run] = []
        pending = 0

        def flush() -> None:
            nonlocal batch, pending
            if not batch:
                return
            request = export_request(batch, related_runs(batch, lookup), service_name=service_name)
            rejected, message = sender.send(request)
            result.runs += len(batch)
            result.sent += span_count(request)
            result.rejected += rejected
            if message and message not in result.messages:
                result.messages = (*result.messages, message)
            batch, pending = [], 0
            progress(result.runs, result.sent)

        for run in runs:
            spans = 1 + len(run["steps"])  # as run_spans makes them
            if batch and pending + spans > batch_spans:
                flush()
            batch.append(run)
            pending += spans
        flush()
        if result.runs == 0:
            progress(0, 0)
        result.retries = sender.retried
        return result


class _Lookups:
    """`store.get_run` remembering answers: the children of one parent, exported apart, read it once."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.found: dict[str, Run | RunStoreError] = {}

    def __call__(self, run_id: str) -> Run:
        if run_id not in self.found:
            if len(self.found) > 10_000:
                self.found.clear()
            try:
                self.found[run_id] = self.store.get_run(run_id)
            except (RunNotFound, InvalidRunId, CorruptRun) as error:
                self.found[run_id] = error
        answer = self.found[run_id]
        if isinstance(answer, RunStoreError):
            raise answer
        return answer


def _filter_data(options: dict[str, Any]) -> dict[str, Any]:
    since = options["since"]
    data: dict[str, Any] = {"status": options["status"], "release": options["release"] or "",
                            "q": options["search"] or "", "roots": options["roots_only"],
                            "created_before": options["until"] or "", "sort": "created", "order": "asc"}
    if since in SINCE:
        data["since"] = since
    elif since:
        data["created_after"] = since
    return data


def _traces_url(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"--endpoint must be an http:// or https:// URL, not {endpoint!r}.")
    # OTLP's base endpoint convention (OTEL_EXPORTER_OTLP_ENDPOINT): traces go to /v1/traces under it.
    return endpoint.rstrip("/") + "/v1/traces" if parts.path in ("", "/") else endpoint


def _headers(pairs: list[str]) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_(TRACES_)HEADERS (comma-separated, values URL-encoded, as OTel SDKs read it), then --header."""
    headers: dict[str, str] = {}
    env = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS") or ""
    items = [(item, True) for item in env.split(",")] + [(item, False) for item in pairs]
    for item, encoded in items:
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            # Not echoed: a malformed header may still hold a credential.
            raise CommandError("Each header is NAME=VALUE; one has no '=' or no name.")
        headers[name.strip()] = unquote(value.strip()) if encoded else value.strip()
    return headers
