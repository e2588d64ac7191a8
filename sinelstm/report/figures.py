"""The report's figures, drawn from the results and series CSVs (never a live model)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sinelstm.analysis.frames import configs
from sinelstm.experiment import kinds
from sinelstm.experiment.config import ExperimentConfig
from sinelstm.experiment.data import clean_sine, noisy_sine
from sinelstm.experiment.metrics import period_amplitudes
from sinelstm.report.run_figures import fit_figure, forecast_figure, pyplot, save_png
from sinelstm.sweep.rows import config_of

MAX_PLOTTED = 12  # configs drawn in the per-config figures

# Configs drawn as the article's two figures, when the grid has them.
ARTICLE_CELLS = {
    "article-2017": dict(model=kinds.ARTICLE, window=25, length=201, hidden=300, train_rollout=1),
    "article-2020": dict(model=kinds.ARTICLE, window=50, length=601, hidden=300, train_rollout=1),
}


def _save(fig, path: Path, dpi: float = 100) -> None:
    save_png(fig, path, dpi=dpi)


def _at_article_settings(frame: pd.DataFrame) -> pd.Series:
    """Rows at the article's period and batch size (not a control of the science grid)."""
    article = ExperimentConfig()
    return (frame["period"].astype(float) == article.period) & (frame["batch_size"] == article.batch_size)


