"""Where cells run. One small interface, so that a distributed executor can be
plugged in without touching the grid runner, the CSV, the gate or the report."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sinelstm.config import ExperimentConfig


@dataclass
class CellResult:
    """What one cell sends back to the driver: plain data, nothing live."""

    row: dict  # the result row
    fit_predictions: np.ndarray = field(default_factory=lambda: np.empty(0))  # in-sample
    forecast: np.ndarray = field(default_factory=lambda: np.empty(0))  # the horizon


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


def _pin_worker(cores, owners, lock) -> None:
    """Worker start-up: take a core no live worker holds, and one compute thread.

    owners[i] is the pid of the worker pinned to cores[i] (0: none). A worker that
    was recycled has exited before its replacement starts, so its core is free."""
    with lock:
        free = [i for i, pid in enumerate(owners) if pid == 0 or not _alive(pid)]
        slot = free[0] if free else os.getpid() % len(cores)
        owners[slot] = os.getpid()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cores[slot]})
    os.environ.update(SINGLE_THREAD_ENV)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Cells a worker runs before it is replaced by a fresh process. TensorFlow keeps
# about 10-15 MB of every model it trained (its function graphs) even after
# clear_session; a fresh worker every few cells keeps a grid's memory flat
# whatever its size, for the cost of one TensorFlow import (~3 s) per recycle.
CELLS_PER_WORKER = 4


class ProcessExecutor:
    """Runs cells in parallel worker processes, each pinned to its own core with one
    compute thread, each replaced after CELLS_PER_WORKER cells. On this project's
    small matrices one core per cell does more work per second than two cores
    sharing one cell; see the README's performance section for the measurement."""

    def __init__(self, workers: int | None = None, cells_per_worker: int | None = CELLS_PER_WORKER):
        available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cores = available or list(range(os.cpu_count() or 1))
        self.workers = workers or len(self.cores)
        self.cells_per_worker = cells_per_worker

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
        from sinelstm.runner import failed_row

        context = multiprocessing.get_context("spawn")
        cores = [self.cores[index % len(self.cores)] for index in range(self.workers)]
        owners = context.Array("i", len(cores), lock=False)
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_pin_worker,
            initargs=(cores, owners, context.Lock()),
            max_tasks_per_child=self.cells_per_worker,
        )
        try:
            # Longest first, so that no long cell starts last and runs alone at the end.
            ordered = sorted(cells, key=estimated_cost, reverse=True)
            pending = {pool.submit(job, cell): cell for cell in ordered}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    cell = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as error:  # noqa: BLE001 - a dead worker is a failed cell.
                        run_id = getattr(job, "keywords", {}).get("run_id", "")
                        yield CellResult(failed_row(cell, run_id, error))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


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
        from sinelstm.runner import failed_row

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
                        run_id = getattr(job, "keywords", {}).get("run_id", "")
                        yield CellResult(failed_row(cell, run_id, error))
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
