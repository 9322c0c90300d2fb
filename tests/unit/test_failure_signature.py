from __future__ import annotations

import dataclasses

import pytest

from runtime_adapter.queries.failure_signature import (
    TEMPLATE_LIMIT,
    FailureSignature,
    failure_signature,
    message_template,
)


def test_messages_differing_only_in_numbers_and_request_ids_share_a_template():
    first = message_template("Refund provider returned 429 for order 1234 (request 8f3a…)")
    second = message_template("Refund provider returned 503 for order 98 (request c01d…)")
    assert first == second == "Refund provider returned <n> for order <n> (request <hex>)"


def test_a_duration_keeps_the_sentence_around_it():
    assert message_template("Upstream timeout after 30s.") == "Upstream timeout after <duration>."


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("GET https://api.example.com/v1/orders/1234?x=5 failed.", "GET <url> failed."),
        ("see (http://example.com/a_b)", "see (<url>)"),
        ("No user with e-mail jane.doe+test@example.co.uk", "No user with e-mail <email>"),
        ("Run 550e8400-e29b-41d4-a716-446655440000 not found", "Run <uuid> not found"),
        ("Run run_550E8400-E29B-41D4-A716-446655440000 not found", "Run run_<uuid> not found"),
        ("Deadline 2026-11-24T12:00:00.123Z exceeded", "Deadline <timestamp> exceeded"),
        ("Deadline 2026-11-24 12:00:00+01:00 exceeded", "Deadline <timestamp> exceeded"),
        ("Closed on 2026-11-24.", "Closed on <timestamp>."),
        ("Retry at 12:00:05", "Retry at <timestamp>"),
        ("Retry-After: Tue, 24 Nov 2026 12:00:00 GMT", "Retry-After: <timestamp>"),
        ("took 250ms", "took <duration>"),
        ("took 1.5 h", "took <duration>"),
        ("took 2m", "took <duration>"),
        ("took 1m30s", "took <duration>"),
        ("took 5 minutes", "took <duration>"),
        ("commit deadbeef12 and 0x1F2e", "commit <hex> and <hex>"),
        ("digest 5d41402abc4b2a76b9719d911017c592", "digest <hex>"),
        ("request 8f3a... aborted", "request <hex> aborted"),
        ("run_abc123 waits for req-9f2", "<id> waits for <id>"),
        (
            "Tool 'search_web' failed: KeyError: \"user_id\" in `cfg`",
            "Tool <value> failed: KeyError: <value> in <value>",
        ),
        ("line 12, column -5, value 1.5e-3, total 1,234,567", "line <n>, column <n>, value <n>, total <n>"),
        ("peer 10.0.0.1:8080 is 50% full", "peer <n>:<n> is <n>% full"),
    ],
)
def test_each_varying_part_becomes_its_placeholder(message, template):
    assert message_template(message) == template


def test_urls_and_addresses_are_caught_before_the_numbers_inside_them():
    assert message_template("https://x.test/a/1 and https://x.test/b/22") == "<url> and <url>"
    assert message_template("bob42@example.com") == "<email>"


def test_words_made_of_hex_letters_and_apostrophes_are_left_alone():
    assert (
        message_template("Can't decode the facade, users' data is added")
        == "Can't decode the facade, users' data is added"
    )


def test_a_message_of_placeholders_only_is_a_template():
    assert message_template("1234") == "<n>"
    assert message_template("550e8400-e29b-41d4-a716-446655440000") == "<uuid>"
    assert message_template("'x'") == "<value>"


def test_an_empty_message_has_an_empty_template():
    assert message_template("") == ""
    assert message_template(None) == ""
    assert message_template(" \n\t ") == ""


def test_whitespace_is_collapsed_and_terminal_colours_dropped():
    assert message_template("\x1b[31mError\x1b[0m:\tconnection\n\n reset ") == "Error: connection reset"


def test_bidi_and_zero_width_characters_are_dropped_other_unicode_kept():
    assert message_template("rate \u202eEVIL\u202c limit\u200b 5 für Äpfel 😀") == "rate EVIL limit <n> für Äpfel 😀"


def test_lone_surrogates_do_not_raise():
    template = message_template("bad \ud800 surrogate 42 \udfff")
    assert template == "bad \ud800 surrogate <n> \udfff"
    assert failure_signature(
        incident_type="\udc00", step_type="", tool_name="", error_name="", message="\ud800"
    ).cluster_id


def test_a_template_is_its_own_template():
    for message in (
        "Refund provider returned 429 for order 1234 (request 8f3a…)",
        "run_abc123 waits 30s for 'x' at 2026-01-01",
    ):
        template = message_template(message)
        assert message_template(template) == template


def test_long_messages_are_capped():
    template = message_template("word " * 1000)
    assert len(template) == TEMPLATE_LIMIT
    assert template.endswith("…")


# Repeated to a megabyte, each unit makes some pattern try (and fail) at many positions.
HOSTILE_UNITS = ["a", "1", "a@", "a.", "a+", "_1", "1-", "a-1-", "1.", "1 ", "1m", "-1e", "abc123", "abcd", "12:"]
HOSTILE_UNITS += ["http://", "x@a.", "'a", "' ", '"', "`a ", "2026-01-01T", "Mon, 1 Jan ", "\ud800", "\u202e"]


@pytest.mark.parametrize("unit", HOSTILE_UNITS)
def test_a_megabyte_of_hostile_input_returns_a_short_template(unit):
    template = message_template(unit * (1_000_000 // len(unit)))
    assert isinstance(template, str)
    assert len(template) <= TEMPLATE_LIMIT


SIGNATURE = FailureSignature(
    incident_type="tool_error",
    step_type="tool_call",
    tool_name="refund",
    error_name="HttpError",
    message_template="Refund provider returned <n> for order <n> (request <hex>)",
)


def test_cluster_id_is_a_stable_short_hash():
    # Computed once; it must not change between processes, machines or releases.
    assert SIGNATURE.cluster_id == "9e6b0b128fffbc04"


def test_cluster_id_changes_with_every_field():
    ids = {SIGNATURE.cluster_id}
    for field in dataclasses.fields(FailureSignature):
        ids.add(dataclasses.replace(SIGNATURE, **{field.name: getattr(SIGNATURE, field.name) + "x"}).cluster_id)
    assert len(ids) == 1 + len(dataclasses.fields(FailureSignature))


def test_cluster_id_does_not_confuse_fields():
    assert FailureSignature("a", "", "", "", "").cluster_id != FailureSignature("", "a", "", "", "").cluster_id


def test_failure_signature_templates_the_message_and_normalises_fields():
    signature = failure_signature(
        incident_type="tool_error",
        step_type=" tool_call ",
        tool_name="refund",
        error_name="HttpError",
        message="Refund provider returned 503 for order 98 (request c01d…)",
    )
    assert signature == SIGNATURE
    empty = failure_signature(incident_type=None, step_type=None, tool_name=None, error_name=None, message=None)
    assert empty == FailureSignature("", "", "", "", "")
