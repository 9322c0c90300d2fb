from __future__ import annotations

import random

import pytest

from runtime_adapter.queries.fleet import SHAPE_FRACTIONS
from runtime_adapter.queries.statistics import (
    FISHER,
    NO_TEST,
    Z_TEST,
    counted_percentile,
    counted_percentiles,
    fisher_exact_p,
    mean,
    percentile,
    two_proportion_test,
    wilson_interval,
)

# Reference values below were computed independently at 30 digits (mpmath: binomial
# coefficients for Fisher, erfinv/ncdf for Wilson and z) and agree with the published ones.


def test_mean_is_none_for_no_values():
    assert mean([]) is None
    assert mean(iter([])) is None


def test_mean_of_values():
    assert mean([1.0, 2.0, 6.0]) == 3.0
    assert mean(iter([0.1] * 10)) == pytest.approx(0.1, abs=1e-15)


def test_percentile_is_none_for_no_values():
    assert percentile([], 0.5) is None


def test_percentile_interpolates_linearly_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0.0) == 10.0
    assert percentile(values, 1.0) == 40.0
    assert percentile(values, 0.5) == 25.0
    assert percentile(values, 0.95) == pytest.approx(38.5)
    assert percentile([7.0], 0.9) == 7.0


def test_percentile_refuses_a_quantile_outside_zero_to_one():
    for q in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError):
            percentile([1.0], q)


def test_wilson_interval_is_none_for_no_runs():
    assert wilson_interval(0, 0) is None


def test_wilson_interval_at_zero_and_all_reaches_exactly_zero_and_one():
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.277532799862889, abs=1e-12)
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.722467200137111, abs=1e-12)
    assert high == 1.0


def test_wilson_interval_known_values():
    assert wilson_interval(5, 10) == pytest.approx((0.236593090512564, 0.763406909487436), abs=1e-12)
    assert wilson_interval(1, 20) == pytest.approx((0.00888144880079539, 0.236131193446742), abs=1e-12)
    assert wilson_interval(81, 263) == pytest.approx((0.255288519878274, 0.366209576982800), abs=1e-12)


def test_wilson_interval_refuses_impossible_counts():
    for successes, n in ((11, 10), (-1, 10)):
        with pytest.raises(ValueError):
            wilson_interval(successes, n)


def test_fisher_exact_test_on_the_tea_tasting_table():
    # Fisher's lady tasting tea: 3 of 4 cups right against 1 of 4, two-sided p = 34/70.
    assert fisher_exact_p(3, 4, 1, 4) == pytest.approx(34 / 70, rel=1e-12)
    result = two_proportion_test(3, 4, 1, 4)
    assert result.test == FISHER
    assert result.statistic is None
    assert result.p_value == pytest.approx(0.4857, abs=5e-5)
    assert not result.significant


def test_fisher_exact_test_on_scipys_documented_table():
    # scipy.stats.fisher_exact([[8, 2], [1, 5]]).pvalue
    result = two_proportion_test(8, 10, 1, 6)
    assert result.test == FISHER
    assert result.p_value == pytest.approx(0.0349650349650350, rel=1e-9)
    assert result.significant


def test_fisher_exact_test_is_symmetric_in_the_two_sides():
    assert fisher_exact_p(1, 6, 8, 10) == pytest.approx(fisher_exact_p(8, 10, 1, 6), rel=1e-12)


def test_z_test_known_value():
    result = two_proportion_test(50, 100, 30, 100)
    assert result.test == Z_TEST
    assert result.statistic == pytest.approx(2.88675134594813, rel=1e-12)
    assert result.p_value == pytest.approx(0.00389241712277863, rel=1e-9)
    assert result.significant


def test_z_test_sign_follows_the_first_side_and_p_is_two_sided():
    result = two_proportion_test(30, 200, 45, 200)
    assert result.test == Z_TEST
    assert result.statistic == pytest.approx(-1.92153784566105, rel=1e-12)
    assert result.p_value == pytest.approx(0.0546639358916751, rel=1e-9)
    assert not result.significant


def test_z_test_is_chosen_only_when_every_expected_count_is_at_least_five():
    # Expected failures per side: 50 * 10 / 100 = 5, then 50 * 9 / 100 = 4.5.
    assert two_proportion_test(5, 50, 5, 50).test == Z_TEST
    assert two_proportion_test(5, 50, 4, 50).test == FISHER


def test_no_runs_on_either_side_is_no_test():
    for counts in ((0, 0, 0, 0), (0, 0, 3, 10), (3, 10, 0, 0)):
        result = two_proportion_test(*counts)
        assert (result.test, result.statistic, result.p_value, result.significant) == (NO_TEST, None, 1.0, False)


def test_all_failed_on_both_sides_is_not_significant():
    for counts in ((10, 10, 500, 500), (0, 10, 0, 500)):
        result = two_proportion_test(*counts)
        assert result.p_value == 1.0
        assert not result.significant


def test_identical_rates_are_not_significant():
    result = two_proportion_test(20, 100, 40, 200)
    assert result.test == Z_TEST
    assert result.statistic == 0.0
    assert result.p_value == 1.0


def test_alpha_decides_significance():
    assert two_proportion_test(45, 200, 30, 200, alpha=0.1).significant


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError):
        two_proportion_test(11, 10, 1, 10)


def test_a_percentile_of_counted_values_is_the_percentile_of_the_values_spelled_out():
    import random
    from collections import Counter

    rng = random.Random(3)
    for _ in range(300):
        values = sorted(rng.choice([0.0, -2.5, 1.0, 7.0, 7.5, 40.0, 1e300]) for _ in range(rng.randint(1, 40)))
        counted = sorted(Counter(values).items())
        for q in (0.0, 0.1, 0.5, 0.9, 0.99, 1.0):
            assert counted_percentile(counted, q) == percentile(values, q), (values, q)
    assert counted_percentile([], 0.5) is None
    assert counted_percentile([(3.0, 0), (5.0, 2)], 0.5) == 5.0  # values counted 0 times are not there


def test_counted_percentiles_equal_percentile_over_the_values_spelled_out():
    rng = random.Random(9)
    for _ in range(300):
        distinct = sorted({rng.choice([rng.uniform(-5, 5), float(rng.randint(0, 9)), 1e300, -0.0])
                           for _ in range(rng.randint(1, 12))})
        counts = [rng.choice([0, 1, 1, 2, 7]) for _ in distinct]
        if not sum(counts):
            counts[0] = 1
        spelled = [value for value, count in zip(distinct, counts, strict=True) for _ in range(count)]
        fractions = sorted({0.0, 1.0, *(rng.random() for _ in range(rng.randint(0, 30))), *SHAPE_FRACTIONS[::97]})
        assert counted_percentiles(distinct, counts, fractions) == [percentile(spelled, f) for f in fractions]
