"""Where cells run. One small interface, so that a distributed executor can be
plugged in without touching the grid runner, the CSV, the gate or the report.

An executor runs a job on each cell and yields (cell, outcome): whatever the job
returned, or the exception that stood in its way (the job raised, its worker
died). It knows nothing of rows or files.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from sinelstm.experiment.config import ExperimentConfig, epoch_flops, runs_of
from sinelstm.runtime import become_worker, exit_with_parent, preload_backend

# What an executor runs one job on: a cell, or the cells of a batch (the seeds of one
# config trained together; sinelstm.experiment.batched).
Unit = ExperimentConfig | tuple[ExperimentConfig, ...]
# A job turns one unit into its result. Executors that run units in other processes
# need it picklable (a module-level function or a functools.partial of one).
Job = Callable[[Unit], object]
Outcome = tuple[Unit, object]  # (unit, the job's result or the exception)


def members(unit: Unit) -> tuple[ExperimentConfig, ...]:
    """The cells of a unit."""
    return unit if isinstance(unit, tuple) else (unit,)


class Executor(Protocol):
    def run(self, cells: Sequence[Unit], job: Job) -> Iterator[Outcome]:
        """Run job on every unit (a cell, or a batch: a tuple of cells; members() gives the
        cells of either) and yield (unit, outcome) as soon as each is done, in any order."""
        ...


class LocalExecutor:
    """Runs cells one after another in this process, with all its cores."""

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[Outcome]:
        for cell in cells:
            try:
                yield cell, job(cell)
            except Exception as error:  # noqa: BLE001 - handed to the driver as the cell's outcome.
                yield cell, error


def estimated_cost(unit: Unit) -> float:
    """A unit's relative cost: its runs' training arithmetic (by each kind's own formula,
    k steps for the remedy's rollouts), plus a fixed overhead per epoch step (what dominates
    small models), times their epochs (cells of several caps are one run, runs_of)."""
    return sum(
        epochs * cfg.train_rollout * (epoch_flops(cfg) + 2e7 * cfg.window * cfg.n_windows)
        for cfg, epochs in runs_of(members(unit)).items()
    )


def _pin_to_a_free_core(lock) -> None:
    """Pool initializer: pin this worker to the core its live siblings use least (under a
    lock shared by the pool, so that two workers starting at once do not pick the same
    core), then become a one-thread worker, before numpy or TensorFlow start any thread."""
    import psutil

    exit_with_parent()
    with lock:
        me = psutil.Process()
        cores = sorted(me.cpu_affinity()) if hasattr(me, "cpu_affinity") else []
        if len(cores) < 2:
            become_worker(None, load=False)
        else:
            used = dict.fromkeys(cores, 0)
            for sibling in psutil.Process(os.getppid()).children():
                try:
                    pinned = sibling.cpu_affinity() if sibling.pid != me.pid else []
                except psutil.Error:
                    continue  # it ended while we looked
                if len(pinned) == 1 and pinned[0] in used:
                    used[pinned[0]] += 1
            become_worker(min(cores, key=lambda core: (used[core], core)), load=False)
    preload_backend()  # the slow import, outside the lock: workers start side by side


# Units (a config's seeds, sinelstm.sweep.runner.batches) a worker runs before a fresh
# process replaces it. TensorFlow keeps memory of every model and compiled rollout even
# after clear_session; a fresh worker every few units keeps a grid's memory flat whatever
# its size (the perf bench's memory test), for one TensorFlow import each.
CELLS_PER_WORKER = 4


def time_limit(cfg: ExperimentConfig) -> float:
    """A generous default limit on one cell's seconds, from its cost: ten times what it
    would take at 2 GFLOP/s of training plus 20 microseconds per window step of every
    epoch (a tenth of a small machine's speed: docs/layout.md, design notes), plus
    30 s of start-up and forecast; never under 5 minutes."""
    per_epoch = epoch_flops(cfg) / 2e9 + 2e-5 * cfg.window * cfg.n_windows
    return max(300.0, 10 * (30 + cfg.epochs * cfg.train_rollout * per_epoch))


class ProcessExecutor:
    """Runs cells in parallel worker processes (a pebble process pool), each pinned to its
    own core with one compute thread, each replaced by a fresh process after
    `cells_per_worker` units (a unit: a config's seeds, or one cell). On this project's
    small matrices one core per cell does more work per second than two cores sharing one
    cell; see the README's performance section.

    A cell that runs past its time limit (`limit`: seconds, or a function of the cell;
    default `time_limit`) has its worker killed and becomes an error naming the limit; a
    worker that dies mid-cell (killed, out of memory, a crash in C) is an error too, and
    the pool replaces it. (Python 3.11's own pool hangs with max_tasks_per_child once a
    worker retires; pebble replaces workers and enforces per-task timeouts itself.)
    """

    def __init__(
        self,
        workers: int | None = None,
        cells_per_worker: int = CELLS_PER_WORKER,
        limit: float | Callable[[ExperimentConfig], float] | None = None,
    ):
        available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.workers = workers or len(available) or os.cpu_count() or 1
        self.cells_per_worker = cells_per_worker
        self.limit = limit or time_limit

    def seconds_allowed(self, unit: Unit) -> float:
        """A cell's limit; a batch's is the sum of its cells'."""
        return sum(float(self.limit(cell) if callable(self.limit) else self.limit) for cell in members(unit))

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[Outcome]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        from pebble import ProcessExpired, ProcessPool

        context = multiprocessing.get_context("spawn")
        pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=self.cells_per_worker,
            initializer=_pin_to_a_free_core,
            initargs=(context.Lock(),),
            context=context,
        )
        orphans = []  # cells whose pool broke under them: each is rerun alone, below
        try:
            # Longest first, so that no long cell starts last and runs alone at the end.
            futures = {
                pool.schedule(job, args=(cell,), timeout=self.seconds_allowed(cell)): cell
                for cell in sorted(cells, key=estimated_cost, reverse=True)
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    cell = futures[future]
                    try:
                        outcome = future.result()
                    except TimeoutError:
                        outcome = self._past_limit(cell)
                    except ProcessExpired as error:
                        outcome = RuntimeError(f"worker process died (exit code {error.exitcode})")
                    except BrokenProcessPool:
                        # pebble gives up the whole pool when a worker dies before its task is
                        # acknowledged; which cell killed it is then unknown.
                        orphans.append(cell)
                        continue
                    except Exception as error:  # noqa: BLE001 - the job raised: the cell's outcome.
                        outcome = error
                    yield cell, outcome
        finally:
            pool.stop()
            pool.join(timeout=30)
        for cell in orphans:
            yield cell, self._alone(cell, job, context)

    def _past_limit(self, unit: Unit) -> TimeoutError:
        return past_limit(unit, self.seconds_allowed(unit))

    def _alone(self, cell: ExperimentConfig, job: Job, context):
        """One cell in a process of its own: its outcome, its time limit, or its exit code."""
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(target=_run_alone, args=(job, cell, theirs), daemon=True)
        process.start()
        theirs.close()
        try:
            if ours.poll(self.seconds_allowed(cell)):
                _, value = ours.recv()  # the job's result, or the exception it raised
                return value
            process.kill()
            return self._past_limit(cell)
        except (EOFError, OSError):
            process.join(timeout=30)
            return RuntimeError(f"worker process died (exit code {process.exitcode})")
        finally:
            process.join(timeout=30)
            ours.close()


def past_limit(unit: Unit, seconds: float) -> TimeoutError:
    """The error of a unit killed at its time limit."""
    what = "cell" if len(members(unit)) == 1 else f"batch of {len(members(unit))} cells"
    return TimeoutError(f"{what} ran past its time limit of {seconds:.0f} s (--cell-timeout)")


def _run_alone(job: Job, cell: ExperimentConfig, conn) -> None:
    become_worker(None)
    try:
        conn.send((True, job(cell)))
    except Exception as error:  # noqa: BLE001 - sent back as the cell's outcome.
        conn.send((False, error))


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "local": LocalExecutor,
    "processes": ProcessExecutor,
}
