"""/metrics as Prometheus reads it: parsed with prometheus_client's own text parser, against real stores.

Counters are process-wide, so each test compares a scrape before and after what it does.
"""

from __future__ import annotations

import fcntl
import os
import time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client.parser import text_string_to_metric_families

from controlplane import metrics
from runtime_adapter.inspectors import export_bundle
from runtime_adapter.js import jsjson
from runtime_adapter.stores.registry import open_store
from runtime_adapter.stores.sqlite_index import index_path_for
from tests.factories import run_record
from tests.web.runs_support import write_store

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-7f3a9c"


@pytest.fixture(autouse=True)
def fresh_aggregates():
    metrics.reset()
    yield
    metrics.reset()


@pytest.fixture
def runs_dir(runs_settings, tmp_path):
    directory = tmp_path / "runs"
    records = [
        run_record("m-root", status="completed", children=["m-child"], metadata={"release": "v1"}),
        run_record("m-child", parent="m-root", root="m-root", status="failed", metadata={"release": "v1"},
                   created="2026-01-01T00:00:01.000Z"),
        run_record("m-wait", status="waiting_for_approval", metadata={"release": "v2"},
                   created="2026-01-01T00:00:02.000Z"),
    ]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(directory, records)
    return directory


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def value(families: dict, sample_name: str, **labels: str) -> float:
    """The sample's value (0 when absent: a counter not yet incremented)."""
    family_name = sample_name
    for suffix in ("_total", "_count", "_sum", "_bucket"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in families:
            family_name = sample_name[: -len(suffix)]
    for sample in families.get(family_name, families.get(sample_name)).samples if (
            family_name in families or sample_name in families) else ():
        if sample.name == sample_name and all(sample.labels.get(key) == wanted for key, wanted in labels.items()):
            return sample.value
    return 0.0


def label_values(families: dict) -> set[str]:
    return {label for family in families.values() for sample in family.samples for label in sample.labels.values()}


def test_requests_are_counted_by_view_name_and_status_class_never_by_url(client, runs_dir):
    before = scrape(client)
    client.get("/runs/m-root/")
    client.get("/runs/m-child/")
    client.get("/runs/m-missing/")
    client.get("/no/such/page/m-root")
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("controlplane_http_requests_total", view="runs:detail", status="2xx") == 2
    assert delta("controlplane_http_requests_total", view="runs:detail", status="4xx") == 1
    assert delta("controlplane_http_requests_total", view="unmatched", status="4xx") == 1
    assert delta("controlplane_http_request_duration_seconds_count", view="runs:detail", status="2xx") == 2
    assert delta("controlplane_http_request_duration_seconds_sum", view="runs:detail", status="2xx") > 0
    assert value(after, "controlplane_http_request_duration_seconds_bucket", view="runs:detail", status="2xx",
                 le="+Inf") >= 2
    assert not any("m-root" in label or "m-child" in label or "/" in label for label in label_values(after))


def test_store_calls_are_timed_by_store_kind_and_operation(client, runs_dir, runs_settings):
    before = scrape(client)
    client.get("/runs/m-root/")
    after = scrape(client)
    name = "controlplane_store_query_duration_seconds_count"
    assert value(after, name, kind="file_index", operation="get_run") > value(before, name, kind="file_index",
                                                                             operation="get_run")
    runs_settings.CONTROLPLANE_FILE_INDEX = False
    before = scrape(client)
    client.get("/runs/")
    after = scrape(client)
    assert value(after, name, kind="file", operation="iter_entries") > value(before, name, kind="file",
                                                                            operation="iter_entries")


def test_cache_lookups_count_a_miss_then_a_hit(client, runs_dir):
    cache.clear()
    before = scrape(client)
    assert client.get("/runs/m-root/tree/").status_code == 200
    assert client.get("/runs/m-root/tree/").status_code == 200
    after = scrape(client)
    name = "controlplane_cache_lookups_total"
    assert value(after, name, kind="tree-region", result="miss") - value(before, name, kind="tree-region", result="miss") == 1
    assert value(after, name, kind="tree-region", result="hit") - value(before, name, kind="tree-region", result="hit") == 1


def test_runs_by_status_and_by_release_are_read_from_the_store(client, runs_dir):
    families = scrape(client)
    assert value(families, "controlplane_store_up", store="default", kind="file_index") == 1
    assert value(families, "controlplane_runs", store="default", status="completed") == 1
    assert value(families, "controlplane_runs", store="default", status="failed") == 1
    assert value(families, "controlplane_runs", store="default", status="waiting_for_approval") == 1
    assert value(families, "controlplane_runs", store="default", status="running") == 0  # every status, 0 included
    assert value(families, "controlplane_release_runs", store="default", release="v1") == 2
    assert value(families, "controlplane_release_failed_runs", store="default", release="v1") == 1
    assert value(families, "controlplane_release_runs", store="default", release="v2") == 1


def test_only_the_most_recent_releases_are_exported(client, runs_settings, tmp_path):
    records = [run_record(f"rel-{number:02d}", metadata={"release": f"2026.{number:02d}"},
                          created=f"2026-01-{number:02d}T00:00:00.000Z") for number in range(1, 16)]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    families = scrape(client)
    releases = {sample.labels["release"] for sample in families["controlplane_release_runs"].samples}
    assert releases == {f"2026.{number:02d}" for number in range(6, 16)}  # the 10 seen last
    assert len(releases) == metrics.RECENT_RELEASES


def test_store_aggregates_are_kept_for_a_while_then_read_again(client, runs_dir, monkeypatch):
    assert value(scrape(client), "controlplane_runs", store="default", status="paused") == 0
    write_store(runs_dir, [run_record("m-paused", status="paused")])
    assert value(scrape(client), "controlplane_runs", store="default", status="paused") == 0  # kept
    monkeypatch.setattr(metrics, "FLEET_SECONDS", 0.0)
    assert value(scrape(client), "controlplane_runs", store="default", status="paused") == 1


def test_a_store_that_is_down_is_up_0_and_the_scrape_still_answers(client, runs_dir, runs_settings, tmp_path):
    runs_settings.CONTROLPLANE_STORES = {"gone": (tmp_path / "missing").as_uri()}
    families = scrape(client)
    assert value(families, "controlplane_store_up", store="gone") == 0
    assert value(families, "controlplane_store_up", store="default") == 1
    assert not [sample for sample in families["controlplane_runs"].samples if sample.labels["store"] == "gone"]


def test_index_lag_and_files_pending_follow_the_index(client, runs_dir, runs_settings):
    families = scrape(client)
    assert value(families, "controlplane_index_lag_seconds", store="default") == 0
    assert value(families, "controlplane_index_files_pending", store="default") == 0
    lock_path = index_path_for(runs_settings.DATA_DIR, runs_dir).with_suffix(".lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # a refresh elsewhere holds the index: nothing is read
        write_store(runs_dir, [run_record("m-new")])
        time.sleep(0.6)
        families = scrape(client)
        assert value(families, "controlplane_index_lag_seconds", store="default") >= 0.5
        assert value(families, "controlplane_index_files_pending", store="default") == 1
    finally:
        os.close(descriptor)
    families = scrape(client)
    assert value(families, "controlplane_index_lag_seconds", store="default") == 0
    assert value(families, "controlplane_index_files_pending", store="default") == 0


def test_uploads_held_counts_open_bundles(client, runs_dir):
    assert value(scrape(client), "controlplane_uploads_held") == 0
    bundle = jsjson.dumps(export_bundle(open_store(runs_dir.as_uri()).list_runs(), {}), 2).encode()
    response = client.post("/bundles/open/", {"bundle": SimpleUploadedFile("b.json", bundle, "application/json")})
    assert response.status_code == 302, response.content
    families = scrape(client)
    assert value(families, "controlplane_uploads_held") == 1
    assert value(families, "controlplane_uploads_bytes") > 0
    before = value(families, "controlplane_store_query_duration_seconds_count", kind="upload", operation="get_run")
    assert client.get(response["Location"].replace("/runs/", "/runs/m-root/")).status_code == 200
    after = value(scrape(client), "controlplane_store_query_duration_seconds_count", kind="upload",
                  operation="get_run")
    assert after == before + 1  # the upload's store is timed as its kind, never by its token


def test_with_a_token_a_scrape_needs_it_as_a_bearer_token(client, runs_dir, runs_settings):
    runs_settings.CONTROLPLANE_METRICS_TOKEN = TOKEN
    runs_settings.CONTROLPLANE_LOGIN_REQUIRED = True
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert b"controlplane_" not in refused.content
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    families = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")  # no session: the token is enough
    assert "controlplane_http_requests" in families
    user = User.objects.create_user("operator", password="pw-operator-1234")
    client.force_login(user)
    assert client.get("/metrics").status_code == 401  # a session is not the token


def test_without_a_token_metrics_follow_the_login_with_a_401_not_a_login_form(client, runs_dir, runs_settings):
    runs_settings.CONTROLPLANE_LOGIN_REQUIRED = True
    refused = client.get("/metrics")
    assert refused.status_code == 401 and b"CONTROLPLANE_METRICS_TOKEN" in refused.content
    client.force_login(User.objects.create_user("operator", password="pw-operator-1234"))
    assert "controlplane_runs" in scrape(client)
    runs_settings.CONTROLPLANE_LOGIN_REQUIRED = False
    client.logout()
    assert "controlplane_runs" in scrape(client)


def test_no_secret_or_run_text_reaches_the_metrics(client, runs_settings, tmp_path):
    secret = "sk-live-4eC39HqLyjWDarjtT1zdp7dc"
    records = [run_record("leak-1", metadata={"release": f"v1 {secret}"}, input=f"task with {secret}"),
               run_record("leak-2", status=f"odd-{secret}", metadata={"release": "v2"},
                          created="2026-01-01T00:00:01.000Z")]
    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "runs", records)
    client.get("/runs/leak-1/")
    client.get(f"/runs/?q={secret}")
    client.get(f"/runs/{secret}/")
    text = client.get("/metrics").content.decode()
    assert secret not in text and "task with" not in text and "leak-1" not in text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert value(families, "controlplane_runs", store="default", status="other") == 1  # the odd status, unnamed
    assert value(families, "controlplane_release_runs", store="default", release="v1 [REDACTED]") == 1
