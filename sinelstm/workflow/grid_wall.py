"""A grid's wall time, measured by the job that ran it and kept beside its results, and
the line the bench prints: the wall time over the grid's arithmetic floor, with one
core's FP32 peak beside the cells' floor rate."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sinelstm.sweep import gridtime


def executor_workers(executor, cells: int) -> int | None:
    """The cores a grid of `cells` cells runs on at once with this executor: its workers
    (a local executor runs one cell at a time), at most one per cell; None where the
    executor does not say (a Ray cluster found by address)."""
    workers = getattr(executor, "workers", 1)
    if workers is None and getattr(executor, "address", None) is None:
        workers = os.cpu_count() or 1  # a local Ray instance takes every CPU
    return None if workers is None else max(1, min(int(workers), cells))


def forget_grid(results: Path) -> None:
    """Remove an earlier run's grid record before a new run writes its results: a record
    left over would be read as the new run's."""
    gridtime.record_path(results).unlink(missing_ok=True)


def record_grid(
    results: Path, wall_s: float, workers: int, cells: int, grid: str = "", parts: int = 1
) -> gridtime.GridRecord:
    """Write the grid record (RUN.grid.json) of a run and return it."""
    from sinelstm.sweep.provenance import git_commit

    record = gridtime.GridRecord(
        wall_s=float(wall_s),
        workers=int(workers),
        cells=int(cells),
        commit=git_commit(),
        utc=datetime.now(UTC).isoformat(timespec="seconds"),
        grid=grid,
        parts=int(parts),
    )
    gridtime.write_record(results, record)
    return record


class GridWall:
    """A grid's wall time, kept in its record as the run goes (after every row), so that a
    run killed and resumed sums its parts: a resumed run starts from the record's wall time
    where the record is this grid's at this commit (else from 0, and the report finds the
    record not of its CSV). Workers None (a Ray cluster by address): nothing kept."""

    def __init__(self, results: Path, grid: str, workers: int | None, resume: bool):
        import time

        from sinelstm.sweep.provenance import git_commit

        self.results, self.grid, self.workers, self._clock = Path(results), grid, workers, time.perf_counter
        self.start = self._clock()
        earlier = None
        if resume:
            try:
                earlier = gridtime.read_record(results)
            except gridtime.GridRecordError:
                earlier = None
        same = earlier is not None and earlier.grid == grid and earlier.commit == git_commit()
        self.before = earlier.wall_s if same else 0.0
        self.parts = earlier.parts + 1 if same else 1
        self.rows = earlier.cells if same else 0

    def wall_s(self) -> float:
        return self.before + self._clock() - self.start

    def tick(self) -> None:
        """A row was written: keep the wall time so far."""
        self.rows += 1
        if self.workers is not None:
            record_grid(self.results, self.wall_s(), self.workers, self.rows, self.grid, self.parts)


def grid_floor_line(results: Path, record: gridtime.GridRecord) -> str:
    """The grid's floor and its wall time over it, then the cells' median floor rate beside
    one core's FP32 FMA peak."""
    import numpy as np

    from sinelstm.perf.peak import core_peak
    from sinelstm.sweep.store import read_results

    frame = read_results(results)
    line = gridtime.floor_sentence(gridtime.grid_floor(frame, record.workers), record.wall_s)
    rates = frame.loc[frame["status"] == "ok", "floor_gflops"].astype(float)
    rates = rates[np.isfinite(rates)]
    rate = f"cells' best product rate median {rates.median():.0f} GFLOP/s" if len(rates) else "no floor rate"
    peak = core_peak()
    share = f" ({rates.median() / peak.gflops:.0%} of it)" if len(rates) and peak.gflops else ""
    return f"{line}; {rate} against {peak.describe()}{share}"


def report_grid(results: Path, wall: GridWall, cells: int, echo) -> None:
    """Record a finished grid (where its workers are known) with its wall time, summed over
    the parts of a resumed run, and echo its floor line; a record that cannot be written,
    or a floor that cannot be worked out, is a warning: the results are written already."""
    from sinelstm.sweep.store import ResultsError

    if wall.workers is None:
        echo("sinelstm: warning: the grid's cores are unknown (a Ray cluster): no grid record written")
        return
    try:
        record = record_grid(results, wall.wall_s(), wall.workers, cells, wall.grid, wall.parts)
        if record.parts > 1:
            echo(f"sinelstm: the grid ran in {record.parts} parts; its wall time sums them")
        echo(grid_floor_line(results, record))
    except (OSError, ResultsError, ValueError) as error:
        echo(f"sinelstm: warning: grid floor not worked out: {error}")
