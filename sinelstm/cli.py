"""The sinelstm command line: parses arguments and dispatches to the library.

Exit codes: 0 passed, 1 the gate failed, 2 bad input or an unreadable file,
3 an internal error (--debug shows its traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from sinelstm import workflow
from sinelstm.experiment import kinds
from sinelstm.experiment.config import (
    ENGINES,
    PRESETS,
    TRAINERS,
    ConfigError,
    ExperimentConfig,
    field_help,
    preset,
)
from sinelstm.runtime import BACKENDS, BackendError, select_backend
from sinelstm.workflow import UsageError

EXIT_PASSED, EXIT_GATE_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no usage dump."""

    def error(self, message: str):
        raise UsageError(message)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every number field of the config, its help the field's own comment."""
    defaults, helps = ExperimentConfig(), field_help()
    for spec in dataclasses.fields(ExperimentConfig):
        if spec.type in ("int", "float"):
            default = getattr(defaults, spec.name)
            flag = "--" + spec.name.replace("_", "-")
            parser.add_argument(
                flag, type=type(default), help=f"{helps[spec.name]} (preset's, else {default})"
            )
    parser.add_argument(
        "--model",
        help=f"model kind: {', '.join(kinds.builtin_names())}, or package.module:function "
        "(a Keras model factory)",
    )
    parser.add_argument("--engine", choices=ENGINES, help="forecast engine (compiled)")
    parser.add_argument("--trainer", choices=TRAINERS, help="who drives training (loop)")
    parser.add_argument("--implementation", help=workflow.IMPLEMENTATION_HELP)


TIER_OPTION = dict(
    choices=("auto", "statistical"),
    default="auto",
    help="auto: the reproduction tier where the stack matches the baseline's, else statistical; "
    "statistical: every config statistically (auto)",
)


