from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from tests.conftest import CONFORMANCE

SCENARIOS = ["s02_approvals_pauses", "s03_failures", "s04_branch_replay", "s05_delegation_tree"]


@pytest.fixture
def use_store(settings, tmp_path, corpus_store_url):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.CONTROLPLANE_REDACT_SECRETS = False  # compared byte for byte with the runtime's goldens
    settings.DATA_DIR = tmp_path
    cache.clear()

    def use(scenario: str) -> dict:
        settings.CONTROLPLANE_RUN_STORE = corpus_store_url(scenario)
        return json.loads((CONFORMANCE / "golden" / f"{scenario}.json").read_text())

    return use


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_incident_api_returns_the_runtimes_report(client, use_store, scenario):
    golden = use_store(scenario)
    for entry in golden["reports"][:6]:
        response = client.get(f"/api/incidents/{entry['runId']}/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        payload = json.loads(response.content)
        assert list(payload) == ["report", "plan"]
        assert payload["report"] == entry["report"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_incident_api_returns_the_runtimes_plan(client, use_store, scenario):
    use_store(scenario)
    plans = json.loads((CONFORMANCE / "golden-plans" / f"{scenario}.json").read_text())["plans"]
    for entry in [plan for plan in plans if "plan" in plan][:8]:
        query = {"compare": entry["compareToRunId"]} if entry["compareToRunId"] else {}
        payload = json.loads(client.get(f"/api/incidents/{entry['runId']}/", query).content)
        assert payload["plan"] == entry["plan"]


def test_incident_api_with_a_comparison_matches_the_golden_pair(client, use_store):
    golden = use_store("s04_branch_replay")
    pair = next(p for p in golden["pairs"] if p["runId"] != p["compareToRunId"] and p.get("report"))
    payload = json.loads(client.get(f"/api/incidents/{pair['runId']}/", {"compare": pair["compareToRunId"]}).content)
    assert payload["report"] == pair["report"]


def test_incident_api_unknown_run_is_a_json_404(client, use_store):
    use_store("s03_failures")
    response = client.get("/api/incidents/no-such-run/")
    assert response.status_code == 404
    assert response.json()["error"]


def test_incident_api_unknown_comparison_is_a_json_404(client, use_store):
    golden = use_store("s03_failures")
    response = client.get(f"/api/incidents/{golden['reports'][0]['runId']}/", {"compare": "__missing_comparison__"})
    assert response.status_code == 404
    assert response.json()["error"] == 'Comparison run "__missing_comparison__" not found.'


def test_incident_api_invalid_comparison_is_a_json_400_with_the_reason(client, use_store):
    golden = use_store("s03_failures")
    response = client.get(f"/api/incidents/{golden['reports'][0]['runId']}/", {"compare": "../etc"})
    assert response.status_code == 400
    assert "compare" in response.json()["error"] and "plain file name" in response.json()["error"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_compare_api_returns_the_runtimes_diff_and_the_alignment(client, use_store, scenario):
    golden = use_store(scenario)
    for pair in golden["pairs"][:10]:
        response = client.get("/api/compare/", {"left": pair["runId"], "right": pair["compareToRunId"]})
        assert response.status_code == 200
        payload = json.loads(response.content)
        assert payload["diff"] == pair["diff"]
        rows = payload["alignment"]["rows"]
        assert sum(1 for row in rows if row["leftIndex"] is not None) == len(
            json.loads(client.get(f"/api/incidents/{pair['runId']}/").content)["report"]["summary"]["steps"])


def test_compare_api_aligns_a_run_with_itself(client, use_store):
    golden = use_store("s03_failures")
    run_id = golden["reports"][1]["runId"]
    alignment = client.get("/api/compare/", {"left": run_id, "right": run_id}).json()["alignment"]
    assert alignment["firstDivergence"] is None
    assert {row["kind"] for row in alignment["rows"]} == {"same"}


@pytest.mark.parametrize("query", [{}, {"left": "a"}, {"right": "b"}, {"left": "a/b", "right": "c"}])
def test_compare_api_rejects_missing_or_invalid_parameters(client, use_store, query):
    use_store("s03_failures")
    response = client.get("/api/compare/", query)
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid parameters")


def test_compare_api_unknown_run_is_a_json_404(client, use_store):
    golden = use_store("s03_failures")
    response = client.get("/api/compare/", {"left": golden["reports"][0]["runId"], "right": "ghost"})
    assert response.status_code == 404
    assert response.json()["error"]


def test_api_answers_only_get_and_head(client, use_store):
    golden = use_store("s03_failures")
    assert client.post(f"/api/incidents/{golden['reports'][0]['runId']}/").status_code == 405
    assert client.delete("/api/compare/").status_code == 405
