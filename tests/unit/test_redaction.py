"""Secrets never leave the store wrapper; ids, structure and clean data come through unchanged."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from runtime_adapter.inspectors import (
    build_tree,
    create_incident_report,
    diff_traces,
    export_bundle,
    render_tree,
    summarize,
)
from runtime_adapter.js import jsjson
from runtime_adapter.queries.listing import redacted_row, run_row
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.records import CorruptRun, StoreEntry, normalize_run
from runtime_adapter.redaction import (
    REPLACEMENT,
    is_sensitive_key,
    redact_run,
    redact_text,
    redact_value,
    scrub,
)
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.indexed import IndexedFileRunStore
from runtime_adapter.stores.memory import InMemoryRunStore
from runtime_adapter.stores.redacting import RedactingStore
from tests.conformance import CONFORMANCE_DIR, require_corpus
from tests.factories import run_record
from tests.fixtures.hostile import SECRETS, secret_id, secret_record, secret_store
from tests.parity import assert_redacted_search_parity, assert_store_parity, varied_records, write_run

SHAPES = [pytest.param(secret, id=secret.name) for secret in SECRETS]


def text_of_everything(value: object) -> str:
    return jsjson.dumps(value)


@pytest.mark.parametrize("secret", SHAPES)
def test_every_secret_shape_is_gone_from_the_redacted_run(secret):
    record = secret_record(secret)
    assert secret.value in text_of_everything(record)
    redacted = redact_run(record)
    assert secret.value not in text_of_everything(redacted)
    assert REPLACEMENT in text_of_everything(redacted)


@pytest.mark.parametrize("secret", SHAPES)
def test_every_secret_shape_is_gone_from_the_listing_row(secret):
    row = run_row(secret_record(secret))
    assert secret.value in row.input_text + row.output_text + row.error_text
    redacted = redacted_row(secret_record(secret))
    assert secret.value not in jsjson.dumps(redacted.as_dict())


def test_sensitive_keys_follow_the_runtime_redactor():
    listed = ["authorization", "apiKey", "api_key", "auth", "authToken", "password", "secret", "token",
              "accessToken", "refreshToken", "sessionToken", "ssn", "email", "phone"]
    assert all(is_sensitive_key(key) for key in listed)
    assert all(is_sensitive_key(key.upper()) for key in listed)
    assert all(is_sensitive_key(key) for key in ["x_api_token", "ClientSecret", "db_PASSWORD_hash", "tokenUsage"])
    assert not any(is_sensitive_key(key) for key in ["authContext", "author", "emailVerified", "city", "apiVersion"])


def test_a_sensitive_key_hides_every_string_and_number_below_it():
    value = redact_value({"auth": {"user": "bob", "pin": 1234, "scopes": ["read", "write"], "enabled": True}})
    assert value == {"auth": {"user": REPLACEMENT, "pin": REPLACEMENT, "scopes": [REPLACEMENT, REPLACEMENT],
                              "enabled": True}}


def test_token_counts_stay_numbers_so_usage_and_cost_still_add_up():
    record = secret_record(SECRETS[0])
    record["steps"][0]["output"] = {"usage": {"prompt_tokens": 12, "total_tokens": 20}, "maxTokens": 512}
    redacted = redact_run(record)
    assert redacted["metrics"]["tokenUsage"] == {"prompt": 11, "completion": 7, "total": 18}
    assert redacted["steps"][0]["output"] == {"usage": {"prompt_tokens": 12, "total_tokens": 20}, "maxTokens": 512}
    for key in ("tokenUsage", "cost", "timings"):
        assert summarize(redacted)["metrics"][key] == summarize(record)["metrics"][key]


def test_the_run_id_status_timestamps_and_lineage_are_never_rewritten_even_when_they_look_like_keys():
    looks_secret = "sk-proj-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    record = run_record(looks_secret, parent="Bearer 0123456789abcdef", status="sk-live-status-0123456789abcdef",
                        children=["ghp_" + "a" * 36])
    redacted = redact_run(record)
    assert redacted["id"] == looks_secret
    assert redacted["status"] == record["status"]
    assert redacted["timestamps"] == record["timestamps"]
    assert redacted["metadata"]["lineage"] == record["metadata"]["lineage"]
    row = redacted_row(record)
    assert (row.id, row.status, row.parent_run_id) == (looks_secret, record["status"], "Bearer 0123456789abcdef")


def test_a_key_that_is_itself_a_credential_is_redacted_and_keys_stay_distinct():
    value = redact_value({"sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA": 1, "sk-proj-BBBBBBBBBBBBBBBBBBBBBBBB": 2})
    assert value == {REPLACEMENT: 1, f"{REPLACEMENT} #2": 2}


def test_inspectors_give_the_same_shape_on_redacted_runs():
    parent = secret_record(SECRETS[0])
    child = secret_record(SECRETS[1], run_id="child", parent=parent["id"])
    child["metadata"]["lineage"]["rootRunId"] = parent["id"]
    raw_forest = build_tree([parent, child])
    forest = build_tree([redact_run(parent), redact_run(child)])
    assert render_tree(forest) == render_tree(raw_forest)
    assert forest[0]["subtreeMetrics"] == raw_forest[0]["subtreeMetrics"]
    store = RedactingStore(InMemoryRunStore([parent, child]))
    report = create_incident_report(store, "child", parent["id"])
    assert report["runId"] == "child"
    assert {report["comparison"]["leftRunId"], report["comparison"]["rightRunId"]} == {"child", parent["id"]}
    assert report["renderedRunTree"] == render_tree(build_tree([parent, child], parent["id"]))
    assert SECRETS[1].value not in jsjson.dumps(report)
    diff = diff_traces(store.get_run(parent["id"]), store.get_run("child"))
    assert diff["leftRunId"] == parent["id"] and diff["rightRunId"] == "child"
    bundle = export_bundle(store.list_runs())
    assert [trace["run"]["id"] for trace in bundle["traces"]] == [parent["id"], "child"]


def test_clean_runtime_runs_come_through_redaction_unchanged():
    stores = sorted(require_corpus(CONFORMANCE_DIR / "stores").iterdir())
    count = 0
    for directory in stores:
        for entry in FileRunStore(directory).iter_entries():
            assert entry.run is not None
            assert redact_run(entry.run) == entry.run, entry.source
            assert redacted_row(entry.run, entry.source) == run_row(entry.run, entry.source)
            count += 1
    assert count == sum(1 for directory in stores for _ in directory.glob("*.json")) > 0  # every file, read


@pytest.mark.parametrize("text", [
    "the token expired before the call", "basic information", "a bearer of bad news", "scope email:send",
    "token:read", "the author: Jane", "max_tokens=500", "550e8400-e29b-41d4-a716-446655440000",
    "2026-03-01T10:00:00.000Z", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8", "sk-short",
    "https://example.com/path?page=2", "Tool \"delete_records\" is not in the policy allowlist.",
])
def test_ordinary_text_is_left_alone(text):
    assert redact_text(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer abc123def456ghi", "Authorization: Bearer [REDACTED]"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: [REDACTED]"),
    ("postgres://svc:pw-123@db/x", "postgres://svc:[REDACTED]@db/x"),
    ('{"password": "a\\"b", "city": "Paris"}', '{"password": "[REDACTED]", "city": "Paris"}'),
    ("{'secret': 'xyz', 'n': 1}", "{'secret': '[REDACTED]', 'n': 1}"),
    ("API_KEY=abc OTHER=1", "API_KEY=[REDACTED] OTHER=1"),
    ("E-mail: ops@example.com", "E-mail: [REDACTED]"),
])
def test_credentials_inside_text_are_replaced_in_place(text, expected):
    assert redact_text(text) == expected


def test_listing_text_of_structured_values_is_that_of_the_redacted_value():
    row = redacted_row(run_record("r", input={"auth": {"user": "bob"}, "n": 1}))
    assert row.input_text == '{"auth":{"user":"[REDACTED]"},"n":1}'
    long = redacted_row(run_record("r", input={"note": "x", "password": "hunter2-very-long", "pad": "p" * 3000}))
    assert "hunter2" not in long.input_text and long.input_text.endswith("…")


def test_unpaired_surrogates_become_replacement_characters_with_or_without_secrets():
    record = run_record("s", input="bad \udc00 text", metadata={"k\ud800": "v"})
    for secrets in (True, False):
        cleaned = redact_run(record, secrets=secrets)
        text = jsjson.dumps(cleaned)
        cleaned_input = cleaned["input"]
        assert cleaned_input == "bad \ufffd text"
        assert "k\ufffd" in cleaned["metadata"]
        text.encode("utf-8")
    assert scrub("ok") == "ok"


def test_with_secrets_off_values_are_shown_as_stored():
    record = secret_record(SECRETS[0])
    assert redact_run(record, secrets=False) == record


def test_redaction_takes_linear_time_on_hostile_megabytes():
    hostile = ["eyJ" * 700_000, "token=" * 350_000, '"password":"' * 170_000, "a://b:" * 350_000,
               "-----BEGIN RSA PRIVATE KEY-----" * 70_000, "bearer " * 300_000]
    started = time.monotonic()
    for text in hostile:
        redact_text(text)
    assert time.monotonic() - started < 10


def test_deeply_nested_values_are_redacted_without_recursion():
    value: object = {"password": "x"}
    for _ in range(50_000):
        value = {"a": [value]}
    redacted = redact_value(value)
    for _ in range(50_000):
        redacted = redacted["a"][0]
    assert redacted == {"password": REPLACEMENT}


# --- the store wrapper ------------------------------------------------------


@pytest.fixture
def secrets_store() -> InMemoryRunStore:
    records = [secret_record(secret) for secret in SECRETS]
    child = secret_record(SECRETS[0], run_id="child", parent=secret_id(SECRETS[0]))
    child["metadata"]["lineage"]["rootRunId"] = secret_id(SECRETS[0])
    replay = secret_record(SECRETS[2], run_id="replay")
    replay["metadata"]["replaySourceRunId"] = secret_id(SECRETS[2])
    broken = StoreEntry(source="broken.json", error=f'record id "{SECRETS[0].value}" does not match its file name')
    return InMemoryRunStore([*records, child, replay], errors=[broken])


def all_text(store: RunStore) -> str:
    parts = [jsjson.dumps(run) for run in store.list_runs()]
    parts += [entry.error or "" for entry in store.list_errors()]
    parts += [jsjson.dumps(row.as_dict()) for row in store.rows()]
    page = store.query_runs(RunQuery(limit=500))
    parts += [jsjson.dumps(row.as_dict()) for row in page.rows] + [entry.error or "" for entry in page.errors]
    parts += [jsjson.dumps(row.as_dict()) for row in store.query_incidents(RunQuery(limit=500)).rows]
    ids = [secret_id(secret) for secret in SECRETS]
    parts += [jsjson.dumps(row.as_dict()) for row in store.rows_by_id(ids).values()]
    for run_id in ids:
        parts.append(jsjson.dumps(store.get_run(run_id)))
        parts += [jsjson.dumps(row.as_dict()) for rows in store.related_rows(run_id).values() for row in rows]
        parts += [jsjson.dumps(row.as_dict()) for row in store.replay_rows(run_id)]
        parts += [jsjson.dumps(run) for run in store.iter_family(run_id)]
    parts += store.releases()
    return "\n".join(parts)


def test_no_store_answer_carries_a_secret(secrets_store):
    raw = all_text(secrets_store)
    text = all_text(RedactingStore(secrets_store))
    for secret in SECRETS:
        assert secret.value in raw
        assert secret.value not in text, secret.name


def test_every_port_method_is_redacted_or_built_on_redacted_ones():
    # A method added to the port later must be wrapped here too, or it would bypass redaction.
    derived = {"iter_runs", "list_runs"}
    port = {name for name in vars(RunStore) if not name.startswith("_") and callable(getattr(RunStore, name))}
    missing = {name for name in port - derived if name not in vars(RedactingStore)}
    assert missing == set()


def test_the_wrapper_does_not_forward_other_attributes(tmp_path):
    secret_store(tmp_path / "runs")
    store = RedactingStore(FileRunStore(tmp_path / "runs"))
    with pytest.raises(AttributeError):
        store.read_entry  # noqa: B018 - raw file access would bypass redaction


def test_a_text_search_cannot_confirm_a_secret_letter_by_letter(secrets_store):
    store = RedactingStore(secrets_store)
    prefix = SECRETS[0].value[:12]
    assert secrets_store.query_runs(RunQuery(text=prefix)).total >= 1
    page = store.query_runs(RunQuery(text=prefix))
    assert (page.total, page.rows) == (0, [])
    assert store.query_incidents(RunQuery(text=prefix)).total == 0


def test_searching_for_visible_text_still_finds_runs_and_pages_agree(secrets_store):
    store = RedactingStore(secrets_store)
    everything = store.query_runs(RunQuery(text="secret", limit=500))
    assert everything.total == len(SECRETS)  # every secret-* id; "child" and "replay" do not match
    first = store.query_runs(RunQuery(text="secret", limit=10))
    second = store.query_runs(RunQuery(text="secret", limit=10, offset=10))
    assert first.total == everything.total
    assert [row.id for row in first.rows + second.rows] == [row.id for row in everything.rows[:20]]


def test_corrupt_run_errors_do_not_quote_secrets():
    class Broken(InMemoryRunStore):
        def get_run(self, run_id: str):
            raise CorruptRun(f"{run_id}.json", f'record id "{SECRETS[0].value}" does not match its file name')

    with pytest.raises(CorruptRun) as error:
        RedactingStore(Broken()).get_run("x")
    assert SECRETS[0].value not in str(error.value)
    assert "does not match its file name" in error.value.reason


def test_same_input_candidates_are_found_for_a_redacted_input():
    first = run_record("first", input="call with sk-proj-Q3vX9fT2mL8rW1zK7pB4nY6hJ0cD5gA now")
    second = run_record("second", input="call with sk-proj-Q3vX9fT2mL8rW1zK7pB4nY6hJ0cD5gA now", created="2026-01-02")
    store = RedactingStore(InMemoryRunStore([first, second]))
    redacted_input = store.get_run("first")["input"]
    assert redacted_input == f"call with {REPLACEMENT} now"
    assert [row.id for row in store.rows_with_input(redacted_input)] == ["second", "first"]


def test_redacted_and_plain_stores_never_share_a_cache_key(secrets_store):
    assert RedactingStore(secrets_store).change_marker() != RedactingStore(secrets_store, secrets=False).change_marker()


def test_an_indexed_store_of_redacted_rows_shows_and_finds_no_secret(tmp_path: Path):
    secret_store(tmp_path / "runs")
    inner = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False,
                                redact_rows=True)
    try:
        store = RedactingStore(inner)
        rows = store.query_runs(RunQuery(limit=500)).rows
        assert len(rows) == len(SECRETS) + 2
        text = jsjson.dumps([row.as_dict() for row in rows])
        assert not [secret.name for secret in SECRETS if secret.value in text]
        assert store.query_runs(RunQuery(text=SECRETS[5].value[:10])).total == 0
        assert store.query_runs(RunQuery(text="secret")).total == len(SECRETS) + 2
    finally:
        inner.close()


def test_row_ids_are_kept_while_text_is_redacted():
    record = secret_record(SECRETS[0], run_id="sk-proj-ZZZZZZZZZZZZZZZZZZZZZZZZ")
    row, redacted = run_row(record), redacted_row(record)
    assert redacted.id == row.id and redacted.root_run_id == row.root_run_id
    assert SECRETS[0].value not in redacted.top_recommendation
    assert SECRETS[0].value not in (redacted.message_template or "")
    # What is made of redacted text differs with it: the failure's template (so its cluster) and the input key.
    text_fields = ("input_text", "output_text", "error_text", "top_recommendation", "message_template", "cluster_id",
                   "input_key")
    assert replace(redacted, **{name: getattr(row, name) for name in text_fields}) == row


def _secrets_and_plain_runs(directory: Path) -> None:
    secret_store(directory)
    for record in varied_records():
        write_run(directory, record)


def test_a_redacted_row_is_the_row_of_the_redacted_run(tmp_path: Path):
    from tests.fixtures.hostile import hostile_store
    from write_side.synthetic.plan import generate_runs

    _secrets_and_plain_runs(tmp_path / "secrets")
    hostile_store(tmp_path / "hostile")
    runs = [*FileRunStore(tmp_path / "secrets").list_runs(), *FileRunStore(tmp_path / "hostile").list_runs()]
    runs += [normalize_run(record) for record, _ in zip(generate_runs(60, seed=3), range(60), strict=False)]
    for run in runs:
        for secrets in (True, False):
            assert redacted_row(run, "s.json", secrets=secrets) == run_row(redact_run(run, secrets=secrets), "s.json")


@pytest.mark.parametrize("kind", ["memory", "indexed"])
def test_searches_through_redaction_match_the_scanning_reference(tmp_path: Path, kind: str):
    _secrets_and_plain_runs(tmp_path / "runs")
    reference = RedactingStore(FileRunStore(tmp_path / "runs"))
    if kind == "memory":
        inner: RunStore = InMemoryRunStore(FileRunStore(tmp_path / "runs").list_runs())
    else:
        inner = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False,
                                    redact_rows=True)
    try:
        store = RedactingStore(inner)
        # Every third shape: each search scans the reference's files again.
        assert assert_redacted_search_parity(store, reference, [secret.value for secret in SECRETS[::3]]) > 100
        if kind == "indexed":
            assert assert_store_parity(store, reference) > 100
    finally:
        inner.close()
