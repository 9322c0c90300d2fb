from __future__ import annotations

import json
import re

from tests.conformance import require_corpus
from tests.conftest import CONFORMANCE
from tests.fixtures import corpus
from tests.html import assert_valid_html
from tests.web.runs_support import body, htmx


def supervisor_family() -> list[str]:
    return corpus.family_of(corpus.DELEGATION, corpus.supervisor())


def a_grandchild() -> str:
    """A run two delegations below the supervisor (any one: the tests are about a run deep in its tree)."""
    return next(grandchild for child in corpus.children_of(corpus.DELEGATION, corpus.supervisor())
                for grandchild in corpus.children_of(corpus.DELEGATION, child))


def golden_trees(name: str) -> dict[str, str]:
    path = CONFORMANCE / "golden" / f"{name}.json"
    require_corpus(path)
    golden = json.loads(path.read_text())
    return {entry["rootRunId"]: entry["rendered"] for entry in golden["treesByRootRunId"] if entry["inStore"]}


def test_tree_page_shows_the_roots_tree_with_the_current_run_highlighted(client, scenario):
    scenario(corpus.DELEGATION)
    grandchild = a_grandchild()
    response = client.get(f"/runs/{grandchild}/tree/")
    text = body(response)
    assert response.status_code == 200
    assert f"Run tree <span class=\"runid\">{corpus.supervisor()}</span>" in text
    assert re.search(rf'<span class="tree-node current">.*?href="/runs/{grandchild}/" aria-current="page"', text)
    assert text.count('class="tree-node') == len(supervisor_family())
    assert_valid_html(response.content)


def test_tree_nodes_are_collapsible_details_with_subtree_metrics(client, scenario):
    scenario(corpus.DELEGATION)
    family = supervisor_family()
    parents = [run_id for run_id in family if corpus.children_of(corpus.DELEGATION, run_id)]
    assert 1 < len(parents) < len(family)
    text = body(client.get(f"/runs/{corpus.supervisor()}/tree/"))
    assert text.count("<details") == len(parents) and text.count("</details>") == len(parents)
    assert re.search(rf'<span class="metrics">{len(family)} runs · [\d.,k]+ tok · \$[\d.]+ · ', text)


def test_tree_as_text_is_exactly_the_runtimes_render(client, scenario):
    scenario(corpus.DELEGATION)
    for run_id in supervisor_family():
        response = client.get(f"/runs/{run_id}/tree/?format=text")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.decode() == golden_trees(corpus.DELEGATION)[corpus.supervisor()], run_id


def test_every_forest_root_tree_matches_its_golden_text(client, scenario):
    for name in ("s04_branch_replay", "s06_workflows", "s10_edge_cases"):
        scenario(name)
        for root, rendered in golden_trees(name).items():
            response = client.get(f"/runs/{root}/tree/?format=text")
            assert response.content.decode() == rendered, (name, root)


def test_tree_of_a_replay_is_its_own_tree(client, scenario):
    replay = corpus.get_run(corpus.BRANCHES, corpus.replay())
    text = body(client.get(f"/runs/{replay['id']}/tree/?format=text"))
    assert text == f"{replay['id']} [{replay['status']}]"


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
    assert client.get(f"/runs/{corpus.replay()}/tree/?format=xml").status_code == 400


def test_tree_page_embeds_the_lineage_graph_lazily(client, scenario):
    scenario(corpus.DELEGATION)
    text = body(client.get(f"/runs/{a_grandchild()}/tree/"))
    assert f'hx-get="/runs/{a_grandchild()}/lineage/" hx-trigger="revealed"' in text


def test_tree_page_works_without_htmx_headers_and_ignores_them(client, tmp_runs):
    assert "<html" in body(htmx(client, "/runs/grandchild/tree/"))


def test_a_warm_tree_page_reads_and_redacts_no_run(client, runs_settings, conformance_store_url, monkeypatch):
    """Once its tree is cached, a tree page of an indexed store answers from the index: it used to read and redact
    its run on every request (50-200 ms for a big run)."""
    from runtime_adapter.stores import file as file_module
    from runtime_adapter.stores import redacting

    runs_settings.CONTROLPLANE_RUN_STORE = conformance_store_url(corpus.DELEGATION)
    grandchild = a_grandchild()
    first = body(client.get(f"/runs/{grandchild}/tree/"))
    reads: list[str] = []
    read, redact = file_module.read_run_file, redacting.redact_run
    monkeypatch.setattr(file_module, "read_run_file", lambda path, **kw: reads.append(str(path)) or read(path, **kw))
    monkeypatch.setattr(redacting, "redact_run", lambda run, **kw: reads.append(run["id"]) or redact(run, **kw))
    again = client.get(f"/runs/{grandchild}/tree/")
    assert again.status_code == 200 and reads == []
    region = re.compile(r'<ul class="tree.*</ul>', re.S)
    assert region.search(body(again)).group(0) == region.search(first).group(0)
    assert client.get("/runs/no-such-run/tree/").status_code == 404


def test_a_cold_tree_page_is_made_from_index_rows_without_reading_a_run(client, runs_settings, conformance_store_url,
                                                                        monkeypatch):
    """A pasted tree link's first request: the tree (statuses, inputs, subtree metrics) comes from the family's
    index rows. It used to read and redact every run of the family (2-3 s for a 500-run tree), and shows the same
    tree the runtime renders (its golden text); tests/parity.py holds its metrics to the runs' tree."""
    from django.core.cache import cache

    from runtime_adapter.stores import file as file_module
    from runtime_adapter.stores import redacting

    runs_settings.CONTROLPLANE_RUN_STORE = conformance_store_url(corpus.DELEGATION)
    grandchild = a_grandchild()
    region = re.compile(r'<ul class="tree.*</ul>', re.S)
    cache.clear()
    reads: list[str] = []
    read, redact = file_module.read_run_file, redacting.redact_run
    monkeypatch.setattr(file_module, "read_run_file", lambda path, **kw: reads.append(str(path)) or read(path, **kw))
    monkeypatch.setattr(redacting, "redact_run", lambda run, **kw: reads.append(run["id"]) or redact(run, **kw))
    page = body(client.get(f"/runs/{grandchild}/tree/"))
    assert reads == []
    shown = region.search(page).group(0)
    assert shown.count('class="tree-node') == len(supervisor_family())
    assert re.search(rf'<span class="tree-node current">.*?href="/runs/{grandchild}/" aria-current="page"', shown)
    assert body(client.get(f"/runs/{grandchild}/tree/?format=text")) == golden_trees(corpus.DELEGATION)[corpus.supervisor()]
    assert reads == []
