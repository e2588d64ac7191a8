"""Where files go, the grid a user asked for, the gate's rules, the executor: what every
job settles before it runs anything (each check a one-line UsageError, exit 2)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sinelstm.experiment import kinds
from sinelstm.experiment.config import TRAINERS, ExperimentConfig
from sinelstm.sweep import grid as grids
from sinelstm.verdict.rules import GateConfig, load_gate_config

IMPLEMENTATION_HELP = "the LSTM's training pass: keras, fused or block (keras; fused, block: tensorflow only)"

BASE_OPTIONS = grids.BASE_FIELDS  # the grid's options beyond its axes


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
    add_training_flags(add, " in every cell")


def add_training_flags(add, scope: str = "") -> None:
    """--trainer and --implementation, for a run (scope "") or every cell of a grid."""
    add("--trainer", choices=TRAINERS, help=f"who drives training{scope} (loop)")
    add("--implementation", choices=kinds.implementations(), help=IMPLEMENTATION_HELP)


def axis_flags_given(options) -> bool:
    """Whether any grid axis was given as a flag (an argparse namespace)."""
    return any(getattr(options, axis.field, None) is not None for axis in grids.AXES)


def grid_from_options(options) -> grids.Grid:
    """The named grid with the axes and base fields given (an argparse namespace, or a
    name -> value getter) laid over it, validated."""
    get = options if callable(options) else lambda name: getattr(options, name, None)
    from sinelstm.runtime import backend

    changes = {name: get(name) for name in BASE_OPTIONS if get(name) is not None}
    if changes.get("implementation"):
        from sinelstm.experiment.models import check_implementation

        check_implementation(changes["implementation"], backend())
    if changes:
        ExperimentConfig(**changes).validate()  # one clear error for a bad value, before any grid
    return grids.make_grid(
        get("grid") or "default",
        fields=changes,
        backend=backend(),
        **{axis.field: get(axis.field) for axis in grids.AXES},
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


def grid_of_baseline(baseline: Path) -> str | None:
    """The named grid a baseline is of, by its name: baseline.csv (and baseline-jax.csv) the
    default grid's, baseline-GRID[-jax].csv GRID's; None for a name of another form."""
    import re

    match = re.fullmatch(r"baseline(?:-(.+?))?(?:-jax)?\.csv", Path(baseline).name)
    if match is None:
        return None
    return "default" if match.group(1) in (None, "jax") else match.group(1)


def grid_of_run(results: Path) -> str | None:
    """The named grid a run is of: its grid record's (RUN.grid.json, written by the run),
    else its name's (latest[-GRID][-jax].csv); None where neither says."""
    from sinelstm.sweep.gridtime import GridRecordError, read_record

    try:
        record = read_record(results)
    except GridRecordError:
        record = None
    if record is not None and record.grid:
        return record.grid.split("+")[0]
    name = Path(results).name
    return grid_of_baseline(Path("baseline" + name[len("latest") :])) if name.startswith("latest") else None


def check_same_grid(grid: str | None, baseline: Path, remedy: str = "") -> None:
    """Refuse (exit 2, one line) a run of one named grid judged against, or accepted into,
    another's baseline: they are not comparable. A run of part of a grid (its cells chosen
    by -k or --config, its axes changed) is of that grid."""
    theirs = grid_of_baseline(baseline)
    ours = grid.split("+")[0] if grid else None
    if ours and theirs and ours != theirs:
        raise UsageError(
            f"not comparable: the run is of the {ours} grid and {baseline} is the {theirs} grid's baseline"
            + (f"; {remedy}" if remedy else "")
        )


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
    return Path(__file__).resolve().parents[2] / "pyproject.toml"


def load_gate(given: str | None) -> GateConfig:
    """The gate's rules, read and checked (GateConfigError) before anything runs."""
    return load_gate_config(find_gate_config(given))


# Where CI keeps its runs' history (tox sets it: its artifact, not the tracked file).
HISTORY_ENV = "SINELSTM_HISTORY"


def history_path_for(results: Path) -> Path:
    """The history a run appends to: $SINELSTM_HISTORY where set (CI's runs go to its
    artifact and leave the tracked results/history.csv alone), else history.csv beside
    its results CSV (results/history.csv)."""
    import os

    override = os.environ.get(HISTORY_ENV, "").strip()
    return Path(override) if override else Path(results).with_name("history.csv")


def check_writable(out: Path, flag: str = "--out") -> None:
    """Refuse (exit 2) an output directory that cannot be made or written, before any work."""

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
