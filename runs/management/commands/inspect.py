"""`manage.py inspect …`: the runtime's read-only views on the command line, as JSON."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from controlplane.stores import get_run_store
from runtime_adapter.js import jsjson
from runtime_adapter.present.operations import RequestError, SnapshotStore, run_operation
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import RunStoreError
from runtime_adapter.stores.registry import open_store


class Command(BaseCommand):
    help = "Derive the runtime's payloads (summary, tree, incident, plan, diff, bundle…) from a run store."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--store", help="Run store URL (default: CONTROLPLANE_RUN_STORE).")
        parser.add_argument("--pretty", action="store_true", help="Indent the JSON output.")
        ops = parser.add_subparsers(dest="op", required=True)
        ops.add_parser("summary").add_argument("run_id")
        ops.add_parser("tree").add_argument("--root")
        ops.add_parser("render").add_argument("--root")
        for name in ("incident", "plan"):
            sub = ops.add_parser(name)
            sub.add_argument("run_id")
            sub.add_argument("--compare")
        ops.add_parser("correlation").add_argument("run_id")
        diff = ops.add_parser("diff")
        diff.add_argument("left")
        diff.add_argument("right")
        bundle = ops.add_parser("bundle")
        bundle.add_argument("run_ids", nargs="*")
        bundle.add_argument("--metadata", help="Bundle metadata as a JSON object.")
        validate = ops.add_parser("validate")
        validate.add_argument("file", help="Trace or bundle file, or - for standard input.")
        validate.add_argument("--no-bundle", action="store_true", help="Refuse bundles, as validateTrace() does by default.")
        ops.add_parser("batch", help="JSON requests on stdin, one per line; one answer per line on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        op = options["op"]
        try:
            store = open_store(options["store"]) if options["store"] else get_run_store()
            if op == "batch":
                self._batch(store)
                return
            request = self._request(op, options)
            result = run_operation(store, request)
        except (RunStoreError, RequestError, OSError, jsjson.JSONParseError) as error:
            # One line, no traceback: scripts read the exit code and stderr.
            raise CommandError(str(error).splitlines()[0] if str(error) else type(error).__name__, returncode=1) from None
        if op == "render":
            self.stdout.write(result)
        else:
            self.stdout.write(jsjson.dumps(result, 2 if options["pretty"] else None))

    def _request(self, op: str, options: dict[str, Any]) -> dict[str, Any]:
        if op in ("summary", "correlation"):
            return {"op": op, "runId": options["run_id"]}
        if op in ("tree", "render"):
            return {"op": op, "rootRunId": options["root"]}
        if op in ("incident", "plan"):
            return {"op": op, "runId": options["run_id"], "compareToRunId": options["compare"]}
        if op == "diff":
            return {"op": op, "leftRunId": options["left"], "rightRunId": options["right"]}
        if op == "bundle":
            metadata = jsjson.loads(options["metadata"]) if options["metadata"] else None
            return {"op": op, "runIds": options["run_ids"] or None, "metadata": metadata}
        if op == "validate":
            path = options["file"]
            data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
            return {"op": op, "trace": jsjson.loads(data), "allowBundle": not options["no_bundle"]}
        raise RequestError(f"Unknown op {op!r}.")

    def _batch(self, store: RunStore) -> None:
        snapshot = SnapshotStore(store)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer: dict[str, Any] = {"ok": True, "result": run_operation(snapshot, jsjson.loads(line))}
            except (RunStoreError, RequestError, jsjson.JSONParseError, LookupError, ValueError) as error:
                answer = {"ok": False, "error": str(error) or type(error).__name__}
            self.stdout.write(jsjson.dumps(answer))
            self.stdout.flush()
