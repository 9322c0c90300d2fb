from __future__ import annotations

import json
import re

import pytest

from tests.conformance import require_corpus
from tests.conftest import CONFORMANCE
from tests.html import assert_valid_html
from tests.web.runs_support import DELEGATION, REPLAY, body, htmx

SUPERVISOR = "c5185506-d37d-41aa-b65e-c7eb2b30f6fe"
GRANDCHILD = "0a6d0137-ec06-4cc6-b136-a9a53f40d189"


def golden_trees(name: str) -> dict[str, str]:
    path = CONFORMANCE / "golden" / f"{name}.json"
    require_corpus(path)
    golden = json.loads(path.read_text())
    return {entry["rootRunId"]: entry["rendered"] for entry in golden["treesByRootRunId"] if entry["inStore"]}


def test_tree_page_shows_the_roots_tree_with_the_current_run_highlighted(client, scenario):
    scenario(DELEGATION)
    response = client.get(f"/runs/{GRANDCHILD}/tree/")
    text = body(response)
    assert response.status_code == 200
    assert f"Run tree <span class=\"runid\">{SUPERVISOR}</span>" in text
    assert re.search(rf'<span class="tree-node current">.*?href="/runs/{GRANDCHILD}/" aria-current="page"', text)
    assert text.count('class="tree-node') == 6
    assert_valid_html(response.content)


def test_tree_nodes_are_collapsible_details_with_subtree_metrics(client, scenario):
    scenario(DELEGATION)
    text = body(client.get(f"/runs/{SUPERVISOR}/tree/"))
    assert text.count("<details") == 3 and text.count("</details>") == 3
    assert re.search(r'<span class="metrics">6 runs · [\d.,k]+ tok · \$[\d.]+ · ', text)


@pytest.mark.parametrize("run_id", [SUPERVISOR, GRANDCHILD, "e168db49-dbf3-474e-98fe-6d0cc0f16c56"])
def test_tree_as_text_is_exactly_the_runtimes_render(client, scenario, run_id):
    scenario(DELEGATION)
    response = client.get(f"/runs/{run_id}/tree/?format=text")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == golden_trees(DELEGATION)[SUPERVISOR]


def test_every_forest_root_tree_matches_its_golden_text(client, scenario):
    for name in ("s04_branch_replay", "s06_workflows", "s10_edge_cases"):
        scenario(name)
        for root, rendered in golden_trees(name).items():
            response = client.get(f"/runs/{root}/tree/?format=text")
            assert response.content.decode() == rendered, (name, root)


def test_tree_of_a_replay_is_its_own_tree(client, scenario):
    text = body(client.get(f"/runs/{REPLAY}/tree/?format=text"))
    assert text == f"{REPLAY} [completed]"


def test_tree_shows_lineage_cycles(client, runs_settings, tmp_path):
    from tests.factories import run_record
    from tests.web.runs_support import write_store

    runs_settings.CONTROLPLANE_RUN_STORE = write_store(tmp_path / "cycle", [
        run_record("a", parent="b", root="a"), run_record("b", parent="a", root="a"),
    ])
    response = client.get("/runs/a/tree/")
    assert response.status_code == 200
    assert "lineage cycle" in body(response)
    assert "(lineage cycle)" in client.get("/runs/a/tree/?format=text").content.decode()


def test_tree_of_unknown_run_is_404(client, scenario):
    assert client.get("/runs/nope/tree/").status_code == 404


def test_tree_rejects_unknown_formats(client, scenario):
    assert client.get(f"/runs/{REPLAY}/tree/?format=xml").status_code == 400


def test_tree_page_embeds_the_lineage_graph_lazily(client, scenario):
    scenario(DELEGATION)
    text = body(client.get(f"/runs/{GRANDCHILD}/tree/"))
    assert f'hx-get="/runs/{GRANDCHILD}/lineage/" hx-trigger="revealed"' in text


def test_tree_page_works_without_htmx_headers_and_ignores_them(client, tmp_runs):
    assert "<html" in body(htmx(client, "/runs/grandchild/tree/"))