def plotted_configs(ok: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The configs the per-config figures draw, at most MAX_PLOTTED: the article's LSTM (one-step
    training, the article's period and batch size) first, so that every figure shows it, then
    the others in axis order."""
    groups = configs(ok)

    def article(group: pd.DataFrame) -> bool:
        row = group.iloc[0]
        one_step = kinds.is_article(row["model"]) and row["train_rollout"] == 1
        return one_step and bool(_at_article_settings(group).all())

    ordered = [g for g in groups if article(g[1])] + [g for g in groups if not article(g[1])]
    return ordered[:MAX_PLOTTED]


def forecast_fan(ok: pd.DataFrame, series: pd.DataFrame, path: Path) -> bool:
    """Per config: every seed's forecast, the band of their spread, the median seed bold."""
    plt = pyplot()
    forecasts = series[series["kind"] == "forecast"]
    groups = plotted_configs(ok)
    if not groups or forecasts.empty:
        return False
    columns = min(3, len(groups))
    rows = math.ceil(len(groups) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.8 * columns, 1.0 + 2.4 * rows), squeeze=False, sharey=True
    )
    for ax, (label, group) in zip(axes.flat, groups, strict=False):
        period = float(group["period"].iloc[0])
        curves = []
        for seed, key in sorted(zip(group["seed"], group["cell_key"], strict=True)):
            one = forecasts[forecasts["cell_key"] == key]
            if len(one):
                curves.append((seed, one["x"].to_numpy(), one["value"].to_numpy()))
        if not curves:
            continue
        x = curves[0][1]
        stack = np.vstack([np.clip(c[2], -3, 3) for c in curves if len(c[2]) == len(x)])
        ax.plot(x, clean_sine(x, period), color="0.55", lw=1, ls="--", label="truth")
        # Solid colours, no band edge: a palette PNG then holds the figure in few bytes
        # (translucent lines crossing a translucent band made a shade for every crossing).
        ax.fill_between(x, stack.min(axis=0), stack.max(axis=0), color="#d4ebd4", lw=0, label="seed range")
        by_rmse = group.sort_values("forecast_rmse", na_position="last")
        median_seed = int(by_rmse["seed"].iloc[(len(by_rmse) - 1) // 2])
        for seed, xs, values in curves:
            bold = seed == median_seed
            ax.plot(
                xs,
                np.clip(values, -3, 3),
                color="tab:green" if bold else "#b5b86b",
                lw=1.6 if bold else 0.6,
                zorder=3 if bold else 2,
                label=f"median seed ({seed})" if bold else None,
            )
        ax.set_title(f"{label} ({len(curves)} seeds)", fontsize=9)
        ax.set_xlabel("x (sample)")
        ax.set_ylabel("value")
        ax.set_ylim(-1.8, 1.8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Forecast of every seed over the true continuation", fontsize=12)
    fig.tight_layout()
    _save(fig, path, dpi=90)  # twelve panels of up to ten seeds each: about 1300x950 pixels
    plt.close(fig)
    return True


def amplitude_chart(ok: pd.DataFrame, series: pd.DataFrame, path: Path) -> bool:
    """Median amplitude per forecast period against period number, one line per config."""
    plt = pyplot()
    forecasts = series[series["kind"] == "forecast"]
    fig, ax = plt.subplots(figsize=(10, 5))
    # Colour: model and hidden size; line: data length (dashed = shortest); marker: window.
    plotted = plotted_configs(ok)
    # tab20: as many colours as the figure can have kinds (MAX_PLOTTED), none reused.
    colors = plt.get_cmap("tab20").colors
    firsts = [group.iloc[0] for _, group in plotted]
    kinds = sorted({(first["model"], first["hidden"], first["train_rollout"]) for first in firsts})
    windows = sorted(ok["window"].unique())
    markers = ["o", "s", "^", "D", "v"]
    drawn = 0
    for label, group in plotted:
        first = group.iloc[0]
        window, length = first["window"], first["length"]
        kind = (first["model"], first["hidden"], first["train_rollout"])
        period = float(group["period"].iloc[0])
        per_seed = []
        for key in group["cell_key"]:
            one = forecasts[forecasts["cell_key"] == key]
            values = one["value"].to_numpy()
            if len(values) and np.all(np.isfinite(values)):
                per_seed.append(period_amplitudes(values, period))
        if not per_seed or not len(per_seed[0]):
            continue
        amplitudes = np.median(np.vstack(per_seed), axis=0)
        ax.plot(
            np.arange(1, len(amplitudes) + 1),
            amplitudes,
            color=colors[kinds.index(kind) % len(colors)],
            ls="-" if length == ok["length"].max() else "--",
            marker=markers[windows.index(window) % len(markers)],
            label=label,
        )
        drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.axhline(1.0, color="0.4", lw=0.8)
    ax.set(
        xlabel="forecast period k",
        ylabel="median amplitude a_k over seeds",
        title="Amplitude per forecast period (true: 1)\n"
        "colour: model and hidden size; dashed: shortest data; marker: window",
    )
    ax.set_xticks(range(1, int(ax.get_xlim()[1]) + 1))
    ax.grid(alpha=0.3)
    ax.legend(ncols=3, fontsize=8, loc="best")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def fit_time_chart(ok: pd.DataFrame, path: Path) -> bool:
    """Median fit time against hidden size, one line per recurrent model, window and data length."""
    # The controls (another period or batch size) would pool into a line: left out.
    ok = ok[(ok["hidden"] > 0) & _at_article_settings(ok)]
    if ok.empty:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    lines = list(ok.groupby(["model", "train_rollout", "window", "length"], sort=True))
    # The article's LSTM first: every line of it is drawn before any other model's.
    lines.sort(key=lambda item: (not kinds.is_article(item[0][0]) or item[0][1] != 1, item[0]))
    for (model, rollout, window, length), group in lines[:MAX_PLOTTED]:
        times = group.groupby("hidden")["fit_s"].median()
        remedy = f" rollout {rollout}" if rollout > 1 else ""
        ax.plot(times.index, times.values, marker="o", label=f"{model}{remedy} w{window} L{length}")
    ax.set(xlabel="hidden units", ylabel="median fit time (s)", title="Training time against hidden size")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(ok["hidden"].unique()), labels=[str(h) for h in sorted(ok["hidden"].unique())])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def article_figures(ok: pd.DataFrame, series: pd.DataFrame, folder: Path) -> list[tuple[str, str]]:
    """The article's two figures for the article presets' cells (seed with the lowest number)."""
    made = []
    for name, keys in ARTICLE_CELLS.items():
        match = ok[np.logical_and.reduce([ok[key] == value for key, value in keys.items()])]
        if match.empty:
            continue
        row = match.sort_values("seed").iloc[0]
        cfg = config_of(row)
        one = series[series["cell_key"] == row["cell_key"]]
        fit = one[one["kind"] == "fit"]["value"].to_numpy()
        forecast = one[one["kind"] == "forecast"]["value"].to_numpy()
        if not len(fit) or not len(forecast):
            continue
        data = noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed)
        truth = clean_sine(np.arange(cfg.length, cfg.length + len(forecast)), cfg.period)
        fit_figure(cfg, data, fit, folder / f"{name}-fit.png")
        forecast_figure(cfg, data, fit, forecast, truth, folder / f"{name}-forecast.png")
        made.append((name, f"{name} (seed {cfg.seed})"))
    return made
