"""Running a grid: one job per cell, each cell's curves and row appended the moment it is done.

The same cell code serves `sinelstm bench` (through an executor) and `pytest bench`
(through pytest-benchmark, which times run_cell itself).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.runtime import backend
from sinelstm.sweep.executors import Executor, LocalExecutor
from sinelstm.sweep.grid import cell_id
from sinelstm.sweep.rows import cell_key, config_columns, config_differences, failed_row, ok_row
from sinelstm.sweep.store import (
    ResultsError,
    ResultsLock,
    append_rows,
    append_series,
    check_header,
    read_results,
    repair_torn_tail,
    series_path,
)

# Earlier runs kept beside a results file when a new run takes its name (NAME.prev-STAMP.csv
# and its series); older ones are deleted. The default grid's run is about 30 KB of rows
# and 1.3 MB of curves.
KEEP_PREVIOUS = 3


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


def resumable(path: Path, cells: list[ExperimentConfig]) -> set[str]:
    """cell_keys of the cells already finished (status ok) in a results file that this grid
    may resume. A torn last line is set aside first. Refused (ResultsError), before any
    training, when a cell of the grid sits in the file with another config, or the file
    was written by another backend or schema: resuming would mix two experiments."""
    path = Path(path)
    for one in (path, series_path(path)):
        repair_torn_tail(one)
    if not path.exists() or path.stat().st_size == 0:
        return set()
    check_header(path)
    frame = read_results(path)
    backends = sorted(set(frame["backend"].dropna().astype(str)))
    if backends and backends != [backend()]:
        raise ResultsError(
            f"--resume: {path} was run on backend {', '.join(backends)}, this run uses {backend()}; "
            "resume with the same --backend or choose another --out"
        )
    by_name = {row["cell"]: row for row in frame.to_dict("records")}
    for cell in cells:
        row = by_name.get(cell_id(cell))
        if row is not None and row["cell_key"] != cell_key(cell):
            changed = ", ".join(config_differences(row, config_columns(cell)))
            raise ResultsError(
                f"--resume: {path} holds {cell_id(cell)} with another config ({changed}); "
                "resume with the same options or choose another --out"
            )
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
    lock_held: bool = False,
) -> str:
    """Run every cell (skipping finished ones when resuming) and record each as it finishes.

    Without resume an existing out (and its series) is first kept as
    NAME.prev-STAMP.csv (set_aside), so a new run never mixes with an old one and never
    destroys it either. job replaces the grid's own (train, forecast, measure) for
    callers that run something else per cell. Returns the run id. The results lock is
    taken for the run, unless the caller holds it already (lock_held: a bench holds it
    from the first cell to the last file it writes).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    executor = executor or LocalExecutor()
    run_id = new_run_id()
    with contextlib.nullcontext() if lock_held else ResultsLock(out):
        if resume:
            skip = resumable(out, cells)
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


def set_aside(out: Path, keep: int = KEEP_PREVIOUS) -> None:
    """Keep an earlier run's results and series as NAME.prev-STAMP.csv (STAMP: when it was
    last written, UTC), never overwriting one; only the `keep` newest are kept."""
    out = Path(out)
    if not out.exists():
        return
    stamp = datetime.fromtimestamp(out.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = out.with_name(f"{out.stem}.prev-{stamp}{out.suffix}")
    for path, target in ((series_path(out), series_path(kept)), (out, kept)):
        if path.exists():
            os.replace(path, target)
    earlier = sorted(out.parent.glob(f"{out.stem}.prev-*{out.suffix}"), reverse=True)
    for old in [p for p in earlier if not p.name.endswith(".series.csv")][keep:]:
        series_path(old).unlink(missing_ok=True)
        old.unlink(missing_ok=True)


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
