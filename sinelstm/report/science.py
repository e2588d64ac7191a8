"""The science section of a report: the plan the analysis follows, what the pilot set,
every arm's seeds, the effects by family with their power, and the hidden-300 overshoot,
each computed from the results by sinelstm.analysis."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sinelstm.analysis.answer import answer_arms, judged_arms
from sinelstm.analysis.arm_tables import arm_rows, effect_rows, table
from sinelstm.analysis.arms import Arm, rows_of
from sinelstm.analysis.effects import effects
from sinelstm.analysis.intervals import rank_sentence, seeds_for_power
from sinelstm.analysis.judged import THRESHOLDS, numeric
from sinelstm.analysis.plan import (
    EXPLORATORY,
    HEADLINE,
    MECHANISM,
    PLAN,
    SMALLEST_EFFECT,
    TARGET_POWER,
    effect_specs,
    equal_windows,
    pick_budget,
    test_budget,
)
from sinelstm.experiment import kinds

# The pilot's results, kept beside the science results under this name.
PILOT_NAME = "pilot-science.csv"


def is_science(ok: pd.DataFrame) -> bool:
    """Whether the run holds the science design: the plan's headline effects can be read."""
    judged = judged_arms(ok)
    return any(spec.family == HEADLINE for spec in effect_specs(judged))


def _pilot_lines(pilot: pd.DataFrame | None) -> list[str]:
    """What the pilot ran and what it set, each from its rows and the plan's rules."""
    if pilot is None:
        return []
    judged = judged_arms(pilot)
    found = effects(judged, effect_specs(judged, pick_budget(judged)))
    arms = sorted({a for a in judged["arm"] if kinds.is_article(a.model)}, key=_order)
    configs = ", ".join(sorted({f"h{a.hidden} w{a.window} L{a.length}" for a in arms}))
    rollouts = ", ".join(str(k) for k in sorted({a.rollout for a in arms} - {1}))
    commits = ", ".join(sorted({str(c)[:7] for c in pilot["git_commit"].dropna()})) or "-"
    dirty = pilot["git_dirty"].astype(str).str.lower().eq("true").any()
    b = pick_budget(judged)
    shared = sorted({a.steps for a in arms if a.hidden == 64 and a.rollout == 1 and a.steps
                     and Arm(64, 25, 201, a.steps) in arms
                     and Arm(64, 50, 601, a.steps) in arms})  # fmt: skip
    kept = "; ".join(f"{s}: {int(rows_of(judged, Arm(64, 25, 201, s))['kept_amp'].sum())}" for s in shared)
    n = int(rows_of(judged, Arm(64, 25, 201)).shape[0])
    unfit = [f"{a.label}: {int(r['unfit'].sum())} of {len(r)}" for a in arms if a.steps
             for r in [rows_of(judged, a)] if r["unfit"].mean() >= 0.5]  # fmt: skip
    rows = [
        {
            "effect in the pilot": effect.spec.name,
            "seeds closer / further": f"{effect.improved} / {effect.worsened} of {effect.n}",
            "family": effect.spec.family,
        }
        for effect in found
    ]
    return [
        f"### The pilot ({PILOT_NAME}: seeds {int(pilot['seed'].min())}-{int(pilot['seed'].max())}, its own)",
        "",
        f"{len(pilot)} cells, {n} seeds an arm; its rows name commit {commits}"
        + (" with uncommitted changes." if dirty else ".")
        + f" It ran {len(arms)} LSTM arms: {configs}, early stopping and budgets, one-step and rollouts "
        f"{rollouts or 'none'}, with `ar` and `seasonal-naive`; no hidden 300.",
        "",
        f"- **The test budget B = {b} steps**, by the plan's rule: of the budgets both slices hold, the "
        f"one-step 2017 arm kept the amplitude in (of {n}) {kept}.",
        "- **The budgets** start where the pilot's models first fitted: half or more of the seeds never "
        "fitted at " + ("; ".join(unfit) if unfit else "none") + ".",
        "- **The rollouts**: rollout 8 against rollout 4 at B is in the table below; the main run keeps "
        "rollout 4 only where rollout 8 moved no more seeds closer.",
        "- **The seeds** follow from the plan's power rule, not from the pilot's effects (12 seeds cannot "
        "size an effect of two seeds in three); the pilot's effects, for the record:",
        "",
        table(rows),
        "",
    ]


