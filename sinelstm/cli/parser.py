"""The command line's grammar: every command, its description and its flags."""

from __future__ import annotations

from sinelstm import workflow
from sinelstm.cli import commands as handlers
from sinelstm.cli.flags import (
    LINK_BASE_HELP,
    TIER_OPTION,
    Parser,
    add_backend_flag,
    add_command,
    add_config_flags,
)
from sinelstm.cli.history_parser import add_history_commands
from sinelstm.experiment.config import PRESETS
from sinelstm.workflow import ab_job


def build_parser() -> Parser:
    from sinelstm import __version__

    parser = Parser(
        prog="sinelstm",
        description="The Qiita sine-wave LSTM experiment as a measured, regression-tested benchmark. "
        "Exit status: 0 passed, 1 the gate failed, 2 bad input or an unreadable file, 3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"sinelstm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")

    run = add_command(
        commands,
        "run",
        "train, forecast and measure one config",
        "Train one config, forecast by feeding predictions back, and write its row, the "
        "forecast and two figures to --out.",
        handlers.cmd_run,
    )
    run.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset")
    add_config_flags(run)
    add_backend_flag(run)
    run.add_argument("-o", "--out", default="runs/latest", help="output folder (runs/latest)")

    bench = add_command(
        commands,
        "bench",
        "run a grid of cells, then gate it against its baseline",
        "Run every cell of a grid (seeded train/forecast jobs), append each row to the results "
        "CSV as it finishes, gate the run against its committed baseline, and write the gate "
        "table, a PR-sized summary and the report beside it.",
        handlers.cmd_bench,
    )
    workflow.add_grid_options(bench.add_argument)
    bench.add_argument("-o", "--out", help="results CSV (results/latest.csv, or latest-GRID.csv)")
    bench.add_argument("--resume", action="store_true", help="skip the cells already in --out")
    bench.add_argument(
        "--executor",
        default="processes",
        choices=("local", "processes", "ray"),
        help="where cells run: processes (default; one worker per core, one thread each), "
        "local (in this process, all cores on one cell) or ray (one Ray task per cell)",
    )
    bench.add_argument(
        "--ray-address",
        help="with --executor ray: HOST:PORT (or auto) of an existing Ray "
        "cluster; without it a local Ray instance is started for the run",
    )
    bench.add_argument(
        "--cell-timeout",
        type=float,
        help="seconds a cell may run before its worker is killed and the cell recorded as failed "
        "(processes and ray; default: ten times its estimated cost, at least 300)",
    )
    bench.add_argument("--baseline", help="baseline CSV (results/baseline.csv, or baseline-GRID.csv)")
    bench.add_argument("--no-gate", action="store_true", help="run the grid, skip the gate")
    bench.add_argument(
        "--no-timing-gate",
        action="store_true",
        help="judge the results only, not the timings against the baseline's (CI's paths grid: its "
        "cells are too small for timings from another moment; sinelstm ab judges speed)",
    )
    bench.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    bench.add_argument("--tier", **TIER_OPTION)
    bench.add_argument("--link-base", help=LINK_BASE_HELP)
    add_backend_flag(bench)

    comp = add_command(
        commands,
        "compare",
        "gate a results CSV against a baseline",
        "Judge a run against its baseline; write the gate table (RUN.gate.md) and the "
        "PR-sized summary (RUN.summary.md) beside the run.",
        handlers.cmd_compare,
    )
    comp.add_argument("run", help="results CSV of the run")
    comp.add_argument(
        "--baseline", help="baseline CSV (the run's own: latest-quick.csv -> baseline-quick.csv)"
    )
    comp.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    comp.add_argument("--tier", **TIER_OPTION)
    comp.add_argument("--link-base", help=LINK_BASE_HELP)

    rep = add_command(
        commands,
        "report",
        "write the markdown report of a results CSV",
        "Write the markdown report of a results CSV and its figures; with --baseline it carries "
        "the gate's verdict.",
        handlers.cmd_report,
    )
    rep.add_argument("results", help="results CSV")
    rep.add_argument("--baseline", help="baseline CSV to judge against (none: not judged)")
    rep.add_argument("-o", "--out", help="report path (results/REPORT.md for latest.csv)")
    rep.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    rep.add_argument(
        "--answer-into",
        metavar="FILE",
        help="also write the science answer, computed from the results, into FILE between its "
        "<!-- science-answer:begin --> and <!-- science-answer:end --> markers (e.g. README.md)",
    )

    index = add_command(
        commands,
        "index",
        "write the index of the committed results files into results/README.md",
        "Write, between results/README.md's results-index markers, each file git tracks in the "
        "folder (a subfolder as one row): its size, row count, grid and the commits its rows "
        "name, and the folder's total. Run it after adding or changing a results file.",
        handlers.cmd_index,
    )
    index.add_argument("folder", nargs="?", default="results", help="results folder (results)")
    index.add_argument("--check", action="store_true", help="write nothing; exit 1 where the index is stale")

    base = commands.add_parser(
        "baseline",
        help="manage the pinned baseline",
        description="Manage a grid's pinned baseline (results/baseline*.csv).",
    )
    base_commands = base.add_subparsers(dest="action", required=True, parser_class=Parser, metavar="ACTION")
    accept = add_command(
        base_commands,
        "accept",
        "replace the baseline (or chosen configs) with a run",
        "Replace the run's baseline, or the rows of the configs given with --config, by the "
        "run's rows; the reason is recorded beside it (BASELINE.reason).",
        handlers.cmd_baseline_accept,
    )
    accept.add_argument("run", help="results CSV to accept")
    accept.add_argument("--reason", required=True, help="why the baseline changes")
    accept.add_argument(
        "--config",
        action="append",
        help="replace only the rows of configs matching this pattern (repeatable), e.g. window50-*",
    )
    accept.add_argument(
        "--baseline", help="baseline CSV (the run's own: latest-quick.csv -> baseline-quick.csv)"
    )
    accept.add_argument(
        "--other-grid",
        action="store_true",
        help="replace the baseline with a run of another grid than the baseline's (refused otherwise)",
    )
    _add_ab_command(commands)
    add_history_commands(commands)
    return parser


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def environment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise ValueError(text)
    return name, value


def _add_ab_command(commands) -> None:
    ab = add_command(
        commands,
        "ab",
        "run a grid on two revisions in one job and judge head against base",
        "Run a grid's cells with the base's code and with the head's, taking turns on the same "
        "cores (each cell on both sides back to back, A B then B A), on this install's stack. "
        "Judge each config's timings (epoch, forecast step, compile and warm-up, cell wall) by "
        "the head/base ratio's interval, and list every metric the head changes. Exit status: "
        "0 passed, 1 a timing slower past the threshold or underpowered, or a cell a side could "
        "not run, 2 bad input.",
        handlers.cmd_ab,
    )
    ab.add_argument("base", nargs="?", default="HEAD^1", help="commit or folder of the base (HEAD^1)")
    ab.add_argument("head", nargs="?", help="commit or folder of the head (default: the working tree)")
    workflow.add_grid_options(ab.add_argument, default_grid="ab")
    ab.add_argument(
        "--repeats",
        type=positive_int,
        default=ab_job.DEFAULT_REPEATS,
        help=f"runs of each cell on each side ({ab_job.DEFAULT_REPEATS}): a config's pairs are its seeds "
        "x repeats",
    )
    ab.add_argument(
        "--max-repeats",
        type=positive_int,
        default=ab_job.DEFAULT_MAX_REPEATS,
        help="where a config's verdict is underpowered or inconclusive after a round, run its cells "
        f"another --repeats times, up to this many in all ({ab_job.DEFAULT_MAX_REPEATS})",
    )
    ab.add_argument(
        "--budget",
        type=float,
        default=ab_job.DEFAULT_BUDGET,
        help=f"seconds past which no further round starts ({ab_job.DEFAULT_BUDGET:g})",
    )
    ab.add_argument("--streams", type=positive_int, help="cells run at once, one per core (every core)")
    ab.add_argument(
        "--threads", type=positive_int, default=1, help="compute threads of each worker (1; more: unpinned)"
    )
    ab.add_argument(
        "--env",
        type=environment,
        action="append",
        metavar="NAME=VALUE",
        help="an environment variable of both sides' workers (repeatable), e.g. TF_ENABLE_ONEDNN_OPTS=0",
    )
    out = ab_job.DEFAULT_OUT
    ab.add_argument("-o", "--out", default=str(out), help=f"the pairs CSV ({out}); .md beside it")
    ab.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate.ab]")
    ab.add_argument(
        "--accept",
        metavar="REASON",
        help="accept every slower timing of this run, up to its interval's top plus 5%%, into "
        "results/speed-accepted.csv with REASON (commit it with the change that slows)",
    )
    ab.add_argument(
        "--skip-without-base",
        action="store_true",
        help="where BASE names no commit (a shallow clone, the first commit), say so and exit 0",
    )
    add_backend_flag(ab)
