"""The sinelstm command line: parses arguments and calls the library."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from sinelstm.config import (
    ENGINES,
    IMPLEMENTATIONS,
    MODELS,
    PRESETS,
    TRAINERS,
    ConfigError,
    ExperimentConfig,
    config_of,
    preset,
)

BACKENDS = ("tensorflow", "jax")


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no usage dump."""

    def error(self, message: str):
        raise UsageError(message)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    defaults = ExperimentConfig()
    flags = [
        ("--period", float, "samples per sine period"),
        ("--length", int, "observed samples"),
        ("--noise", float, "half-width of the uniform noise"),
        ("--window", int, "window length (steps in, one step out)"),
        ("--hidden", int, "recurrent units"),
        ("--epochs", int, "maximum epochs"),
        ("--batch-size", int, "minibatch size"),
        ("--patience", int, "early-stopping patience on val_loss"),
        ("--learning-rate", float, "Adam learning rate"),
        ("--validation-split", float, "last fraction of windows held out for validation"),
        ("--horizon", int, "forecast steps"),
        ("--seed", int, "seed of noise, weights and shuffling"),
        ("--train-rollout", int, "the remedy: train on k-step rollouts of the model's own predictions"),
    ]
    for flag, kind, text in flags:
        default = getattr(defaults, flag[2:].replace("-", "_"))
        parser.add_argument(flag, type=kind, help=f"{text} (preset's, else {default})")
    parser.add_argument("--model", help=f"model kind: {', '.join(MODELS)}")
    parser.add_argument("--engine", help=f"forecast engine: {', '.join(ENGINES)} (compiled)")
    parser.add_argument("--trainer", help=f"who drives training: {', '.join(TRAINERS)} (loop)")
    parser.add_argument("--implementation", help=IMPLEMENTATION_HELP)


IMPLEMENTATION_HELP = (
    f"the LSTM's training pass: {', '.join(IMPLEMENTATIONS)} (keras; fused: tensorflow only)"
)


def backend_implementation(given: str | None) -> str | None:
    """--implementation as given, refused (ConfigError) where the backend cannot run it;
    the backend is read from KERAS_BACKEND, so call select_backend first."""
    if given is not None:
        from sinelstm.models import check_implementation

        check_implementation(given, os.environ.get("KERAS_BACKEND", "tensorflow"))
    return given


def _add_backend_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        help=f"Keras backend: {', '.join(BACKENDS)} (default: KERAS_BACKEND or tensorflow)",
    )


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The preset (or the defaults) with every flag given laid over it, validated."""
    cfg = preset(args.preset) if args.preset else ExperimentConfig()
    changes = {
        name: getattr(args, name)
        for name in ExperimentConfig.__dataclass_fields__
        if getattr(args, name, None) is not None
    }
    implementation = backend_implementation(getattr(args, "implementation", None))
    if implementation is not None:
        changes["implementation"] = implementation
    return cfg.replace(**changes).validate()


def select_backend(name: str | None) -> str:
    """Set KERAS_BACKEND before Keras is first imported; refuse what is not installed."""
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name not in BACKENDS:
        raise UsageError(f"--backend: got {name!r}; expected one of {', '.join(BACKENDS)}")
    import importlib.util

    if importlib.util.find_spec(name) is None:
        extra = "" if name == "tensorflow" else "[jax]"
        raise UsageError(
            f"--backend: {name} is not installed; install it with pip install -e '.{extra}'"
            if extra
            else "--backend: tensorflow is not installed; pip install -e ."
        )
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != name:
        raise UsageError(f"--backend: Keras is already loaded with another backend than {name}")
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if name == "jax":
        # Every new Keras model compiles its train step anew (2-5 s); with JAX's persistent
        # cache the cells of one config after the first, in any worker, load it instead.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sinelstm" / "jax"
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    return name


def prepare_out_dir(out: Path) -> bool:
    """Make sure out is a writable directory; return whether it was created here."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise UsageError(f"--out: cannot write to {str(out)!r}: {error.strerror or error}") from None
    return created


