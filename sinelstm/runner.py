"""Running a grid: one job per cell, each row appended to the CSV the moment it is done."""

from __future__ import annotations

import functools
import os
import secrets
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from sinelstm.config import ExperimentConfig, config_columns, config_of
from sinelstm.executor import CellResult, Executor, Job, LocalExecutor
from sinelstm.grid import cell_id
from sinelstm.provenance import provenance
from sinelstm.results import (
    SCHEMA_VERSION,
    ResultsLock,
    append_rows,
    append_series,
    read_results,
    series_path,
)

# Steps of the predict engine timed on the speed-up cell: its per-step cost
# is a fixed overhead, so 50 steps measure it as well as 400 would.
SPEEDUP_STEPS = 50


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def measure_speedup(model, history: np.ndarray, compiled_ms_per_step: float) -> dict[str, float]:
    """Time the predict engine on the same trained model; the ratio to the compiled engine."""
    from sinelstm.forecast import rollout

    rollout(model, history, 2, "predict")  # warm-up: builds the predict function
    start = time.perf_counter()
    rollout(model, history, SPEEDUP_STEPS, "predict")
    predict_ms = (time.perf_counter() - start) / SPEEDUP_STEPS * 1000.0
    return {"predict_ms_per_step": predict_ms, "engine_speedup": predict_ms / compiled_ms_per_step}


def failed_row(cfg: ExperimentConfig, run_id: str, error: BaseException) -> dict[str, object]:
    """The row of a cell that crashed: its config, the error, no metrics."""
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": "failed",
        "error": last[:500],
        **config_columns(cfg),
        **provenance(),
    }


def run_cell(cfg: ExperimentConfig, run_id: str, speedup: bool = False) -> CellResult:
    """Train, forecast and measure one cell; a crash becomes a failed row, never an exception."""
    import keras

    from sinelstm.experiment import run_experiment

    try:
        result = run_experiment(cfg, run_id=run_id, keep_model=speedup)
        row = result.row
        if speedup:
            history = result.series[-cfg.window :]
            row.update(measure_speedup(result.model, history, row["forecast_ms_per_step"]))
        return CellResult(row, result.fit_predictions, result.forecast)
    except Exception as error:  # noqa: BLE001 - recorded in the row and counted by the gate.
        return CellResult(failed_row(cfg, run_id, error))
    finally:
        # Nothing of one cell outlives it: memory stays flat over the grid.
        keras.backend.clear_session(free_memory=True)


def cell_job(cfg: ExperimentConfig, run_id: str, speedup_cell: ExperimentConfig | None) -> CellResult:
    """The grid's job for one cell (module level, so other processes can run it)."""
    return run_cell(cfg, run_id, speedup=cfg == speedup_cell)


def done_cells(path: Path) -> set[str]:
    """Names of the cells already in a results file with status ok."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    frame = read_results(path)
    ok = frame[frame["status"] == "ok"]
    return {cell_id(config_of(row)) for row in ok.to_dict("records")}


def run_grid(
    cells: list[ExperimentConfig],
    out: Path,
    *,
    resume: bool = False,
    executor: Executor | None = None,
    speedup_cell: ExperimentConfig | None = None,
    on_row: Callable[[dict], None] | None = None,
    job: Job | None = None,
) -> str:
    """Run every cell (skipping finished ones when resuming) and append each row to out,
    and its curves to the series file beside it.

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
            skip = done_cells(out)
        else:
            skip = set()
            set_aside(out)
        todo = [cell for cell in cells if cell_id(cell) not in skip]
        job = job or functools.partial(cell_job, run_id=run_id, speedup_cell=speedup_cell)
        for result in executor.run(todo, job):
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
    """Append a finished cell: its row to out, its curves to the series file."""
    append_rows(out, [result.row])
    if result.row.get("status") == "ok":
        cfg = config_of(result.row)
        append_series(series_path(out), cfg, result.fit_predictions, result.forecast)
