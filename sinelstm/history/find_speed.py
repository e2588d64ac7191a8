"""Find the commit that moved a timing: bisection whose probe is an A/B run.

Stored timings cannot say whether a commit moved one: they never repeat, and differ between
moments and machines. So each probe runs the reference commit's code and the probed one's,
taking turns on the same cores now (sinelstm.verdict.pairs.run_rounds). A timing moved where
its head/base interval lies wholly outside [1 / (1 + threshold), 1 + threshold]. An
underpowered probe is passed over; an inconclusive one counts as not moved, as the A/B
passes it. Which pairs judge which timing: docs/layout.md, design notes.
"""

from __future__ import annotations

import compileall
import math
from collections.abc import Callable
from pathlib import Path

from sinelstm.history.find import Found, bisect, config_cells
from sinelstm.sweep.ab_pairs import SIDES, Side
from sinelstm.sweep.grid import Grid
from sinelstm.verdict.pairs import Rounds, run_rounds, timing, unpaired
from sinelstm.verdict.rules import GateConfig
from sinelstm.verdict.speed import TIMINGS, SpeedRules, judge_pairs

# history find's timing metrics -> the pair timing that judges each.
SPEED_METRICS = {**{name: name for name in TIMINGS}, "epoch_floor_ratio": "epoch_floor_ratio",
                 "engine_speedup": "forecast_ms_per_step"}  # fmt: skip
PROBE_ROUNDS = Rounds(repeats=4, max_repeats=16, budget=900.0)


def find_speed_commit(
    repo: Path,
    rev_range: str,
    metric: str,
    config: str,
    grid: Grid,
    gate: GateConfig,
    speed: SpeedRules,
    echo: Callable[[str], None] = print,
) -> Found:
    """Bisect rev_range for the first commit whose `metric` of `config` moved past the A/B
    threshold against the range's first commit, each probe an A/B of the two."""
    from sinelstm.history.commits import rev_list, worktree

    cells = config_cells(grid, config)
    commits = rev_list(repo, rev_range)
    found = Found(commits, None)
    judged = SPEED_METRICS[metric]
    limit = math.log1p(speed.threshold_for(judged))
    details: dict[int, str] = {}
    with worktree(repo, commits[0]) as (reference_tree, _):
        reference = Side(SIDES[0], reference_tree, commits[0][:10])
        compileall.compile_dir(reference_tree / "sinelstm", quiet=2)

        def moved(index: int) -> bool | None:
            sha = commits[index]
            with worktree(repo, sha) as (tree, scratch):
                compileall.compile_dir(tree / "sinelstm", quiet=2)  # both sides' bytecode made alike
                found.runs += 1
                echo(f"{sha[:10]}: A/B of {len(cells)} cells of {config} against {commits[0][:10]}")
                run = run_rounds(
                    reference, Side(SIDES[1], tree, sha[:10]), grid.name, cells, PROBE_ROUNDS,
                    streams=None, threads=1, env={}, logs=scratch / "logs", rules=speed,
                    reproduction=gate.reproduction, echo=echo, deciding=(judged,),
                )  # fmt: skip
            missing = unpaired(run.pairs)
            if missing:
                echo(f"{sha[:10]}: cannot run: {missing[0]}")
                return None
            base = [timing(pair, SIDES[0], judged) for pair in run.pairs]
            head = [timing(pair, SIDES[1], judged) for pair in run.pairs]
            verdict = judge_pairs(config, judged, base, head, speed)
            interval = f"[{verdict.low:.3f}, {verdict.high:.3f}]"
            detail = f"{judged} head/base {verdict.ratio:.3f} {interval}, {verdict.pairs} pairs"
            if verdict.verdict == "underpowered":
                echo(f"{sha[:10]}: undecided ({detail}): passed over")
                return None
            outside = math.log(verdict.low) > limit or math.log(verdict.high) < -limit
            details[index] = detail
            # An interval that straddles the threshold but could have seen +25% counts as not
            # moved, as the A/B passes it: the bisection then says so ("inconclusive").
            said = "moved" if outside else "same"
            said = "inconclusive, not moved" if verdict.verdict == "inconclusive" else said
            echo(f"{sha[:10]}: {said} ({detail})")
            return outside

        result = bisect(len(commits), moved)
    if result.found is not None:
        found.first = commits[result.found]
        found.detail = f"A/B against {commits[0][:10]}: {details[result.found]}"
    return found
