"""The per-generation memo stays bounded in what it holds, not only in how many answers it keeps."""

from __future__ import annotations

from runtime_adapter.stores import memo
from runtime_adapter.stores.memo import GenerationMemo


def _counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_a_large_answer_evicts_others_so_the_items_held_stay_under_the_budget():
    store = GenerationMemo()
    half = tuple(range(memo.MAX_ITEMS // 2 + 1))
    first, first_calls = _counting(half)
    second, second_calls = _counting(half)
    store.get(1, "first", first, items=len)
    store.get(1, "second", second, items=len)  # both would exceed the budget: the first goes
    store.get(1, "second", second, items=len)
    store.get(1, "first", first, items=len)
    assert (len(first_calls), len(second_calls)) == (2, 1)
    assert store._items <= memo.MAX_ITEMS


def test_an_answer_larger_than_the_budget_is_returned_but_not_kept_and_keeps_the_rest():
    store = GenerationMemo()
    small, small_calls = _counting((1, 2, 3))
    huge, huge_calls = _counting(tuple(range(memo.MAX_ITEMS + 1)))
    store.get(1, "small", small, items=len)
    assert len(store.get(1, "huge", huge, items=len)) == memo.MAX_ITEMS + 1
    assert len(store.get(1, "huge", huge, items=len)) == memo.MAX_ITEMS + 1
    assert store.get(1, "small", small, items=len) == (1, 2, 3)
    assert (len(small_calls), len(huge_calls)) == (1, 2)


def test_a_new_generation_replaces_an_answer_without_counting_it_twice():
    store = GenerationMemo()
    value = tuple(range(memo.MAX_ITEMS // 2 + 1))
    compute, calls = _counting(value)
    for generation in range(5):
        store.get(generation, "key", compute, items=len)
    assert len(calls) == 5
    assert store._items == len(value)
