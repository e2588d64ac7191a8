"""Find the commit that moved a metric: bisection over a range (`asv find`'s job), with the
gate's own rules for "moved".

The range's first commit is the reference. Bisection keeps lo, the last commit known not to
have moved, and hi, the first known to have moved (at first a sentinel past the range's
end), so n commits cost ceil(log2(n)) probes plus the reference. A commit whose code cannot
run is passed over. "Moved" is the gate's: on the reference's stack, any seed outside the
reproduction tolerance; elsewhere, the median beyond the statistical tolerance, either way.
A missing or crashed seed has moved. Bisection assumes one move (docs/layout.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sinelstm.history.history_csv import STACK_COLUMNS, HistoryError
from sinelstm.sweep.grid import Grid
from sinelstm.verdict.rules import GateConfig
from sinelstm.verdict.tiers import aggregate


@dataclass
class Bisection:
    found: int | None  # index of the first commit that moved; None: none moved
    probed: list[int] = field(default_factory=list)  # indices measured, in order (not the reference)
    unrunnable: list[int] = field(default_factory=list)


def bisect(count: int, moved: Callable[[int], bool | None]) -> Bisection:
    """The first index in 1..count-1 where moved(index) is true, assuming index 0 did not
    move and once moved stays moved. moved returns None for a commit that cannot run.
    Raises HistoryError when unrunnable commits leave the answer open."""
    if count < 2:
        raise HistoryError("REV_RANGE: find needs at least two commits (the first is the reference)")
    result = Bisection(None)
    low, high = 0, count  # high == count: a sentinel, the "moved" past the end
    while True:
        inside = [index for index in range(low + 1, high) if index not in result.unrunnable]
        if not inside:
            break
        middle = (low + high) // 2
        probe = min(inside, key=lambda index: (abs(index - middle), index))
        verdict = moved(probe)
        result.probed.append(probe)
        if verdict is None:
            result.unrunnable.append(probe)
        elif verdict:
            high = probe
        else:
            low = probe
    open_ = [index for index in result.unrunnable if low < index < high]
    if open_:
        last = "the range's end" if high == count else f"index {high}"
        raise HistoryError(
            f"the move lies between a commit that did not move and {last}, and the commits between "
            f"could not run ({len(open_)}); see the history's skipped rows"
        )
    result.found = None if high == count else high
    return result


def max_runs(count: int) -> int:
    """Grid runs a find over count commits takes at most (no unrunnable commits)."""
    return math.ceil(math.log2(count)) + 1 if count > 1 else 1


@dataclass(frozen=True)
class Verdict:
    moved: bool
    tier: str  # reproduction | statistical
    detail: str  # in words, for the output


def has_moved(
    reference: list[dict], current: list[dict], metric: str, config: str, gate: GateConfig
) -> Verdict:
    """Whether a metric of one config moved from the reference rows (one per seed) to the
    current ones, by the gate's rules (see the module docstring)."""
    by_seed = {int(row["seed"]): row for row in current}
    for row in reference:
        seed = int(row["seed"])
        if seed not in by_seed or by_seed[seed]["status"] != "ok":
            return Verdict(True, "cells", f"seed {seed} is missing or crashed")
    stack = [c for c in gate.reproduction.stack if c in STACK_COLUMNS]
    same_stack = all({str(r[c]) for r in reference} == {str(r[c]) for r in current} for c in stack)
    if same_stack:
        rules = gate.reproduction
        differing = [
            f"seed {int(row['seed'])}: {row[metric]} -> {by_seed[int(row['seed'])][metric]}"
            for row in reference
            if not rules.same(metric, row[metric], by_seed[int(row["seed"])][metric])
        ]
        detail = "; ".join(differing) or "every seed within the reproduction tolerance"
        return Verdict(bool(differing), "reproduction", detail)
    if gate.direction_of(metric) is None:
        raise HistoryError(
            f"--metric {metric}: the gate has no statistical rule for it, and the stacks differ: "
            "it cannot be judged"
        )
    rule = gate.rule_for(config, metric)
    ok = [row for row in current if row["status"] == "ok"]
    before_bad, before = aggregate(rule, [_judged(row, metric) for row in reference])
    after_bad, after = aggregate(rule, [_judged(row, metric) for row in ok])
    tolerance = rule.tolerance(before)
    moved = abs(after_bad - before_bad) > tolerance or (math.isinf(after_bad) != math.isinf(before_bad))
    label = "median" if rule.aggregate == "median" else "total"
    return Verdict(moved, "statistical", f"{label} {before:.4g} -> {after:.4g} (tolerance {tolerance:.3g})")


