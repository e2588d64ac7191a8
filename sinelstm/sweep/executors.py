"""Where cells run. One small interface, so that a distributed executor can be
plugged in without touching the grid runner, the CSV, the gate or the report.

An executor runs a job on each cell and yields (cell, outcome): whatever the job
returned, or the exception that stood in its way (the job raised, its worker
died). It knows nothing of rows or files.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from sinelstm.experiment.config import ExperimentConfig, epoch_flops
from sinelstm.runtime import become_worker

# A job turns one cell into its result. Executors that run cells in other processes
# need it picklable (a module-level function or a functools.partial of one).
Job = Callable[[ExperimentConfig], object]
Outcome = tuple[ExperimentConfig, object]  # (cell, the job's result or the exception)


class Executor(Protocol):
    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[Outcome]:
        """Run job on every cell and yield (cell, outcome) as soon as each is done, in any order."""
        ...


class LocalExecutor:
    """Runs cells one after another in this process, with all its cores."""

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[Outcome]:
        for cell in cells:
            try:
                yield cell, job(cell)
            except Exception as error:  # noqa: BLE001 - handed to the driver as the cell's outcome.
                yield cell, error


def estimated_cost(cfg: ExperimentConfig) -> float:
    """A cell's relative cost: its training arithmetic (by its kind's own formula), plus a
    fixed overhead per epoch step (what dominates small models)."""
    return epoch_flops(cfg) + 2e7 * cfg.window * cfg.n_windows


def _worker(core: int, conn) -> None:
    """A worker process: pin to one core and one compute thread before anything imports
    TensorFlow, receive the job, then run cells one at a time until told to stop."""
    become_worker(core)
    job = conn.recv()
    while (cell := conn.recv()) is not None:
        try:
            conn.send((True, job(cell)))
        except Exception as error:  # noqa: BLE001 - sent back; the driver records the cell as failed.
            conn.send((False, error))


@dataclass
class _Worker:
    process: object
    conn: object
    cell: ExperimentConfig | None = None  # the cell it is running, if any
    cells_run: int = 0


# Cells a worker runs before it is replaced by a fresh process. TensorFlow keeps
# about 9 MB of every model trained with train_on_batch and 3.5 MB of every compiled
# rollout even after clear_session (measured cell by cell in one process; one worker
# of the 340-cell science grid reached 4.5 GB); a fresh worker every few cells keeps
# a grid's memory flat whatever its size, for one TensorFlow import (~3 s) each.
CELLS_PER_WORKER = 4


class ProcessExecutor:
    """Runs cells in parallel worker processes, each pinned to its own core with one
    compute thread, each replaced by a fresh process after `cells_per_worker` cells.
    On this project's small matrices one core per cell does more work per second than
    two cores sharing one cell; see the README's performance section.

    (concurrent.futures' max_tasks_per_child would do the replacing, but Python 3.11's
    pool hangs with it once a worker retires; this small pool does it instead.)
    """

    def __init__(self, workers: int | None = None, cells_per_worker: int = CELLS_PER_WORKER):
        available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cores = available or list(range(os.cpu_count() or 1))
        self.workers = workers or len(self.cores)
        self.cells_per_worker = cells_per_worker

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[Outcome]:
        from multiprocessing.connection import wait as wait_any

        context = multiprocessing.get_context("spawn")
        # Longest first, so that no long cell starts last and runs alone at the end.
        todo = deque(sorted(cells, key=estimated_cost, reverse=True))
        slots: dict[int, _Worker] = {}

        def start(slot: int) -> _Worker:
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_worker, args=(self.cores[slot % len(self.cores)], theirs), daemon=True
            )
            process.start()
            theirs.close()
            ours.send(job)
            return _Worker(process, ours)

        try:
            while True:
                for slot in range(self.workers):
                    worker = slots.get(slot)
                    if todo and (worker is None or worker.cells_run >= self.cells_per_worker):
                        if worker is not None:
                            _retire(worker)
                        slots[slot] = worker = start(slot)
                    if todo and worker is not None and worker.cell is None:
                        try:
                            worker.conn.send(todo[0])
                        except (OSError, ValueError):
                            worker.cells_run = self.cells_per_worker  # died idle: replace it next round
                            continue
                        worker.cell = todo.popleft()
                busy = [w for w in slots.values() if w.cell is not None]
                if not busy:
                    if todo:
                        continue  # a worker died idle: the next round replaces it
                    break
                ready = wait_any([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for worker in busy:
                    if worker.conn not in ready and worker.process.sentinel not in ready:
                        continue
                    cell, worker.cell = worker.cell, None
                    worker.cells_run += 1
                    try:
                        _, value = worker.conn.recv()
                    except (EOFError, OSError):
                        # The process died mid-cell (killed, out of memory, a crash in C).
                        worker.process.join(timeout=5)
                        code = worker.process.exitcode
                        value = RuntimeError(f"worker process died (exit code {code})")
                        worker.cells_run = self.cells_per_worker  # replace it
                    yield cell, value
        finally:
            for worker in slots.values():
                _retire(worker)


def _retire(worker: _Worker) -> None:
    """Tell a worker to stop and wait for it; a worker that does not stop is killed."""
    try:
        worker.conn.send(None)
    except (OSError, ValueError):
        pass
    worker.process.join(timeout=30)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join()
    worker.conn.close()


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "local": LocalExecutor,
    "processes": ProcessExecutor,
}
