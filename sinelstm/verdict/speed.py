"""The speed verdict of an A/B run: head against base, from paired timings taken in one job.

A pair is one cell run by base's code and by head's, one right after the other on the same
core (sinelstm.sweep.ab_pairs); it gives one log ratio per timing metric. Per config, the ratio is
the Hodges-Lehmann estimate and its interval the Wilcoxon signed-rank interval: exact at
any n, and an outlier weighs one rank. Verdicts: slower (fails), faster, same, inconclusive
(passes: the run could have seen threshold + margin), underpowered (fails), accepted. Only
evidence fails a config. Why these methods: docs/layout.md, design notes.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Timing metrics of a pair: name -> what it times, in the A/B table's words.
TIMINGS = {
    "s_per_epoch": "epoch",
    "forecast_ms_per_step": "forecast step",
    "warmup_s": "compile and warm-up",
    "cell_s": "cell wall",
}
FAILING = ("slower", "underpowered")


@dataclass(frozen=True)
class SpeedRules:
    """How an A/B run judges speed ([tool.sinelstm.gate.ab] in pyproject.toml)."""

    threshold: float = 0.10  # a slowdown past this fraction fails, where the interval shows it
    # Undecided after every round: passes as inconclusive where the run could have seen
    # threshold + margin (+25%), and is underpowered (fails) where it could not.
    margin: float = 0.15
    confidence: float = 0.95
    # metric -> its own threshold, where one is measured to need another.
    thresholds: tuple[tuple[str, float], ...] = ()
    # Metrics reported but never failed (their noise is documented where they are listed).
    informational: tuple[str, ...] = ()

    def threshold_for(self, metric: str) -> float:
        return dict(self.thresholds).get(metric, self.threshold)


@dataclass(frozen=True)
class Acceptance:
    """A reviewed slowdown: configs matching `config` may be up to `up_to` times slower in
    `metric`, for `reason`."""

    config: str
    metric: str
    up_to: float
    reason: str

    def covers(self, config: str, metric: str, ratio_high: float) -> bool:
        return fnmatch.fnmatchcase(config, self.config) and metric == self.metric and ratio_high <= self.up_to


@dataclass(frozen=True)
class SpeedVerdict:
    config: str
    metric: str
    pairs: int
    ratio: float  # head / base, Hodges-Lehmann
    low: float  # the interval
    high: float
    coverage: float  # the interval's exact coverage
    detectable: float  # the smallest slowdown (a fraction) the run could have detected
    threshold: float
    verdict: str
    reason: str = ""  # an acceptance's, or why there is no interval

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING


@lru_cache(maxsize=64)
def signed_rank_cdf(n: int) -> tuple[float, ...]:
    """P(W+ <= w) for w = 0 .. n(n+1)/2 under the null: the exact distribution of the
    Wilcoxon signed-rank statistic of n pairs (each rank's sign a fair coin)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=np.float64)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[: top + 1 - rank].copy()
    return tuple(np.cumsum(counts) / 2.0**n)


def walsh_averages(values: np.ndarray) -> np.ndarray:
    """(x_i + x_j) / 2 for every i <= j, sorted."""
    values = np.asarray(values, dtype=np.float64)
    i, j = np.triu_indices(len(values))
    return np.sort((values[i] + values[j]) / 2.0)


def hodges_lehmann(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(estimate, low, high, coverage): the Hodges-Lehmann location of the values and its
    Wilcoxon signed-rank interval, whose exact coverage is at least `confidence`. NaN
    bounds where n is too small for any interval of that coverage (n < 6 at 95%)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    averages = walsh_averages(values)
    estimate = float(np.median(averages))
    cdf = signed_rank_cdf(n)
    tail = (1.0 - confidence) / 2.0
    # The largest c with P(W+ <= c) <= tail: the interval runs from the (c+1)-th smallest
    # to the (c+1)-th largest Walsh average.
    below = [c for c, p in enumerate(cdf) if p <= tail]
    if not below:
        return estimate, math.nan, math.nan, math.nan
    c = below[-1]
    return estimate, float(averages[c]), float(averages[len(averages) - 1 - c]), 1.0 - 2.0 * cdf[c]


def min_pairs(confidence: float = 0.95) -> int:
    """The fewest pairs that can form an interval of this coverage."""
    n = 1
    while signed_rank_cdf(n)[0] > (1.0 - confidence) / 2.0:
        n += 1
    return n


def judge_pairs(
    config: str,
    metric: str,
    base: list[float],
    head: list[float],
    rules: SpeedRules,
    accepted: tuple[Acceptance, ...] = (),
) -> SpeedVerdict:
    """The verdict of one config's timing metric from its pairs (base[i], head[i])."""
    threshold = rules.threshold_for(metric)
    pairs = [(b, h) for b, h in zip(base, head, strict=True) if _positive(b) and _positive(h)]
    logs = np.log([h / b for b, h in pairs]) if pairs else np.empty(0)
    estimate, low, high, coverage = hodges_lehmann(logs, rules.confidence)

    def verdict(name: str, detectable: float = math.nan, reason: str = "") -> SpeedVerdict:
        return SpeedVerdict(
            config, metric, len(pairs), math.exp(estimate) if pairs else math.nan,
            math.exp(low), math.exp(high), coverage, detectable, threshold, name, reason,
        )  # fmt: skip

    if math.isnan(low):
        needed = min_pairs(rules.confidence)
        return verdict(
            "underpowered", reason=f"{len(pairs)} pairs; a {rules.confidence:.0%} interval needs {needed}"
        )
    detectable = (1.0 + threshold) * math.exp(estimate - low) - 1.0
    limit = math.log1p(threshold)
    if low > limit:
        for acceptance in accepted:
            if acceptance.covers(config, metric, math.exp(high)):
                return verdict("accepted", detectable, acceptance.reason)
        return verdict("slower", detectable)
    if high < 0.0:
        return verdict("faster", detectable)
    if high <= limit:
        return verdict("same", detectable)
    if detectable > threshold + rules.margin:
        return verdict("underpowered", detectable)
    return verdict("inconclusive", detectable)


def _positive(value) -> bool:
    try:
        return math.isfinite(float(value)) and float(value) > 0.0
    except (TypeError, ValueError):
        return False
