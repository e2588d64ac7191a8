"""Distribution-free intervals and tests for a median: the sign test and its
order-statistic interval, exact from the binomial, Holm's correction, the sign test's
power, and exact (Clopper-Pearson) intervals for a count of seeds.

Nothing here assumes a shape for the differences between seeds: with n paired
differences, the interval from the k-th to the (n+1-k)-th ordered difference holds
the median with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1), whatever their
distribution, so its coverage is known exactly at every n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFIDENCE = 0.95  # the coverage an interval must reach to be called a 95% interval


def binomial_cdf_half(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k), exact."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2**n


def order_statistic_rank(n: int, confidence: float = CONFIDENCE) -> tuple[int, float]:
    """(k, coverage): the narrowest interval [k-th, (n+1-k)-th ordered value] whose exact
    coverage of the median reaches `confidence`; k = 0 where even min to max falls short."""
    best = (0, 0.0)
    for k in range(1, n // 2 + 1):
        coverage = 1 - 2 * binomial_cdf_half(k - 1, n)
        if coverage < confidence:
            break
        best = (k, coverage)
    return best


def sign_test_p(differences: np.ndarray) -> float:
    """Exact two-sided sign-test p-value for a zero median; zero differences are dropped."""
    differences = np.asarray(differences, dtype=np.float64)
    differences = differences[np.isfinite(differences) & (differences != 0)]
    n = len(differences)
    if n == 0:
        return 1.0
    fewer = int(min((differences > 0).sum(), (differences < 0).sum()))
    return min(1.0, 2 * binomial_cdf_half(fewer, n))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values, in their given order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class MedianInterval:
    value: float  # the sample median
    low: float  # the k-th ordered value (the minimum where no 95% interval exists)
    high: float  # the (n+1-k)-th ordered value (the maximum there)
    n: int  # finite values behind it (seeds, or pairs of seeds)
    rank: int  # k; 0 where n is too small for a 95% interval
    coverage: float  # the interval's exact coverage of the median
    p_value: float  # exact two-sided sign-test p for a zero median

    @property
    def at_95(self) -> bool:
        """Whether the interval reaches 95% coverage (n >= 6)."""
        return self.rank > 0

    @property
    def excludes_zero(self) -> bool:
        return self.at_95 and (self.low > 0 or self.high < 0)

    def text(self, digits: int = 2, signed: bool = False) -> str:
        """'+0.40 [+0.10, +0.60] n=10'; a star where n is too small for a 95% interval
        (then the interval is min to max, its coverage said in the report)."""
        if self.n == 0 or not np.isfinite(self.value):
            return "n/a n=0"
        value, low, high = (number(v, digits, signed) for v in (self.value, self.low, self.high))
        star = "" if self.at_95 else "*"
        return f"{value} [{low}, {high}] n={self.n}{star}"


def number(value: float, digits: int = 2, signed: bool = False) -> str:
    """value at `digits` decimals, or where those round a non-zero value to 0, at two
    significant digits, so that its sign shows ('-0.0047', not '+0.00'); 0 itself is '0.00'."""
    sign = "+" if signed else ""
    if value != 0 and round(value, digits) == 0:
        return f"{value:{sign}.2g}"
    return f"{round(value, digits) + 0.0:{sign}.{digits}f}"


def median_interval(values, confidence: float = CONFIDENCE) -> MedianInterval:
    """The median of the finite values with its order-statistic interval and sign-test p."""
    values = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    values = np.sort(values[np.isfinite(values)])
    n = len(values)
    if n == 0:
        return MedianInterval(math.nan, math.nan, math.nan, 0, 0, 0.0, 1.0)
    rank, coverage = order_statistic_rank(n, confidence)
    if rank == 0:  # min to max, with the coverage it has
        low, high, coverage = values[0], values[-1], 1 - 2 * binomial_cdf_half(0, n)
    else:
        low, high = values[rank - 1], values[n - rank]
    return MedianInterval(
        float(np.median(values)), float(low), float(high), n, rank, coverage, sign_test_p(values)
    )


def p_text(p: float) -> str:
    """A p-value as the report prints it: three decimals, '<0.001' below."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def rank_sentence(n: int) -> str:
    """'n=10: 2nd to 9th ordered difference, 97.9% coverage', or why there is none."""
    rank, coverage = order_statistic_rank(n)
    if rank == 0:
        widest = 1 - 2 * binomial_cdf_half(0, n) if n else 0.0
        return f"n={n}: no 95% interval exists (min to max covers {100 * widest:.1f}%)"
    return f"n={n}: {ordinal(rank)} to {ordinal(n + 1 - rank)} ordered value, {100 * coverage:.1f}% coverage"


def ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= k), exact."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1))


def sign_test_power(n: int, improving: float, alpha: float) -> float:
    """The power of the exact two-sided sign test at level alpha over n pairs, where each
    pair improves with probability `improving`: P(at least k of n improve), k the fewest
    improvements it calls significant (0 where no count can be)."""
    for k in range(n // 2 + 1, n + 1):
        if 2 * binomial_tail(k, n, 0.5) <= alpha:
            return binomial_tail(k, n, improving)
    return 0.0


def seeds_for_power(improving: float, alpha: float, power: float = 0.8, most: int = 200) -> int | None:
    """The fewest pairs whose sign test reaches `power` (None: not within `most`)."""
    for n in range(1, most + 1):
        if sign_test_power(n, improving, alpha) >= power:
            return n
    return None


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval for a proportion k of n, by bisection on the
    binomial's tails."""
    if n == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2

    def solve(target, increasing) -> float:
        low, high = 0.0, 1.0
        for _ in range(60):
            mid = (low + high) / 2
            if (target(mid) < tail) == increasing:
                low = mid
            else:
                high = mid
        return (low + high) / 2

    lower = 0.0 if k == 0 else solve(lambda p: binomial_tail(k, n, p), True)
    upper = 1.0 if k == n else solve(lambda p: 1 - binomial_tail(k + 1, n, p), False)
    return lower, upper
