"""Small statistics for comparing releases: percentiles, rate intervals, a two-proportion test.

Standard library only; the tests hold the results against published values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALPHA = 0.05
Z_95 = 1.959963984540054
Z_TEST = "two-proportion z-test"
FISHER = "Fisher's exact test"
NO_TEST = "none"
# scipy.stats.fisher_exact's tolerance: tables as likely as the observed one, up to rounding, count.
_FISHER_RELATIVE_TOLERANCE = 1e-7


def mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return math.fsum(items) / len(items) if items else None


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile (q in [0, 1]) of ascending values, interpolating linearly between ranks; None when empty."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    if not sorted_values:
        return None
    position = q * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    low, high = sorted_values[lower], sorted_values[upper]
    return low + (high - low) * (position - lower)


def counted_percentile(counted: Sequence[tuple[float, int]], q: float) -> float | None:
    """`percentile` of the ascending values that `counted` lists as (value, how many times), without
    spelling them out: the same ranks, the same interpolation."""
    total = sum(count for _, count in counted)
    if not total:
        return None
    position = q * (total - 1)
    lower = math.floor(position)
    upper = min(lower + 1, total - 1)
    low = high = None
    seen = 0
    for value, count in counted:
        if low is None and lower < seen + count:
            low = value
        if upper < seen + count:
            high = value
            break
        seen += count
    assert low is not None and high is not None
    return low + (high - low) * (position - lower)


def counted_percentiles(values: Sequence[float], counts: Sequence[int], fractions: Sequence[float]) -> list[float]:
    """`percentile` at each of the ascending `fractions` of the ascending distinct `values`, each there `counts`
    times (a positive total), in one pass: the same ranks, the same interpolation."""
    total = sum(counts)
    if not total:
        raise ValueError("no values")
    found = []
    index, before = 0, 0  # values[index] holds the ranks before + 0 .. before + counts[index] - 1
    for fraction in fractions:
        position = fraction * (total - 1)
        lower = math.floor(position)
        upper = min(lower + 1, total - 1)
        while lower >= before + counts[index]:
            before += counts[index]
            index += 1
        low = values[index]
        ahead, seen = index, before
        while upper >= seen + counts[ahead]:
            seen += counts[ahead]
            ahead += 1
        high = values[ahead]
        found.append(low + (high - low) * (position - lower))
    return found


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for a rate of `successes` in `n`; None when n is 0."""
    _check_count(successes, n)
    if n == 0:
        return None
    rate = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (rate + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n)) / denominator
    # At 0 and n the bound is exactly 0 or 1; floating point would leave 1e-17 or so.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


@dataclass(frozen=True)
class ProportionTest:
    test: str  # Z_TEST, FISHER or NO_TEST
    statistic: float | None  # z for the z-test; None otherwise
    p_value: float
    significant: bool


def two_proportion_test(x1: int, n1: int, x2: int, n2: int, alpha: float = ALPHA) -> ProportionTest:
    """Whether the rates x1/n1 and x2/n2 differ, two-sided.

    The pooled z-test when every expected cell count of the 2x2 table is at least 5,
    Fisher's exact test otherwise. An empty side leaves nothing to test (p = 1).
    """
    _check_count(x1, n1)
    _check_count(x2, n2)
    if n1 == 0 or n2 == 0:
        return ProportionTest(NO_TEST, None, 1.0, False)
    total, hits = n1 + n2, x1 + x2
    smallest_expected = min(n1, n2) * min(hits, total - hits) / total
    if smallest_expected < 5:
        p_value = fisher_exact_p(x1, n1, x2, n2)
        return ProportionTest(FISHER, None, p_value, p_value < alpha)
    pooled = hits / total
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / standard_error
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return ProportionTest(Z_TEST, z, p_value, p_value < alpha)


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p of Fisher's exact test on [[x1, n1 - x1], [x2, n2 - x2]]: the tables no likelier than this one."""
    _check_count(x1, n1)
    _check_count(x2, n2)
    hits = x1 + x2
    # With the margins fixed, x1 alone picks the table; its law is hypergeometric.
    lowest, highest = max(0, hits - n2), min(n1, hits)
    log_norm = _log_choose(n1 + n2, n1)

    def probability(k: int) -> float:
        return math.exp(_log_choose(hits, k) + _log_choose(n1 + n2 - hits, n1 - k) - log_norm)

    observed = probability(x1) * (1 + _FISHER_RELATIVE_TOLERANCE)
    p_value = math.fsum(p for p in map(probability, range(lowest, highest + 1)) if p <= observed)
    return min(1.0, p_value)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _check_count(successes: int, n: int) -> None:
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
