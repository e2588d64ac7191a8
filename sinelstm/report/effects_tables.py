"""The science section's markdown for the article's LSTM: the thresholds, each cell
group's seeds (kept, flat, never fitted, capped), and the effects hidden size by hidden
size with their sign-test intervals, Holm-corrected where the headline rests on them."""

from __future__ import annotations

import pandas as pd

from sinelstm.report.accuracy import THRESHOLDS, noise_sd
from sinelstm.report.intervals import rank_sentence
from sinelstm.report.stratified import HEADLINE, Design, Effect

NOISE_MATCH = 0.2  # an RMSE within 20% of the noise SD is "at about that SD"


def thresholds_lines() -> list[str]:
    """The thresholds behind "kept", "flat", "never fitted" and "floor", with their reasons."""
    from tabulate import tabulate

    rows = [[name, rule, why] for name, rule, why in THRESHOLDS]
    return [
        "**Thresholds** (a cell keeps the wave only where amplitude, phase and accuracy all pass):",
        "",
        tabulate(rows, ["judgement", "rule", "why"], tablefmt="github"),
        "",
    ]


def interval_lines(ns: list[int]) -> list[str]:
    """How the intervals are made, and their exact coverage at each n in the report."""
    coverage = "; ".join(rank_sentence(n) for n in sorted(set(ns)) if n > 0)
    return [
        "Every interval is distribution-free: the order-statistic (sign-test) interval for a median, "
        f"its exact coverage from the binomial at its n ({coverage}). An effect is the median of "
        "paired differences, after minus before, on the same seed (same noise draw). "
        "The headline family (window and data length at each hidden size, off the floor) is "
        "Holm-corrected on exact two-sided sign-test p-values; every other effect is exploratory. "
        "n is the number of seeds (or seed pairs) behind each interval; a star marks an n too small "
        "for any 95% interval, where min to max is shown with the coverage above.",
        "",
    ]


def reference_lines(judged: pd.DataFrame) -> list[str]:
    """The zero forecast and the noise: the errors every forecast is measured against."""
    zero = sorted({round(float(v), 3) for v in judged["zero_rmse"]})
    noises = sorted({float(v) for v in pd.to_numeric(judged["noise"], errors="coerce").dropna()})
    parts = ", ".join(f"noise {v:g}: SD {noise_sd(v):.4f}" for v in noises)
    lines = [
        f"- The zero forecast (predicting 0) scores a forecast RMSE of {', '.join(f'{v:.3f}' for v in zero)} "
        "against the noise-free continuation, computed from each cell's period, length and horizon.",
        f"- The data noise is uniform on +-noise, so its SD is noise/sqrt(3) ({parts}): the noise floor.",
    ]
    seasonal = judged[judged["model"] == "seasonal-naive"]
    if not seasonal.empty:
        median = float(pd.to_numeric(seasonal["forecast_rmse"], errors="coerce").median())
        ratio = median / noise_sd(noises[0]) if noises else float("nan")
        where = (
            "at about that SD: it carries one period's noise forward and nothing else"
            if abs(ratio - 1) <= NOISE_MATCH
            else f"{ratio:.1f} times that SD"
        )
        lines.append(
            f"- seasonal-naive (repeat the last period of noisy data) has median forecast RMSE "
            f"{median:.4f}, {where}."
        )
    worse = judged[judged["worse_than_zero"]]
    groups = worse.groupby(["model", "train_rollout", "hidden", "window", "length", "period", "batch_size"])
    named = [f"{group_label(*key)} ({len(rows)} seeds)" for key, rows in groups]
    lines.append(
        f"- {len(worse)} of {len(judged)} cells forecast worse than the zero forecast"
        + (f": {', '.join(named)}." if named else ".")
    )
    return lines + [""]


def group_label(model, rollout, hidden, window, length, period, batch_size) -> str:
    """'lstm h64 w50 L201 period 100 batch 300', rollout where above 1."""
    size = f" h{hidden}" if hidden else ""
    remedy = f" rollout{rollout}" if rollout > 1 else ""
    return f"{model}{size}{remedy} w{window} L{length} period {period:g} batch {batch_size}"


def arm_lines(summary: pd.DataFrame) -> list[str]:
    """One table row per cell group and hidden size."""
    from tabulate import tabulate

    if summary.empty:
        return ["No article-LSTM cells (lstm, one-step training) to stratify.", ""]
    rows = [
        [
            record["hidden"], record["arm"], record["seeds"], record["amp_ratio"].text(),
            record["forecast_rmse"].text(3), f"{record['kept']}/{record['seeds']}", record["flat"],
            record["unfit"], record["worse_than_zero"], record["capped"], record["still_improving"],
            "**floor**" if record["floor"] else "",
        ]
        for record in summary.to_dict("records")
    ]  # fmt: skip
    headers = [
        "hidden", "cells", "seeds", "amp_ratio", "forecast RMSE", "kept", "flat", "never fitted",
        "worse than 0", "epoch cap hit", "best epoch at cap", "",
    ]  # fmt: skip
    return [
        "**The article's LSTM by cell group** (median [interval] over seeds; counts are seeds). "
        "Where the epoch cap binds (epochs_run = epochs), and above all where the best epoch is the "
        "last, the cell stopped training while still improving: a confound for any effect on it.",
        "",
        tabulate(rows, headers, tablefmt="github"),
        "",
    ]


def effect_lines(effects: list[Effect]) -> list[str]:
    """One table row per effect per hidden size."""
    from tabulate import tabulate

    if not effects:
        return ["No paired effects: the run lacks a second window or data length.", ""]
    rows = []
    for e in effects:
        holm = f"{e.holm_p:.3f}" if e.family == HEADLINE and not e.floor else "–"
        note = f"floor ({e.floor})" if e.floor else ("significant" if e.significant else "")
        rows.append(
            [e.hidden, e.family, e.name, e.amp.text(signed=True), e.rmse.text(3, signed=True),
             f"{e.amp.p_value:.3f}", holm, note]
        )  # fmt: skip
    headers = ["hidden", "family", "effect", "Δ amp_ratio", "Δ forecast RMSE", "sign p", "Holm p", "note"]
    return [
        "**Effects, hidden size by hidden size** (paired by seed; an effect with an arm at a floor "
        "is shown but neither counted in the Holm family nor read as keeping or losing the amplitude):",
        "",
        tabulate(rows, headers, tablefmt="github"),
        "",
    ]


def control_lines(design: Design) -> list[str]:
    """Which controls the run holds; a missing one is said, not skipped silently."""
    lines = []
    if design.base is None:
        return lines
    if design.period_control is None:
        lines.append(
            "- Period control absent: no LSTM cells at the long length with another period, so "
            "'more samples, same periods' and 'more periods, same samples' are not separated."
        )
    if design.steps_batch is None:
        lines.append(
            "- Steps control absent: no LSTM cells at the long length with another batch size, so "
            "the data length is not separated from the optimizer steps per epoch."
        )
    return lines + ([""] if lines else [])
