"""`manage.py export_otlp`: runs pushed over OTLP/HTTP to a real HTTP server on 127.0.0.1 that decodes them.

The receiver here parses every body with opentelemetry-proto and answers as a collector
does (an ExportTraceServiceResponse, or the status a test scripts: 503, 429, 400…).
Phoenix as the receiver is tests/interop/.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from runtime_adapter.present.otlp import run_span_id
from tests.factories import run_record
from tests.fixtures import corpus
from tests.unit.test_otlp import as_proto
from tests.web.runs_support import write_store

SECRET = "sk-live-9aQ3xT7mB2vK8pL4nR6wZ1cY"


@dataclass
class Received:
    path: str
    headers: Message
    body: bytes

    @property
    def message(self) -> ExportTraceServiceRequest:
        if self.headers["Content-Type"] == "application/json":
            return as_proto(json.loads(self.body))
        return ExportTraceServiceRequest.FromString(self.body)

    @property
    def spans(self) -> list:
        return [span for resource in self.message.resource_spans for scope in resource.scope_spans for span in scope.spans]


@dataclass
class Receiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    # (status, headers, body) answers, in order; when they run out, 200 with an empty ExportTraceServiceResponse.
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)

    @property
    def spans(self) -> list:
        return [span for request in self.received for span in request.spans]

    def run_ids(self) -> set[str]:
        return {next(a.value.string_value for a in span.attributes if a.key == "agnostic_agents.run.id")
                for span in self.spans}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(self.path, self.headers, body))  # case-insensitive names
            status, headers, answer = state.script.pop(0) if state.script else (
                200, {"Content-Type": "application/x-protobuf"}, ExportTraceServiceResponse().SerializeToString())
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    yield state
    server.shutdown()
    server.server_close()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def export(*args: str, stderr: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command("export_otlp", *args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


def test_it_pushes_every_run_and_says_how_many_spans_were_accepted(receiver, scenario):
    scenario(corpus.DELEGATION)
    runs = corpus.runs(corpus.DELEGATION)
    spans = sum(1 + len(run["steps"]) for run in runs)
    assert export("--endpoint", receiver.url).strip() == f"{len(runs)} runs exported: {spans} spans sent, {spans} accepted."
    assert receiver.run_ids() == {run["id"] for run in runs}
    assert len(receiver.spans) == spans
    assert {request.headers["Content-Type"] for request in receiver.received} == {"application/x-protobuf"}


def test_requests_are_batched_by_span_count(receiver, scenario):
    scenario(corpus.DELEGATION)
    export("--endpoint", receiver.url, "--batch-spans", "5")
    assert len(receiver.received) > 3
    for request in receiver.received:
        run_spans = [span for span in request.spans if not any(a.key == "agnostic_agents.step.id" for a in span.attributes)]
        assert len(request.spans) <= 5 or len(run_spans) == 1  # a run bigger than a batch goes alone


def test_a_family_is_exported_with_root(receiver, scenario):
    scenario(corpus.DELEGATION)
    root = corpus.supervisor()
    out = export("--endpoint", receiver.url, "--root", root)
    family = corpus.family_of(corpus.DELEGATION, root)
    assert receiver.run_ids() == set(family) and out.startswith(f"{len(family)} runs exported")
    roots = [span for span in receiver.spans if not span.parent_span_id]
    assert [span.span_id.hex() for span in roots] == [run_span_id(root)]


def test_filters_choose_the_runs(receiver, scenario):
    scenario(corpus.FAILURES)
    export("--endpoint", receiver.url, "--status", "completed")
    assert receiver.run_ids() == set(corpus.ids_where(corpus.FAILURES, lambda run: run["status"] == "completed"))


@pytest.fixture
def dated_store(runs_settings, tmp_path):
    records = [run_record(f"r{hour}", created=f"2026-11-24T{hour:02d}:00:00.000Z", metadata={"release": f"v{hour % 2}"})
               for hour in range(0, 12)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)


def test_since_takes_a_preset_or_an_iso_time_and_until_an_iso_time(receiver, dated_store):
    export("--endpoint", receiver.url, "--since", "1h")  # the clock is pinned at 2026-11-24T12:00Z
    assert receiver.run_ids() == {"r11"}
    receiver.received.clear()
    export("--endpoint", receiver.url, "--since", "2026-11-24T08:00:00Z", "--until", "2026-11-24T10:00:00Z")
    assert receiver.run_ids() == {"r8", "r9"}
    receiver.received.clear()
    export("--endpoint", receiver.url, "--release", "v1", "--since", "2026-11-24T06:00:00Z")
    assert receiver.run_ids() == {"r7", "r9", "r11"}


def test_invalid_filters_and_options_fail_with_a_reason(receiver, dated_store):
    with pytest.raises(CommandError, match="Invalid filters: status"):
        export("--endpoint", receiver.url, "--status", "nope")
    with pytest.raises(CommandError, match="created_after"):
        export("--endpoint", receiver.url, "--since", "last tuesday")
    with pytest.raises(CommandError, match="Unknown store 'elsewhere'"):
        export("--endpoint", receiver.url, "--store", "elsewhere")
    with pytest.raises(CommandError, match="http:// or https://"):
        export("--endpoint", "ftp://127.0.0.1/v1/traces")
    with pytest.raises(CommandError, match='Run "nope" not found'):
        export("--endpoint", receiver.url, "--root", "nope")
    assert receiver.received == []


def test_5xx_and_429_are_retried_with_the_same_body(receiver, dated_store):
    receiver.script = [(503, {}, b"busy"), (429, {"Retry-After": "0"}, b""), (502, {}, b"")]
    out = export("--endpoint", receiver.url, "--backoff", "0.01")
    assert out.strip() == "12 runs exported: 12 spans sent, 12 accepted; 3 requests retried."
    assert len(receiver.received) == 4 and len({request.body for request in receiver.received}) == 1


def test_retry_delays_grow_but_stay_bounded(receiver, dated_store):
    receiver.script = [(429, {"Retry-After": "3600"}, b""), (503, {}, b""), (503, {}, b"")]
    started = time.monotonic()
    export("--endpoint", receiver.url, "--backoff", "0.05", "--max-backoff", "0.2")
    assert time.monotonic() - started < 5
    assert len(receiver.received) == 4


def test_it_gives_up_after_the_retries_naming_the_answer(receiver, dated_store):
    receiver.script = [(503, {}, b"collector overloaded")] * 3
    with pytest.raises(CommandError, match="answered 503 Service Unavailable: collector overloaded"):
        export("--endpoint", receiver.url, "--retries", "2", "--backoff", "0.01")
    assert len(receiver.received) == 3


def test_a_client_error_is_not_retried(receiver, dated_store):
    receiver.script = [(400, {}, b"bad span")]
    with pytest.raises(CommandError, match="answered 400 Bad Request: bad span"):
        export("--endpoint", receiver.url, "--backoff", "0.01")
    assert len(receiver.received) == 1


def test_an_unreachable_endpoint_is_retried_then_reported(dated_store):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CommandError, match=r"could not be reached after 3 attempts"):
        export("--endpoint", f"http://127.0.0.1:{port}/v1/traces", "--retries", "2", "--backoff", "0.01")


def test_rejected_spans_of_a_partial_success_are_counted_out(receiver, dated_store):
    partial = ExportTraceServiceResponse(partial_success=ExportTracePartialSuccess(rejected_spans=2, error_message="too old"))
    receiver.script = [(200, {"Content-Type": "application/x-protobuf"}, partial.SerializeToString())]
    out = export("--endpoint", receiver.url)
    assert out.strip() == "12 runs exported: 12 spans sent, 10 accepted, 2 rejected (too old)."


def test_json_protocol_sends_otlp_json(receiver, dated_store):
    receiver.script = [(200, {"Content-Type": "application/json"}, b'{"partialSuccess": {"rejectedSpans": "1"}}')]
    out = export("--endpoint", receiver.url, "--protocol", "http/json")
    [request] = receiver.received
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] == run_span_id("r0")  # hex, not base64
    assert len(request.spans) == 12 and "11 accepted, 1 rejected" in out


def test_exporting_again_sends_the_same_spans(receiver, scenario):
    scenario("s06_workflows")
    export("--endpoint", receiver.url)
    first = [request.body for request in receiver.received]
    receiver.received.clear()
    export("--endpoint", receiver.url)
    assert [request.body for request in receiver.received] == first


def test_a_base_endpoint_gets_the_traces_path_and_headers_are_sent(receiver, dated_store, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc,x-scope=team-a")
    export("--endpoint", receiver.url.removesuffix("/v1/traces"), "--header", "x-tenant=acme")
    [request] = receiver.received
    assert request.path == "/v1/traces"
    assert (request.headers["authorization"], request.headers["x-scope"], request.headers["x-tenant"]) == (
        "Bearer abc", "team-a", "acme")


def test_a_malformed_header_is_refused_without_echoing_it(receiver, dated_store):
    with pytest.raises(CommandError) as caught:
        export("--endpoint", receiver.url, "--header", f"Bearer {SECRET}")
    assert SECRET not in str(caught.value)


def test_progress_is_a_counter_off_a_terminal_and_a_bar_on_one(receiver, dated_store):
    log = io.StringIO()
    export("--endpoint", receiver.url, "--batch-spans", "5", stderr=log)
    assert log.getvalue().splitlines() == ["5/12 runs, 5 spans sent", "10/12 runs, 10 spans sent", "12/12 runs, 12 spans sent"]
    terminal = Terminal()
    export("--endpoint", receiver.url, "--batch-spans", "6", stderr=terminal)
    assert terminal.getvalue() == ("\r[###############---------------] 6/12 runs  6 spans"
                                   "\r[##############################] 12/12 runs  12 spans\n")


def test_nothing_to_export_sends_nothing(receiver, dated_store):
    assert export("--endpoint", receiver.url, "--status", "failed").strip() == "0 runs exported: 0 spans sent, 0 accepted."
    assert receiver.received == []


def test_secrets_never_leave_in_the_pushed_spans(receiver, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", [
        run_record("leaky", input=f"use apiKey={SECRET}", steps=[
            {"id": "s1", "type": "tool", "status": "completed", "payload": {"toolName": "t", "arguments": {"token": SECRET}}}]),
    ])
    export("--endpoint", receiver.url)
    [request] = receiver.received
    assert SECRET.encode() not in request.body and b"[REDACTED]" in request.body
