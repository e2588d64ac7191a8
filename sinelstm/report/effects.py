"""Effects with bootstrap confidence intervals over seeds: what the report's science
section says about the decay, computed from the results CSV alone.

An effect compares cells that differ in one factor and agree on everything else,
seed included (the same seed gives the same data noise): each such pair gives one
difference, and the effect is the median of those differences, with a 95%
percentile-bootstrap interval from resampling the pairs. The resampling is
seeded, so the same CSV gives the same intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinelstm.sweep.grid import axis_fields

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float  # the median
    low: float  # the interval's bounds
    high: float
    n: int  # values (or pairs) behind it

    def text(self, digits: int = 2, signed: bool = False) -> str:
        if self.n == 0 or not np.isfinite(self.value):
            return "n/a"
        sign = "+" if signed else ""
        # Rounded first, so that a tiny negative prints as 0.00, not -0.00.
        value, low, high = (round(v, digits) + 0.0 for v in (self.value, self.low, self.high))
        return f"{value:{sign}.{digits}f} [{low:{sign}.{digits}f}, {high:{sign}.{digits}f}]"

    @property
    def excludes_zero(self) -> bool:
        return self.n > 0 and (self.low > 0 or self.high < 0)


def bootstrap_median(values, seed: int = 0) -> Estimate:
    """The median of the finite values and its 95% percentile-bootstrap interval."""
    values = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    rng = np.random.default_rng(seed)
    # (resamples, n): each row one resample of the values, with replacement.
    resamples = values[rng.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))]
    medians = np.median(resamples, axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return Estimate(float(np.median(values)), float(low), float(high), len(values))


def paired_differences(
    ok: pd.DataFrame, factor: str, before, after, metric: str, keys: list[str] | None = None
) -> np.ndarray:
    """metric(after) - metric(before) for every pair of cells that differ only in `factor`
    (or, with keys, that agree on those keys)."""
    # A pair agrees on every axis a cell has but the one compared.
    keys = keys or [key for key in axis_fields() if key != factor]
    left = ok[ok[factor] == before][keys + [metric]]
    right = ok[ok[factor] == after][keys + [metric]]
    merged = left.merge(right, on=keys, suffixes=("_before", "_after"))
    after_values = pd.to_numeric(merged[f"{metric}_after"], errors="coerce")
    before_values = pd.to_numeric(merged[f"{metric}_before"], errors="coerce")
    return (after_values - before_values).to_numpy(dtype=np.float64)


def effect(ok: pd.DataFrame, factor: str, before, after, metric: str) -> Estimate:
    return bootstrap_median(paired_differences(ok, factor, before, after, metric))
