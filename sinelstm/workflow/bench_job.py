"""`sinelstm bench` as a job: run a grid's cells into its results CSV, keep the run in the
history, then gate it against its baseline and write the report."""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sinelstm.sweep.grid import Grid
from sinelstm.workflow.confirming import seed_runner
from sinelstm.workflow.gating import PRINTED, Output, gate_and_report, record_history
from sinelstm.workflow.grid_wall import GridWall, executor_workers, forget_grid, report_grid
from sinelstm.workflow.options import check_same_grid, check_writable, default_paths, load_gate, make_executor


@dataclass(frozen=True)
class BenchOptions:
    grid: Grid
    out: Path | None = None  # results CSV; None: the grid's latest*.csv
    baseline: Path | None = None  # None: the grid's committed baseline
    gate: bool = True  # False: run the grid, judge nothing
    timing_gate: bool = True  # False: judge the results, not the timings
    gate_config: str | None = None
    executor: str = "processes"
    ray_address: str | None = None
    cell_timeout: float | None = None
    resume: bool = False
    tier: str = "auto"
    output: Output = PRINTED


@dataclass(frozen=True)
class BenchResult:
    out: Path
    cells: int
    passed: bool  # the gate passed, or judged nothing


def run_bench(options: BenchOptions, backend: str = "tensorflow") -> BenchResult:
    """Check everything that can be checked (the gate's rules, the baseline, the output,
    the executor), run the grid under the results lock, then gate and report."""
    from sinelstm.sweep.runner import resumable
    from sinelstm.sweep.store import ResultsLock, read_results

    grid = options.grid
    latest, baseline = default_paths(grid.name, backend)
    out = options.out or latest
    baseline = None if not options.gate else options.baseline or baseline
    gate = load_gate(options.gate_config) if options.gate else None
    if gate is not None and not options.timing_gate:
        gate = dataclasses.replace(gate, timing=None)
    if baseline is not None:
        check_same_grid(grid.name, baseline)
        read_results(baseline)
    check_writable(out.parent, "--out")

    def new_executor():
        return make_executor(options.executor, options.ray_address, options.cell_timeout)

    executor = new_executor()
    cells = grid.cells()
    if options.resume:
        resumable(out, cells)  # another experiment's file: one line, before the progress bar
    # The results file is this run's from its first cell to the last file judged from it.
    with ResultsLock(out):
        if not options.resume:
            forget_grid(out)
        wall = GridWall(out, grid.name, executor_workers(executor, len(cells)), options.resume)
        seconds = _run_cells(grid, cells, out, executor, wall, options)
        options.output.echo(f"{len(cells)} cells ({grid.name} grid) in {seconds:.0f} s -> {out}")
        report_grid(out, wall, len(cells), options.output.echo)
        record_history(out, grid, options.output)
        rerun = seed_runner(out, new_executor)
        status = gate_and_report(out, baseline, gate, output=options.output, tier=options.tier, rerun=rerun)
    return BenchResult(out, len(cells), status == 0)


def _run_cells(grid: Grid, cells: list, out: Path, executor, wall: GridWall, options: BenchOptions) -> float:
    """The cells run into out under a progress bar; the seconds they took."""
    from tqdm import tqdm

    from sinelstm.sweep.runner import run_grid

    start = time.perf_counter()
    quiet = options.output.verbosity < 0
    with tqdm(total=len(cells), desc=f"grid {grid.name}", unit="cell", file=sys.stderr, disable=quiet) as bar:

        def on_row(row):
            bar.set_postfix_str(f"{row['status']} {row['cell']}")
            bar.update(1)
            wall.tick()

        run_grid(cells, out, resume=options.resume, executor=executor, speedup_cell=grid.speedup_cell(),
                 on_row=on_row, lock_held=True)  # fmt: skip
        bar.total = bar.n
    return time.perf_counter() - start
