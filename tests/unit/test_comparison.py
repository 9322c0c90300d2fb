from __future__ import annotations

from runtime_adapter.queries.comparison import comparison_candidates, merge_candidates
from runtime_adapter.queries.listing import run_row
from runtime_adapter.records import replay_source
from runtime_adapter.stores.memory import InMemoryRunStore
from tests.factories import run_record
from tests.fixtures import corpus


def family_store() -> InMemoryRunStore:
    return InMemoryRunStore([
        run_record("parent", children=["incident", "sibling-a", "sibling-b"]),
        run_record("incident", parent="parent", root="parent", status="failed", input="summarise Q3",
                   branch_origin="origin", created="2026-01-01T00:00:05.000Z"),
        run_record("sibling-a", parent="parent", root="parent", created="2026-01-01T00:00:01.000Z"),
        run_record("sibling-b", parent="parent", root="parent", created="2026-01-01T00:00:02.000Z"),
        run_record("origin", input="summarise Q3", status="failed"),
        run_record("branch-1", branch_origin="incident"),
        run_record("replay-1", metadata={"replay": {"sourceRunId": "incident"}}),
        run_record("partial-1", metadata={"replaySourceRunId": "incident"}),
        run_record("same-input-old", input="summarise Q3", created="2025-12-01T00:00:00.000Z"),
        run_record("same-input-new", input="summarise Q3", created="2025-12-31T00:00:00.000Z"),
        run_record("same-input-failed", input="summarise Q3", status="failed", created="2026-01-02T00:00:00.000Z"),
        run_record("unrelated", input="something else"),
    ])


def relations(candidates) -> dict[str, tuple[str, ...]]:
    return {candidate.id: candidate.relations for candidate in candidates}


def test_candidates_cover_origin_branches_replays_siblings_and_same_input():
    store = family_store()
    found = relations(comparison_candidates(store, store.get_run("incident")))
    assert found == {
        "origin": ("branch origin",),
        "replay-1": ("replay",),
        "partial-1": ("replay",),
        "branch-1": ("branch",),
        "sibling-b": ("sibling",),
        "sibling-a": ("sibling",),
        "same-input-new": ("same input, completed",),
    }


def test_candidates_are_ordered_closest_relation_first():
    store = family_store()
    ids = [c.id for c in comparison_candidates(store, store.get_run("incident"))]
    assert ids[0] == "origin"
    assert ids.index("replay-1") < ids.index("branch-1") < ids.index("sibling-a")
    assert ids[-1] == "same-input-new"


def test_a_replay_is_offered_its_source_and_the_other_replays():
    store = family_store()
    found = relations(comparison_candidates(store, store.get_run("replay-1")))
    assert found["incident"] == ("replay source",)
    assert found["partial-1"] == ("sibling replay",)
    assert "replay-1" not in found


def test_a_run_is_never_its_own_candidate():
    store = InMemoryRunStore([run_record("solo", input="same"), run_record("twin", input="same")])
    found = relations(comparison_candidates(store, store.get_run("solo")))
    assert found == {"twin": ("same input, completed",)}


def test_a_run_without_relatives_has_no_candidates():
    store = InMemoryRunStore([run_record("alone", input="unique task")])
    assert comparison_candidates(store, store.get_run("alone")) == []


def test_relations_are_merged_for_a_run_reached_twice():
    row = run_row(run_record("x"))
    merged = merge_candidates("me", [("branch", [row]), ("sibling", [row]), ("branch", [row])])
    assert [(c.id, c.relations) for c in merged] == [("x", ("branch", "sibling"))]


def test_replay_source_prefers_the_replay_metadata():
    run = run_record("r", metadata={"replay": {"sourceRunId": "a"}, "replaySourceRunId": "b"})
    assert replay_source(run) == "a"
    assert replay_source(run_record("p", metadata={"replaySourceRunId": "b"})) == "b"
    assert replay_source(run_record("plain")) is None


def test_candidates_in_the_branch_and_replay_conformance_store(conformance_store_url):
    from runtime_adapter.stores.registry import open_store

    store = open_store(conformance_store_url(corpus.BRANCHES))
    source = corpus.failed_with_replay_and_branch()
    found = relations(comparison_candidates(store, store.get_run(source)))
    [replay] = corpus.frozen_replays_of(corpus.BRANCHES, source)
    assert found[replay] == ("replay",)
    [branch] = corpus.branches_of(corpus.BRANCHES, source)
    assert "branch" in found[branch]
