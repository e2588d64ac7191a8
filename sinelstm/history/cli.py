"""`sinelstm history run|report|find`: the arguments, parsed and handed to the library.

Each handler takes the argparse namespace and returns the exit status (0 done or found,
1 find: the last commit did not move, 2 bad input); an error it expects is a
HistoryError of one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.history.commits import DEFAULT_TIMEOUT, repo_root
from sinelstm.history.store import HISTORY_METRICS, HistoryError
from sinelstm.sweep.grid import AXES, GRIDS, Grid, make_grid

DEFAULT_HISTORY = "results/history.csv"
DEFAULT_PAGE = "results/HISTORY.md"


def _add_grid_flags(parser: argparse.ArgumentParser, default: str = "quick") -> None:
    """The grid to run at each commit: a named grid, any axis replaced (one flag per axis,
    from the axes' one declaration), and the epochs of every cell."""
    parser.add_argument("--grid", default=default, choices=sorted(GRIDS), help=f"named grid ({default})")
    for axis in AXES:
        parser.add_argument(axis.flag, dest=axis.field, help=f"{axis.field} axis, e.g. {axis.example}")
    parser.add_argument("--epochs", type=int, help="maximum epochs of every cell (100)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds a commit's grid may run before it is stopped and skipped ({DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--history", default=DEFAULT_HISTORY, help=f"history CSV ({DEFAULT_HISTORY})")


def _grid(args: argparse.Namespace) -> Grid:
    base = ExperimentConfig(epochs=args.epochs).validate() if args.epochs is not None else None
    return make_grid(args.grid, base=base, **{axis.field: getattr(args, axis.field) for axis in AXES})


def _gate(args: argparse.Namespace, repo: Path):
    """--gate-config, else the repository's pyproject.toml where it has the gate's rules, else
    the package's own."""
    from sinelstm.verdict.rules import load_gate_config

    if args.gate_config:
        return load_gate_config(Path(args.gate_config))
    candidate = repo / "pyproject.toml"
    if not (candidate.is_file() and "[tool.sinelstm.gate" in candidate.read_text()):
        candidate = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return load_gate_config(candidate)


def cmd_history_run(args: argparse.Namespace) -> int:
    from sinelstm.history.run import run_history

    own = args.grid_from == "commit"
    if own and any(getattr(args, axis.field) is not None for axis in AXES):
        raise HistoryError("--grid-from commit runs each commit's own grid: axis flags do not apply")
    repo = repo_root()
    walk = run_history(
        repo,
        args.rev_range,
        _grid(args),
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
    out = Path(args.o)
    _, changes = build_history_report(repo, Path(args.history), out, _gate(args, repo))
    print(f"history report: {out} ({len(changes)} change points)")
    return 0


def cmd_history_find(args: argparse.Namespace) -> int:
    from sinelstm.history.find import find_commit, max_runs

    repo = repo_root()
    found = find_commit(
        repo,
        args.rev_range,
        args.metric,
        args.config,
        _grid(args),
        Path(args.history),
        _gate(args, repo),
        args.timeout,
    )
    cost = (
        f"{found.runs} grid runs ({found.cached} commits read from {args.history}) over "
        f"{len(found.commits)} commits, at most {max_runs(len(found.commits))}"
    )
    if found.first is None:
        print(
            f"not moved: {args.metric} of {args.config} at {found.commits[-1][:10]} "
            f"is as at {found.commits[0][:10]}; {cost}"
        )
        return 1
    print(f"first moved: {found.first} ({args.metric} of {args.config}, {found.detail}); {cost}")
    return 0


def add_history_commands(subparsers, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add `history run|report|find` to a subparsers object (the sinelstm CLI's)."""
    history = subparsers.add_parser(
        "history",
        help="runs kept per commit: run a grid over commits, draw the trends, find the commit that moved",
        description="Every run kept by commit: run a grid at each commit of a range, draw each gated "
        "metric over commits with its change points, and bisect to the commit that moved a metric.",
    )
    commands = history.add_subparsers(dest="history_command", required=True, parser_class=parser_class)

    run = commands.add_parser(
        "run",
        help="run a grid at each commit of a range and append it to the history",
        description="For each commit of `git rev-list --reverse --first-parent REV_RANGE`: check it out "
        "in a temporary worktree, run the grid with that commit's own code, append its cells to the "
        "history. A commit whose code cannot run the grid is recorded as skipped with its reason.",
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
    run.set_defaults(handler=cmd_history_run)

    report = commands.add_parser(
        "report",
        help="draw each gated metric over commits and list its change points",
        description="Per gated metric, each config's series over commits (median over seeds, the seeds' "
        "band, accepted baselines marked) and the change points ruptures finds, as a markdown page.",
    )
    report.add_argument("--history", default=DEFAULT_HISTORY, help=f"history CSV ({DEFAULT_HISTORY})")
    report.add_argument("-o", default=DEFAULT_PAGE, help=f"page to write ({DEFAULT_PAGE}); figures beside it")
    report.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate] (the repository's)")
    report.set_defaults(handler=cmd_history_report)

    find = commands.add_parser(
        "find",
        help="bisect a range to the first commit at which a metric moved",
        description="Bisect REV_RANGE (its first commit the reference) to the first commit at which METRIC "
        "of CONFIG moved by the gate's rules, running only that config's cells where the history lacks "
        "them. Exit 0: found; 1: the last commit did not move; 2: bad input.",
    )
    find.add_argument("rev_range", metavar="REV_RANGE", help="commits, e.g. good~1..bad")
    find.add_argument("--metric", required=True, choices=HISTORY_METRICS, help="the metric that moved")
    find.add_argument("--config", required=True, help="the config, e.g. window25-length201-hidden64")
    _add_grid_flags(find)
    find.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate] (the repository's)")
    find.set_defaults(handler=cmd_history_find)
