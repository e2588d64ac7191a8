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

from sinelstm.experiment.config import ExperimentConfig, run_of
from sinelstm.runtime import backend
from sinelstm.sweep.executors import Executor, LocalExecutor, estimated_cost, members
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
# and its series); older ones are deleted.
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
    """Train, forecast and measure one cell (a batch of one, where its trainer batches); a
    crash becomes a failed row, never an exception."""
    return run_batch((cfg,), run_id, speedup_cell=cfg if speedup else None)[0]


def run_batch(
    cells: tuple[ExperimentConfig, ...], run_id: str, speedup_cell: ExperimentConfig | None = None
) -> list[CellResult]:
    """Train, forecast and measure the cells of a unit (one config's seeds, and its epoch
    caps: one run a seed, handed on at each cap): together where their trainer batches
    them, where a crash in training fails every cell of the batch; else seed after seed,
    where a crash fails that seed's cells only. A crash after training fails its own cell."""
    import keras

    from sinelstm.experiment.batched import batchable
    from sinelstm.experiment.run import measure, train_members

    def measured(one) -> CellResult:
        try:
            result = measure(one, speedup=one.config == speedup_cell)
            row = ok_row(one.config, run_id, result.metrics, result.timings)
            return CellResult(row, result.fit_predictions, result.forecast)
        except Exception as error:  # noqa: BLE001 - recorded in the rows and counted by the gate.
            return CellResult(failed_row(one.config, run_id, error))

    try:
        if len(cells) == 1 or not batchable(cells[0], backend()):
            # Seed by seed (a seed's cells of several epoch caps are one run): a crash in
            # training fails that seed's cells only.
            results: dict[ExperimentConfig, CellResult] = {}
            for seed in dict.fromkeys(cfg.seed for cfg in cells):
                own = [cfg for cfg in cells if cfg.seed == seed]
                try:
                    results.update(zip(own, train_members(own, measured), strict=True))
                except Exception as error:  # noqa: BLE001 - as above.
                    results.update((cfg, CellResult(failed_row(cfg, run_id, error))) for cfg in own)
            return [results[cfg] for cfg in cells]
        try:
            return train_members(list(cells), measured)
        except Exception as error:  # noqa: BLE001 - as above.
            return [CellResult(failed_row(cfg, run_id, error)) for cfg in cells]
    finally:
        # Nothing of one unit outlives it (but the worker's templates, one per architecture):
        # memory stays flat over the grid.
        keras.backend.clear_session(free_memory=True)


def batch_job(
    cells: tuple[ExperimentConfig, ...], run_id: str, speedup_cell: ExperimentConfig | None
) -> list[CellResult]:
    """The grid's job for one unit (module level, so other processes can run it)."""
    return run_batch(members(cells), run_id, speedup_cell)


def _each(unit, job: Callable[[ExperimentConfig], CellResult]) -> list:
    """A caller's per-cell job run on every cell of a unit; a cell whose job raised has its
    exception in its place (the runner records it as that cell's failed row)."""
    results: list = []
    for cell in members(unit):
        try:
            results.append(job(cell))
        except Exception as error:  # noqa: BLE001 - the cell's outcome, as an executor gives it.
            results.append(error)
    return results


# The activations a batch of members may hold for its backward pass. Each member keeps its
# own (about 8 tensors of batch x 4*hidden floats a time step, as the loop trainer keeps for
# one seed), so a batch of n holds n times one seed's. The cap keeps a worker's peak near
# a one-by-one worker's (docs/layout.md, design notes).
MEMBER_BYTES = 512 * 2**20


def activation_bytes(cfg: ExperimentConfig) -> float:
    """What one member's training step keeps for its backward pass, bytes (an estimate)."""
    gates = max(cfg.kind.gates, 1)
    return 8 * 4.0 * min(cfg.batch_size, cfg.n_windows) * cfg.window * gates * max(cfg.hidden, 1)


def batches(cells: list[ExperimentConfig], workers: int = 1) -> list[tuple[ExperimentConfig, ...]]:
    """The grid's units: the seeds of a network's config together, in units; every other
    cell alone. A unit goes to one worker: its seeds train as one batch where their trainer
    batches them (batchable; activations kept under MEMBER_BYTES), else one after another,
    the second and later on the first's compiled training and forecast (the worker's
    templates: traced and compiled once, not per cell). A unit is kept to about a
    quarter of the grid's cost per worker (estimated_cost), so that no unit runs on alone
    at the end while other cores idle. Its rows are written when the unit ends."""
    import math

    from sinelstm.experiment.batched import batchable

    budget = estimated_cost(tuple(cells)) / (4 * max(1, workers))
    groups: dict[ExperimentConfig, list[ExperimentConfig]] = {}
    units: list[tuple[ExperimentConfig, ...]] = []
    for cell in cells:
        if cell.kind.is_network:
            # A config's seeds, and its marks (epoch caps, patience) where one run serves them all.
            key = run_of(cell.replace(seed=0))
            groups.setdefault(key, []).append(cell)
        else:
            units.append((cell,))
    for group in groups.values():
        # Seeds with the same marks together: a unit trains every seed to its largest cap.
        by_caps: dict[tuple, list[int]] = {}
        for seed in dict.fromkeys(cell.seed for cell in group):
            marks = tuple(sorted((c.epochs, c.patience) for c in group if c.seed == seed))
            by_caps.setdefault(marks, []).append(seed)
        for seeds in by_caps.values():
            one_seed = tuple(cell for cell in group if cell.seed == seeds[0])
            size = max(1, min(len(seeds), math.floor(budget / estimated_cost(one_seed))))
            if batchable(group[0], backend()):
                size = min(size, max(1, math.floor(MEMBER_BYTES / activation_bytes(group[0]))))
            elif len(seeds) > 4 * workers:
                # Trained seed after seed anyway: a seed a unit, so no worker ends on a long tail.
                size = 1
            for start in range(0, len(seeds), size):
                chunk = set(seeds[start : start + size])
                units.append(tuple(cell for cell in group if cell.seed in chunk))
    order = {cell: place for place, cell in enumerate(cells)}
    return sorted(units, key=lambda unit: order[unit[0]])  # in the grid's order


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
        if job is None:
            units = batches(todo, getattr(executor, "workers", None) or 1)
            unit_job = functools.partial(batch_job, run_id=run_id, speedup_cell=speedup_cell)
        else:
            units, unit_job = [(cell,) for cell in todo], functools.partial(_each, job=job)
        for unit, outcome in executor.run(units, unit_job):
            if not isinstance(outcome, list):  # the unit failed whole: its exception
                outcome = [outcome] * len(members(unit))
            for cell, result in zip(members(unit), outcome, strict=True):
                if not isinstance(result, CellResult):
                    result = CellResult(failed_row(cell, run_id, result))
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
