"""Cells on a Ray cluster: one Ray task of one CPU per cell."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.runtime import worker_env
from sinelstm.sweep.executors import Job, Outcome, Unit, estimated_cost, members, past_limit, time_limit


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


def _ray_task(job: Job, cell: ExperimentConfig):
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

    Only as many tasks as the cluster has CPUs are in flight at once, so each starts
    when it is handed over and its time limit (`limit`, as for the process executor)
    runs from then; a task past it is cancelled (its worker killed) and becomes an
    error naming the limit.
    """

    def __init__(
        self,
        address: str | None = None,
        retries: int = 2,
        workers: int | None = None,
        limit: float | Callable[[ExperimentConfig], float] | None = None,
    ):
        self.address = address
        self.retries = retries
        self.workers = workers
        self.limit = limit or time_limit
        _ray()  # fail now, in one line, if Ray is missing

    def seconds_allowed(self, unit: Unit) -> float:
        """A cell's limit; a batch's is the sum of its cells'."""
        return sum(float(self.limit(cell) if callable(self.limit) else self.limit) for cell in members(unit))

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[Outcome]:
        ray = _ray()
        env = worker_env()
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
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # Longest first, as locally: no long cell should start last.
        todo = deque(sorted(cells, key=estimated_cost, reverse=True))
        pending: dict = {}  # ref -> (cell, deadline)
        try:
            while todo or pending:
                while todo and len(pending) < slots:
                    cell = todo.popleft()
                    pending[task.remote(job, cell)] = (cell, time.monotonic() + self.seconds_allowed(cell))
                first_deadline = min(deadline for _, deadline in pending.values())
                done, _ = ray.wait(
                    list(pending), num_returns=1, timeout=max(0.0, first_deadline - time.monotonic())
                )
                for ref in done:
                    cell, _ = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as error:  # noqa: BLE001 - a lost task is a failed cell.
                        outcome = error
                    yield cell, outcome
                now = time.monotonic()
                for ref in [ref for ref, (_, deadline) in pending.items() if deadline <= now]:
                    cell, _ = pending.pop(ref)
                    ray.cancel(ref, force=True)
                    yield cell, past_limit(cell, self.seconds_allowed(cell))
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()
