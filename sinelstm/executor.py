"""Where cells run. One small interface, so that a distributed executor can be
plugged in without touching the grid runner, the CSV, the gate or the report."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
Job = Callable[[ExperimentConfig], CellResult]


class Executor(Protocol):
    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
        """Run job on every cell and yield each result as soon as it is done, in any order."""
        ...


class LocalExecutor:
    """Runs cells one after another in this process (the default)."""

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[CellResult]:
        for cell in cells:
            yield job(cell)


EXECUTORS: dict[str, Callable[[], Executor]] = {"local": LocalExecutor}