def _judged(row: dict, metric: str) -> dict:
    """A history row as the gate's aggregate reads it: diverged a flag, NaN still NaN."""
    value = row[metric]
    if metric == "diverged" and value == value:
        value = bool(value)
    return {metric: value}


def config_cells(grid: Grid, config: str) -> list:
    """The grid's cells of one config; HistoryError naming the grid's configs where it has
    none of that name."""
    from sinelstm.sweep.grid import config_id

    cells = [cell for cell in grid.cells() if config_id(cell) == config]
    if not cells:
        names = sorted({config_id(cell) for cell in grid.cells()})
        raise HistoryError(
            f"--config: {config!r} is not a config of the grid; expected one of {', '.join(names)}"
        )
    return cells


@dataclass
class Found:
    """What a find did: the first commit that moved (None: none did), how, and at what cost."""

    commits: list[str]
    first: str | None
    detail: str = ""
    runs: int = 0  # grid runs made
    cached: int = 0  # commits read from the history instead


def find_commit(
    repo: Path,
    rev_range: str,
    metric: str,
    config: str,
    grid: Grid,
    history: Path,
    gate: GateConfig,
    timeout: float,
    echo: Callable[[str], None] = print,
) -> Found:
    """Bisect rev_range for the first commit at which `metric` of `config` moved from the
    range's first commit, running only that config's cells of the grid where the history
    does not already hold them (each run is appended to it)."""
    from sinelstm.history.commits import bench_flags, rev_list
    from sinelstm.history.history_csv import SKIPPED, grid_label, read_history
    from sinelstm.history.walk import measure

    cells = config_cells(grid, config)
    if not Path(history).is_file():
        raise HistoryError(f"--history: {history} does not exist (history run makes it); nothing run")
    commits = rev_list(repo, rev_range)
    label = grid_label(grid)
    seeds = {cell.seed for cell in cells}
    axes = {name: tuple(dict.fromkeys(getattr(cell, name) for cell in cells)) for name in grid.axes}
    flags = bench_flags(Grid(grid.name, axes, grid.base))
    found = Found(commits, None)

    here = _this_stack()

    def rows_at(sha: str) -> list[dict] | None:
        """The commit's cells of the config, from runs on this process's stack only (the
        probes run here; another stack's seeds would be another experiment)."""
        frame = read_history(history)
        frame = frame[(frame["commit"] == sha) & (frame["grid"] == label) & ~frame["dirty"]]
        same = (frame[list(STACK_COLUMNS)].astype(str) == [here[name] for name in STACK_COLUMNS]).all(axis=1)
        frame = frame[same | (frame["status"] == SKIPPED)]
        cells_there = frame[(frame["config"] == config) & frame["seed"].isin(seeds)]
        cells_there = cells_there.drop_duplicates(subset=["seed"], keep="last")
        if set(cells_there["seed"].astype(int)) >= seeds:
            return cells_there.to_dict("records")
        if (frame["status"] == SKIPPED).any():
            return None
        return []

    def measured(sha: str) -> list[dict] | None:
        rows = rows_at(sha)
        if rows == []:
            found.runs += 1
            echo(f"{sha[:10]}: running {len(cells)} cells of {config}")
            _, reason = measure(repo, sha, flags, history, label, timeout)
            if reason:
                echo(f"{sha[:10]}: cannot run: {reason}")
                return None
            rows = rows_at(sha)
        else:
            found.cached += rows is not None
        return rows

    reference = measured(commits[0])
    if not reference:
        raise HistoryError(
            f"{commits[0][:10]}: the reference commit could not run the grid; choose another range"
        )

    def moved(index: int) -> bool | None:
        rows = measured(commits[index])
        if rows is None:
            return None
        verdict = has_moved(reference, rows, metric, config, gate)
        state = "moved" if verdict.moved else "same"
        echo(f"{commits[index][:10]}: {state} ({verdict.tier}: {verdict.detail})")
        return verdict.moved

    result = bisect(len(commits), moved)
    if result.found is not None:
        found.first = commits[result.found]
        # The detail of the commit named, not of the last probe (its rows are in the history now).
        verdict = has_moved(reference, rows_at(found.first), metric, config, gate)
        found.detail = f"{verdict.tier} tier: {verdict.detail}"
    return found


def _this_stack() -> dict[str, str]:
    """The stack columns this process records in its rows (the probes' stack)."""
    from sinelstm.sweep.provenance import provenance

    values = provenance()
    return {name: str(values[name]) for name in STACK_COLUMNS}
