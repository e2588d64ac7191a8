"""Commits and their own code: the range a history command walks, and one grid run at a
commit, in a temporary worktree that is always removed.

A commit runs its own code: `python -m sinelstm bench` with the worktree as working
directory and first on PYTHONPATH, so the old package is imported, not the installed
one. The cells are this checkout's grid unless told otherwise, passed as the axis flags
(--window 25,50 ...), so every commit runs the same cells; the commits before the axes
had their own names (--windows, --lengths, --seeds) accept them as argparse
abbreviations. A commit whose code cannot run them fails with its own one-line reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.git import GitError, git
from sinelstm.history.history_csv import HistoryError
from sinelstm.sweep.grid import AXES, BASE_FIELDS, GRIDS, Grid

# Seconds a commit's grid may run before it is stopped and recorded as skipped.
DEFAULT_TIMEOUT = 3600.0


def rev_list(repo: Path, rev_range: str) -> list[str]:
    """The range's commits, oldest first, along first parents (a merge is one step, as the
    main line saw it): `git rev-list --reverse --first-parent REV_RANGE`."""
    if not rev_range or rev_range.startswith("-"):
        raise HistoryError(f"REV_RANGE: got {rev_range!r}; expected a revision range such as main~5..main")
    shas = git(repo, "rev-list", "--reverse", "--first-parent", rev_range, "--").split()
    if not shas:
        raise HistoryError(f"REV_RANGE: {rev_range} holds no commits")
    return shas


def first_parent_order(repo: Path, tip: str = "HEAD") -> list[str]:
    """The tip's first-parent line, oldest first: the order series are drawn and split in
    (commit order, not time: a rebase or a late push does not reorder it)."""
    return git(repo, "rev-list", "--reverse", "--first-parent", tip, "--").split()


def subjects(repo: Path, shas: list[str]) -> dict[str, str]:
    """sha -> its subject line (shortened), for tables."""
    if not shas:
        return {}
    text = git(repo, "log", "--no-walk=unsorted", "--format=%H %s", *shas, "--")
    found = dict(line.split(" ", 1) if " " in line else (line, "") for line in text.splitlines())
    return {sha: found.get(sha, "")[:72] for sha in shas}


def baseline_commits(repo: Path, paths: str = "results/baseline*.csv") -> list[str]:
    """The commits that changed an accepted baseline (a `sinelstm baseline accept` committed)."""
    return git(repo, "log", "--format=%H", "--", paths).split()


def bench_flags(grid: Grid, own_grid: bool = False) -> list[str]:
    """The bench flags of a grid: its name, every axis it sets (unless the commit's own grid
    is wanted), so that each commit runs these cells, and --epochs, --trainer or
    --implementation where its base changes them."""
    named = grid.name.split("+")[0]
    flags = ["--grid", named]
    # A grid of several products (the science grid's controls) is not one set of axis flags:
    # every commit runs its own definition of it, with the axes a user replaced (a custom
    # one's) laid over every part there as here.
    custom = grid.name.endswith("+custom")
    if not own_grid and (not grid.parts or custom):
        source = GRIDS.get(named)
        for axis in AXES:
            values = grid.axes.get(axis.field)
            replaced = not grid.parts or source is None or source.axes.get(axis.field) != values
            if values is not None and replaced:
                flags += [axis.flag, ",".join(str(value) for value in values)]
    # Base fields where they differ from the named grid's own (the science grid's trainer is
    # its own definition, not a flag an older commit would have to know).
    own = GRIDS[named].base if named in GRIDS else ExperimentConfig()
    for name in BASE_FIELDS:
        if getattr(grid.base, name) != getattr(own, name):
            flags += ["--" + name, str(getattr(grid.base, name))]
    return flags


@dataclass
class CommitRun:
    """One grid run at a commit: its results CSV, or why there is none."""

    sha: str
    results: Path | None
    reason: str = ""


@contextlib.contextmanager
def worktree(repo: Path, sha: str):
    """A detached worktree of sha in a temporary folder, removed on the way out (also on
    Ctrl-C or an error), with a scratch folder beside it for the run's files."""
    scratch = Path(tempfile.mkdtemp(prefix="sinelstm-history-"))
    tree = scratch / "tree"
    try:
        git(repo, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        yield tree, scratch
    finally:
        try:
            git(repo, "worktree", "remove", "--force", str(tree))
        except GitError:
            shutil.rmtree(tree, ignore_errors=True)
            with contextlib.suppress(GitError):
                git(repo, "worktree", "prune")
        shutil.rmtree(scratch, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    """End the run's whole process group (its workers too): it was started in a session of
    its own, so the group is the run's and nothing else."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if process.stderr is not None:
        process.stderr.close()


def _reason(stderr: str, code: int) -> str:
    """The last line the run printed that says something (its own one-line error)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and "%|" not in line]
    return (lines[-1] if lines else f"exit status {code}")[:200]


def run_at(
    repo: Path, sha: str, flags: list[str], scratch_results: Path, timeout: float = DEFAULT_TIMEOUT
) -> CommitRun:
    """Run `sinelstm bench FLAGS --no-gate` with the code of sha; the results CSV is written
    to scratch_results (outside the worktree, which stays clean)."""
    with worktree(repo, sha) as (tree, _):
        env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-m", "sinelstm", "bench", *flags, "--no-gate"]
        command += ["--out", str(scratch_results)]
        process = subprocess.Popen(
            command,
            cwd=tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            return CommitRun(sha, None, f"the grid ran past {timeout:g} s and was stopped")
        except BaseException:
            _stop(process)
            raise
    if process.returncode != 0:
        return CommitRun(sha, None, _reason(stderr, process.returncode).replace(str(scratch_results), "OUT"))
    if not scratch_results.is_file():
        return CommitRun(sha, None, "the run wrote no results file")
    return CommitRun(sha, scratch_results)
