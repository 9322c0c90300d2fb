"""Reading FileLayerStore files: the runtime's record format, its lazy expiry, raw values, broken files
as a layer's error, redaction, key search and cursors."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from runtime_adapter.durable import memory
from runtime_adapter.durable.memory import (
    MemoryQuery,
    UnknownLayer,
    decode_cursor,
    has_expired,
    memory_pages,
    page_layer,
    read_layer,
)
from runtime_adapter.present.memory_view import entry_view, expiry_note, json_text, time_text

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW_MS = 1795521600000

# Written by the runtime 1.3.3 itself: Memory.setProfile(...) ×3 through a FileLayerStore, then
# store.set('legacy', …) directly, with Date.now pinned to 2026-11-20T09:00Z (+1 min each).
RUNTIME_PROFILE = """{
  "2024": {
    "value": "a year",
    "createdAt": 1795165320000,
    "updatedAt": 1795165320000,
    "expiresAt": null,
    "metadata": {}
  },
  "customer:acme": {
    "value": {
      "tier": "gold",
      "contact": "Ana"
    },
    "createdAt": 1795165200000,
    "updatedAt": 1795165200000,
    "expiresAt": null,
    "metadata": {
      "source": "crm",
      "runId": "run-1"
    }
  },
  "discount": {
    "value": 15,
    "createdAt": 1795165260000,
    "updatedAt": 1795165260000,
    "expiresAt": 1795168860000,
    "metadata": {}
  },
  "legacy": "written to the store directly"
}"""


def record(value, at=1795500000000, expires=None, metadata=None):
    return {"value": value, "createdAt": at, "updatedAt": at, "expiresAt": expires, "metadata": metadata or {}}


def write(tmp_path, name, payload) -> os.PathLike:
    path = tmp_path / f"{name}.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload, indent=2), encoding="utf-8")
    return path


def entries(tmp_path, payload, *, secrets=True, **query):
    layer = read_layer("layer", write(tmp_path, "layer", payload), now=NOW, secrets=secrets)
    assert layer.error is None
    return list(page_layer(layer, MemoryQuery(**query), secrets=secrets).entries)


# The runtime's format -----------------------------------------------------------------------------

def test_a_layer_written_by_the_runtime_reads_as_its_records_in_the_runtimes_key_order(tmp_path):
    shown = entries(tmp_path, RUNTIME_PROFILE)
    assert [entry.key for entry in shown] == ["2024", "customer:acme", "discount", "legacy"]
    acme = shown[1]
    assert acme.record is True
    assert acme.value == {"tier": "gold", "contact": "Ana"}
    assert (acme.created_at, acme.updated_at, acme.expires_at) == (1795165200000, 1795165200000, None)
    assert acme.metadata == {"source": "crm", "runId": "run-1"}
    assert acme.expired is False


def test_a_ttl_that_has_passed_marks_the_record_expired_while_it_stays_in_the_file(tmp_path):
    discount = entries(tmp_path, RUNTIME_PROFILE)[2]
    assert discount.expires_at == 1795168860000 < NOW_MS
    assert discount.expired is True
    assert discount.as_api()["expired"] is True


def test_a_value_set_on_the_store_directly_is_shown_whole_as_a_raw_value(tmp_path):
    legacy = entries(tmp_path, RUNTIME_PROFILE)[3]
    assert legacy.record is False
    assert legacy.value == "written to the store directly"
    assert (legacy.created_at, legacy.updated_at, legacy.expires_at, legacy.expired) == (None, None, None, False)


@pytest.mark.parametrize("stored", [
    {"createdAt": 1},  # a record whose value was undefined (JSON.stringify dropped it)
    {"value": 1},  # no times: not what Memory writes
    {"name": "Acme", "tier": "gold"},
    [1, 2, 3],
    42,
    None,
])
def test_values_that_are_not_memorys_records_are_kept_exactly_as_stored(tmp_path, stored):
    (entry,) = entries(tmp_path, {"k": stored})
    assert entry.record is False
    assert entry.value == stored


def test_api_entries_carry_the_keys_the_issue_names(tmp_path):
    api = entries(tmp_path, RUNTIME_PROFILE)[1].as_api()
    assert {"key", "value", "updatedAt", "expiresAt", "expired"} <= set(api)
    assert api["updatedAt"] == 1795165200000


def test_a_key_with_capitals_is_flagged_as_one_memory_never_reads(tmp_path):
    upper, lower = entries(tmp_path, {"MigrationNote": "x", "task:acme": record(1)})
    assert upper.memory_reads is False and lower.memory_reads is True


# Expiry as the runtime decides it: `expiresAt && expiresAt < Date.now()` -------------------------

@pytest.mark.parametrize(("expires_at", "expired"), [
    (None, False),
    (0, False),  # falsy: never expires
    (NOW_MS - 1, True),
    (NOW_MS, False),  # strictly before now
    (NOW_MS + 1, False),
    (str(NOW_MS - 1), True),  # a numeric string compares as its number
    ("2026-01-01T00:00:00.000Z", False),  # NaN: the comparison is never true
    ("", False),
    ([], True),  # truthy, and Number([]) is 0
    ({}, False),  # Number({}) is NaN
    (True, True),  # 1 < now
    ("0x10", True),
])
def test_expiry_follows_the_runtimes_comparison(expires_at, expired):
    assert has_expired({"value": 1, "createdAt": 1, "expiresAt": expires_at}, NOW_MS) is expired


def test_expiry_applies_to_raw_objects_too_and_never_to_scalars():
    assert has_expired({"expiresAt": 5}, NOW_MS) is True
    assert has_expired("expiresAt", NOW_MS) is False


def test_an_expiry_the_runtime_cannot_compare_is_explained():
    assert "never expires" in expiry_note("2026-01-01T00:00:00.000Z")
    assert expiry_note(NOW_MS) is None and expiry_note(None) is None


# Broken files: the layer's error, with its reason ---------------------------------------------------

def layer_error(tmp_path, path, **options) -> str:
    layer = read_layer("broken", path, now=NOW, **options)
    assert layer.stored == ()
    assert layer.error
    return layer.error


def test_a_missing_file_says_the_runtime_would_read_it_as_an_empty_layer(tmp_path):
    assert "No file at this path" in layer_error(tmp_path, tmp_path / "absent.json")
    assert "empty layer" in layer_error(tmp_path, tmp_path / "absent.json")


def test_a_directory_is_not_a_layer_file(tmp_path):
    assert "is a directory" in layer_error(tmp_path, tmp_path)


def test_a_path_through_a_file_is_refused(tmp_path):
    write(tmp_path, "file", {})
    assert "a folder on this path is a file" in layer_error(tmp_path, tmp_path / "file.json" / "inner.json")


def test_invalid_json_names_the_position_and_a_cut_short_write(tmp_path):
    error = layer_error(tmp_path, write(tmp_path, "cut", '{\n  "a": {\n    "value": 1,'))
    assert error.startswith("Not valid JSON:")
    assert "line 3" in error
    assert "mid-write" in error


def test_an_empty_file_is_not_json(tmp_path):
    assert "empty" in layer_error(tmp_path, write(tmp_path, "empty", ""))


@pytest.mark.parametrize(("payload", "kind"), [("[1, 2]", "a JSON array"), ('"text"', "a JSON string"),
                                                ("null", "JSON null"), ("3", "a JSON number")])
def test_a_file_that_is_not_an_object_says_what_it_holds(tmp_path, payload, kind):
    error = layer_error(tmp_path, write(tmp_path, "odd", payload))
    assert error == f"The file holds {kind}, not the JSON object of key → record that FileLayerStore writes."


def test_a_huge_file_is_not_read_and_says_its_size_and_the_cap(tmp_path):
    path = write(tmp_path, "huge", {f"k{i}": record("x" * 100) for i in range(50)})
    error = layer_error(tmp_path, path, max_bytes=1024)
    assert f"{path.stat().st_size:,} bytes" in error and "1,024 bytes" in error and "not read" in error


def test_the_cap_defaults_to_the_module_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "MAX_LAYER_BYTES", 10)
    assert "not read" in layer_error(tmp_path, write(tmp_path, "small", {"a": record(1)}))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert "Not a regular file" in layer_error(tmp_path, fifo)


def test_bytes_that_are_not_utf8_are_replaced_as_node_reads_them(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"caf\xe9": {"value": "cr\xe8me", "createdAt": 1, "updatedAt": 1}}')
    (entry,) = page_layer(read_layer("l", path, now=NOW), MemoryQuery()).entries
    assert entry.key == "caf\ufffd" and entry.value == "cr\ufffdme"


def test_an_entry_nested_too_deep_is_an_error_row_and_the_others_are_shown(tmp_path):
    deep = "[" * 200 + "]" * 200
    shown = entries(tmp_path, '{"deep": ' + deep + ', "fine": {"value": 1, "createdAt": 1}}')
    assert shown[0].problem and "levels deep" in shown[0].problem and shown[0].value is None
    assert shown[1].problem is None and shown[1].value == 1


def test_a_file_nested_deeper_than_python_parses_says_so_without_blaming_the_file(tmp_path):
    error = layer_error(tmp_path, write(tmp_path, "deep", '{"k": ' + "[" * 100_000 + "]" * 100_000 + "}"))
    assert "nested too deep" in error and "the runtime itself can" in error


def test_one_broken_layer_does_not_hide_the_others(tmp_path):
    layers = {"broken": write(tmp_path, "broken", "[1]"), "missing": tmp_path / "nope.json",
              "profile": write(tmp_path, "profile", RUNTIME_PROFILE)}
    pages = memory_pages(layers, MemoryQuery(), now=NOW)
    assert [page.layer.name for page in pages] == ["broken", "missing", "profile"]
    assert pages[0].layer.error and pages[1].layer.error and pages[2].layer.error is None
    assert len(pages[2].entries) == 4
    assert "error" in pages[0].as_api() and "error" not in pages[2].as_api()


def test_reading_never_writes_the_layer_file(tmp_path):
    path = write(tmp_path, "profile", RUNTIME_PROFILE)
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    memory_pages({"profile": path}, MemoryQuery(state="expired"), now=NOW)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# Redaction -------------------------------------------------------------------------------------------

SECRET_LAYER = {
    "customer:globex:integration": record({"apiKey": "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e", "note": "password=hunter22"},
                                          metadata={"token": "abc123secret", "source": "agent"}),
    "api_token": record("plain-looking-value"),
    "sk-live-0123456789abcdefghij": "a key that is itself a credential",
}


def test_secrets_in_values_keys_and_metadata_are_redacted(tmp_path):
    integration, token, credential_key = entries(tmp_path, SECRET_LAYER)
    text = json.dumps([entry.as_api() for entry in (integration, token, credential_key)])
    assert "sk-live-" not in text and "hunter22" not in text and "abc123secret" not in text
    assert integration.value == {"apiKey": "[REDACTED]", "note": "password=[REDACTED]"}
    assert integration.metadata == {"token": "[REDACTED]", "source": "agent"}
    assert token.value == "[REDACTED]"  # under a sensitive key, the whole value goes
    assert credential_key.key == "[REDACTED]"


def test_redaction_can_be_turned_off(tmp_path):
    integration, token, credential_key = entries(tmp_path, SECRET_LAYER, secrets=False)
    assert integration.value["apiKey"] == "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
    assert token.value == "plain-looking-value"
    assert credential_key.key == "sk-live-0123456789abcdefghij"


def test_a_search_cannot_probe_for_a_redacted_key(tmp_path):
    assert entries(tmp_path, SECRET_LAYER, q="sk-live-0123") == []
    assert [entry.key for entry in entries(tmp_path, SECRET_LAYER, q="redacted")] == ["[REDACTED]"]


def test_lone_surrogates_are_scrubbed(tmp_path):
    (entry,) = entries(tmp_path, '{"k\\ud800": {"value": "v\\udc00", "createdAt": 1}}')
    assert entry.key == "k\ufffd" and entry.value == "v\ufffd"


# Search and paging -----------------------------------------------------------------------------------

def test_key_search_is_a_case_insensitive_substring(tmp_path):
    layer = {"customer:acme": record(1), "Customer:Globex": record(2), "task:acme": record(3), "policy": record(4)}
    assert [entry.key for entry in entries(tmp_path, layer, q="CUSTOMER")] == ["customer:acme", "Customer:Globex"]
    assert [entry.key for entry in entries(tmp_path, layer, q="acme")] == ["customer:acme", "task:acme"]


def test_the_state_filter_keeps_expired_or_live_entries(tmp_path):
    layer = {"old": record(1, expires=NOW_MS - 1), "new": record(2, expires=NOW_MS + 1), "forever": record(3)}
    assert [entry.key for entry in entries(tmp_path, layer, state="expired")] == ["old"]
    assert [entry.key for entry in entries(tmp_path, layer, state="live")] == ["new", "forever"]


def long_layer(count=120):
    return {f"note:{i:03d}": record(i) for i in range(count)}


def walk(path, query=MemoryQuery(layer="l", limit=50)):
    keys, cursor = [], None
    while True:
        (page,) = memory_pages({"l": path}, MemoryQuery(**{**query.__dict__, "cursor": cursor}), now=NOW)
        keys.append([entry.key for entry in page.entries])
        if page.next_cursor is None:
            return keys, page
        cursor = decode_cursor(page.next_cursor)


def test_a_long_layer_pages_through_every_key_once(tmp_path):
    pages, last = walk(write(tmp_path, "l", long_layer()))
    assert [len(keys) for keys in pages] == [50, 50, 20]
    assert sum(pages, []) == [f"note:{i:03d}" for i in range(120)]
    assert last.start == 100 and last.matched == 120 and last.total == 120


def test_a_cursor_resumes_after_its_key_when_the_file_was_rewritten_in_between(tmp_path):
    path = write(tmp_path, "l", long_layer())
    (first,) = memory_pages({"l": path}, MemoryQuery(layer="l", limit=50), now=NOW)
    # The runtime rewrote the file: two keys before the cursor's are gone.
    layer = long_layer()
    del layer["note:000"], layer["note:001"]
    write(tmp_path, "l", layer)
    (second,) = memory_pages({"l": path}, MemoryQuery(layer="l", limit=50, cursor=decode_cursor(first.next_cursor)),
                             now=NOW)
    assert second.entries[0].key == "note:050"


def test_a_cursor_whose_key_is_gone_resumes_at_the_same_place(tmp_path):
    path = write(tmp_path, "l", long_layer())
    (first,) = memory_pages({"l": path}, MemoryQuery(layer="l", limit=50), now=NOW)
    layer = long_layer()
    del layer["note:049"]
    write(tmp_path, "l", layer)
    (second,) = memory_pages({"l": path}, MemoryQuery(layer="l", limit=50, cursor=decode_cursor(first.next_cursor)),
                             now=NOW)
    assert second.entries[0].key == "note:051"


def test_a_cursor_never_carries_the_key_itself(tmp_path):
    layer = {f"sk-live-{i:020d}": record(i) for i in range(3)}
    (page,) = memory_pages({"l": write(tmp_path, "l", layer)}, MemoryQuery(layer="l", limit=1), now=NOW, secrets=False)
    import base64
    decoded = base64.urlsafe_b64decode(page.next_cursor + "==").decode()
    assert "sk-live" not in decoded


@pytest.mark.parametrize("cursor", ["", "!!", "bm90IGpzb24", "WzAsImFiYyJd", "WyJ4IiwiYWJjIl0"])
def test_a_cursor_not_made_here_is_refused(cursor):
    with pytest.raises(ValueError):
        decode_cursor(cursor)


def test_an_unknown_layer_and_a_cursor_without_a_layer_are_refused(tmp_path):
    layers = {"l": write(tmp_path, "l", {})}
    with pytest.raises(UnknownLayer):
        memory_pages(layers, MemoryQuery(layer="nope"), now=NOW)
    with pytest.raises(ValueError):
        memory_pages(layers, MemoryQuery(cursor=(1, "abc")), now=NOW)


# What the page shows -----------------------------------------------------------------------------------

def test_epoch_milliseconds_show_as_the_runtimes_iso_time():
    assert time_text(1795165200000) == "2026-11-20T09:00:00.000Z"
    assert time_text(None) is None
    assert time_text(1e300) == "1e+300"
    assert time_text("2026-11-20T09:00:00Z") == "2026-11-20T09:00:00Z"


def test_values_show_as_json_with_direction_controls_escaped():
    assert json_text({"a": "x\u202ey"}) == '{\n  "a": "x\\u202ey"\n}'
    assert json_text("text") == '"text"'


def test_a_huge_value_is_clipped_on_the_page_and_names_what_was_left_out(tmp_path):
    (entry,) = entries(tmp_path, {"big": record("x" * 10_000)})
    view = entry_view(entry)
    assert len(view.value_text) == 4000 and view.clipped == 10_002 - 3999


def test_the_run_an_entry_came_from_is_linked_only_when_it_is_a_plain_id(tmp_path):
    good, bad = entries(tmp_path, {"a": record(1, metadata={"runId": "run-1"}),
                                   "b": record(2, metadata={"runId": "../etc/passwd", "sourceRunId": 7})})
    assert entry_view(good).run_ids == ("run-1",)
    assert entry_view(bad).run_ids == ()
