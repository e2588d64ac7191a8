"""The article LSTM's effects, hidden size by hidden size (sizes are never pooled: at one
size a forecast can sit at a floor while at another it keeps the wave), with the controls
that separate data length from periods seen and from optimizer steps.

A cell group ("arm") is the article's LSTM at one window, data length, period and batch
size; an effect pairs two arms seed by seed (the same seed draws the same noise at the
same length) and takes the median of the paired differences, with its sign-test interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sinelstm.report.accuracy import at_floor, floor_reason
from sinelstm.report.frames import article_lstm
from sinelstm.report.intervals import MedianInterval, holm, median_interval

HEADLINE, EXPLORATORY = "headline", "exploratory"


@dataclass(frozen=True)
class Arm:
    """One cell group of the article's LSTM, by its config columns."""

    window: int
    length: int
    period: float
    batch_size: int

    def label(self, base: Arm | None = None) -> str:
        """'w25 L601', with the period or batch size where they differ from the headline's."""
        extra = ""
        if base is not None and self.period != base.period:
            extra += f" period {self.period:g}"
        if base is not None and self.batch_size != base.batch_size:
            extra += f" batch {self.batch_size}"
        return f"w{self.window} L{self.length}{extra}"

    def rows(self, lstm: pd.DataFrame, hidden: int) -> pd.DataFrame:
        """This arm's rows at one hidden size, one per seed."""
        mask = (
            (lstm["hidden"] == hidden)
            & (lstm["window"] == self.window)
            & (lstm["length"] == self.length)
            & np.isclose(pd.to_numeric(lstm["period"]), self.period)
            & (lstm["batch_size"] == self.batch_size)
        )
        return lstm[mask].drop_duplicates("seed", keep="last")


@dataclass(frozen=True)
class Effect:
    hidden: int
    family: str  # HEADLINE (Holm-corrected) or EXPLORATORY
    name: str  # what changes, in words
    before: Arm
    after: Arm
    amp: MedianInterval  # paired differences of amp_ratio (after - before)
    rmse: MedianInterval  # paired differences of forecast_rmse
    floor: str = ""  # why an arm sits at a floor; "" where neither does
    holm_p: float = math.nan  # Holm-adjusted sign-test p (headline effects off the floor)

    @property
    def significant(self) -> bool:
        return np.isfinite(self.holm_p) and self.holm_p < 0.05


@dataclass(frozen=True)
class Design:
    """Which arms the run holds: the headline's windows, lengths and settings, the controls."""

    windows: list[int]
    lengths: list[int]
    base: Arm | None  # the headline's period and batch size (window, length of its first cell)
    period_control: float | None  # the long series' other period, where the run has one
    steps_batch: int | None  # the long series' other batch size, where the run has one
    hidden_sizes: list[int] = field(default_factory=list)

    def arm(
        self, window: int, length: int, period: float | None = None, batch_size: int | None = None
    ) -> Arm:
        return Arm(
            window,
            length,
            self.base.period if period is None else period,
            self.base.batch_size if batch_size is None else batch_size,
        )


def design_of(ok: pd.DataFrame) -> Design:
    """The headline settings are the (period, batch size) most of the LSTM's cells share."""
    lstm = article_lstm(ok)
    if lstm.empty:
        return Design([], [], None, None, None)
    settings = lstm.groupby(["period", "batch_size"]).size().sort_values(ascending=False)
    period, batch = settings.index[0]
    headline = lstm[(lstm["period"] == period) & (lstm["batch_size"] == batch)]
    windows, lengths = sorted(headline["window"].unique()), sorted(headline["length"].unique())
    long = lstm[lstm["length"] == lengths[-1]]
    periods = sorted(set(long["period"]) - {period})
    batches = sorted(set(long[long["period"] == period]["batch_size"]) - {batch})
    return Design(
        [int(w) for w in windows],
        [int(n) for n in lengths],
        Arm(int(windows[0]), int(lengths[0]), float(period), int(batch)),
        float(periods[-1]) if periods else None,
        int(batches[-1]) if batches else None,
        sorted(int(h) for h in lstm["hidden"].unique()),
    )


