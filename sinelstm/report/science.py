"""The science section of a report: the plan the analysis follows, the pilot's sizing,
every arm's seeds, the effects by family with their power, the controls and what they
leave changed, each computed from the results by sinelstm.analysis."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sinelstm.analysis.answer import answer_arms, judged_arms
from sinelstm.analysis.arms import Arm
from sinelstm.analysis.effects import effects, sizing
from sinelstm.analysis.intervals import rank_sentence, seeds_for_power
from sinelstm.analysis.judged import THRESHOLDS, noise_sd
from sinelstm.analysis.plan import (
    EXPLORATORY,
    HEADLINE,
    PLAN,
    MECHANISM,
    SMALLEST_EFFECT,
    TARGET_POWER,
    test_budget,
    effect_specs,
)
from sinelstm.analysis.tables import arm_rows, effect_rows, table

# The pilot's results, kept beside the science results under this name.
PILOT_NAME = "pilot-science.csv"


def is_science(ok: pd.DataFrame) -> bool:
    """Whether the run holds the science design: the plan's headline effects can be read."""
    judged = judged_arms(ok)
    return any(spec.family == HEADLINE for spec in effect_specs(judged))


def _pilot_lines(pilot: pd.DataFrame | None) -> list[str]:
    if pilot is None:
        return []
    found = effects(judged_arms(pilot))
    rows = [
        {
            "effect in the pilot": effect.spec.name,
            "seeds closer / further": f"{effect.improved} / {effect.worsened} of {effect.n}",
            f"seeds for {TARGET_POWER:.0%} power at that share": "n/a (no direction)"
            if n is None
            else str(n),
            "level": f"{effect.alpha:.3g}",
        }
        for effect, n in sizing(found)
    ]
    commits = ", ".join(sorted({str(c)[:7] for c in pilot["git_commit"].dropna()})) or "-"
    dirty = pilot["git_dirty"].astype(str).str.lower().eq("true").any()
    return [
        f"### The pilot ({PILOT_NAME}: seeds {int(pilot['seed'].min())}-{int(pilot['seed'].max())}, its own)",
        "",
        f"{len(pilot)} cells; its rows name commit {commits}"
        + (" with uncommitted changes." if dirty else "."),
        "",
        "The pilot sized the seeds of the headline and the remedy (the share of seeds it saw move one way, "
        "and the fewest seeds whose sign test reaches 80% power at that share under the family's first Holm "
        "step) and the budgets (where its budget curve flattens); the analysis was fixed before it ran.",
        "",
        table(rows),
        "",
    ]


def _control_lines(judged: pd.DataFrame) -> list[str]:
    slow = [a for a in set(judged["arm"]) if a.period == 300.0]
    if not slow:
        return []
    sd = noise_sd(float(judged["noise"].iloc[0]))
    return [
        "### What the period control leaves changed",
        "",
        f"- At period 300 the sine moves at most {2 * math.pi / 300:.3f} a step against a noise SD of "
        f"{sd:.4f} (at period 100: {2 * math.pi / 100:.3f}): the signal a step is below the noise.",
        "- The horizon is four periods in both: 1200 steps at period 300, 400 at period 100, so a per-step "
        "error compounds over three times the steps.",
        "- The window is scaled with the period (75 and 150 steps: a quarter and half a period, as 25 and 50 "
        "are at period 100), so it sees the same share of a period over three times the steps.",
        "",
    ]


def _order(arm: Arm) -> tuple:
    return (arm.model != "lstm", arm.period, arm.hidden, arm.rollout, arm.length, arm.window, arm.steps)


def science_section(ok: pd.DataFrame, pilot: pd.DataFrame | None = None) -> list[str]:
    """The markdown lines of the science section; every sentence is computed from ok."""
    judged = judged_arms(ok)
    found = effects(judged)
    s, r = test_budget(judged), test_budget(judged)
    arms = sorted(set(judged["arm"]), key=_order)
    lines = [PLAN, "", "| term | rule | why |", "|---|---|---|"]
    lines += ["| " + " | ".join(cell.replace("|", r"\|") for cell in row) + " |" for row in THRESHOLDS] + [""]
    ns = sorted({e.n for e in found} | {int((judged["arm"] == a).sum()) for a in arms})
    lines += ["Each interval's exact coverage at its n: " + "; ".join(rank_sentence(n) for n in ns) + ".", ""]
    lines += _pilot_lines(pilot)
    headline = [e for e in found if e.spec.family == HEADLINE and e.n]
    if headline:
        alpha, n = headline[0].alpha, max(e.n for e in headline)
        needed = seeds_for_power(SMALLEST_EFFECT, alpha, TARGET_POWER)
        lines += [
            f"The headline runs {n} seeds: {needed} give its sign test {TARGET_POWER:.0%} power to find "
            f"{SMALLEST_EFFECT:.0%} of seeds closer at level {alpha:.3g} (the smallest effect worth "
            "finding); an effect smaller than that may stay unclear, and its power is stated beside it.",
            "",
        ]
    lines += [
        f"### Every arm (S = {s} steps: the equal-steps budget; R = {r}: the remedy's)",
        "",
        "Counts with exact (Clopper-Pearson) 95% intervals; the median |log amp_ratio| with its sign-test "
        "interval and n (a star: too few seeds for a 95% interval, min to max shown); decay and growth "
        "counted apart; converged on the training loss; RMSE medians, and the seeds where the arm beats "
        "each classical forecaster on the same data.",
        "",
        table(arm_rows(judged, [a for a in arms if a.model == "lstm"])),
        "",
    ]
    for family, title in ((HEADLINE, "The headline"), (MECHANISM, "The mechanism"), (EXPLORATORY, "Exploratory")):
        rows = effect_rows(found, family)
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
    return lines + _control_lines(judged)


def read_pilot(results: Path) -> pd.DataFrame | None:
    """The pilot's rows kept beside a science results file, or None."""
    from sinelstm.sweep.store import read_results

    path = Path(results).with_name(PILOT_NAME)
    return read_results(path) if path.is_file() else None


def figure_arms(judged: pd.DataFrame) -> list[Arm]:
    return answer_arms(judged)
