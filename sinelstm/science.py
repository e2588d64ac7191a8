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

from sinelstm.config import KERAS_MODELS, MODELS
from sinelstm.grid import AXES

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
# Every axis a cell has; a pair agrees on all of them but the one compared.
PAIR_KEYS = list(AXES)
# A config: every axis but the seed.
CONFIG_KEYS = [axis for axis in AXES if axis != "seed"]


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
    keys = keys or [key for key in PAIR_KEYS if key != factor]
    left = ok[ok[factor] == before][keys + [metric]]
    right = ok[ok[factor] == after][keys + [metric]]
    merged = left.merge(right, on=keys, suffixes=("_before", "_after"))
    after_values = pd.to_numeric(merged[f"{metric}_after"], errors="coerce")
    before_values = pd.to_numeric(merged[f"{metric}_before"], errors="coerce")
    return (after_values - before_values).to_numpy(dtype=np.float64)


def effect(ok: pd.DataFrame, factor: str, before, after, metric: str) -> Estimate:
    return bootstrap_median(paired_differences(ok, factor, before, after, metric))


def select(ok: pd.DataFrame, **values) -> pd.DataFrame:
    mask = np.ones(len(ok), dtype=bool)
    for key, value in values.items():
        mask &= (ok[key] == value).to_numpy()
    return ok[mask]


def is_science(ok: pd.DataFrame) -> bool:
    """Whether the run has the axes the science section compares: several model kinds
    or the remedy, with at least 3 seeds per config."""
    seeds = ok.groupby(CONFIG_KEYS)["seed"].nunique()
    several = ok["model"].nunique() > 1 or ok["train_rollout"].nunique() > 1
    return several and len(seeds) > 0 and int(seeds.min()) >= 3


def science_section(ok: pd.DataFrame) -> list[str]:
    """The markdown lines of the science section; every sentence is computed from ok."""
    lines = [
        "Medians over seeds with 95% bootstrap intervals in brackets; an effect is the median "
        "change between cells that differ in that one factor only (same seed, same data).",
        "",
    ]
    models = [m for m in MODELS if m in set(ok["model"])]
    windows, lengths = sorted(ok["window"].unique()), sorted(ok["length"].unique())
    plain = ok[ok["train_rollout"] == 1]
    recurrent = plain[plain["hidden"] > 0]
    hidden = int(recurrent["hidden"].max()) if not recurrent.empty else 0
    # The models at one hidden size each (the largest), one-step training.
    compared = plain[plain["hidden"].isin([0, hidden])]
    lines += _model_tables(compared, models, windows, lengths, hidden)
    lines += _window_or_data(plain[plain["model"] == "lstm"], windows, lengths)
    if "ar" in models:
        lines += _against_ar(compared, [m for m in models if m in KERAS_MODELS], lengths, "one-step training")
        ar = bootstrap_median(plain[plain["model"] == "ar"]["forecast_rmse"])
        lines.append(f"- ar's own median forecast RMSE over every window and data length: {ar.text(3)}.")
    lines += _remedy(ok, models)
    return lines


def _model_tables(compared, models, windows, lengths, hidden) -> list[str]:
    from tabulate import tabulate

    lines = []
    titles = (("amp_ratio", "amp_ratio (1 = amplitude kept)"), ("forecast_rmse", "forecast RMSE"))
    for metric, title in titles:
        rows = []
        for model in models:
            cells = compared[compared["model"] == model]
            label = f"{model} h{hidden}" if (cells["hidden"] > 0).any() else model
            estimates = [
                bootstrap_median(select(cells, window=w, length=n)[metric]) for w in windows for n in lengths
            ]
            rows.append([label] + [estimate.text() for estimate in estimates])
        headers = ["model"] + [f"w{w} L{n}" for w in windows for n in lengths]
        lines += [f"**{title}, one-step training**", "", tabulate(rows, headers, tablefmt="github"), ""]
    return lines