def _add_backend_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", help=f"Keras backend: {', '.join(BACKENDS)} (default: KERAS_BACKEND or tensorflow)"
    )


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The preset (or the defaults) with every flag given laid over it, validated."""
    from sinelstm.experiment.models import check_implementation
    from sinelstm.runtime import backend

    cfg = preset(args.preset) if args.preset else ExperimentConfig()
    changes = {
        name: getattr(args, name)
        for name in ExperimentConfig.__dataclass_fields__
        if getattr(args, name, None) is not None
    }
    if changes.get("implementation") is not None:
        check_implementation(changes["implementation"], backend())
    return cfg.replace(**changes).validate()


def cmd_run(args: argparse.Namespace) -> int:
    select_backend(args.backend)
    cfg = config_from_args(args)
    out = Path(args.out)
    workflow.check_writable(out)

    from sinelstm.experiment.run import run_experiment
    from sinelstm.report.tables import metrics_table
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS

    result = run_experiment(cfg)
    names = workflow.write_run(out, result)
    print(metrics_table({**result.metrics, **result.timings}, METRIC_COLUMNS + TIMING_COLUMNS))
    print(f"wrote {out}/{', '.join(names)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from sinelstm.runtime import backend
    from sinelstm.sweep.runner import resumable, run_grid
    from sinelstm.sweep.store import read_results

    select_backend(args.backend)
    grid = workflow.grid_from_options(args)
    latest, baseline = workflow.default_paths(grid.name, backend())
    out = Path(args.out) if args.out else latest
    baseline = None if args.no_gate else Path(args.baseline) if args.baseline else baseline
    # Everything that can be checked is checked before the grid runs: the gate's rules,
    # the baseline, the output, the executor.
    gate = None if args.no_gate else workflow.load_gate(args.gate_config)
    if baseline is not None:
        read_results(baseline)
    workflow.check_writable(out.parent, "--out")
    executor = workflow.make_executor(args.executor, args.ray_address, args.cell_timeout)
    cells = grid.cells()
    if args.resume:
        resumable(out, cells)  # refuses another experiment's file in one line, before the progress bar
    start = time.perf_counter()
    with tqdm(total=len(cells), desc=f"grid {grid.name}", unit="cell", file=sys.stderr) as bar:

        def on_row(row):
            bar.set_postfix_str(f"{row['status']} {row['cell']}")
            bar.update(1)

        run_grid(
            cells, out, resume=args.resume, executor=executor, speedup_cell=grid.speedup_cell(), on_row=on_row
        )
        bar.total = bar.n
    wall = time.perf_counter() - start
    print(f"{len(cells)} cells ({grid.name} grid) in {wall:.0f} s -> {out}")
    return workflow.gate_and_report(out, baseline, gate, tier=args.tier)


def cmd_report(args: argparse.Namespace) -> int:
    from sinelstm.sweep.store import locked

    baseline = Path(args.baseline) if args.baseline else None
    gate = workflow.load_gate(args.gate_config) if baseline is not None else None

    # The report carries the verdict; of the gate's own output only the report's path is printed.
    with locked(Path(args.results)):
        workflow.gate_and_report(
            Path(args.results), baseline, gate, echo=_report_line_only, report=args.o, write_gate=False
        )
    return 0


def _report_line_only(line: str) -> None:
    if line.startswith("report: "):
        print(line)


def cmd_compare(args: argparse.Namespace) -> int:
    from sinelstm.sweep.store import locked, read_results

    run, gate = Path(args.run), workflow.load_gate(args.gate_config)
    baseline = Path(args.baseline) if args.baseline else workflow.baseline_for(run)
    with locked(run):  # not read while a run still writes it (a baseline is only ever replaced whole)
        for path in (run, baseline):
            read_results(path)  # an unreadable file is bad input (2), not a failed gate
        result = workflow.judge(run, baseline, gate, tier=args.tier)
    return EXIT_PASSED if result.passed else EXIT_GATE_FAILED


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    from sinelstm.verdict.baseline import accept_baseline

    baseline = Path(args.baseline) if args.baseline else workflow.baseline_for(Path(args.run))
    count = accept_baseline(Path(args.run), baseline, args.reason, tuple(args.config or ()))
    print(f"{baseline}: accepted {count} rows from {args.run} ({args.reason.strip()})")
    return 0


def build_parser() -> Parser:
    from sinelstm import __version__

    parser = Parser(prog="sinelstm", description="The sine-wave LSTM experiment, measured.")
    parser.add_argument("--version", action="version", version=f"sinelstm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = commands.add_parser("run", help="train, forecast and measure one config")
    run.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset")
    _add_config_flags(run)
    _add_backend_flag(run)
    run.add_argument("--out", default="runs/latest", help="output directory (runs/latest)")
    run.set_defaults(handler=cmd_run)

    bench = commands.add_parser("bench", help="run a grid of cells, then gate it against its baseline")
    workflow.add_grid_options(bench.add_argument)
    bench.add_argument("--out", help="results CSV (results/latest.csv, or latest-GRID.csv)")
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
    bench.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    bench.add_argument("--tier", **TIER_OPTION)
    _add_backend_flag(bench)
    bench.set_defaults(handler=cmd_bench)

    comp = commands.add_parser("compare", help="gate a results CSV against a baseline")
    comp.add_argument("run", help="results CSV of the run")
    comp.add_argument(
        "--baseline", help="baseline CSV (the run's own: latest-quick.csv -> baseline-quick.csv)"
    )
    comp.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    comp.add_argument("--tier", **TIER_OPTION)
    comp.set_defaults(handler=cmd_compare)

    rep = commands.add_parser("report", help="write the markdown report of a results CSV")
    rep.add_argument("results", help="results CSV")
    rep.add_argument("--baseline", help="baseline CSV to judge against (none: not judged)")
    rep.add_argument("-o", help="report path (results/REPORT.md for latest.csv)")
    rep.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    rep.set_defaults(handler=cmd_report)

    base = commands.add_parser("baseline", help="manage the pinned baseline")
    base_commands = base.add_subparsers(dest="action", required=True, parser_class=Parser)
    accept = base_commands.add_parser("accept", help="replace the whole baseline with a run")
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
    accept.set_defaults(handler=cmd_baseline_accept)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sinelstm.sweep.store import ResultsError
    from sinelstm.verdict.rules import GateConfigError

    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except (UsageError, BackendError, ResultsError, GateConfigError, OSError) as error:
        print(f"sinelstm: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConfigError as error:
        print(f"sinelstm: error: {error.flag}: got {error.got!r}; {error.accepts}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("sinelstm: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: no tracebacks unless --debug.
        if debug:
            raise
        print(
            f"sinelstm: internal error: {type(error).__name__}: {error} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
