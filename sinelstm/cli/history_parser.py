"""`sinelstm history run|report|find`: the arguments, parsed and handed to sinelstm.history.

Each handler takes the argparse namespace and returns the exit status (0 done or found,
1 find: the last commit did not move, 2 bad input); an error it expects is a
HistoryError of one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sinelstm import workflow
from sinelstm.cli.options import add_command
from sinelstm.history.commits import DEFAULT_TIMEOUT, repo_root
from sinelstm.history.find_speed import SPEED_METRICS
from sinelstm.history.store import HISTORY_METRICS, HistoryError
from sinelstm.sweep.grid import AXES

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


def cmd_history_run(args: argparse.Namespace) -> int:
    from sinelstm.history.run import run_history

    own = args.grid_from == "commit"
    if own and any(getattr(args, axis.field) is not None for axis in AXES):
        raise HistoryError("--grid-from commit runs each commit's own grid: axis flags do not apply")
    repo = repo_root()
    walk = run_history(
        repo,
        args.rev_range,
        workflow.grid_from_options(args),
        Path(args.history),
        resume=args.resume,
        own_grid=own,
        timeout=args.timeout,
    )
    print(
        f"history: {len(walk.measured)} commits measured, {len(walk.skipped)} skipped "
        f"(could not run the grid), {len(walk.already)} already there -> {args.history}"
    )
    return 0


def cmd_history_report(args: argparse.Namespace) -> int:
    from sinelstm.history.report import build_history_report

    repo = repo_root()
    out = Path(args.out)
    if not Path(args.history).is_file():
        raise HistoryError(f"--history: {args.history} does not exist; nothing written")
    _, changes = build_history_report(repo, Path(args.history), out, workflow.load_gate(args.gate_config))
    print(f"history report: {out} ({len(changes)} change points)")
    return 0


def cmd_history_find(args: argparse.Namespace) -> int:
    from sinelstm.history.find import find_commit, max_runs
    from sinelstm.history.find_speed import SPEED_METRICS, find_speed_commit

    repo = repo_root()
    grid, gate = workflow.grid_from_options(args), workflow.load_gate(args.gate_config)
    if args.metric in SPEED_METRICS:
        from sinelstm.workflow.ab import speed_rules

        speed = speed_rules(workflow.find_gate_config(args.gate_config))
        found = find_speed_commit(repo, args.rev_range, args.metric, args.config, grid, gate, speed)
        what = "A/B runs"
    else:
        history = Path(args.history)
        found = find_commit(repo, args.rev_range, args.metric, args.config, grid, history, gate, args.timeout)
        what = f"grid runs ({found.cached} commits read from {args.history})"
    cost = f"{found.runs} {what} over {len(found.commits)} commits, at most {max_runs(len(found.commits))}"
    if found.first is None:
        print(
            f"not moved: {args.metric} of {args.config} at {found.commits[-1][:10]} "
            f"is as at {found.commits[0][:10]}; {cost}"
        )
        return 1
    print(f"first moved: {found.first} ({args.metric} of {args.config}, {found.detail}); {cost}")
    return 0


def add_history_commands(subparsers) -> None:
    """Add `history run|report|find` to the sinelstm CLI's commands."""
    from sinelstm.cli.options import Parser

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
        cmd_history_run,
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
        cmd_history_report,
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
        cmd_history_find,
    )
    find.add_argument("rev_range", metavar="REV_RANGE", help="commits, e.g. good~1..bad")
    find.add_argument(
        "--metric",
        required=True,
        choices=HISTORY_METRICS + tuple(name for name in SPEED_METRICS if name not in HISTORY_METRICS),
        help="the metric that moved; a timing (" + ", ".join(SPEED_METRICS) + ") is judged by an A/B "
        "of each probed commit against the first, measured now",
    )
    find.add_argument("--config", required=True, help="the config, e.g. window25-length201-hidden64")
    _add_grid_flags(find)
    find.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