def effect_plan(design: Design) -> list[tuple[str, str, Arm, Arm]]:
    """(family, name, before, after) for every effect the design allows."""
    plan = []
    if design.base is None:
        return plan
    w0, w1 = design.windows[0], design.windows[-1]
    n0, n1 = design.lengths[0], design.lengths[-1]
    if w0 != w1:
        for n in (n0, n1):
            plan.append(
                (HEADLINE, f"window {w0} -> {w1} on {n} samples", design.arm(w0, n), design.arm(w1, n))
            )
    if n0 != n1:
        for w in (w0, w1):
            plan.append(
                (HEADLINE, f"{n0} -> {n1} samples at window {w}", design.arm(w, n0), design.arm(w, n1))
            )
    if design.period_control is not None and n0 != n1:
        p0, p1 = design.base.period, design.period_control
        for w in (w0, w1):
            control = design.arm(w, n1, period=p1)
            name = f"more samples, same periods ({n0} at period {p0:g} -> {n1} at period {p1:g}), window {w}"
            plan.append((EXPLORATORY, name, design.arm(w, n0), control))
            name = f"more periods, same samples ({n1} at period {p1:g} -> {p0:g}), window {w}"
            plan.append((EXPLORATORY, name, control, design.arm(w, n1)))
    if design.steps_batch is not None and n0 != n1:
        b0, b1 = design.base.batch_size, design.steps_batch
        for w in (w0, w1):
            control = design.arm(w, n1, batch_size=b1)
            name = f"equal optimizer steps ({n0} -> {n1} at batch {b1}), window {w}"
            plan.append((EXPLORATORY, name, design.arm(w, n0), control))
            name = f"second step per epoch ({n1}: batch {b1} -> {b0}), window {w}"
            plan.append((EXPLORATORY, name, control, design.arm(w, n1)))
    return plan


def paired_by_seed(before: pd.DataFrame, after: pd.DataFrame, metric: str) -> np.ndarray:
    """metric(after) - metric(before) for each seed both groups hold; (n_pairs,)."""
    merged = before[["seed", metric]].merge(
        after[["seed", metric]], on="seed", suffixes=("_before", "_after")
    )
    difference = pd.to_numeric(merged[f"{metric}_after"], errors="coerce") - pd.to_numeric(
        merged[f"{metric}_before"], errors="coerce"
    )
    return difference.to_numpy(dtype=np.float64)


def stratified_effects(judged: pd.DataFrame, design: Design) -> list[Effect]:
    """Every planned effect at every hidden size, the headline family Holm-corrected
    together (effects at a floor left out of it: they say nothing about the amplitude)."""
    lstm = article_lstm(judged)
    effects = []
    for hidden in design.hidden_sizes:
        for family, name, before, after in effect_plan(design):
            rows_before, rows_after = before.rows(lstm, hidden), after.rows(lstm, hidden)
            if rows_before.empty or rows_after.empty:
                continue
            floors = [
                f"{arm.label(design.base)}: {floor_reason(rows)}"
                for arm, rows in ((before, rows_before), (after, rows_after))
                if at_floor(rows)
            ]
            effects.append(
                Effect(
                    hidden, family, name, before, after,
                    median_interval(paired_by_seed(rows_before, rows_after, "amp_ratio")),
                    median_interval(paired_by_seed(rows_before, rows_after, "forecast_rmse")),
                    "; ".join(floors),
                )
            )  # fmt: skip
    family = [i for i, e in enumerate(effects) if e.family == HEADLINE and not e.floor and e.amp.n]
    adjusted = holm([effects[i].amp.p_value for i in family])
    for i, p in zip(family, adjusted, strict=True):
        effects[i] = Effect(**{**effects[i].__dict__, "holm_p": p})
    return effects


def arm_summary(judged: pd.DataFrame, design: Design) -> pd.DataFrame:
    """One row per arm and hidden size: seeds, median amp_ratio, how many seeds kept the
    wave, went flat, never fitted, did worse than the zero forecast, hit the epoch cap."""
    lstm = article_lstm(judged)
    arms = {design.arm(w, n) for w in design.windows for n in design.lengths} if design.base else set()
    for _, _, before, after in effect_plan(design):
        arms |= {before, after}
    records = []
    for hidden in design.hidden_sizes:
        for arm in sorted(
            arms, key=lambda a: (a.period != design.base.period, a.batch_size, a.length, a.window)
        ):
            rows = arm.rows(lstm, hidden)
            if rows.empty:
                continue
            records.append(
                {
                    "hidden": hidden,
                    "arm": arm.label(design.base),
                    "seeds": len(rows),
                    "amp_ratio": median_interval(rows["amp_ratio"]),
                    "forecast_rmse": median_interval(rows["forecast_rmse"]),
                    "kept": int(rows["kept"].sum()),
                    "flat": int(rows["flat"].sum()),
                    "unfit": int(rows["unfit"].sum()),
                    "worse_than_zero": int(rows["worse_than_zero"].sum()),
                    "capped": int(rows["capped"].sum()),
                    "still_improving": int(rows["still_improving"].sum()),
                    "floor": at_floor(rows),
                }
            )
    return pd.DataFrame(records)
