"""The analysis, fixed before the pilot ran (and unchanged by it): the measure, the test,
the families Holm's correction runs over, and the smallest effect worth finding. The pilot
(its own seeds) only sized the grid: the seeds (for 80% power at the effect it showed) and
the budgets (where its curves flatten).

The effects are named by their arms and laid out over the budgets the data holds: S, the
largest budget of optimizer steps the four hidden-64 configs share (equal steps, the
control for data length and window), and R, the remedy's largest budget (equal steps at R;
equal compute against one-step training at 4 R: a 4-step rollout costs about four steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sinelstm.analysis.arms import Arm
from sinelstm.analysis.judged import KEEP_RATIO

MEASURE = "amp_error"  # |log amp_ratio| (sinelstm.analysis.judged)
SMALLEST_EFFECT = 0.8  # worth finding: 80% of seeds improving (the sign test's effect size)
TARGET_POWER = 0.8
ALPHA = 0.05
HEADLINE, REMEDY, EXPLORATORY = "headline", "remedy", "exploratory"
ROLLOUT = 4

PLAN = (
    "**The analysis, fixed before the pilot.** "
    "*Measure:* |log amp_ratio| (the last forecast period's amplitude over the first's), so that "
    "halving and doubling count alike and a forecast that grows is no better than one that decays; "
    f"a seed keeps the amplitude when amp_ratio lies within [1/{KEEP_RATIO}, {KEEP_RATIO}]; decay and "
    "growth are counted apart. "
    "*Effect:* the median of the paired differences, after minus before, on the same seed (the same "
    "noise draw and initial weights); negative brings the amplitude closer to kept. "
    "*Interval and test:* the order-statistic (sign-test) interval of that median, at least 95% exact "
    "coverage, and the exact two-sided sign test; one method throughout. "
    f"*Families:* the {HEADLINE} (five effects at hidden 64: more steps on the 2017 slice; the 2020 "
    "change as the article made it and at equal steps; data length and window at equal steps) is "
    f"Holm-corrected at {ALPHA}; the {REMEDY} (rollout {ROLLOUT} against one-step training at equal "
    "steps and at equal compute) is a family of its own; every other effect is exploratory, "
    "uncorrected, its power stated. "
    f"*Smallest effect worth finding:* {SMALLEST_EFFECT:.0%} of seeds improving; seeds for "
    f"{TARGET_POWER:.0%} power at the pilot's effect under that family. "
    "*Floor:* an effect is held back only where half or more of an arm's seeds never fitted the training "
    "series; a flat forecast from a fitted model is the decay itself and counts."
)


@dataclass(frozen=True)
class EffectSpec:
    name: str  # what changes, before -> after
    before: Arm
    after: Arm
    family: str


def budgets(frame: pd.DataFrame) -> tuple[int | None, int | None]:
    """(S, R): the largest budget every hidden-64 config holds, and the remedy's largest."""
    arms = set(frame["arm"])
    lstm = [a for a in arms if a.model == "lstm" and a.hidden == 64 and a.rollout == 1 and a.period == 100.0]
    by_config: dict[tuple[int, int], set[int]] = {}
    for arm in lstm:
        by_config.setdefault((arm.window, arm.length), set()).add(arm.steps)
    shared = set.intersection(*by_config.values()) - {0} if by_config else set()
    remedy = [a.steps for a in arms if a.rollout == ROLLOUT and a.steps]
    return (max(shared) if shared else None, max(remedy) if remedy else None)


def _lstm(hidden: int, window: int, length: int, steps: int = 0, **more) -> Arm:
    return Arm(hidden, window, length, steps, **more)


def effect_specs(frame: pd.DataFrame) -> list[EffectSpec]:
    """The effects the plan names, at the budgets the data holds (frame with_arms)."""
    s, r = budgets(frame)
    h, X = _lstm, EXPLORATORY
    specs: list[tuple[str, Arm, Arm, str]] = []
    if s:
        specs += [
            (f"2017 slice: early stopping -> {s} steps", h(64, 25, 201), h(64, 25, 201, s), HEADLINE),
            ("2017 -> 2020 slice, as the article trained", h(64, 25, 201), h(64, 50, 601), HEADLINE),
            (f"2017 -> 2020 slice at {s} steps each", h(64, 25, 201, s), h(64, 50, 601, s), HEADLINE),
            (f"201 -> 601 samples, window 25, {s} steps", h(64, 25, 201, s), h(64, 25, 601, s), HEADLINE),
            (f"window 25 -> 50, 601 samples, {s} steps", h(64, 25, 601, s), h(64, 50, 601, s), HEADLINE),
            (f"2020 slice: early stopping -> {s} steps", h(64, 50, 601), h(64, 50, 601, s), EXPLORATORY),
        ]
    if r:
        rolled = h(64, 25, 201, r, rollout=ROLLOUT)
        specs += [
            (f"one-step -> rollout {ROLLOUT}, {r} steps each (equal steps)", h(64, 25, 201, r), rolled,
             REMEDY),
            (f"one-step {ROLLOUT * r} -> rollout {ROLLOUT} {r} steps (equal compute)",
             h(64, 25, 201, ROLLOUT * r), rolled, REMEDY),
        ]  # fmt: skip
    big = sorted({a.steps for a in frame["arm"] if a.hidden == 300 and a.steps})
    if big:
        t = big[-1]
        specs += [
            (f"hidden 300, 2017 slice: early stopping -> {t} steps", h(300, 25, 201), h(300, 25, 201, t), X),
            (f"hidden 300, 2020 slice: early stopping -> {t} steps", h(300, 50, 601), h(300, 50, 601, t), X),
            (f"hidden 300, 2017 -> 2020 slice at {t} steps", h(300, 25, 201, t), h(300, 50, 601, t), X),
            ("hidden 300, 2017 -> 2020 slice, as the article trained", h(300, 25, 201), h(300, 50, 601), X),
        ]  # fmt: skip
    slow = sorted({a.steps for a in frame["arm"] if a.period == 300.0 and a.steps})
    if slow and s:
        p = min(slow[-1], s)
        quarter, half = h(64, 75, 601, p, period=300.0), h(64, 150, 601, p, period=300.0)
        specs += [
            (f"6 -> 2 periods in 601 samples, window a quarter period, {p} steps", h(64, 25, 601, p), quarter,
             EXPLORATORY),
            (f"6 -> 2 periods in 601 samples, window half a period, {p} steps", h(64, 50, 601, p), half,
             EXPLORATORY),
            (f"2 periods: 201 -> 601 samples, window a quarter period, {p} steps", h(64, 25, 201, p), quarter,
             EXPLORATORY),
        ]  # fmt: skip
    return [EffectSpec(*spec) for spec in specs]