def cmd_run(args: argparse.Namespace) -> int:
    select_backend(args.backend)
    cfg = config_from_args(args)
    out = Path(args.out)
    created = prepare_out_dir(out)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        from sinelstm.experiment import forecast_x, run_experiment
        from sinelstm.plots import fit_figure, forecast_figure
        from sinelstm.results import ResultsLock, append_rows
        from sinelstm.tables import metrics_table

        result = run_experiment(cfg, run_id=f"run-{cfg.seed}")
        append_rows(staging / "run.csv", [result.row])
        _write_forecast_csv(staging / "forecast.csv", forecast_x(cfg), result.truth, result.forecast)
        fit_figure(cfg, result.series, result.fit_predictions, staging / "fit.png")
        forecast_figure(
            cfg,
            result.series,
            result.fit_predictions,
            result.forecast,
            result.truth,
            staging / "forecast.png",
        )
        with ResultsLock(out / "run.csv"):
            for name in ("run.csv", "forecast.csv", "fit.png", "forecast.png"):
                os.replace(staging / name, out / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    print(metrics_table(result.row))
    print(f"wrote {out}/run.csv, forecast.csv, fit.png, forecast.png")
    return 0


def _write_forecast_csv(path: Path, x, truth, forecast) -> None:
    import pandas as pd

    pd.DataFrame({"x": x, "truth": truth, "forecast": forecast}).to_csv(path, index=False)


def default_paths(grid: str) -> tuple[Path, Path]:
    """(latest run CSV, committed baseline CSV) of a named grid."""
    suffix = "" if grid == "default" else f"-{grid.split('+')[0]}"
    return Path(f"results/latest{suffix}.csv"), Path(f"results/baseline{suffix}.csv")


def report_path_for(results: Path) -> Path:
    """results/latest.csv -> results/REPORT.md; latest-quick.csv -> REPORT-quick.md."""
    stem = Path(results).stem
    suffix = stem[len("latest") :] if stem.startswith("latest") else f"-{stem}"
    return Path(results).with_name(f"REPORT{suffix}.md")


def find_gate_config(given: str | None) -> Path:
    """--gate-config, else the nearest pyproject.toml upwards, else the package's own."""
    if given:
        return Path(given)
    for folder in [Path.cwd(), *Path.cwd().parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.sinelstm.gate" in candidate.read_text():
            return candidate
    return Path(__file__).resolve().parent.parent / "pyproject.toml"


def gate_run(
    current: Path, baseline: Path, gate_config: str | None, only: set[str] | None = None, echo=print
) -> int:
    """Compare, print and write the gate table next to the run; 0 passed, 1 failed."""
    from sinelstm.gate import compare, gate_markdown, load_gate_config

    result = compare(current, baseline, load_gate_config(find_gate_config(gate_config)), only)
    markdown = gate_markdown(result, current, baseline)
    gate_path = current.with_suffix(".gate.md")
    gate_path.write_text(markdown)
    echo(markdown)
    for warning in result.warnings:
        echo(f"sinelstm: warning: {warning}")
    for failure in result.failures:
        echo(f"sinelstm: gate failed: {failure}")
    verdict = "passed" if result.passed else f"FAILED ({len(result.failures)} failures)"
    echo(f"gate {verdict}; table in {gate_path}")
    return 0 if result.passed else 1


def write_report(results: Path, baseline: Path | None, gate_config: str | None, out: Path | None = None):
    """The markdown report of a results CSV; returns its path."""
    from sinelstm.gate import load_gate_config
    from sinelstm.report import build_report

    out = Path(out) if out else report_path_for(results)
    gate = load_gate_config(find_gate_config(gate_config)) if baseline is not None else None
    build_report(results, out, baseline, gate)
    return out


GRID_OPTIONS = (
    "grid",
    "models",
    "windows",
    "lengths",
    "hidden",
    "rollouts",
    "seeds",
    "epochs",
    "trainer",
    "implementation",
)


def add_grid_options(add) -> None:
    """The grid's options, for argparse's add_argument or pytest's addoption alike."""
    from sinelstm.grid import GRIDS

    add("--grid", default="default", help=f"named grid: {', '.join(GRIDS)} (default)")
    add("--models", help=f"model axis: 'all' or some of {','.join(MODELS)}")
    add("--windows", help="window axis, e.g. 25,50")
    add("--lengths", help="data length axis, e.g. 201,601")
    add("--hidden", help="hidden size axis, e.g. 16,64,300")
    add("--rollouts", help="remedy axis: train_rollout values, e.g. 1,8 (1 = the article's training)")
    add("--seeds", help="seed axis, e.g. 0-4 or 0,1,2")
    add("--epochs", type=int, help="maximum epochs of every cell (100)")
    add("--trainer", help=f"who drives training in every cell: {', '.join(TRAINERS)} (loop)")
    add("--implementation", help=IMPLEMENTATION_HELP)


def grid_from_options(grid, epochs=None, trainer=None, implementation=None, **axes):
    """The named grid with the axes, epochs, trainer and LSTM implementation given laid
    over it, validated."""
    from sinelstm.grid import make_grid

    fields = (
        ("epochs", epochs),
        ("trainer", trainer),
        ("implementation", backend_implementation(implementation)),
    )
    changes = {name: value for name, value in fields if value is not None}
    base = ExperimentConfig(**changes).validate() if changes else None
    return make_grid(grid, base=base, **axes)


def cmd_bench(args: argparse.Namespace) -> int:
    select_backend(args.backend)
    grid = grid_from_options(**{name: getattr(args, name) for name in GRID_OPTIONS})
    latest, baseline = default_paths(grid.name)
    out = Path(args.out) if args.out else latest
    baseline = Path(args.baseline) if args.baseline else baseline
    cells = grid.cells()

    import time

    from tqdm import tqdm

    from sinelstm.grid import cell_id
    from sinelstm.runner import run_grid

    executor = make_executor(args.executor, args.ray_address)

    start = time.perf_counter()
    with tqdm(total=len(cells), desc=f"grid {grid.name}", unit="cell", file=sys.stderr) as bar:

        def on_row(row):
            bar.set_postfix_str(f"{row['status']} {cell_id(config_of(row))}")
            bar.update(1)

        run_grid(
            cells,
            out,
            resume=args.resume,
            executor=executor,
            speedup_cell=grid.speedup_cell(),
            on_row=on_row,
        )
        bar.total = bar.n
    wall = time.perf_counter() - start
    print(f"{len(cells)} cells ({', '.join(cell_id(c) for c in cells[:1])} ...) in {wall:.0f} s -> {out}")
    status = 0 if args.no_gate else gate_run(out, baseline, args.gate_config)
    report = write_report(out, None if args.no_gate else baseline, args.gate_config)
    print(f"report: {report}")
    return status


def make_executor(name: str, ray_address: str | None):
    from sinelstm.executor import EXECUTORS, RayExecutor, RayUnavailable

    if name == "ray":
        try:
            return RayExecutor(address=ray_address)
        except RayUnavailable as error:
            raise UsageError(str(error)) from None
    if ray_address:
        raise UsageError(f"--ray-address: only with --executor ray (got --executor {name})")
    return EXECUTORS[name]()


def cmd_report(args: argparse.Namespace) -> int:
    report = write_report(
        Path(args.results), Path(args.baseline) if args.baseline else None, args.gate_config, args.o
    )
    print(f"report: {report}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    return gate_run(Path(args.run), Path(args.baseline), args.gate_config)


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    from sinelstm.baseline import accept_baseline

    count = accept_baseline(Path(args.run), Path(args.baseline), args.reason)
    print(f"{args.baseline}: accepted {count} rows from {args.run} ({args.reason.strip()})")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="sinelstm", description="The sine-wave LSTM experiment, measured.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = commands.add_parser("run", help="train, forecast and measure one config")
    run.add_argument("--preset", help=f"start from a preset: {', '.join(PRESETS)}")
    _add_config_flags(run)
    _add_backend_flag(run)
    run.add_argument("--out", default="runs/latest", help="output directory (runs/latest)")
    run.set_defaults(handler=cmd_run)

    from sinelstm.executor import EXECUTORS

    bench = commands.add_parser("bench", help="run a grid of cells, then gate it against its baseline")
    add_grid_options(bench.add_argument)
    bench.add_argument("--out", help="results CSV (results/latest.csv, or latest-GRID.csv)")
    bench.add_argument("--resume", action="store_true", help="skip the cells already in --out")
    bench.add_argument(
        "--executor",
        default="processes",
        choices=sorted(EXECUTORS),
        help="where cells run: processes (default; one worker per core, one thread each), "
        "local (in this process, all cores on one cell) or ray (one Ray task per cell)",
    )
    bench.add_argument(
        "--ray-address",
        help="with --executor ray: HOST:PORT (or auto) of an existing Ray cluster; "
        "without it a local Ray instance is started for the run",
    )
    bench.add_argument("--baseline", help="baseline CSV (results/baseline.csv, or baseline-GRID.csv)")
    bench.add_argument("--no-gate", action="store_true", help="run the grid, skip the gate")
    bench.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    _add_backend_flag(bench)
    bench.set_defaults(handler=cmd_bench)

    comp = commands.add_parser("compare", help="gate a results CSV against a baseline")
    comp.add_argument("run", help="results CSV of the run")
    comp.add_argument("--baseline", default="results/baseline.csv", help="(results/baseline.csv)")
    comp.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
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
    accept.add_argument("--baseline", default="results/baseline.csv", help="(results/baseline.csv)")
    accept.set_defaults(handler=cmd_baseline_accept)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except UsageError as error:
        print(f"sinelstm: error: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"sinelstm: error: {error.flag}: got {error.got!r}; {error.accepts}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sinelstm: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: no tracebacks.
        from sinelstm.results import ResultsError

        status = 2 if isinstance(error, (ResultsError, OSError)) else 1
        print(f"sinelstm: error: {error}", file=sys.stderr)
        return status
