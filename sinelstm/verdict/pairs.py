"""An A/B run's verdicts from its pairs: each config's timings judged head against base
(sinelstm.verdict.speed), the cells a side could not run, and the results the two sides
gave compared at the reproduction tier (one stack on both sides: a difference is the
diff's doing)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.sweep.ab_pairs import SIDES, Pair, Side, cores, run_ab
from sinelstm.sweep.grid import cell_id, config_id
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


def undecided_configs(
    verdicts: list[SpeedVerdict], rules: SpeedRules, metrics: tuple[str, ...] | None = None
) -> set[str]:
    """Configs with a gated timing (of `metrics`, where given) that more pairs could
    decide: underpowered (but not for want of any slowdown past the threshold) or
    inconclusive."""
    return {
        v.config
        for v in verdicts
        if v.metric not in rules.informational
        and (metrics is None or v.metric in metrics)
        and v.verdict in ("underpowered", "inconclusive")
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
    nice: int = 0  # the workers' nice value (the highest of them): below 0, raised priority

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


# Files whose change is a change of the stack: the base then runs on the head's.
STACK_FILES = ("constraints.txt", "pyproject.toml")


def stack_changes(base: Side, head: Side) -> list[str]:
    """The stack files that differ between the two trees (the base runs on the head's stack)."""
    changed = []
    for name in STACK_FILES:
        texts = [
            (tree / name).read_text() if (tree / name).is_file() else None for tree in (base.tree, head.tree)
        ]
        if texts[0] != texts[1]:
            changed.append(name)
    return changed


@dataclass(frozen=True)
class Rounds:
    """How many pairs a run gathers: `repeats` of every cell, then another `repeats` of the
    cells of each config still undecided (underpowered or inconclusive), up to
    `max_repeats` in all, starting no round that would end past `budget` seconds."""

    repeats: int
    max_repeats: int
    budget: float


def run_rounds(
    base: Side,
    head: Side,
    grid: str,
    cells: list[ExperimentConfig],
    rounds: Rounds,
    *,
    streams: int | None,
    threads: int,
    env: dict[str, str],
    logs: Path,
    rules: SpeedRules,
    reproduction: ReproductionRules,
    echo: Callable[[str], None],
    accepted: tuple[Acceptance, ...] = (),
    on_pair: Callable[[Pair], None] | None = None,
    deciding: tuple[str, ...] | None = None,
) -> ABRun:
    """The A/B: rounds of pairs until every config is decided (in the timings `deciding`
    names, where given: history find needs one) or the limits are reached, then the
    verdicts, the result differences and what else the report says."""
    from sinelstm.sweep.runner import new_run_id

    start, run_id = time.perf_counter(), new_run_id()
    pairs: list[Pair] = []
    todo, done = cells, 0
    positions = {cell_id(cell): index for index, cell in enumerate(cells)}
    while todo:
        round_start = time.perf_counter()
        more, fields = run_ab(
            base, head, todo, repeats=rounds.repeats, streams=streams, logs=logs, run_id=run_id,
            env=env, threads=threads, first_repeat=done, positions=positions, on_pair=on_pair,
        )  # fmt: skip
        pairs += more
        done += rounds.repeats
        undecided = undecided_configs(speed_verdicts(pairs, rules, accepted), rules, deciding)
        next_cells = [cell for cell in cells if config_id(cell) in undecided]
        # A round's cost scales with its cells.
        next_s = (time.perf_counter() - round_start) * len(next_cells) / len(todo)
        todo = next_cells
        if todo and (done + rounds.repeats > rounds.max_repeats or elapsed(start) + next_s > rounds.budget):
            echo(f"A/B: {len(undecided)} config(s) still undecided; no further round within the limits")
            todo = []
        elif todo:
            echo(f"A/B: another {rounds.repeats} repeats of {len(undecided)} undecided config(s)")
    return ABRun(
        base=base,
        head=head,
        grid=grid,
        repeats=done,
        streams=len(cores(streams)) if threads == 1 else streams or 1,
        wall_s=elapsed(start),
        pairs=pairs,
        verdicts=speed_verdicts(pairs, rules, accepted),
        differences=result_differences(pairs, reproduction),
        stack=stack_changes(base, head),
        rules=rules,
        missing_fields=sorted(set(fields["head"]) - set(fields["base"])),
        nice=max(int(value) for value in fields["nice"]),
    )


def elapsed(start: float) -> float:
    return time.perf_counter() - start
