"""Every golden payload in ../shared/conformance/ is reproduced byte for byte."""

from __future__ import annotations

import difflib
import os

import pytest

from tests.conformance import CONFORMANCE_DIR, golden_cases, plan_cases, scenarios

SCENARIOS = scenarios()


def _missing() -> None:
    message = f"conformance corpus not found at {CONFORMANCE_DIR}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _mismatches(cases) -> tuple[int, list[str]]:
    count, failures = 0, []
    for name, expected, actual in cases:
        count += 1
        if expected != actual:
            diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), n=1))[:30])
            failures.append(f"{name}\n{diff}")
    return count, failures


def test_corpus_is_present():
    if not SCENARIOS:
        _missing()


@pytest.mark.parametrize("scenario", SCENARIOS or ["<absent>"])
def test_golden_payloads_match(scenario):
    if not SCENARIOS:
        _missing()
    count, failures = _mismatches(golden_cases(scenario))
    assert count > 0
    assert not failures, f"{len(failures)}/{count} golden cases differ:\n" + "\n".join(failures[:5])


@pytest.mark.parametrize("scenario", SCENARIOS or ["<absent>"])
def test_recovery_plans_and_correlations_match(scenario):
    if not SCENARIOS:
        _missing()
    count, failures = _mismatches(plan_cases(scenario))
    assert count > 0
    assert not failures, f"{len(failures)}/{count} plan cases differ:\n" + "\n".join(failures[:5])