def _overshoot_lines(judged: pd.DataFrame) -> list[str]:
    """Hidden 300 on the 2020 slice: the seeds that grew at the largest budget, against the
    seeds that kept the amplitude, at the budget before and in their training loss."""
    steps = sorted(a.steps for a in set(judged["arm"]) if a == Arm(300, 50, 601, a.steps) and a.steps)
    if len(steps) < 2:
        return []
    before, last = (rows_of(judged, Arm(300, 50, 601, s)).set_index("seed") for s in steps[-2:])
    seeds = before.index.intersection(last.index)
    grew = last.loc[seeds, "grown"].astype(bool)
    if not grew.any():
        return [f"Hidden 300 on the 2020 slice: no seed grew past 1.1 at {steps[-1]} steps.", ""]
    kept_before = before.loc[seeds, "kept_amp"].astype(bool)
    drift = numeric(last.loc[seeds], "loss_drift")
    rising = numeric(last.loc[seeds], "train_loss") > numeric(before.loc[seeds], "train_loss")
    return [
        f"### Hidden 300 on the 2020 slice, {steps[-2]} -> {steps[-1]} steps: the overshoot",
        "",
        f"- {int(grew.sum())} of {len(seeds)} seeds grew past 1.1 at {steps[-1]} steps; of those, "
        f"{int((grew & kept_before).sum())} had kept the amplitude at {steps[-2]}.",
        f"- Training loss rose between the two budgets in {int((grew & rising).sum())} of {int(grew.sum())} "
        f"seeds that grew and {int((~grew & rising).sum())} of {int((~grew).sum())} that did not; the median "
        f"loss drift at {steps[-1]} steps is {drift[grew].median():+.3f} where they grew and "
        f"{drift[~grew].median():+.3f} where they did not.",
        "- Each seed's curve is in the figure of the 2020 slice's budgets below.",
        "",
    ]


def _order(arm: Arm) -> tuple:
    other = not kinds.is_article(arm.model)
    return (other, arm.period, arm.hidden, arm.rollout, arm.length, arm.window, arm.steps)


def science_section(ok: pd.DataFrame, pilot: pd.DataFrame | None = None) -> list[str]:
    """The markdown lines of the science section; every sentence is computed from ok."""
    judged = judged_arms(ok)
    found = effects(judged)
    b = test_budget(judged)
    w = equal_windows(judged, b) if b else None
    arms = sorted(set(judged["arm"]), key=_order)
    lines = [PLAN, "", "| term | rule | why |", "|---|---|---|"]
    lines += ["| " + " | ".join(cell.replace("|", r"\|") for cell in row) + " |" for row in THRESHOLDS] + [""]
    ns = sorted({e.n for e in found} | {int((judged["arm"] == a).sum()) for a in arms})
    lines += ["Each interval's exact coverage at its n: " + "; ".join(rank_sentence(n) for n in ns) + ".", ""]
    lines += _pilot_lines(pilot)
    for family in (MECHANISM, HEADLINE):
        members = [e for e in found if e.spec.family == family and e.n]
        if members:
            alpha, n = members[0].alpha, max(e.n for e in members)
            needed = seeds_for_power(SMALLEST_EFFECT, alpha, TARGET_POWER)
            lines += [
                f"The {family} family runs {n} seeds: {needed} give its sign test {TARGET_POWER:.0%} power "
                f"to find {SMALLEST_EFFECT:.0%} of seeds moving one way at level {alpha:.3g} (its first Holm "
                "step); "
                f"at {n} the power is {members[0].power:.2f}.",
                "",
            ]
    lines += [
        f"### Every arm (B = {b} steps, the test budget; {w} steps on the 2020 slice see as many windows)",
        "",
        "Counts with exact (Clopper-Pearson) 95% intervals, and at the thresholds 1.05 and 1.2; the median "
        "|log amp_last| with its sign-test interval and n (a star: too few seeds for a 95% interval, min to "
        "max shown), the median |log amp_ratio| (the last period against the first) beside it; decay and "
        "growth counted apart; converged on the training loss; RMSE medians, and the seeds where the arm "
        "beats each classical forecaster on the same data. A budget in optimizer steps, epochs and training "
        "windows seen.",
        "",
        table(arm_rows(judged, [a for a in arms if kinds.is_article(a.model)])),
        "",
    ]
    titles = ((MECHANISM, "The mechanism"), (HEADLINE, "The headline"), (EXPLORATORY, "Exploratory"))
    for family, title in titles:
        rows = effect_rows(found, family, judged)
        if rows:
            lines += [f"### {title} effects ({family}: {len(rows)})", "", table(rows), ""]
    big = [a for a in arms if a.hidden == 300]
    if big:
        n = min(int((judged["arm"] == a).sum()) for a in big)
        lines += [
            f"Hidden 300 (the article's own LSTM) runs {n} seeds an arm: exploratory, its power in the table "
            "above; it is in every figure.",
            "",
        ]
    return lines + _overshoot_lines(judged)


def read_pilot(results: Path) -> pd.DataFrame | None:
    """The pilot's rows kept beside a science results file, or None."""
    from sinelstm.sweep.store import read_results

    path = Path(results).with_name(PILOT_NAME)
    return read_results(path) if path.is_file() else None


def figure_arms(judged: pd.DataFrame) -> list[Arm]:
    return answer_arms(judged)
