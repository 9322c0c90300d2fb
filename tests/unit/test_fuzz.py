"""Property-based fuzzing of everything that parses or walks untrusted run data.

Deterministic (`derandomize=True`), no deadline, 11,900 examples in total. Each
property is "no unhandled exception, no hang": the only errors allowed are the
domain errors the views turn into 400/422 pages.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_adapter.inspectors import build_tree, diff_traces, import_bundle, render_tree, summarize, validate_trace
from runtime_adapter.inspectors.serializer import BUNDLE_FORMAT, RUN_FORMAT, SCHEMA_VERSION, InvalidTrace
from runtime_adapter.js import jsjson
from runtime_adapter.js.jsjson import JSONParseError
from runtime_adapter.queries.listing import run_row
from runtime_adapter.records import RUN_KEYS, InvalidRunId, check_run_id, normalize_run
from runtime_adapter.redaction import REPLACEMENT, is_count_key, is_sensitive_key, redact_run, redact_text, redact_value
from runtime_adapter.stores.bundle import InvalidBundle, entries_from_bundle
from tests.factories import run_record
from tests.fixtures.hostile import within


def fuzz(examples: int):  # type: ignore[no-untyped-def]
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# Strings that matter: markup, keys the redactor knows, JSON punctuation, surrogates, controls.
interesting = st.sampled_from([
    "", "id", "status", "steps", "metadata", "lineage", "parentRunId", "token", "apiKey", "password", "tokenUsage",
    "<script>", "\udc00", "\x00", "__proto__", "constructor", "0", "10", "-1", "sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA",
    "Bearer abcdefgh12345678", "eyJabcdefghij.eyJabcdefghij.sig", '"', "\\", "\u2028", "…",
])
text = st.one_of(interesting, st.text(max_size=12))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False), text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
    max_leaves=12,
)


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values: JS has one number type, so 1.0 reads back as 1."""
    if isinstance(left, float) or isinstance(right, float):
        return isinstance(right, (int, float)) and isinstance(left, (int, float)) and math.isclose(
            left, right, rel_tol=1e-15, abs_tol=0)
    if isinstance(left, dict):
        return isinstance(right, dict) and left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(same_json, left, right))
    return type(left) is type(right) and left == right


# --- parsing ---------------------------------------------------------------


