"""The science's tables: each arm's seeds summed up (counts with exact intervals, the
measure's median with its interval, convergence, forecast RMSE against the classical
forecasters on the same seeds), and the effects by family."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sinelstm.analysis.arms import Arm, median_steps, paired, rows_of
from sinelstm.analysis.effects import Effect
from sinelstm.analysis.intervals import clopper_pearson, median_interval, p_text
from sinelstm.analysis.judged import OTHER_KEEP_RATIOS, kept_at, numeric
from sinelstm.experiment import kinds

CLASSICAL = ("ar", "seasonal-naive")
# The measure in a table's header: its bars escaped, so that they do not end the cell.
ERROR = r"\|log amp\|"
MEDIAN_ERROR = f"median {ERROR}"
MEDIAN_DRIFT = r"median \|phase drift\|"


def count(flags: pd.Series) -> str:
    """'9/10 [0.55, 1.00]': a count of seeds with its exact 95% interval."""
    k, n = int(flags.sum()), len(flags)
    if n == 0:
        return "n/a"
    low, high = clopper_pearson(k, n)
    return f"{k}/{n} [{low:.2f}, {high:.2f}]"


def _median(values) -> float:
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return float(values.median()) if len(values) else math.nan


def against(judged: pd.DataFrame, arm: Arm, model: str) -> tuple[float, int, int]:
    """(median RMSE of `model` on the arm's data and seeds, seeds where the arm beats it, n)."""
    mine = rows_of(judged, arm)[["seed", "forecast_rmse"]]
    theirs = rows_of(judged, arm.data(model))[["seed", "forecast_rmse"]]
    both = mine.merge(theirs, on="seed", suffixes=("", "_other"))
    if both.empty:
        return math.nan, 0, 0
    ours, other = (pd.to_numeric(both[c], errors="coerce") for c in ("forecast_rmse", "forecast_rmse_other"))
    return _median(other), int((ours < other).sum()), len(both)


def arm_rows(judged: pd.DataFrame, arms: list[Arm]) -> list[dict]:
    """One summary a arm (judged: with_judgement and with_arms), in the given order."""
    out = []
    for arm in arms:
        rows = rows_of(judged, arm)
        if rows.empty:
            continue
        label = arm.label
        if arm.steps and kinds.is_article(arm.model):
            label = label.removesuffix(f"{arm.steps} steps") + arm.budget
        elif kinds.is_article(arm.model) and rows["steps_run"].notna().any():
            label += f" (median {median_steps(rows):.0f} steps)"
        line = {
            "arm": label,
            "seeds": len(rows),
            "kept the amplitude": count(rows["kept_amp"]),
            **{f"at {t:g}": f"{int(rows[kept_at(t)].sum())}/{len(rows)}" for t in OTHER_KEEP_RATIOS},
            "decayed": int(rows["decayed"].sum()),
            "grew": int(rows["grown"].sum()),
            MEDIAN_ERROR: median_interval(rows["amp_error"]).text(2),
            r"median \|log amp_ratio\|": f"{_median(rows['ratio_error']):.2f}",
            MEDIAN_DRIFT: f"{_median(numeric(rows, 'phase_drift').abs()):.2f}",
            "kept the wave": count(rows["kept"]),
            "never fitted": int(rows["unfit"].sum()),
            "converged": count(rows["converged"]) if rows["loss_drift"].notna().any() else "n/a",
            "steps (median)": f"{_median(numeric(rows, 'steps_run')):.0f}",
            "forecast RMSE": f"{_median(rows['forecast_rmse']):.3f}",
        }
        for model in CLASSICAL:
            value, beats, n = against(judged, arm, model)
            line[f"{model} RMSE"] = f"{value:.3f}" if np.isfinite(value) else "n/a"
            line[f"beats {model}"] = f"{beats}/{n}" if n else "n/a"
        out.append(line)
    return out


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A markdown table of dicts (their keys, or the columns given)."""
    from tabulate import tabulate

    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])
    cells = [[row[c] for c in columns] for row in rows]
    return tabulate(cells, headers=columns, tablefmt="github", disable_numparse=True)


def kept_pair(judged: pd.DataFrame, effect: Effect) -> str:
    """'kept 5 -> 9 of 12': the kept counts of both arms on the seeds the effect pairs."""
    both = paired(judged, effect.spec.before, effect.spec.after, "kept_amp")
    return f"kept {int(both['before'].sum())} -> {int(both['after'].sum())} of {len(both)}"


def effect_rows(found: list[Effect], family: str, judged: pd.DataFrame) -> list[dict]:
    from sinelstm.analysis.plan import SMALLEST_EFFECT

    return [
        {
            "effect (before -> after)": effect.spec.name,
            "median change in " + ERROR + " [95% interval] n": effect.interval.text(2, signed=True)
            if not effect.floor
            else f"held back: {effect.floor}",
            "seeds closer / further": f"{effect.improved} / {effect.worsened}",
            "kept, paired seeds": kept_pair(judged, effect),
            ("Holm p" if family != "exploratory" else "p"): p_text(effect.holm_p),
            f"power ({SMALLEST_EFFECT:.0%} of seeds moving)": (
                f"{effect.power:.2f} at level {effect.alpha:.3g}"
            ),
        }
        for effect in found
        if effect.spec.family == family
    ]
