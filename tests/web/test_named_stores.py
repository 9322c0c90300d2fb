"""Several named stores (CONTROLPLANE_STORES) served side by side under /s/<name>/."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from tests.factories import run_record
from tests.html import assert_valid_html
from tests.web.runs_support import write_store

LINK = re.compile(r'(?:href|hx-get|action|src)="([^"]*)"')


def failing(run_id: str, **fields) -> dict:
    return run_record(run_id, status="failed", errors=[{"name": "ToolError", "message": f"{run_id} broke"}], **fields)


@pytest.fixture
def stores(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    alpha = write_store(tmp_path / "alpha", [
        run_record("alpha-root", children=["alpha-child"]),
        failing("alpha-child", parent="alpha-root", root="alpha-root"),
    ])
    beta = write_store(tmp_path / "beta", [run_record("beta-root"), failing("beta-failed")])
    settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "default", [run_record("default-run")])
    settings.CONTROLPLANE_STORES = {"alpha": alpha, "beta": beta}
    cache.clear()
    return settings


def links(content: bytes) -> set[str]:
    return set(LINK.findall(content.decode()))


def foreign_links(content: bytes, name: str) -> set[str]:
    """Links that leave store `name`: anything but its own prefix, static files, the store picker,
    in-page anchors and inline data."""
    picker = {"/", "/s/alpha/", "/s/beta/"}
    return {link for link in links(content)
            if not link.startswith((f"/s/{name}/", "/static/", "#", "data:")) and link not in picker}


def test_each_named_store_lists_its_own_runs(client, stores):
    alpha = client.get("/s/alpha/runs/")
    beta = client.get("/s/beta/runs/")
    default = client.get("/runs/")
    assert alpha.status_code == beta.status_code == default.status_code == 200
    assert b"alpha-root" in alpha.content and b"beta-root" not in alpha.content
    assert b"beta-root" in beta.content and b"alpha-root" not in beta.content
    assert b"default-run" in default.content and b"alpha-root" not in default.content
    assert_valid_html(alpha.content)


@pytest.mark.parametrize("path", [
    "", "runs/", "runs/alpha-root/", "runs/alpha-root/tree/", "runs/alpha-root/lineage/", "incidents/",
    "incidents/alpha-child/", "compare/?left=alpha-root&right=alpha-child",
])
def test_links_on_a_named_stores_pages_keep_its_prefix(client, stores, path):
    response = client.get(f"/s/alpha/{path}")
    assert response.status_code == 200
    assert any(link.startswith("/s/alpha/runs/") for link in links(response.content))
    assert foreign_links(response.content, "alpha") == set()


def test_run_links_on_a_named_store_open_that_stores_runs(client, stores):
    listing = client.get("/s/alpha/runs/")
    assert "/s/alpha/runs/alpha-child/" in links(listing.content)
    detail = client.get("/s/alpha/runs/alpha-child/")
    assert detail.status_code == 200
    assert b"alpha-child" in detail.content


def test_a_run_of_another_store_is_not_found_under_this_prefix(client, stores):
    assert client.get("/s/beta/runs/alpha-root/").status_code == 404
    assert client.get("/runs/alpha-root/").status_code == 404


def test_an_unknown_store_name_is_a_404(client, stores):
    response = client.get("/s/gamma/runs/")
    assert response.status_code == 404
    assert b"gamma" in response.content


def test_each_named_store_has_its_own_index(client, stores):
    from controlplane.stores import get_run_store

    client.get("/s/alpha/runs/")
    client.get("/s/beta/runs/")
    alpha, beta = get_run_store("alpha"), get_run_store("beta")
    alpha_index = getattr(alpha, "inner", alpha).index.path
    beta_index = getattr(beta, "inner", beta).index.path
    assert alpha_index != beta_index
    assert alpha_index.parent == stores.DATA_DIR / "index"


def test_the_incident_queue_of_a_named_store_shows_only_its_incidents(client, stores):
    alpha = client.get("/s/alpha/incidents/")
    beta = client.get("/s/beta/incidents/")
    assert b"alpha-child" in alpha.content and b"beta-failed" not in alpha.content
    assert b"beta-failed" in beta.content and b"alpha-child" not in beta.content
