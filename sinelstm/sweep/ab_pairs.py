"""An A/B run: the same cells run by two revisions of the code, taking turns on the same cores.

Each side is a fresh copy of its code (sinelstm.workflow.ab_sides.sides) and its own worker
processes (abworker.py), which import that copy's sinelstm on this install's stack. One
stream per core; each stream's base and head workers are pinned to its core and run each
cell back to back, the order flipping every repeat (A B, then B A), so drift, clock
changes and neighbours fall on both sides alike. Each side is sent only the config
fields it knows, so a field new in the head does not leave every cell unpaired.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sinelstm import runtime
from sinelstm.experiment.config import ExperimentConfig
from sinelstm.runtime import worker_env
from sinelstm.sweep.executors import time_limit
from sinelstm.sweep.grid import cell_id, config_id

SOURCE = (Path(__file__).with_name("abworker.py")).read_text()
SIDES = ("base", "head")
# How far the workers lower their nice value, where the OS lets them: busy neighbours
# would spread the pairs (docs/layout.md, design notes).
NICE = runtime.NICE
# Timed rounds of each cell's compiled forecast (the grid's own: 5), where a side's code
# lets its worker set them: the forecast step's pairs then spread less.
FORECAST_ROUNDS = 25


class ABError(RuntimeError):
    """A side that cannot run the cells at all: one line, exit status 2."""


@dataclass(frozen=True)
class Side:
    name: str  # base or head
    tree: Path  # the source tree whose sinelstm this side imports
    label: str  # the commit, or "working tree"


@dataclass
class Outcome:
    """One side's run of one cell."""

    row: dict | None = None
    cell_s: float = math.nan
    error: str = ""


@dataclass
class Pair:
    cell: ExperimentConfig
    repeat: int
    core: int
    first: str  # the side that ran first
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # side -> its run

    @property
    def config(self) -> str:
        return config_id(self.cell)

    @property
    def name(self) -> str:
        return cell_id(self.cell)


def _die_with_parent() -> None:
    """In the worker, before it runs anything: the kernel kills it when the driver dies
    (Linux's parent-death signal), so no worker computes on for nobody."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Worker:
    """One side's worker process on one core."""

    def __init__(self, side: Side, core: int | None, env: dict[str, str], log: Path):
        self.side, self.core, self.env, self.log = side, core, env, log
        self.process: subprocess.Popen | None = None
        self.fields: list[str] = []
        self.nice = 0  # the nice value it runs at

    def start(self) -> None:
        self.launch()
        self.handshake()

    def launch(self) -> None:
        """Start the process; handshake() waits for it to say what it knows."""
        env = {**os.environ, **self.env, "PYTHONPATH": str(self.side.tree)}
        env["SINELSTM_AB_NICE"] = str(NICE)
        if self.core is not None:
            env["SINELSTM_AB_CORE"] = str(self.core)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SOURCE],
                cwd=self.side.tree,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def handshake(self) -> None:
        hello = self._receive(600.0)
        if "error" in hello:
            self.stop()
            raise ABError(f"the {self.side.name} ({self.side.label}) cannot run cells: {hello['error']}")
        package, own = Path(hello.get("package", "")), self.side.tree.resolve()
        if package != own / "sinelstm":
            self.stop()
            raise ABError(
                f"the {self.side.name} ({self.side.label}) imports {package}, not its own tree's sinelstm"
            )
        self.fields = hello["fields"]
        self.nice = int(hello.get("nice", 0))

    def run(self, cell: ExperimentConfig, run_id: str) -> Outcome:
        if self.process is None or self.process.poll() is not None:
            self.start()
        config = {k: v for k, v in dataclasses.asdict(cell).items() if k in self.fields}
        assert self.process is not None and self.process.stdin is not None
        try:
            request = {"config": config, "run_id": run_id, "forecast_rounds": FORECAST_ROUNDS}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self._receive(time_limit(cell))
        except (ABError, OSError) as error:
            self.stop()
            return Outcome(error=str(error))
        if "error" in answer:
            return Outcome(error=answer["error"])
        row = answer["row"]
        if row.get("status") != "ok":
            return Outcome(row=row, error=str(row.get("error") or "failed"))
        return Outcome(row=row, cell_s=float(answer["cell_s"]))

    def _receive(self, timeout: float) -> dict:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.stop()
            raise ABError(f"its worker gave no answer in {timeout:g} s and was stopped")
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise ABError(f"its worker died (exit code {code}); see {self.log}")
        return json.loads(line)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


