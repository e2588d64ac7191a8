"""The model kinds side by side at the hidden size they share: amp_ratio and forecast
RMSE per window and data length, each network against the least-squares AR, and the
rollout-training remedy against one-step training, paired by seed."""

from __future__ import annotations

import pandas as pd

from sinelstm.report.effects import paired_differences
from sinelstm.report.frames import select
from sinelstm.report.intervals import MedianInterval, median_interval


def comparison_hidden(plain: pd.DataFrame) -> int:
    """The hidden size the model comparison runs at: the one most network kinds share
    (the largest on a tie); 0 where no model has one."""
    recurrent = plain[plain["hidden"] > 0]
    if recurrent.empty:
        return 0
    kinds_at = recurrent.groupby("hidden")["model"].nunique()
    return int(max(kinds_at.index, key=lambda hidden: (kinds_at[hidden], hidden)))


def model_tables(compared, models, windows, lengths, hidden) -> list[str]:
    from tabulate import tabulate

    lines = []
    titles = (("amp_ratio", "amp_ratio (1 = amplitude kept)"), ("forecast_rmse", "forecast RMSE"))
    for metric, title in titles:
        rows = []
        for model in models:
            cells = compared[compared["model"] == model]
            label = f"{model} h{hidden}" if (cells["hidden"] > 0).any() else model
            estimates = [
                median_interval(select(cells, window=w, length=n)[metric]) for w in windows for n in lengths
            ]
            rows.append(
                [label] + [estimate.text(3 if metric == "forecast_rmse" else 2) for estimate in estimates]
            )
        headers = ["model"] + [f"w{w} L{n}" for w in windows for n in lengths]
        lines += [f"**{title} by model kind, one-step training** (median [interval] over seeds)", ""]
        lines += [tabulate(rows, headers, tablefmt="github"), ""]
    return lines


def against_ar(cells: pd.DataFrame, networks, lengths, how: str) -> list[str]:
    """Each network's forecast RMSE minus ar's, paired on seed, window by window and length
    by length (two windows on one seed share its noise: pooling them would count it twice).
    Exploratory: not in the Holm family."""
    lines = []
    windows = sorted(cells["window"].unique())
    slices = [(w, n) for n in lengths for w in windows]
    for network in networks:
        gaps = [
            model_gap(cells[(cells["window"] == w) & (cells["length"] == n)], network, "forecast_rmse")
            for w, n in slices
        ]
        parts = [f"{gap.text(3, signed=True)} at w{w} L{n}" for gap, (w, n) in zip(gaps, slices, strict=True)]
        closed = [
            f"w{w} L{n}" for gap, (w, n) in zip(gaps, slices, strict=True) if gap.n and not gap.excludes_zero
        ]
        lines.append(
            f"- {network} ({how}) minus ar, forecast RMSE (exploratory): {'; '.join(parts)}"
            + (f"; no 95% interval clear of 0 at {', '.join(closed)}." if closed else ".")
        )
    return lines


def remedy(ok: pd.DataFrame, models, hidden: int) -> list[str]:
    """The remedy against one-step training, on the same seeds and at the comparison's
    hidden size (sizes are not pooled), and against ar."""
    ok = ok[ok["hidden"].isin([0, hidden])]
    rollouts = sorted(ok["train_rollout"].unique())
    if len(rollouts) < 2:
        return []
    k = rollouts[-1]
    remedied = [m for m in models if m in set(ok[ok["train_rollout"] == k]["model"])]
    lines = []
    lengths = sorted(ok["length"].unique())
    windows = sorted(ok["window"].unique())
    for network in remedied:
        cells = ok[ok["model"] == network]
        parts = []
        # Window by window and length by length: the two windows share each seed's data, so
        # pooling them would count a seed twice (and their effects may differ).
        for n in lengths:
            for w in windows:
                one = cells[(cells["length"] == n) & (cells["window"] == w)]
                amp = median_interval(paired_differences(one, "train_rollout", 1, k, "amp_ratio"))
                rmse = median_interval(paired_differences(one, "train_rollout", 1, k, "forecast_rmse"))
                after = median_interval(one[one["train_rollout"] == k]["amp_ratio"])
                parts.append(
                    f"w{w} L{n}: amp_ratio {amp.text(signed=True)} (to {after.text()}), forecast "
                    f"RMSE {rmse.text(3, signed=True)}{'' if rmse.excludes_zero else ' (interval holds 0)'}"
                )
        lines.append(
            f"- Remedy ({k}-step rollout training) on {network}, against one-step training on the same "
            f"seeds{f', hidden {hidden}' if hidden else ''}: {'; '.join(parts)}."
        )
    if "ar" in models:
        with_remedy = ok[
            (ok["model"] == "ar") | ((ok["train_rollout"] == k) & ok["hidden"].isin([0, hidden]))
        ]
        lengths = sorted(ok["length"].unique())
        lines += against_ar(with_remedy, remedied, lengths, f"{k}-step rollout training")
    return lines


def ar_by_slice(cells: pd.DataFrame) -> str:
    """ar's median forecast RMSE per window and data length, each over its own seeds (the
    slices share seeds' data, so one interval over all of them would count a seed twice)."""
    ar = cells[cells["model"] == "ar"]
    parts = [
        f"w{w} L{n} {median_interval(group['forecast_rmse']).text(3)}"
        for (w, n), group in ar.groupby(["window", "length"], sort=True)
    ]
    return "; ".join(parts) if parts else "no ar cells"


def model_gap(cells: pd.DataFrame, network: str, metric: str) -> MedianInterval:
    """network minus ar, paired on window, length and seed (ar has no hidden size or remedy)."""
    keys = ["window", "length", "seed"]
    return median_interval(paired_differences(cells, "model", "ar", network, metric, keys=keys))
