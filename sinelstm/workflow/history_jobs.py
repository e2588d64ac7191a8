"""The history's jobs: run a grid at each commit of a range, draw each gated metric over
commits, and bisect a range to the commit that moved a metric."""

from __future__ import annotations

from pathlib import Path

from sinelstm.git import repo_root
from sinelstm.history.commits import DEFAULT_TIMEOUT
from sinelstm.history.find_speed import SPEED_METRICS
from sinelstm.history.history_csv import HISTORY_METRICS, HistoryError
from sinelstm.sweep.grid import Grid
from sinelstm.workflow.gating import PRINTED, Output
from sinelstm.workflow.options import load_gate

# Every metric `history find` can bisect: the history's, then the A/B's timings.
FIND_METRICS = HISTORY_METRICS + tuple(name for name in SPEED_METRICS if name not in HISTORY_METRICS)
__all__ = ["DEFAULT_TIMEOUT", "FIND_METRICS", "SPEED_METRICS", "find", "history_report", "run"]


def run(
    rev_range: str,
    grid: Grid,
    history: Path,
    resume: bool = False,
    own_grid: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    output: Output = PRINTED,
):
    """Run the grid at each commit of rev_range and append it to the history; the Walk."""
    from sinelstm.history.walk import run_history

    walk = run_history(
        repo_root(), rev_range, grid, history, resume=resume, own_grid=own_grid, timeout=timeout
    )
    output.echo(
        f"history: {len(walk.measured)} commits measured, {len(walk.skipped)} skipped "
        f"(could not run the grid), {len(walk.already)} already there -> {history}"
    )
    return walk


def history_report(
    history: Path, out: Path, gate_config: str | None = None, output: Output = PRINTED
) -> list:
    """The history page with each gated metric's trends and change points; the change points."""
    from sinelstm.history.report import build_history_report

    if not history.is_file():
        raise HistoryError(f"--history: {history} does not exist; nothing written")
    _, changes = build_history_report(repo_root(), history, out, load_gate(gate_config))
    output.echo(f"history report: {out} ({len(changes)} change points)")
    return changes


def find(
    rev_range: str,
    metric: str,
    config: str,
    grid: Grid,
    history: Path,
    gate_config: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    output: Output = PRINTED,
):
    """Bisect rev_range to the first commit at which metric of config moved by the gate's
    rules (a timing by A/B runs); the Found (its `first` None where the last did not move)."""
    from sinelstm.history.find import find_commit, max_runs
    from sinelstm.history.find_speed import find_speed_commit

    repo, gate = repo_root(), load_gate(gate_config)
    if metric in SPEED_METRICS:
        found = find_speed_commit(repo, rev_range, metric, config, grid, gate, gate.speed)
        what = "A/B runs"
    else:
        found = find_commit(repo, rev_range, metric, config, grid, history, gate, timeout)
        what = f"grid runs ({found.cached} commits read from {history})"
    cost = f"{found.runs} {what} over {len(found.commits)} commits, at most {max_runs(len(found.commits))}"
    if found.first is None:
        last, first = found.commits[-1][:10], found.commits[0][:10]
        output.echo(f"not moved: {metric} of {config} at {last} is as at {first}; {cost}")
    else:
        output.echo(f"first moved: {found.first} ({metric} of {config}, {found.detail}); {cost}")
    return found
