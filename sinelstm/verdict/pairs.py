"""An A/B run's verdicts from its pairs: each config's timings judged head against base
(sinelstm.verdict.speed), the cells a side could not run, and the results the two sides
gave compared at the reproduction tier (one stack on both sides: a difference is the
diff's doing)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sinelstm.sweep.ab import SIDES, Pair, Side
from sinelstm.verdict.rules import ReproductionRules
from sinelstm.verdict.speed import TIMINGS, Acceptance, SpeedRules, SpeedVerdict, judge_pairs


def timing(pair: Pair, side_name: str, metric: str) -> float:
    outcome = pair.outcomes[side_name]
    if outcome.row is None or outcome.error:
        return math.nan
    if metric == "cell_s":
        return outcome.cell_s
    if metric == "warmup_s":
        return _float(outcome.row.get("fit_warmup_s")) + _float(outcome.row.get("forecast_warmup_s"))
    return _float(outcome.row.get(metric))


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def unpaired(pairs: list[Pair]) -> list[str]:
    """Cells a side could not run, each with its side and reason."""
    return [
        f"{pair.name} (repeat {pair.repeat}): the {name} failed: {pair.outcomes[name].error}"
        for pair in pairs
        for name in SIDES
        if pair.outcomes[name].error
    ]


def speed_verdicts(
    pairs: list[Pair], rules: SpeedRules, accepted: tuple[Acceptance, ...] = ()
) -> list[SpeedVerdict]:
    """One verdict per config and timing metric, from the config's pairs."""
    by_config: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_config.setdefault(pair.config, []).append(pair)
    verdicts = []
    for config, group in by_config.items():
        for metric in TIMINGS:
            base = [timing(p, "base", metric) for p in group]
            head = [timing(p, "head", metric) for p in group]
            verdicts.append(judge_pairs(config, metric, base, head, rules, accepted))
    return verdicts


def undecided_configs(verdicts: list[SpeedVerdict], rules: SpeedRules) -> set[str]:
    """Configs with a gated timing that more pairs could decide: underpowered (but not for
    want of any slowdown past the threshold) or inconclusive."""
    return {
        v.config
        for v in verdicts
        if v.metric not in rules.informational and v.verdict in ("underpowered", "inconclusive")
    }


def gated_failures(verdicts: list[SpeedVerdict], rules: SpeedRules) -> list[SpeedVerdict]:
    return [v for v in verdicts if v.failed and v.metric not in rules.informational]


@dataclass(frozen=True)
class Difference:
    cell: str
    metric: str
    base: object
    head: object


def result_differences(pairs: list[Pair], rules: ReproductionRules) -> list[Difference]:
    """Every metric and canary where the two sides' rows of a cell differ beyond the
    reproduction tolerance (one stack, one machine: a difference is the diff's doing)."""
    from sinelstm.sweep.rows import METRIC_COLUMNS

    found: dict[tuple[str, str], Difference] = {}
    for pair in pairs:
        base, head = (pair.outcomes[name].row for name in SIDES)
        if base is None or head is None:
            continue
        for metric in METRIC_COLUMNS:
            if metric not in base or metric not in head:
                continue
            if not rules.same(metric, base[metric], head[metric]):
                found.setdefault(
                    (pair.name, metric), Difference(pair.name, metric, base[metric], head[metric])
                )
    return list(found.values())


@dataclass
class ABRun:
    """Everything an A/B run found, for its files and its exit status."""

    base: Side
    head: Side
    grid: str
    repeats: int
    streams: int
    wall_s: float
    pairs: list[Pair]
    verdicts: list[SpeedVerdict]
    differences: list[Difference]
    stack: list[str]  # stack files the head changed
    rules: SpeedRules
    missing_fields: list[str]  # config fields the base does not know

    @property
    def failures(self) -> list[str]:
        lines = [
            f"{v.config}: {TIMINGS[v.metric]} {v.verdict}: head/base {v.ratio:.3f} "
            f"[{v.low:.3f}, {v.high:.3f}], detects +{v.detectable:.1%}"
            + (f" ({v.reason})" if v.reason else "")
            for v in gated_failures(self.verdicts, self.rules)
        ]
        return unpaired(self.pairs) + lines

    @property
    def passed(self) -> bool:
        return not self.failures
