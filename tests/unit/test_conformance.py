"""Every golden payload in ../shared/conformance/ is reproduced byte for byte."""

from __future__ import annotations

import difflib

import pytest

from tests.conformance import golden_cases, plan_cases, require_corpus, scenarios

SCENARIOS = scenarios()


def _mismatches(cases) -> tuple[int, list[str]]:
    count, failures = 0, []
    for name, expected, actual in cases:
        count += 1
        if expected != actual:
            diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), n=1))[:30])
            failures.append(f"{name}\n{diff}")
    return count, failures


def test_corpus_is_present():
    require_corpus()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_payloads_match(scenario):
    require_corpus()
    count, failures = _mismatches(golden_cases(scenario))
    assert count > 0
    assert not failures, f"{len(failures)}/{count} golden cases differ:\n" + "\n".join(failures[:5])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_recovery_plans_and_correlations_match(scenario):
    require_corpus()
    count, failures = _mismatches(plan_cases(scenario))
    assert count > 0
    assert not failures, f"{len(failures)}/{count} plan cases differ:\n" + "\n".join(failures[:5])
