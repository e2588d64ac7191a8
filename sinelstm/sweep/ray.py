"""Cells on a Ray cluster: one Ray task of one CPU per cell."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.runtime import worker_env
from sinelstm.sweep.executors import Job, Outcome, estimated_cost


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
    """

    def __init__(self, address: str | None = None, retries: int = 2, workers: int | None = None):
        self.address = address
        self.retries = retries
        self.workers = workers
        _ray()  # fail now, in one line, if Ray is missing

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
                        outcome = ray.get(ref)
                    except Exception as error:  # noqa: BLE001 - a lost task is a failed cell.
                        outcome = error
                    yield cell, outcome
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()
