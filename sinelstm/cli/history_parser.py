"""The grammar of `sinelstm history run|report|find`; the jobs are sinelstm.workflow.history_jobs'."""

from __future__ import annotations

import argparse

from sinelstm import workflow
from sinelstm.cli import commands as handlers
from sinelstm.cli.flags import Parser, add_command
from sinelstm.workflow.history_jobs import DEFAULT_TIMEOUT, FIND_METRICS, SPEED_METRICS

DEFAULT_HISTORY = "results/history.csv"
DEFAULT_PAGE = "results/HISTORY.md"


def positive_seconds(text: str) -> float:
    """A time limit: seconds > 0 (argparse turns the ValueError into a one-line error)."""
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


def _add_grid_flags(parser: argparse.ArgumentParser) -> None:
    """The grid to run at each commit (the bench's grid options, the quick grid by default),
    its time limit, and the history file."""
    workflow.add_grid_options(parser.add_argument, default_grid="quick")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds a commit's grid may run before it is stopped and skipped ({DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--history", default=DEFAULT_HISTORY, help=f"history CSV ({DEFAULT_HISTORY})")


def add_history_commands(subparsers) -> None:
    """Add `history run|report|find` to the sinelstm CLI's commands."""
    history = subparsers.add_parser(
        "history",
        help="runs kept per commit: run a grid over commits, draw the trends, find the commit that moved",
        description="Every run kept by commit: run a grid at each commit of a range, draw each gated "
        "metric over commits with its change points, and bisect to the commit that moved a metric.",
    )
    commands = history.add_subparsers(
        dest="history_command", required=True, parser_class=Parser, metavar="ACTION"
    )

    run = add_command(
        commands,
        "run",
        "run a grid at each commit of a range and append it to the history",
        "For each commit of `git rev-list --reverse --first-parent REV_RANGE`: check it out "
        "in a temporary worktree, run the grid with that commit's own code, append its cells to the "
        "history. A commit whose code cannot run the grid is recorded as skipped with its reason.",
        handlers.cmd_history_run,
    )
    run.add_argument("rev_range", metavar="REV_RANGE", help="commits, e.g. main~20..main")
    _add_grid_flags(run)
    run.add_argument("--resume", action="store_true", help="pass over commits the history already holds")
    run.add_argument(
        "--grid-from",
        choices=("here", "commit"),
        default="here",
        help="here: this checkout's grid, as axis flags, so every commit runs the same cells (default); "
        "commit: each commit's own definition of the named grid",
    )

    report = add_command(
        commands,
        "report",
        "draw each gated metric over commits and list its change points",
        "Per gated metric, each config's series over commits (median over seeds, the seeds' "
        "band, accepted baselines marked) and the change points ruptures finds, as a markdown page.",
        handlers.cmd_history_report,
    )
    report.add_argument("--history", default=DEFAULT_HISTORY, help=f"history CSV ({DEFAULT_HISTORY})")
    report.add_argument(
        "-o", "--out", default=DEFAULT_PAGE, help=f"page to write ({DEFAULT_PAGE}); figures beside it"
    )
    report.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")

    find = add_command(
        commands,
        "find",
        "bisect a range to the first commit at which a metric moved",
        "Bisect REV_RANGE (its first commit the reference) to the first commit at which METRIC "
        "of CONFIG moved by the gate's rules, running only that config's cells where the history lacks "
        "them. Exit 0: found; 1: the last commit did not move; 2: bad input.",
        handlers.cmd_history_find,
    )
    find.add_argument("rev_range", metavar="REV_RANGE", help="commits, e.g. good~1..bad")
    find.add_argument(
        "--metric",
        required=True,
        choices=FIND_METRICS,
        help="the metric that moved; a timing (" + ", ".join(SPEED_METRICS) + ") is judged by an A/B "
        "of each probed commit against the first, measured now",
    )
    find.add_argument("--config", required=True, help="the config, e.g. window25-length201-hidden64")
    _add_grid_flags(find)
    find.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