def _window_or_data(lstm: pd.DataFrame, windows, lengths) -> list[str]:
    """Which of the 2020 run's two changes keeps the amplitude, on the article's LSTM."""
    lines = []
    if len(windows) >= 2 and len(lengths) >= 2 and not lstm.empty:
        w0, w1, n0, n1 = windows[0], windows[-1], lengths[0], lengths[-1]
        window_short = effect(lstm[lstm["length"] == n0], "window", w0, w1, "amp_ratio")
        window_long = effect(lstm[lstm["length"] == n1], "window", w0, w1, "amp_ratio")
        data_short = effect(lstm[lstm["window"] == w0], "length", n0, n1, "amp_ratio")
        data_long = effect(lstm[lstm["window"] == w1], "length", n0, n1, "amp_ratio")
        lines.append(
            "- **Window or data?** On the article's LSTM (all hidden sizes, one-step training), "
            f"window {w0} -> {w1} changes the median amp_ratio by {window_short.text(signed=True)} "
            f"on {n0} samples and {window_long.text(signed=True)} on {n1}; {n0} -> {n1} samples "
            f"changes it by {data_short.text(signed=True)} at window {w0} and "
            f"{data_long.text(signed=True)} at window {w1}. "
            + _verdict(window_short, window_long, data_short, data_long)
        )
        start = bootstrap_median(select(lstm, window=w0, length=n0)["amp_ratio"])
        both = bootstrap_median(select(lstm, window=w1, length=n1)["amp_ratio"])
        lines.append(
            f"- The article's two runs: window {w0} on {n0} samples gives a median amp_ratio of "
            f"{start.text()}, window {w1} on {n1} samples {both.text()}."
        )
    hidden_sizes = sorted(h for h in lstm["hidden"].unique() if h > 0)
    if len(hidden_sizes) >= 2:
        h0, h1 = hidden_sizes[0], hidden_sizes[-1]
        changes = [effect(select(lstm, length=n), "hidden", h0, h1, "amp_ratio") for n in lengths]
        parts = [f"{c.text(signed=True)} on {n} samples" for c, n in zip(changes, lengths, strict=True)]
        lines.append(f"- Hidden {h0} -> {h1} (LSTM) changes the median amp_ratio by {' and '.join(parts)}.")
    return lines


def _against_ar(cells: pd.DataFrame, networks, lengths, how: str) -> list[str]:
    """Each network's forecast RMSE minus ar's, paired on window, data length and seed."""
    lines = []
    for network in networks:
        gaps = [_model_gap(cells[cells["length"] == n], network, "forecast_rmse") for n in lengths]
        parts = [f"{gap.text(3, signed=True)} on {n} samples" for gap, n in zip(gaps, lengths, strict=True)]
        closed = [n for gap, n in zip(gaps, lengths, strict=True) if gap.n and not gap.excludes_zero]
        lines.append(
            f"- {network} ({how}) minus ar, forecast RMSE: {'; '.join(parts)}"
            + (f"; the interval holds 0 on {', '.join(map(str, closed))} samples." if closed else ".")
        )
    return lines


def _remedy(ok: pd.DataFrame, models) -> list[str]:
    """The remedy against one-step training, on the same seeds, and against ar."""
    rollouts = sorted(ok["train_rollout"].unique())
    if len(rollouts) < 2:
        return []
    k = rollouts[-1]
    remedied = [m for m in models if m in set(ok[ok["train_rollout"] == k]["model"])]
    lines = []
    lengths = sorted(ok["length"].unique())
    for network in remedied:
        cells = ok[ok["model"] == network]
        parts = []
        for n in lengths:
            on_n = cells[cells["length"] == n]
            amp = effect(on_n, "train_rollout", 1, k, "amp_ratio")
            rmse = effect(on_n, "train_rollout", 1, k, "forecast_rmse")
            after = bootstrap_median(on_n[on_n["train_rollout"] == k]["amp_ratio"])
            parts.append(
                f"on {n} samples amp_ratio {amp.text(signed=True)} (to {after.text()}) and forecast "
                f"RMSE {rmse.text(3, signed=True)}{'' if rmse.excludes_zero else ' (interval holds 0)'}"
            )
        lines.append(
            f"- Remedy ({k}-step rollout training) on {network}, against one-step training on the same "
            f"seeds, every window and hidden size: {'; '.join(parts)}."
        )
    if "ar" in models:
        hidden = int(ok[ok["hidden"] > 0]["hidden"].max()) if (ok["hidden"] > 0).any() else 0
        with_remedy = ok[
            (ok["model"] == "ar") | ((ok["train_rollout"] == k) & ok["hidden"].isin([0, hidden]))
        ]
        lengths = sorted(ok["length"].unique())
        lines += _against_ar(with_remedy, remedied, lengths, f"{k}-step rollout training")
    return lines


def _model_gap(cells: pd.DataFrame, network: str, metric: str) -> Estimate:
    """network minus ar, paired on window, length and seed (ar has no hidden size or remedy)."""
    keys = ["window", "length", "seed"]
    return bootstrap_median(paired_differences(cells, "model", "ar", network, metric, keys=keys))


def _verdict(window_short: Estimate, window_long: Estimate, data_short: Estimate, data_long: Estimate) -> str:
    window = max(abs(window_short.value), abs(window_long.value))
    data = min(abs(data_short.value), abs(data_long.value))
    if not (np.isfinite(window) and np.isfinite(data)):
        return "There are too few pairs to say which matters."
    if data > window and (data_short.excludes_zero or data_long.excludes_zero):
        return "The data length, not the window, is what keeps the amplitude."
    if window > data and (window_short.excludes_zero or window_long.excludes_zero):
        return "The window, more than the data length, is what keeps the amplitude."
    return "Neither effect is clearly larger than the other at these seeds."
