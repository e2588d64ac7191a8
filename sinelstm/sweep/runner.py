"""Running a grid: one job per cell, each cell's curves and row appended the moment it is done.

The same cell code serves `sinelstm bench` (through an executor) and `pytest bench`
(through pytest-benchmark, which times run_cell itself).
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.sweep.executors import Executor, LocalExecutor
from sinelstm.sweep.rows import cell_key, failed_row, ok_row
from sinelstm.sweep.store import ResultsLock, append_rows, append_series, read_results, series_path


def _empty():
    import numpy  # here, not at the top: a worker pins itself before numpy starts its threads

    return numpy.empty(0)


@dataclass
class CellResult:
    """What one cell sends back to the driver: plain data, nothing live."""

    row: dict  # the result row
    fit_predictions: object = field(default_factory=_empty)  # (n_windows,) in-sample
    forecast: object = field(default_factory=_empty)  # (horizon,)

    @property
    def ok(self) -> bool:
        return self.row.get("status") == "ok"


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def run_cell(cfg: ExperimentConfig, run_id: str, speedup: bool = False) -> CellResult:
    """Train, forecast and measure one cell; a crash becomes a failed row, never an exception."""
    import keras

    from sinelstm.experiment.run import run_experiment

    try:
        result = run_experiment(cfg, speedup=speedup)
        row = ok_row(cfg, run_id, result.metrics, result.timings)
        return CellResult(row, result.fit_predictions, result.forecast)
    except Exception as error:  # noqa: BLE001 - recorded in the row and counted by the gate.
        return CellResult(failed_row(cfg, run_id, error))
    finally:
        # Nothing of one cell outlives it: memory stays flat over the grid.
        keras.backend.clear_session(free_memory=True)


def cell_job(cfg: ExperimentConfig, run_id: str, speedup_cell: ExperimentConfig | None) -> CellResult:
    """The grid's job for one cell (module level, so other processes can run it)."""
    return run_cell(cfg, run_id, speedup=cfg == speedup_cell)


def done_keys(path: Path) -> set[str]:
    """cell_keys of the cells already finished (status ok) in a results file."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    frame = read_results(path)
    return set(frame[frame["status"] == "ok"]["cell_key"])


def run_grid(
    cells: list[ExperimentConfig],
    out: Path,
    *,
    resume: bool = False,
    executor: Executor | None = None,
    speedup_cell: ExperimentConfig | None = None,
    on_row: Callable[[dict], None] | None = None,
    job: Callable[[ExperimentConfig], CellResult] | None = None,
) -> str:
    """Run every cell (skipping finished ones when resuming) and record each as it finishes.

    Without resume an existing out (and its series) is moved aside to
    NAME + '.prev' first, so a new run never mixes with an old one and never
    destroys it either. job replaces the grid's own (train, forecast, measure) for
    callers that run something else per cell. Returns the run id.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    executor = executor or LocalExecutor()
    run_id = new_run_id()
    with ResultsLock(out):
        if resume:
            skip = done_keys(out)
        else:
            skip = set()
            set_aside(out)
        todo = [cell for cell in cells if cell_key(cell) not in skip]
        job = job or functools.partial(cell_job, run_id=run_id, speedup_cell=speedup_cell)
        for cell, outcome in executor.run(todo, job):
            result = (
                outcome if isinstance(outcome, CellResult) else CellResult(failed_row(cell, run_id, outcome))
            )
            record(out, result)
            if on_row is not None:
                on_row(result.row)
    return run_id


def set_aside(out: Path) -> None:
    """Move an earlier run's results and series to NAME.prev."""
    for path in (out, series_path(out)):
        if path.exists():
            os.replace(path, str(path) + ".prev")


def record(out: Path, result: CellResult) -> None:
    """Append a finished cell: its curves first, then its row (a row on disk has its curves)."""
    row = result.row
    if result.ok:
        curves = {
            "fit": (int(row["window"]), result.fit_predictions),
            "forecast": (int(row["length"]), result.forecast),
        }
        append_series(series_path(out), str(row["cell_key"]), curves)
    append_rows(out, [row])
