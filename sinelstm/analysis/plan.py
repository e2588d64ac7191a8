"""The analysis, fixed before the pilot ran: the measure, the test, the families Holm's
correction runs over, the smallest effect worth finding, and the rules by which the pilot
(its own seeds) sets the test budget and the seeds. What the pilot set is committed here
(TEST_BUDGET) before the main run; docs/science.md tells the design."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sinelstm.analysis.arms import Arm
from sinelstm.analysis.judged import KEEP_RATIO
from sinelstm.experiment import kinds

MEASURE = "amp_error"  # |log amp_last|: against the truth's amplitude, 1 (sinelstm.analysis.judged)
SMALLEST_EFFECT = 2 / 3  # worth finding: two seeds of three moving one way (the sign test's effect size)
TARGET_POWER = 0.8
ALPHA = 0.05
MECHANISM, HEADLINE, EXPLORATORY = "mechanism", "headline", "exploratory"
ROLLOUT = 4
# Set by the pilot (results/pilot-science.csv, seeds 200-211) by the rule in PLAN: of the
# budgets both slices hold (50, 100, 150, 200, 400), 100 steps kept 5 of 12 (50: 0 of 12).
TEST_BUDGET: int | None = 100

PLAN = (
    "**The analysis, fixed before the pilot.** "
    "*Measure:* |log amp_last|, the last forecast period's amplitude against the truth's (the unit sine's, "
    "1), so that decay inside the first period counts and halving and doubling count alike; beside it, "
    "|log amp_ratio| (the last period against the first). "
    f"A seed keeps the amplitude when amp_last lies within [1/{KEEP_RATIO}, {KEEP_RATIO}]; the counts are "
    "also given at 1.05 and 1.2; decay and growth are counted apart. "
    "*Effect:* the median of the paired differences, after minus before, on the same seed (the same "
    "noise draw and initial weights); negative brings the amplitude closer to the truth's. "
    "*Interval and test:* the order-statistic (sign-test) interval of that median, at least 95% exact "
    "coverage, and the exact two-sided sign test; one method throughout. "
    f"*Families:* the {MECHANISM} (rollout {ROLLOUT} against one-step training at the test budget B: at "
    f"equal steps, and against one-step training at {ROLLOUT} B, equal compute) is Holm-corrected at "
    f"{ALPHA}; the {HEADLINE} (hidden 64: early stopping against B steps on the 2017 slice; the 2020 change "
    "as the article made it, at B steps each, and at equal windows seen) is a family of its own; every "
    "other effect is exploratory, uncorrected, its power stated. "
    f"*Smallest effect worth finding:* {SMALLEST_EFFECT:.0%} of seeds moving one way. "
    "*What the pilot sets:* B, the budget both slices hold at which the pilot's one-step 2017 arm keeps the "
    "amplitude in the share of seeds nearest one half (the most room for an effect either way; ties to "
    "fewer steps); the hidden-64 seeds, the fewest that give each family's first Holm step "
    f"{TARGET_POWER:.0%} power at the smallest effect, or the most the pilot's measured cost fits in the "
    "time the run has, the power then stated; hidden 300 is exploratory. A family under "
    f"{TARGET_POWER:.0%} power keeps its correction but is read as exploratory: a clear change is a "
    "finding, no clear change is not evidence of none. "
    "*Floor:* an effect is held back only where half or more of an arm's seeds never fitted the training "
    "series; a flat forecast from a fitted model is the decay itself and counts."
)


@dataclass(frozen=True)
class EffectSpec:
    name: str  # what changes, before -> after
    before: Arm
    after: Arm
    family: str


def _lstm(hidden: int, window: int, length: int, steps: int = 0, **more) -> Arm:
    return Arm(hidden, window, length, steps, **more)


def _steps(frame: pd.DataFrame, hidden: int, window: int, length: int, rollout: int = 1) -> list[int]:
    return sorted(
        {
            a.steps
            for a in frame["arm"]
            if kinds.is_article(a.model)
            and (a.hidden, a.window, a.length, a.rollout) == (hidden, window, length, rollout)
            and a.steps and a.period == 100.0
        }
    )  # fmt: skip


def pick_budget(judged: pd.DataFrame) -> int | None:
    """The plan's rule for B, on a pilot (judged, with arms): of the budgets both slices hold,
    the one where the one-step 2017 arm kept the amplitude in the share nearest one half."""
    from sinelstm.analysis.arms import rows_of

    shared = set(_steps(judged, 64, 25, 201)) & set(_steps(judged, 64, 50, 601))
    if not shared:
        return None
    share = {b: float(rows_of(judged, _lstm(64, 25, 201, b))["kept_amp"].mean()) for b in shared}
    return min(sorted(shared), key=lambda b: abs(share[b] - 0.5))


def equal_windows(frame: pd.DataFrame, steps: int) -> int | None:
    """The 2020 slice's budget whose windows seen are nearest the 2017 slice's at `steps`
    (None where the 2020 slice holds no budget within 5% of them)."""
    from sinelstm.analysis.arms import windows_per_step

    seen = steps * windows_per_step(64, 25, 201)
    per = windows_per_step(64, 50, 601)
    near = min(_steps(frame, 64, 50, 601), key=lambda b: abs(b * per - seen), default=None)
    return near if near is not None and abs(near * per - seen) <= 0.05 * seen else None


def test_budget(frame: pd.DataFrame) -> int | None:
    """B: the committed TEST_BUDGET, or on a run without one (the pilot) the plan's rule."""
    if TEST_BUDGET is not None:
        return TEST_BUDGET
    from sinelstm.analysis.judged import with_judgement

    return pick_budget(frame if "kept_amp" in frame else with_judgement(frame))


