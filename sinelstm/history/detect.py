"""Change points in each metric's series over commits, found by ruptures (PELT), and named
by the first commit after each shift, its size and whether it is better or worse.

A series is one (grid, stack, config, metric): per commit the median over seeds (the total,
for a count), clean runs only, stacks never mixed. Values are in units of the gate's
tolerance: the reproduction one for gated metrics, the statistical one for timing ratios.
The penalty is twice BIC's, with the noise estimated from first differences (never under
half a tolerance). A segment is at least two commits; a change within the gate's tolerance
is dropped. The reasoning, and a test on synthetic series: docs/layout.md, design notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from sinelstm.history.history_csv import SKIPPED, STACK_COLUMNS
from sinelstm.verdict.rules import GateConfig, MetricRule

MIN_SEGMENT = 2  # commits: a segment shorter than this is a blip, not a level
SIGMA_FLOOR = 0.5  # the noise estimate's floor, in gate tolerances
PENALTY_FACTOR = 4.0  # times sigma^2 * log(n): twice BIC's
SERIES_KEY = ("grid", "stack", "config")


@dataclass(frozen=True)
class ChangePoint:
    grid: str
    stack: str
    config: str
    metric: str
    commit: str  # the first commit after the shift
    position: int  # its index in the first-parent order
    before: float  # the median of the segment before
    after: float  # ... and after
    tolerance: float  # the gate's, at the value before
    direction: str  # better | worse, by the gate rule's direction

    @property
    def size(self) -> float:
        return self.after - self.before


def ratio_rules(gate: GateConfig) -> tuple[MetricRule, ...]:
    """The same-run speed ratios as rules: an epoch over its floor may not grow by more than
    the timing rule's fraction; the engine speed-up may not fall by more than its own."""
    rules = [MetricRule(name, "lower", rel_tol=tol) for name, tol in gate.timing.ratios.items()]
    rules.append(MetricRule("engine_speedup", "higher", rel_tol=gate.timing.speedup_rel_tol))
    return tuple(rules)


def stack_label(row) -> str:
    return " ".join(f"{name} {row[name]}" for name in STACK_COLUMNS)


def series(history: pd.DataFrame, order: list[str], gate: GateConfig) -> pd.DataFrame:
    """Per (grid, stack, config, metric) and commit: the aggregate over seeds (center), the
    seeds' min and max, the seed count and the commit's position in order. A cell measured
    twice at one commit counts once (its last row)."""
    position = {sha: index for index, sha in enumerate(order)}
    rows = history[
        (history["status"] == "ok") & ~history["dirty"].astype(bool) & history["commit"].isin(position)
    ].copy()
    columns = ["grid", "stack", "config", "metric", "commit", "position", "center", "low", "high", "seeds"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["stack"] = [stack_label(row) for row in rows.to_dict("records")]
    rows = rows.drop_duplicates(subset=["commit", "grid", "stack", "config", "seed"], keep="last")
    records = []
    for rule in (*gate.rules, *ratio_rules(gate)):
        for (grid, stack, config, commit), group in rows.groupby([*SERIES_KEY, "commit"]):
            values = group[rule.metric].to_numpy(dtype=np.float64)
            if rule.aggregate == "sum":
                center = float(np.nansum(values))
            elif np.isnan(values).all():
                continue
            else:
                center = float(np.nanmedian(values))
            low, high = (float(np.nanmin(values)), float(np.nanmax(values))) if values.size else (center,) * 2
            records.append(
                (grid, stack, config, rule.metric, commit, position[commit], center, low, high, len(values))
            )
    frame = pd.DataFrame(records, columns=columns)
    return frame.sort_values([*SERIES_KEY, "metric", "position"]).reset_index(drop=True)


def change_points(
    values: np.ndarray, rule: MetricRule, tolerance: Callable[[float], float] | None = None
) -> list[tuple[int, float, float, float]]:
    """(index of the first value after the shift, median before, median after, tolerance)
    for each shift in values larger than the tolerance (the rule's statistical one unless
    another is given; see the module docstring)."""
    import ruptures

    tolerance = tolerance or rule.tolerance
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2 * MIN_SEGMENT or not np.isfinite(values).all():
        return []
    scale = tolerance(float(np.median(values))) or 1.0
    signal = values / scale  # (n_commits,) in gate tolerances
    sigma = max(_noise(signal), SIGMA_FLOOR)
    penalty = PENALTY_FACTOR * sigma**2 * math.log(signal.size)
    ends = ruptures.Pelt(model="l2", min_size=MIN_SEGMENT, jump=1).fit(signal).predict(pen=penalty)
    starts = [0, *ends[:-1]]
    found = []
    for index in range(1, len(starts)):
        before = float(np.median(values[starts[index - 1] : starts[index]]))
        after = float(np.median(values[starts[index] : ends[index]]))
        allowed = tolerance(before)
        if abs(rule.badness(after) - rule.badness(before)) > allowed or (
            rule.direction == "target" and abs(after - before) > allowed
        ):
            found.append((starts[index], before, after, allowed))
    return found


def _noise(signal: np.ndarray) -> float:
    """The noise's standard deviation from first differences (MAD, scaled for a normal
    distribution; a difference of two values has sqrt(2) times one value's)."""
    differences = np.diff(signal)
    mad = float(np.median(np.abs(differences - np.median(differences))))
    return 1.4826 * mad / math.sqrt(2.0)


def detect(history: pd.DataFrame, order: list[str], gate: GateConfig, frame=None) -> list[ChangePoint]:
    """Every change point in every series of the history (or of its series frame, when
    given), oldest first within a series."""
    frame = series(history, order, gate) if frame is None else frame
    rules = {rule.metric: rule for rule in (*gate.rules, *ratio_rules(gate))}
    found = []
    for (grid, stack, config, metric), group in frame.groupby([*SERIES_KEY, "metric"], sort=True):
        quality = metric in {r.metric for r in gate.rules}
        rule = gate.rule_for(config, metric) if quality else rules[metric]
        # One stack: seeded runs repeat, so a metric that moves beyond the reproduction
        # tolerance moved (the gate's reproduction tier); the timing ratios vary run to
        # run, and keep the statistical tolerance.
        exact = quality
        scale = partial(gate.reproduction.tolerance, metric=metric) if exact else None
        commits, positions = list(group["commit"]), list(group["position"])
        for index, before, after, tolerance in change_points(group["center"].to_numpy(), rule, scale):
            worse = rule.badness(after) > rule.badness(before)
            found.append(
                ChangePoint(
                    grid,
                    stack,
                    config,
                    metric,
                    commits[index],
                    positions[index],
                    before,
                    after,
                    tolerance,
                    "worse" if worse else "better",
                )
            )
    return found


def skipped(history: pd.DataFrame) -> dict[str, str]:
    """sha -> the reason its code could not run the grid (the last one recorded)."""
    rows = history[history["status"] == SKIPPED]
    return dict(zip(rows["commit"], rows["note"], strict=True))