def cores(streams: int | None) -> list[int | None]:
    """The cores the streams are pinned to: one stream per core this process may use,
    or the number asked for (unpinned where the OS cannot pin)."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    count = streams or max(1, len(available))
    if not available:
        return [None] * count
    return [available[i % len(available)] for i in range(count)]


def schedule(
    cells: list[ExperimentConfig],
    repeats: int,
    streams: int,
    first_repeat: int = 0,
    positions: dict[str, int] | None = None,
) -> list[list[tuple[int, ExperimentConfig, tuple[str, str]]]]:
    """(repeat, cell, order) jobs per stream: the grid's order repeated, dealt out in turn.
    A cell's order flips from one repeat to the next and between neighbouring cells (by its
    place in the whole grid, `positions`, where a later round runs some of them), so each
    cell runs base first as often as head first over an even number of repeats: whatever
    running second gains (warm shared caches, a settled clock) falls on both sides alike."""
    positions = positions or {}
    jobs = [
        (repeat, cell, SIDES if (repeat + positions.get(cell_id(cell), index)) % 2 == 0 else SIDES[::-1])
        for repeat in range(first_repeat, first_repeat + repeats)
        for index, cell in enumerate(cells)
    ]
    return [jobs[stream::streams] for stream in range(streams)]


def run_ab(
    base: Side,
    head: Side,
    cells: list[ExperimentConfig],
    *,
    repeats: int,
    streams: int | None,
    logs: Path,
    run_id: str,
    env: dict[str, str] | None = None,
    threads: int = 1,
    first_repeat: int = 0,
    positions: dict[str, int] | None = None,
    on_pair: Callable[[Pair], None] | None = None,
) -> tuple[list[Pair], dict[str, list[str]]]:
    """Run every cell `repeats` times on both sides, interleaved (the repeats numbered from
    first_repeat: a further round of a run continues its numbering); returns the pairs in the
    order they finished, and the config fields each side knows. The workers start before
    any cell (a side that cannot run cells is refused at once) and are stopped on the way
    out, also on an error or Ctrl-C. Workers of more than one thread are not pinned."""
    env = {**worker_env(), **(env or {})}
    pinned = cores(streams) if threads == 1 else [None] * (streams or 1)
    plan = schedule(cells, repeats, len(pinned), first_repeat, positions)
    logs.mkdir(parents=True, exist_ok=True)
    workers = [
        {side.name: Worker(side, core, env, logs / f"{side.name}-{stream}.log") for side in (base, head)}
        for stream, core in enumerate(pinned)
    ]
    pairs: list[Pair] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def stream(number: int) -> None:
        sides = workers[number]
        try:
            for repeat, cell, order in plan[number]:
                pair = Pair(cell, repeat, pinned[number] if pinned[number] is not None else number, order[0])
                for side in order:
                    pair.outcomes[side] = sides[side].run(cell, run_id)
                with lock:
                    pairs.append(pair)
                    if on_pair is not None:
                        on_pair(pair)
        except BaseException as error:  # noqa: BLE001 - raised again in the driver's thread
            errors.append(error)

    try:
        # Every worker starts (its imports side by side) and says hello before any cell runs.
        everyone = [worker for sides in workers for worker in sides.values()]
        for worker in everyone:
            worker.launch()
        for worker in everyone:
            worker.handshake()
        threads = [threading.Thread(target=stream, args=(n,), daemon=True) for n in range(len(workers))]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.2)
    finally:
        for sides in workers:
            for worker in sides.values():
                worker.stop()
    if errors:
        raise errors[0]
    known = {name: workers[0][name].fields for name in SIDES}
    known["nice"] = [str(worker.nice) for sides in workers for worker in sides.values()]
    return pairs, known
