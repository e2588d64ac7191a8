"""A grid run at each commit of a range, appended to the history (asv run over commits).

A commit whose code cannot run the grid (an unknown flag, no such grid, a results schema
this sinelstm refuses) is recorded as skipped with its one-line reason and the walk goes
on; --resume then passes over it as over a commit already measured.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sinelstm.history.commits import DEFAULT_TIMEOUT, bench_flags, rev_list, run_at
from sinelstm.history.history_csv import (
    REQUIRED_RESULTS,
    SKIPPED,
    append_run,
    append_skip,
    grid_label,
    read_history,
)
from sinelstm.sweep.grid import Grid, config_id
from sinelstm.sweep.store import ResultsError, read_results


@dataclass
class Walk:
    """What a history run did, commit by commit."""

    measured: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # sha -> reason
    already: list[str] = field(default_factory=list)  # passed over by --resume


def expected_cells(grid: Grid) -> set[tuple[str, int]]:
    """(config, seed) of every cell of the grid: what a complete run of a commit holds."""
    return {(config_id(cell), cell.seed) for cell in grid.cells()}


def done_commits(history, label: str, wanted: set[tuple[str, int]] | None) -> set[str]:
    """Commits the history already holds for this grid: skipped, or with every wanted cell
    (any cell at all where the wanted cells are the commit's own)."""
    rows = history[(history["grid"] == label) & ~history["dirty"]]
    done = set(rows.loc[rows["status"] == SKIPPED, "commit"])
    measured = rows[rows["status"] != SKIPPED]
    for commit, group in measured.groupby("commit"):
        held = {(config, int(seed)) for config, seed in zip(group["config"], group["seed"], strict=True)}
        if wanted is None or wanted <= held:
            done.add(commit)
    return done


def measure(
    repo: Path,
    sha: str,
    flags: list[str],
    history: Path,
    label: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[int, str]:
    """Run the grid at sha and append it to the history: (rows appended, "") or (0, reason),
    the reason recorded in the history as the commit's skip."""
    with tempfile.TemporaryDirectory(prefix="sinelstm-history-out-") as scratch:
        run = run_at(repo, sha, flags, Path(scratch) / "results.csv", timeout)
        if run.results is not None:
            try:
                read_results(run.results, required=REQUIRED_RESULTS)  # a schema this code cannot read
            except ResultsError as error:
                run.reason = str(error).replace(str(run.results), "its results")
            else:  # an append that fails (a lock held too long, a full disk) is no skip: it is raised
                return append_run(run.results, history, label, commit=sha, dirty=False), ""
    append_skip(history, sha, label, run.reason)
    return 0, run.reason


def run_history(
    repo: Path,
    rev_range: str,
    grid: Grid,
    history: Path,
    *,
    resume: bool = False,
    own_grid: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    echo: Callable[[str], None] = print,
) -> Walk:
    """Run the grid at every commit of rev_range (oldest first) and append each to history."""
    shas = rev_list(repo, rev_range)
    label = grid_label(grid)
    flags = bench_flags(grid, own_grid)
    wanted = None if own_grid else expected_cells(grid)
    done = done_commits(read_history(history), label, wanted) if resume else set()
    walk = Walk()
    for number, sha in enumerate(shas, 1):
        where = f"[{number}/{len(shas)}] {sha[:10]}"
        if sha in done:
            walk.already.append(sha)
            echo(f"{where}: already in {history}")
            continue
        rows, reason = measure(repo, sha, flags, history, label, timeout)
        if reason:
            walk.skipped[sha] = reason
            echo(f"{where}: skipped: {reason}")
        else:
            walk.measured.append(sha)
            echo(f"{where}: {rows} cells -> {history}")
    return walk
