"""The jobs the CLI and the pytest plugin run, end to end: where files go, the grid a user
asked for, one run's artifacts, and gate-then-report (the gate judged once, its verdict
written to the gate table and the report alike)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sinelstm.experiment import kinds
from sinelstm.experiment.config import TRAINERS, ExperimentConfig
from sinelstm.sweep import grid as grids
from sinelstm.sweep.store import ResultsLock, append_rows
from sinelstm.verdict.rules import GateConfig, load_gate_config

IMPLEMENTATION_HELP = "the LSTM's training pass: keras, fused (keras; fused: tensorflow only)"
# The grid's options beyond its axes: fields laid over every cell.
BASE_OPTIONS = ("epochs", "trainer", "implementation")


class UsageError(ValueError):
    """A bad argument: printed as one line, exit status 2."""


class Choices(tuple):
    """argparse `choices` for a flag whose values are listed (help and shell completion
    offer them) but not closed: `accept` admits more (a model factory's
    package.module:function), and with `many` the value is a comma-separated list whose
    every item must be a choice. argparse rejects anything else at parse time."""

    def __new__(cls, names, accept=None, many: bool = False):
        choices = super().__new__(cls, names)
        choices.accept, choices.many = accept, many
        return choices

    def __contains__(self, value) -> bool:
        items = [item.strip() for item in str(value).split(",")] if self.many else [value]
        return all(
            tuple.__contains__(self, item) or (self.accept is not None and self.accept(item))
            for item in items
        )


def model_choices() -> Choices:
    """The model kinds, listed, plus any name the registry resolves (an entry point or a
    package.module:function factory)."""
    return Choices(kinds.builtin_names(), accept=lambda name: kinds.lookup(name) is not None)


def add_grid_options(add, default_grid: str = "default") -> None:
    """The grid's options, for argparse's add_argument or pytest's addoption alike: the named
    grid, one flag per axis (from the axes' one declaration), and the fields laid over every cell."""
    add("--grid", default=default_grid, choices=sorted(grids.GRIDS), help=f"named grid ({default_grid})")
    for axis in grids.AXES:
        extra = {}
        if axis.names is not None:
            extra = {"choices": Choices(axis.names(), axis.accepts, many=True), "metavar": "LIST"}
        add(axis.flag, dest=axis.field, help=f"{axis.field} axis, e.g. {axis.example}", **extra)
    add("--epochs", type=int, help="maximum epochs of every cell (100)")
    add("--trainer", choices=TRAINERS, help="who drives training in every cell (loop)")
    add("--implementation", choices=kinds.lookup("lstm").implementations, help=IMPLEMENTATION_HELP)


def grid_from_options(options) -> grids.Grid:
    """The named grid with the axes and base fields given (an argparse namespace, or a
    name -> value getter) laid over it, validated."""
    get = options if callable(options) else lambda name: getattr(options, name, None)
    changes = {name: get(name) for name in BASE_OPTIONS if get(name) is not None}
    if changes.get("implementation"):
        from sinelstm.experiment.models import check_implementation
        from sinelstm.runtime import backend

        check_implementation(changes["implementation"], backend())
    base = ExperimentConfig(**changes).validate() if changes else None
    return grids.make_grid(
        get("grid") or "default", base=base, **{axis.field: get(axis.field) for axis in grids.AXES}
    )


def default_paths(grid: str, backend: str = "tensorflow") -> tuple[Path, Path]:
    """(latest run CSV, committed baseline CSV) of a named grid on a backend:
    results/latest.csv for the default grid on TensorFlow, latest-quick-jax.csv for the
    quick grid on JAX (each backend draws its own weights, so each has its own baseline)."""
    suffix = "" if grid == "default" else f"-{grid.split('+')[0]}"
    suffix += "" if backend == "tensorflow" else f"-{backend}"
    return Path(f"results/latest{suffix}.csv"), Path(f"results/baseline{suffix}.csv")


def baseline_for(run: Path) -> Path:
    """The baseline a run is judged against by default: latest-quick.csv ->
    baseline-quick.csv beside it; any other name -> results/baseline.csv."""
    run = Path(run)
    if run.name.startswith("latest"):
        return run.with_name("baseline" + run.name[len("latest") :])
    return Path("results/baseline.csv")


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


def load_gate(given: str | None) -> GateConfig:
    """The gate's rules, read and checked (GateConfigError) before anything runs."""
    return load_gate_config(find_gate_config(given))


@dataclass(frozen=True)
class Output:
    """Where a job's messages go and how many: verbosity -1 (-q) the verdict and the files
    written; 0 the PR-sized summary as well; 1 (-v) the full gate table too."""

    echo: Callable[[str], None] = print
    verbosity: int = 0
    link_base: str | None = None  # absolute URL the summary's figure links start with


def judge(
    current: Path,
    baseline: Path,
    gate: GateConfig,
    only: set[str] | None = None,
    tier: str = "auto",
    write: bool = True,
):
    """Judge a run against its baseline (tier "auto", or "statistical" for every config)
    and write the gate table beside the run (unless write is false); return the GateResult."""
    from sinelstm.verdict.judge import compare
    from sinelstm.verdict.markdown import gate_markdown

    result = compare(current, baseline, gate, only, tier)
    if write:
        current.with_suffix(".gate.md").write_text(gate_markdown(result, current, baseline))
    return result


def announce(result, current: Path, baseline: Path, report: Path | None, output: Output) -> None:
    """Write the summary (RUN.summary.md) and tell the verdict, as much as output asks for."""
    from sinelstm.report.summary import gate_summary, summary_path
    from sinelstm.verdict.markdown import gate_markdown

    summary = gate_summary(result, current, baseline, report, output.link_base)
    summary_path(current).write_text(summary)
    if output.verbosity > 0:
        output.echo(gate_markdown(result, current, baseline))
    elif output.verbosity == 0:
        output.echo(summary)
    if output.verbosity >= 0:
        for warning in result.warnings:
            output.echo(f"sinelstm: warning: {warning}")
    for failure in result.failures:
        output.echo(f"sinelstm: gate failed: {failure}")
    verdict = "passed" if result.passed else f"FAILED ({len(result.failures)} failures)"
    table = current.with_suffix(".gate.md")
    output.echo(f"gate {verdict}; table in {table}, summary in {summary_path(current)}")


def gate_and_report(
    current: Path,
    baseline: Path | None,
    gate: GateConfig | None,
    only: set[str] | None = None,
    output: Output = Output(),
    report: Path | None = None,
    tier: str = "auto",
) -> int:
    """Judge the run once (when a baseline and rules are given), write the report with the
    same verdict, then the gate table and the summary; 0 passed (or not judged), 1 failed."""
    from sinelstm.report.markdown import build_report

    judged = baseline is not None and gate is not None
    result = judge(current, baseline, gate, only, tier) if judged else None
    out = Path(report) if report else report_path_for(current)
    build_report(current, out, result, baseline if result is not None else None)
    if result is not None:
        announce(result, current, baseline, out, output)
    output.echo(f"report: {out}")
    return 0 if result is None or result.passed else 1


def history_path_for(results: Path) -> Path:
    """The history a run appends to: history.csv beside its results CSV (results/history.csv)."""
    return Path(results).with_name("history.csv")


def record_history(results: Path, grid: grids.Grid, output: Output = Output()) -> None:
    """Append a finished run's per-config summaries to the history beside it. A history that
    cannot take them (another schema, an unwritable file) is a warning: the run's results
    are written already, and the gate still judges them."""
    from sinelstm.history.store import HistoryError, append_run, grid_label
    from sinelstm.sweep.store import ResultsError

    history = history_path_for(results)
    try:
        count = append_run(results, history, grid_label(grid))
    except (HistoryError, ResultsError, OSError) as error:
        output.echo(f"sinelstm: warning: history not appended: {error}")
        return
    if output.verbosity >= 0:
        output.echo(f"history: {count} rows appended to {history}")


def write_run(out: Path, result) -> list[str]:
    """One run's artifacts in out: run.csv (its row), forecast.csv, fit.png, forecast.png.
    Staged in a hidden folder and moved in under the results lock, so a failure leaves
    out as it was. Returns the file names."""
    import pandas as pd

    from sinelstm.experiment.run import forecast_x
    from sinelstm.report.run_figures import fit_figure, forecast_figure
    from sinelstm.sweep.rows import ok_row

    cfg = result.config
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    names = ["run.csv", "forecast.csv", "fit.png", "forecast.png"]
    try:
        append_rows(staging / "run.csv", [ok_row(cfg, f"run-{cfg.seed}", result.metrics, result.timings)])
        frame = pd.DataFrame({"x": forecast_x(cfg), "truth": result.truth, "forecast": result.forecast})
        frame.to_csv(staging / "forecast.csv", index=False)
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
            for name in names:
                os.replace(staging / name, out / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return names


def check_writable(out: Path, flag: str = "--out") -> None:
    """Refuse (exit 2) an output directory that cannot be made or written, before any work."""
    import tempfile

    existed = out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise UsageError(f"{flag}: cannot write to {str(out)!r}: {error.strerror or error}") from None
    if not existed:
        out.rmdir()


def make_executor(name: str, ray_address: str | None, cell_timeout: float | None = None):
    if cell_timeout is not None and cell_timeout <= 0:
        raise UsageError(f"--cell-timeout: got {cell_timeout:g}; expected seconds > 0")
    if name == "ray":
        from sinelstm.sweep.ray import RayExecutor, RayUnavailable

        try:
            return RayExecutor(address=ray_address, limit=cell_timeout)
        except RayUnavailable as error:
            raise UsageError(str(error)) from None
    if ray_address:
        raise UsageError(f"--ray-address: only with --executor ray (got --executor {name})")
    if name == "local":
        if cell_timeout is not None:
            raise UsageError(
                "--cell-timeout: the local executor cannot stop a cell; use --executor processes"
            )
        from sinelstm.sweep.executors import LocalExecutor

        return LocalExecutor()
    from sinelstm.sweep.executors import ProcessExecutor

    return ProcessExecutor(limit=cell_timeout)
