"""The science's figures, drawn from the analysis: the budget curve (each arm's measure and
the share of seeds keeping the amplitude against its optimizer steps), decay and growth
apart, arm by arm, and each seed's last amplitude over the budgets of the 2020 slice. The
article's hidden 300 is in every chart; every legend sits outside the axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sinelstm.analysis.arms import Arm
from sinelstm.analysis.judged import numeric
from sinelstm.experiment import kinds
from sinelstm.report.run_figures import pyplot, save_png


def _curves(judged: pd.DataFrame) -> dict[str, list[tuple[Arm, pd.DataFrame]]]:
    """Network arms by configuration (all but the training), each budget's and early stopping's
    rows."""
    curves: dict[str, list[tuple[Arm, pd.DataFrame]]] = {}
    for arm, rows in judged.groupby("arm", sort=True):
        if not kinds.is_article(arm.model):
            continue
        label = Arm(arm.hidden, arm.window, arm.length, 1, arm.rollout, arm.period).label.replace(
            " 1 steps", ""
        )
        curves.setdefault(label, []).append((arm, rows))
    return curves


def draw_budget_curve(judged: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.get_cmap("tab10")
    for index, (label, arms) in enumerate(sorted(_curves(judged).items())):
        colour = colours(index % 10)
        budgets = sorted((a.steps, rows) for a, rows in arms if a.steps)
        style = "--" if "h300" in label else "-"
        if budgets:
            steps = [s for s, _ in budgets]
            left.plot(steps, [rows["amp_error"].median() for _, rows in budgets], style, marker="o",
                      color=colour, label=label, ms=4)  # fmt: skip
            right.plot(
                steps, [rows["kept_amp"].mean() for _, rows in budgets], style, marker="o", color=colour, ms=4
            )
        for arm, rows in arms:
            if not arm.steps:  # the article's early stopping, at the median steps it ran
                x = float(numeric(rows, "steps_run").median()) if rows["steps_run"].notna().any() else np.nan
                left.plot([x], [rows["amp_error"].median()], marker="s", mfc="none", color=colour, ms=8,
                          label=f"{label} early stopping")  # fmt: skip
                right.plot([x], [rows["kept_amp"].mean()], marker="s", mfc="none", color=colour, ms=8)
    for axes, title in (
        (left, "median |log amp_last| (0: the true amplitude)"),
        (right, "share of seeds keeping it"),
    ):
        axes.set_xscale("log")
        axes.set_xlabel("optimizer steps")
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3)
    right.set_ylim(-0.02, 1.02)
    fig.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    fig.suptitle("The budget curve: one run a seed, forecast at each budget; squares: early stopping")
    fig.tight_layout()
    save_png(fig, path, bbox_inches="tight")
    plt.close(fig)


def draw_decay_growth(judged: pd.DataFrame, arms: list[Arm], path: Path) -> None:
    plt = pyplot()
    present = [arm for arm in arms if (judged["arm"] == arm).any()]
    fig, axes = plt.subplots(figsize=(9, 0.45 * len(present) + 1.4))
    for y, arm in enumerate(present):
        rows = judged[judged["arm"] == arm]
        n = len(rows)
        shares = [rows["decayed"].mean(), rows["kept_amp"].mean(), rows["grown"].mean()]
        left = 0.0
        for share, colour, name in zip(shares, ("#c0504d", "#9bbb59", "#4f81bd"), ("decayed", "kept", "grew"),
                                       strict=True):  # fmt: skip
            axes.barh(y, share, left=left, color=colour, label=name if y == 0 else None)
            left += share
        axes.text(1.01, y, f"n={n}", va="center", fontsize=8)
    axes.set_yticks(range(len(present)), [arm.label for arm in present], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of seeds: amp_last below 1/1.1 (decayed), within, above 1.1 (grew)")
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    save_png(fig, path)
    plt.close(fig)


def draw_seed_curves(judged: pd.DataFrame, path: Path) -> None:
    """Each seed's amp_last against the budget, hidden 64 and 300 on the 2020 slice."""
    plt = pyplot()
    fig, panels = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axes, hidden in zip(panels, (64, 300), strict=True):
        arms = sorted(a for a in set(judged["arm"]) if a == Arm(hidden, 50, 601, a.steps) and a.steps)
        if not arms:
            continue
        table = pd.concat(
            [judged[judged["arm"] == a][["seed", "amp_last"]].assign(steps=a.steps) for a in arms]
        )
        for _, seed in table.groupby("seed"):
            seed = seed.sort_values("steps")
            axes.plot(seed["steps"], seed["amp_last"], color="#4f81bd", alpha=0.35, lw=0.8)
        for bound in (1 / 1.1, 1.1):
            axes.axhline(bound, color="#c0504d", lw=0.8, ls="--")
        axes.set_xscale("log")
        axes.set_xlabel("optimizer steps")
        axes.set_title(f"hidden {hidden}, window 50, 601 samples: each seed", fontsize=10)
        axes.grid(alpha=0.3)
    panels[0].set_ylabel("amp_last (truth: 1; dashed: within 1.1)")
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def draw_science_figures(judged: pd.DataFrame, arms: list[Arm], folder: Path) -> list[tuple[str, str]]:
    """Draw the figures into folder; (title, file name) of each."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    draw_budget_curve(judged, folder / "budget_curve.png")
    draw_decay_growth(judged, arms, folder / "decay_growth.png")
    draw_seed_curves(judged, folder / "seed_curves.png")
    return [
        ("The budget curve: amplitude against optimizer steps", "budget_curve.png"),
        ("Decay and growth apart, arm by arm", "decay_growth.png"),
        ("Each seed's last amplitude over the 2020 slice's budgets", "seed_curves.png"),
    ]