def effect_specs(frame: pd.DataFrame, budget: int | None = None) -> list[EffectSpec]:
    """The effects the plan names, at the budgets the data holds (frame with_arms), at B
    (budget, or test_budget's)."""
    b = budget or test_budget(frame)
    design = {_lstm(64, 25, 201, b), _lstm(64, 25, 201, b, rollout=ROLLOUT), _lstm(64, 50, 601, b)}
    if b is None or not design <= set(frame["arm"]):
        return []  # not the science design's data (the paths grid holds some of its arms)
    h, X = _lstm, EXPLORATORY
    w = equal_windows(frame, b)
    specs: list[tuple[str, Arm, Arm, str]] = [
        (f"one-step -> rollout {ROLLOUT}, {b} steps each (equal steps)", h(64, 25, 201, b),
         h(64, 25, 201, b, rollout=ROLLOUT), MECHANISM),
        (f"one-step {ROLLOUT * b} -> rollout {ROLLOUT} {b} steps (equal compute)",
         h(64, 25, 201, ROLLOUT * b),
         h(64, 25, 201, b, rollout=ROLLOUT), MECHANISM),
        (f"2017 slice: early stopping -> {b} steps", h(64, 25, 201), h(64, 25, 201, b), HEADLINE),
        ("2017 -> 2020 slice, as the article trained", h(64, 25, 201), h(64, 50, 601), HEADLINE),
        (f"2017 -> 2020 slice at {b} steps each (equal steps)", h(64, 25, 201, b), h(64, 50, 601, b),
         HEADLINE),
    ]  # fmt: skip
    if w:
        specs.append(
            (f"2017 -> 2020 slice at equal windows seen ({b} -> {w} steps)", h(64, 25, 201, b),
             h(64, 50, 601, w), HEADLINE)
        )  # fmt: skip
    longer = sorted({a.rollout for a in frame["arm"] if a.rollout > ROLLOUT})
    specs += [
        (f"rollout {ROLLOUT} -> {k}, {b} steps each", h(64, 25, 201, b, rollout=ROLLOUT),
         h(64, 25, 201, b, rollout=k), X)
        for k in longer
    ]  # fmt: skip
    specs.append((f"2020 slice: early stopping -> {b} steps", h(64, 50, 601), h(64, 50, 601, b), X))
    big = set(_steps(frame, 300, 25, 201)) & set(_steps(frame, 300, 50, 601))
    if b in big:
        specs += [
            (f"hidden 64 -> 300, 2017 slice, {b} steps", h(64, 25, 201, b), h(300, 25, 201, b), X),
            (f"hidden 300, 2017 slice: early stopping -> {b} steps", h(300, 25, 201), h(300, 25, 201, b), X),
            (f"hidden 300, 2017 -> 2020 slice at {b} steps each", h(300, 25, 201, b), h(300, 50, 601, b), X),
            ("hidden 300, 2017 -> 2020 slice, as the article trained", h(300, 25, 201), h(300, 50, 601), X),
        ]  # fmt: skip
    if {200, 400} <= big:
        specs.append(
            ("hidden 300, 2020 slice: 200 -> 400 steps", h(300, 50, 601, 200), h(300, 50, 601, 400), X)
        )
    return [EffectSpec(*spec) for spec in specs]
