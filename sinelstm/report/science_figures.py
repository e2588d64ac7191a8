"""The science section's figures, drawn from the results CSV alone: every seed's amp_ratio
per cell group and hidden size, a forest plot of the effects with their intervals, and the
forecast RMSE of every model kind on a log axis against the reference errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sinelstm.report.accuracy import noise_sd
from sinelstm.report.frames import article_lstm
from sinelstm.report.run_figures import pyplot
from sinelstm.report.stratified import HEADLINE, Design, Effect

AMP_RANGE = (0.0, 1.6)  # the amp_ratio axis of every panel; values outside are drawn at its edge
KEPT, LOST, FLOOR = "tab:green", "tab:orange", "0.55"  # a seed kept the wave / did not / flat or unfitted


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})


def amp_dots(judged: pd.DataFrame, design: Design, path: Path) -> bool:
    """One panel per hidden size, one column of dots per cell group (headline, then controls),
    one dot per seed; the same amp_ratio range in every panel, clipped seeds marked."""
    lstm = article_lstm(judged)
    if design.base is None or lstm.empty:
        return False
    plt = pyplot()
    arms = sorted(
        {(a.period != design.base.period, a.batch_size, a.length, a.window, a) for a in _arms(design)},
        key=lambda item: item[:4],
    )
    arms = [item[-1] for item in arms]
    fig, axes = plt.subplots(
        len(design.hidden_sizes), 1, figsize=(max(6, 1.3 * len(arms)), 2.6 * len(design.hidden_sizes)),
        squeeze=False, sharex=True,
    )  # fmt: skip
    low, high = AMP_RANGE
    rng = np.random.default_rng(0)  # the horizontal jitter, seeded so the figure is reproducible
    for ax, hidden in zip(axes[:, 0], design.hidden_sizes, strict=True):
        for position, arm in enumerate(arms):
            rows = arm.rows(lstm, hidden)
            amp = pd.to_numeric(rows["amp_ratio"], errors="coerce").to_numpy()
            colors = np.where(rows["flat"] | rows["unfit"], FLOOR, np.where(rows["kept"], KEPT, LOST))
            x = position + rng.uniform(-0.15, 0.15, size=len(amp))
            clipped = (amp > high) | (amp < low)
            ax.scatter(x[~clipped], amp[~clipped], c=colors[~clipped], s=18, zorder=3)
            ax.scatter(
                x[clipped], np.clip(amp[clipped], low, high), c=colors[clipped], marker="^", s=30, zorder=3
            )
        ax.axhline(1.0, color="0.3", lw=0.8)
        ax.set_ylim(low - 0.05, high + 0.05)
        ax.set_ylabel(f"amp_ratio\nhidden {hidden}")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xticks(
        range(len(arms)), [arm.label(design.base) for arm in arms], rotation=30, ha="right"
    )
    handles = [
        plt.Line2D([], [], ls="", marker="o", color=KEPT, label="kept (amplitude, phase, RMSE)"),
        plt.Line2D([], [], ls="", marker="o", color=LOST, label="not kept"),
        plt.Line2D([], [], ls="", marker="o", color=FLOOR, label="flat or never fitted"),
        plt.Line2D(
            [], [], ls="", marker="^", color="0.2", label=f"outside {low:g}..{high:g}, drawn at the edge"
        ),
    ]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.suptitle("The article's LSTM: amp_ratio of every seed, by cell group and hidden size", fontsize=11)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def _arms(design: Design):
    from sinelstm.report.stratified import effect_plan

    arms = {design.arm(w, n) for w in design.windows for n in design.lengths}
    for _, _, before, after in effect_plan(design):
        arms |= {before, after}
    return arms


def forest(effects: list[Effect], path: Path) -> bool:
    """One row per effect per hidden size: the median paired difference in amp_ratio and its
    interval; dashed where n is too small for 95%, grey where an arm sits at a floor."""
    if not effects:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(effects) + 1.2))
    for y, e in enumerate(reversed(effects)):
        color = FLOOR if e.floor else ("black" if e.family == HEADLINE else "tab:blue")
        ax.plot([e.amp.low, e.amp.high], [y, y], color=color, lw=1.5, ls="-" if e.amp.at_95 else "--")
        filled = e.significant
        ax.plot(e.amp.value, y, "o", color=color, mfc=color if filled else "white", ms=6)
    labels = [f"h{e.hidden} {e.name} (n={e.amp.n})" for e in reversed(effects)]
    ax.set_yticks(range(len(effects)), labels, fontsize=7)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("change in amp_ratio, after - before (median of paired differences)")
    ax.grid(alpha=0.3, axis="x")
    handles = [
        plt.Line2D([], [], color="black", marker="o", mfc="black", label="headline, Holm p < 0.05"),
        plt.Line2D([], [], color="black", marker="o", mfc="white", label="headline, not significant"),
        plt.Line2D([], [], color="tab:blue", marker="o", mfc="white", label="exploratory"),
        plt.Line2D([], [], color=FLOOR, marker="o", mfc="white", label="an arm at a floor: not read"),
        plt.Line2D([], [], color="0.2", ls="--", label="n too small for 95%: min to max"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title("Effects on amp_ratio with sign-test intervals, by hidden size", fontsize=11)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def rmse_by_model(compared: pd.DataFrame, path: Path) -> bool:
    """Every seed's forecast RMSE per model kind and training (one column each, none left
    out), coloured by window x length, on a log axis with the reference errors."""
    if compared.empty:
        return False
    plt = pyplot()
    kinds = list(dict.fromkeys(zip(compared["model"], compared["train_rollout"], strict=True)))
    slices = sorted(set(zip(compared["window"], compared["length"], strict=True)))
    colors = plt.get_cmap("tab10").colors
    fig, ax = plt.subplots(figsize=(max(7, 0.8 * len(kinds) + 3), 4.5))
    for position, (model, rollout) in enumerate(kinds):
        rows = compared[(compared["model"] == model) & (compared["train_rollout"] == rollout)]
        for index, (w, n) in enumerate(slices):
            cells = rows[(rows["window"] == w) & (rows["length"] == n)]
            rmse = pd.to_numeric(cells["forecast_rmse"], errors="coerce").to_numpy()
            offset = (index - (len(slices) - 1) / 2) * 0.12
            ax.scatter(np.full(len(rmse), position + offset), rmse, s=12, color=colors[index % len(colors)],
                       label=f"w{w} L{n}" if position == 0 else None)  # fmt: skip
    references = [
        ("ar median", compared[compared["model"] == "ar"]["forecast_rmse"], "tab:red", "-"),
        (
            "seasonal-naive median",
            compared[compared["model"] == "seasonal-naive"]["forecast_rmse"],
            "tab:purple",
            "-",
        ),
        ("zero forecast", compared["zero_rmse"], "0.2", "--"),
        ("noise SD", pd.Series([noise_sd(v) for v in pd.to_numeric(compared["noise"])]), "0.5", ":"),
    ]
    for label, values, color, style in references:
        values = pd.to_numeric(values, errors="coerce").dropna()
        if len(values):
            ax.axhline(
                float(values.median()), color=color, ls=style, lw=1, label=f"{label} {values.median():.3f}"
            )
    names = [f"{model}{' rollout' + str(rollout) if rollout > 1 else ''}" for model, rollout in kinds]
    ax.set_xticks(range(len(kinds)), names, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("forecast RMSE (log)")
    ax.grid(alpha=0.3, which="both", axis="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title("Forecast RMSE of every seed, by model kind (every kind shown)", fontsize=11)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def draw_science_figures(ok: pd.DataFrame, folder: Path) -> list[tuple[str, str]]:
    """Draw the three figures into folder; (title, file name) of each one drawn."""
    from sinelstm.report.accuracy import with_judgement
    from sinelstm.report.models_compared import comparison_hidden
    from sinelstm.report.stratified import design_of, stratified_effects

    judged = with_judgement(ok)
    design = design_of(judged)
    main = judged
    if design.base is not None:
        main = judged[
            np.isclose(judged["period"], design.base.period)
            & (judged["batch_size"] == design.base.batch_size)
        ]
    hidden = comparison_hidden(main[main["train_rollout"] == 1])
    at_hidden = f" (networks at hidden {hidden})" if hidden else ""
    figures = [
        ("amp_ratio of every seed, the article's LSTM", "amp_dots.png",
         lambda path: amp_dots(judged, design, path)),
        ("Effects with their intervals", "forest.png",
         lambda path: forest(stratified_effects(judged, design), path)),
        (f"Forecast RMSE by model kind{at_hidden}", "rmse_by_model.png",
         lambda path: rmse_by_model(main[main["hidden"].isin([0, hidden])], path)),
    ]  # fmt: skip
    return [(title, name) for title, name, draw in figures if draw(folder / name)]
