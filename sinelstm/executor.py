"""Where cells run. One small interface, so that a distributed executor can be
plugged in without touching the grid runner, the CSV, the gate or the report."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from sinelstm.config import ExperimentConfig

# A job turns one cell into its result row; it never raises (a crash is a row too).
Job = Callable[[ExperimentConfig], dict]


class Executor(Protocol):
    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[dict]:
        """Run job on every cell and yield each row as soon as it is done, in any order."""
        ...


class LocalExecutor:
    """Runs cells one after another in this process (the default)."""

    def run(self, cells: Sequence[ExperimentConfig], job: Job) -> Iterator[dict]:
        for cell in cells:
            yield job(cell)


EXECUTORS: dict[str, Callable[[], Executor]] = {"local": LocalExecutor}
