"""Where cells run. One small interface, so that a distributed executor can be
plugged in without touching the grid runner, the CSV, the gate or the report."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sinelstm.config import ExperimentConfig

if TYPE_CHECKING:
    import numpy as np


def _empty():
    import numpy  # here, not at the top: a worker pins itself before numpy starts its threads

    return numpy.empty(0)


@dataclass
class CellResult:
    """What one cell sends back to the driver: plain data, nothing live."""

    row: dict  # the result row
    fit_predictions: np.ndarray = field(default_factory=_empty)  # in-sample
    forecast: np.ndarray = field(default_factory=_empty)  # the horizon


# A job turns one cell into its result; it never raises (a crash is a result too).
# Executors that run cells in other processes need it picklable (a module-level
# function or a functools.partial of one).
Job = Callable[[ExperimentConfig], CellResult]


class Executor(Protocol):
    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
        """Run job on every cell and yield each result as soon as it is done, in any order."""
        ...


class LocalExecutor:
    """Runs cells one after another in this process, with all its cores (the default)."""

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
        for cell in cells:
            yield job(cell)


# Environment of a single-threaded worker, set before TensorFlow or JAX is imported.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def estimated_cost(cfg: ExperimentConfig) -> float:
    """A cell's relative cost: its training arithmetic, plus a fixed overhead per epoch
    step (what dominates small models)."""
    from sinelstm.perf import epoch_flops

    return epoch_flops(cfg) + 2e7 * cfg.window * cfg.n_windows


def _worker(core: int, conn) -> None:
    """A worker process: pin to one core and one compute thread before anything imports
    TensorFlow, receive the job, then run cells one at a time until told to stop."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    os.environ.update(SINGLE_THREAD_ENV)
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

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
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
                        ok, value = worker.conn.recv()
                    except (EOFError, OSError):
                        # The process died mid-cell (killed, out of memory, a crash in C).
                        worker.process.join(timeout=5)
                        code = worker.process.exitcode
                        ok, value = False, RuntimeError(f"worker process died (exit code {code})")
                        worker.cells_run = self.cells_per_worker  # replace it
                    yield value if ok else _failed(cell, job, value)
        finally:
            for worker in slots.values():
                _retire(worker)


def _failed(cell: ExperimentConfig, job: Job, error: BaseException) -> CellResult:
    """The result of a cell whose job raised or whose worker was lost: a failed row."""
    from sinelstm.runner import failed_row

    return CellResult(failed_row(cell, getattr(job, "keywords", {}).get("run_id", ""), error))


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


class RayUnavailable(RuntimeError):
    """Ray is not installed (or not importable) where --executor ray was asked for."""


def _ray():
    try:
        import ray
    except ImportError as error:
        raise RayUnavailable(
            f"--executor ray needs Ray ({error.name or 'ray'} is not installed); "
            "install it with pip install -e '.[ray]'"
        ) from None
    return ray


def _ray_task(job: Job, cell: ExperimentConfig) -> CellResult:
    """One cell inside a Ray worker: the job sets the cell's seed; the worker's environment
    (set through the runtime env) fixes its thread count before TensorFlow is imported."""
    return job(cell)


class RayExecutor:
    """Hands each cell to a Ray cluster as one task of one CPU.

    With no address a local Ray instance is started for the run (and stopped after);
    with one (HOST:PORT, or "auto") the cells go to that existing cluster, whose
    nodes must have sinelstm and its dependencies installed. Each worker runs with
    one compute thread and the driver's Keras backend. A task whose worker or node
    dies is retried up to `retries` times; after that, or when the task itself
    fails, the cell becomes a failed row: nothing is dropped. Results come back as
    plain data and only the driver writes the CSV.
    """

    def __init__(self, address: str | None = None, retries: int = 2, workers: int | None = None):
        self.address = address
        self.retries = retries
        self.workers = workers
        _ray()  # fail now, in one line, if Ray is missing

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
        ray = _ray()
        env = dict(SINGLE_THREAD_ENV)
        env["KERAS_BACKEND"] = os.environ.get("KERAS_BACKEND", "tensorflow")
        for name in (
            "JAX_COMPILATION_CACHE_DIR",
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
        ):
            if name in os.environ:
                env[name] = os.environ[name]
        started_here = not ray.is_initialized()
        if started_here:
            options = {"address": self.address} if self.address else {"num_cpus": self.workers}
            ray.init(
                **options,
                runtime_env={"env_vars": env},
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
        task = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=False)(_ray_task)
        pending: dict = {}
        try:
            # Longest first, as locally: no long cell should start last.
            for cell in sorted(cells, key=estimated_cost, reverse=True):
                pending[task.remote(job, cell)] = cell
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    cell = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as error:  # noqa: BLE001 - a lost task is a failed cell.
                        yield _failed(cell, job, error)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "local": LocalExecutor,
    "processes": ProcessExecutor,
    "ray": RayExecutor,
}