@fuzz(2000)
@given(st.one_of(st.text(), st.binary(), st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \\u\n')))
def test_parsing_any_text_or_bytes_returns_json_or_a_parse_error(raw):
    try:
        jsjson.loads(raw)
    except JSONParseError:
        pass


@fuzz(1500)
@given(json_values)
def test_what_we_write_we_read_back(value):
    assert same_json(jsjson.loads(jsjson.dumps(value)), value)
    assert same_json(jsjson.loads(jsjson.dumps(value, 2)), value)


@fuzz(300)
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from("[{"))
def test_nesting_at_any_depth_parses_or_is_a_parse_error(depth, opener):
    closer = "]" if opener == "[" else "}"
    body = opener * depth + closer * depth if opener == "[" else '{"a":' * depth + "1" + "}" * depth
    try:
        jsjson.loads(body)
    except JSONParseError:
        pass


# --- normalising and the listing row ---------------------------------------

# Generation dominates the run time: a few run keys per record keeps 10k+ examples under a minute.
run_like = st.dictionaries(st.sampled_from(RUN_KEYS), json_values, max_size=5)


@fuzz(1500)
@given(st.one_of(json_values, run_like))
def test_any_json_value_normalises_to_a_run_that_lists_and_summarises(value):
    run = normalize_run(value)
    assert list(run) == list(RUN_KEYS)
    run_row(run)
    summarize(run)
    jsjson.dumps(redact_run(run))


# --- bundles and traces ----------------------------------------------------

trace_like = st.fixed_dictionaries(
    {"format": st.sampled_from([RUN_FORMAT, BUNDLE_FORMAT, "other"])},
    optional={"schemaVersion": st.one_of(st.just(SCHEMA_VERSION), text), "exportedAt": json_values,
              "metadata": json_values, "run": st.one_of(run_like, json_values)},
)
bundle_like = st.fixed_dictionaries(
    {"format": st.just(BUNDLE_FORMAT), "schemaVersion": st.one_of(st.just(SCHEMA_VERSION), text)},
    optional={"traces": st.one_of(st.lists(st.one_of(trace_like, json_values), max_size=4), json_values),
              "exportedAt": json_values, "metadata": json_values},
)


@fuzz(1200)
@given(st.one_of(bundle_like, trace_like, json_values), st.booleans())
def test_validating_and_importing_any_json_never_crashes(payload, allow_bundle):
    result = validate_trace(payload, allow_bundle)
    assert isinstance(result["valid"], bool) and all(isinstance(e, str) for e in result["errors"])
    try:
        runs = import_bundle(payload)
    except InvalidTrace:
        pass
    else:
        assert all(list(run) == list(RUN_KEYS) for run in runs)
    try:
        entries = entries_from_bundle(payload)
    except InvalidBundle:
        pass
    else:
        assert all(entry.ok or entry.error for entry in entries)


# --- lineage graphs --------------------------------------------------------

ids = st.sampled_from([f"r{index}" for index in range(12)])


@st.composite
def lineage_graphs(draw):  # type: ignore[no-untyped-def]
    """Runs with random parent links: missing parents, self-parents and cycles included."""
    run_ids = draw(st.lists(ids, min_size=1, max_size=12, unique=True))
    runs = []
    for run_id in run_ids:
        parent = draw(st.one_of(st.none(), ids, st.sampled_from(run_ids)))
        created = draw(st.sampled_from(["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "b", "A"]))
        runs.append(run_record(run_id, parent=parent, created=created,
                               metrics={"tokenUsage": {"total": draw(st.integers(0, 9))}, "cost": 0.5}))
    return runs


def tree_ids(nodes: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(ids of real nodes, ids of cycle stubs) in a built forest, walked without recursion."""
    real, stubs, stack = [], [], list(nodes)
    while stack:
        node = stack.pop()
        (stubs if node.get("lineageCycle") and not node.get("summary") else real).append(node["id"])
        stack.extend(node["children"])
    return real, stubs


@fuzz(1200)
@given(lineage_graphs())
def test_any_lineage_graph_builds_a_forest_with_every_run_exactly_once(runs):
    with within(5):
        forest = build_tree(runs)
        text = render_tree(forest)
    real, stubs = tree_ids(forest)
    assert sorted(real) == sorted(run["id"] for run in runs)
    assert set(stubs) <= set(real)
    assert len(text.splitlines()) == len(real) + len(stubs)
    assert sum(root["subtreeMetrics"]["runCount"] for root in forest) == len(runs)


@fuzz(500)
@given(lineage_graphs(), st.data())
def test_any_subtree_of_any_lineage_graph_terminates(runs, data):
    root = data.draw(st.sampled_from([run["id"] for run in runs] + ["absent"]))
    with within(5):
        tree = build_tree(runs, root)
        render_tree(tree)
    assert tree is None if root == "absent" else tree["id"] == root


# --- diffs, redaction, ids -------------------------------------------------

step_like = st.one_of(scalars, st.dictionaries(st.sampled_from(["id", "type", "status", "toolName", "name"]), text,
                                               max_size=3))
diffable = st.fixed_dictionaries({"id": text}, optional={
    "status": scalars, "output": json_values, "steps": st.lists(step_like, max_size=4),
    "events": st.lists(st.one_of(scalars, st.fixed_dictionaries({"type": text})), max_size=4),
    "toolCalls": st.lists(step_like, max_size=3)})


@fuzz(1200)
@given(diffable, diffable)
def test_diffing_any_two_runs_never_crashes(left, right):
    diff = diff_traces(normalize_run(left), normalize_run(right))
    jsjson.dumps(diff)


@fuzz(1000)
@given(json_values)
def test_redaction_never_crashes_and_leaves_no_string_under_a_sensitive_key(value):
    redacted = redact_value(value)
    jsjson.dumps(redacted).encode("utf-8")  # surrogates scrubbed: always encodable
    # (node, inside a token-count key): counts keep their numbers, every other secret loses them.
    stack: list[tuple[Any, bool]] = [(redacted, False)]
    while stack:
        node, counts = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            sensitive = isinstance(node, dict) and is_sensitive_key(key)
            if sensitive and isinstance(child, str):
                assert child == REPLACEMENT
            if sensitive and not counts and not is_count_key(key):
                assert isinstance(child, (bool, str, list, dict)) or child is None
            stack.append((child, counts or (sensitive and is_count_key(key))))


@fuzz(500)
@given(st.text(max_size=200))
def test_redacting_text_is_idempotent(raw):
    once = redact_text(raw)
    assert redact_text(once) == once


@fuzz(1000)
@given(st.one_of(text, st.text(alphabet="./\\\x00ab", max_size=8)))
def test_run_ids_are_plain_file_names_or_refused(run_id):
    try:
        checked = check_run_id(run_id)
    except InvalidRunId:
        return
    assert checked not in ("", ".", "..")
    assert not set(checked) & {"/", "\\", "\x00"}
