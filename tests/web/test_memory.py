"""The memory page and `/api/memory/`: layers and their entries, expiry as of the pinned clock, redaction on
the page, the API and the key search, hostile text, broken layer files, bad parameters and paging."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from runtime_adapter.durable import memory as memory_core
from runtime_adapter.js import jsjson
from tests.conftest import PINNED_NOW
from tests.html import assert_valid_html, page_text
from tests.web.runs_support import body, htmx, json_body
from write_side.demo_state.memory import LAYERS as DEMO_LAYERS

NOW_MS = int(PINNED_NOW.timestamp() * 1000)
HOUR = 3_600_000
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
PASSWORD = "password=hunter22"
HOSTILE_KEY = '<script>alert("key")</script>'
BIDI_KEY = "invoice\u202egnp.exe"


def record(value, *, at=NOW_MS - 5 * HOUR, ttl=None, metadata=None):
    return {"value": value, "createdAt": at, "updatedAt": at, "expiresAt": at + ttl if ttl else None,
            "metadata": metadata or {}}


WORKING = {
    "task:acme": record({"task": "refund follow-up", "customer": "Acme"}, ttl=HOUR,
                        metadata={"source": "agent", "runId": "run-acme-1"}),
    "task:globex": record({"task": "SSO setup", "customer": "Globex"}, ttl=30 * 24 * HOUR),
    "MigrationNote": "Imported from the v2 agent.",
}
PROFILE = {
    "customer:acme": record({"name": "Acme", "tier": "gold"}),
    "customer:globex:integration": record({"apiKey": SECRET, "note": f"rotate: {PASSWORD}"},
                                          metadata={"source": "agent"}),
    HOSTILE_KEY: record('</pre><script>alert("value")</script>'),
    BIDI_KEY: record("shown with its direction control escaped"),
}


def write_layer(path, payload) -> None:
    path.write_text(payload if isinstance(payload, str) else jsjson.dumps(payload, 2), encoding="utf-8")


@pytest.fixture
def layers(runs_settings, tmp_path):
    directory = tmp_path / "memory"
    directory.mkdir()
    write_layer(directory / "working.json", WORKING)
    write_layer(directory / "profile.json", PROFILE)
    configured = {"working": directory / "working.json", "profile": directory / "profile.json"}
    runs_settings.CONTROLPLANE_MEMORY_LAYERS = configured
    cache.clear()
    return configured


def api_layers(client, query="") -> list[dict]:
    response = client.get(f"/api/memory/{query}")
    assert response.status_code == 200
    return json_body(response)["layers"]


# The page ---------------------------------------------------------------------------------------------

def test_memory_page_shows_each_layer_with_its_keys_values_and_expiry(client, layers):
    response = client.get("/memory/")
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = page_text(response.content)
    assert "working" in text and "profile" in text
    assert "task:acme" in text and '"refund follow-up"' in text
    assert "3 entries · 1 expired" in text  # task:acme's hour passed 4 hours before the pinned now
    assert "4 entries · 0 expired" in text


def test_an_expired_entry_is_marked_and_a_live_one_is_not(client, layers):
    html = body(client.get("/memory/"))
    acme_row = html[html.index("task:acme"):html.index("task:globex")]
    globex_row = html[html.index("task:globex"):html.index("MigrationNote")]
    assert "mem-expired" not in globex_row and ">expired<" not in globex_row
    assert ">expired<" in acme_row


def test_a_raw_value_is_shown_as_stored_and_flagged(client, layers):
    html = body(client.get("/memory/"))
    row = html[html.index("MigrationNote"):]
    row = row[:row.index("</tr>")]
    assert "raw value" in row and "not read by Memory" in row
    assert "&quot;Imported from the v2 agent.&quot;" in row


def test_an_entry_links_the_run_it_came_from(client, layers):
    html = body(client.get("/memory/"))
    assert 'href="/runs/run-acme-1/"' in html


def test_an_htmx_request_gets_only_the_layers_region(client, layers):
    response = htmx(client, "/memory/?q=acme", target="memory-layers")
    html = body(response)
    assert html.lstrip().startswith('<div id="memory-layers">')
    assert "<html" not in html
    assert_valid_html(html)


def test_no_configured_layers_says_how_to_name_them(client, runs_settings):
    runs_settings.CONTROLPLANE_MEMORY_LAYERS = {}
    text = page_text(client.get("/memory/").content)
    assert "No memory layers are configured" in text and "CONTROLPLANE_MEMORY_LAYERS" in text
    assert json_body(client.get("/api/memory/")) == {"layers": []}


def test_the_page_is_read_only(client, layers):
    assert client.post("/memory/").status_code == 405
    assert client.post("/api/memory/").status_code == 405


# The API -------------------------------------------------------------------------------------------------

def test_api_lists_layers_and_entries_with_the_keys_the_issue_names(client, layers):
    working, profile = api_layers(client)
    assert working["name"] == "working" and profile["name"] == "profile"
    assert "error" not in working
    acme = working["entries"][0]
    assert {"key", "value", "updatedAt", "expiresAt", "expired"} <= set(acme)
    assert acme == {**acme, "key": "task:acme", "value": {"task": "refund follow-up", "customer": "Acme"},
                    "updatedAt": NOW_MS - 5 * HOUR, "expiresAt": NOW_MS - 4 * HOUR, "expired": True, "record": True}
    globex = working["entries"][1]
    assert globex["expired"] is False
    raw = working["entries"][2]
    assert raw["record"] is False and raw["value"] == "Imported from the v2 agent." and raw["updatedAt"] is None
    assert (working["total"], working["matched"], working["expired"], working["nextCursor"]) == (3, 3, 1, None)


def test_api_expiry_follows_the_pinned_clock(client, layers, settings):
    settings.CONTROLPLANE_NOW = PINNED_NOW.replace(year=2026, month=11, day=23)
    working = api_layers(client)[0]
    assert [entry["expired"] for entry in working["entries"]] == [False, False, False]


# Redaction -------------------------------------------------------------------------------------------------

def test_secrets_are_redacted_on_the_page(client, layers):
    html = body(client.get("/memory/"))
    assert SECRET not in html and "hunter22" not in html
    assert "[REDACTED]" in html


def test_secrets_are_redacted_in_the_api(client, layers):
    text = client.get("/api/memory/").content.decode()
    assert SECRET not in text and "hunter22" not in text
    integration = api_layers(client)[1]["entries"][1]
    assert integration["value"] == {"apiKey": "[REDACTED]", "note": "rotate: password=[REDACTED]"}


def test_secrets_are_redacted_in_search_results_and_a_search_for_one_finds_nothing(client, layers):
    found = api_layers(client, "?q=integration")[1]["entries"]
    assert [entry["key"] for entry in found] == ["customer:globex:integration"]
    assert SECRET not in json.dumps(found)
    assert SECRET not in body(client.get("/memory/?q=integration"))


def test_a_key_that_is_a_credential_is_redacted_and_cannot_be_searched_for(client, layers, tmp_path):
    write_layer(layers["working"], {"sk-live-0123456789abcdefghij": record(1)})
    assert api_layers(client, "?q=sk-live-0123")[0]["entries"] == []
    assert [entry["key"] for entry in api_layers(client)[0]["entries"]] == ["[REDACTED]"]
    assert "sk-live-0123456789abcdefghij" not in body(client.get("/memory/"))


def test_the_redaction_opt_out_shows_secrets(client, layers, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    assert SECRET in body(client.get("/memory/"))
    assert api_layers(client)[1]["entries"][1]["value"]["apiKey"] == SECRET


# Hostile content ---------------------------------------------------------------------------------------------

def test_hostile_keys_and_values_are_escaped(client, layers):
    html = body(client.get("/memory/"))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;key&quot;)&lt;/script&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;" in html
    assert_valid_html(html)


def test_a_direction_control_in_a_key_is_shown_escaped(client, layers):
    html = body(client.get("/memory/"))
    assert "\u202e" not in html
    assert "invoice\\u202egnp.exe" in html


# Broken layer files ------------------------------------------------------------------------------------------

BROKEN = {
    "missing": (None, "No file at this path"),
    "directory": ("dir", "is a directory"),
    "invalid": ('{"a": {"value": 1,', "Not valid JSON"),
    "array": ('["not", "an", "object"]', "holds a JSON array, not the JSON object"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_layer_shows_its_reason_and_the_other_layers_are_still_served(client, layers, runs_settings, tmp_path,
                                                                              kind):
    content, reason = BROKEN[kind]
    path = tmp_path / f"{kind}.json"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    runs_settings.CONTROLPLANE_MEMORY_LAYERS = {kind: path, **layers}
    response = client.get("/memory/")
    assert response.status_code == 200
    text = page_text(response.content)
    assert "This layer could not be read." in text and reason in text
    assert "task:acme" in text and "customer:acme" in text
    broken, working, profile = api_layers(client)
    assert reason in broken["error"] and broken["entries"] == []
    assert "error" not in working and len(profile["entries"]) == 4


def test_a_huge_layer_file_is_not_read_and_says_so(client, layers, monkeypatch):
    monkeypatch.setattr(memory_core, "MAX_LAYER_BYTES", 100)
    text = page_text(client.get("/memory/").content)
    assert "more than the 100 bytes the control plane reads of a layer file: not read" in text
    working = api_layers(client)[0]
    assert "not read" in working["error"]


def test_reading_the_page_never_writes_a_layer_file(client, layers):
    before = {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in layers.items()}
    client.get("/memory/")
    client.get("/api/memory/?state=expired")
    assert {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in layers.items()} == before


# Parameters ---------------------------------------------------------------------------------------------------

def test_search_by_key_is_case_insensitive_and_a_layer_filter_keeps_one_layer(client, layers):
    working, profile = api_layers(client, "?q=ACME")
    assert [entry["key"] for entry in working["entries"]] == ["task:acme"]
    assert [entry["key"] for entry in profile["entries"]] == ["customer:acme"]
    (only,) = api_layers(client, "?layer=profile")
    assert only["name"] == "profile"
    text = page_text(client.get("/memory/?layer=profile&q=nothing-like-this").content)
    assert "No key in this layer matches “ nothing-like-this ”" in text


def test_the_expiry_filter_keeps_expired_or_live_entries(client, layers):
    working = api_layers(client, "?layer=working&state=expired")[0]
    assert [entry["key"] for entry in working["entries"]] == ["task:acme"]
    working = api_layers(client, "?layer=working&state=live")[0]
    assert [entry["key"] for entry in working["entries"]] == ["task:globex", "MigrationNote"]


@pytest.mark.parametrize(("query", "field", "message"), [
    ("?layer=nope", "layer", "No memory layer is named “nope”; the configured layers are: working, profile."),
    ("?layer=working&cursor=garbage", "cursor", "not a cursor this page gave out"),
    ("?cursor=WzEsImFiYyJd", "cursor", "A cursor pages one layer"),
    ("?limit=0", "limit", "greater than or equal to 1"),
    ("?limit=501", "limit", "less than or equal to 500"),
    ("?state=stale", "state", "Select a valid choice"),
])
def test_bad_parameters_are_a_400_with_the_reason(client, layers, query, field, message):
    page = client.get(f"/memory/{query}")
    assert page.status_code == 400
    assert message in page_text(page.content)
    api = client.get(f"/api/memory/{query}")
    assert api.status_code == 400
    error = json_body(api)
    assert message in error["error"] and field in error["fields"]


def test_a_long_layer_pages_with_a_next_link_that_carries_its_cursor(client, layers):
    write_layer(layers["working"], {f"note:{i:03d}": record(i) for i in range(120)})
    html = body(client.get("/memory/"))
    assert html.count("note:0") == 50
    next_href = html[html.index('rel="next"') - 400:html.index('rel="next"')]
    href = next_href[next_href.rindex('href="') + 6:].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert query["layer"] == ["working"] and query["cursor"]
    second = page_text(client.get(href).content)
    assert "note:050" in second and "note:049" not in second and "51–100 of 120" in second
    working = api_layers(client, f"?layer=working&cursor={query['cursor'][0]}&limit=100")[0]
    assert [entry["key"] for entry in working["entries"]] == [f"note:{i:03d}" for i in range(50, 120)]
    assert working["nextCursor"] is None


def test_the_demo_writes_the_layers_the_default_setting_names():
    from controlplane import settings as project_settings

    default = project_settings.CONTROLPLANE_MEMORY_LAYERS
    assert list(default) == list(DEMO_LAYERS) == ["working", "profile", "policy"]
    assert [path.name for path in default.values()] == [f"{name}.json" for name in DEMO_LAYERS]


def test_signing_in_is_required_when_the_site_requires_it(client, layers, settings):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    response = client.get("/memory/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/memory/").status_code == 401


def test_the_demo_state_command_writes_the_layers_the_memory_page_then_shows(runs_settings, client, tmp_path):
    from django.core.management import call_command

    from write_side.synthetic import write_store

    runs = tmp_path / "demo-runs"
    write_store(runs, 60, seed=7, now=PINNED_NOW, workers=1)
    with open(tmp_path / "out.txt", "w") as out:
        call_command("demo_state", "--runs", str(runs), stdout=out)
    directory = runs_settings.DATA_DIR / "demo-memory"
    runs_settings.CONTROLPLANE_MEMORY_LAYERS = {name: directory / f"{name}.json" for name in DEMO_LAYERS}
    layers = api_layers(client)
    assert [layer["name"] for layer in layers] == ["working", "profile", "policy"]
    assert all("error" not in layer and layer["entries"] for layer in layers)
    assert "memory:" in (tmp_path / "out.txt").read_text()
