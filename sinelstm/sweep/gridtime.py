"""A grid's wall time against its arithmetic floor.

The bench keeps the whole grid's wall time beside its results (RUN.grid.json: wall_s,
workers, cells, commit, utc), so that a later report can set it against the floor: the sum
over ok cells of epochs_run x train_rollout x epoch_flops(cell) / (the cell's floor_gflops
x 1e9), divided by the workers. Each kind has its own epoch formula; classical cells count
0 in the floor but are in the wall time. The record is JSON, checked field by field when
read. Details: docs/layout.md, design notes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from sinelstm.experiment.config import epoch_flops, run_of
from sinelstm.sweep.rows import config_of

FIELDS = {"wall_s": (int, float), "workers": (int,), "cells": (int,), "commit": (str,), "utc": (str,)}


class GridRecordError(ValueError):
    """A grid record that is not one: unreadable JSON, or a field missing or of the wrong type."""


@dataclass(frozen=True)
class GridRecord:
    wall_s: float  # seconds from the grid's first cell handed out to its last row written
    workers: int  # cores (worker processes) the cells ran on at once
    cells: int  # cells run
    commit: str  # git commit of the run ("" outside a checkout)
    utc: str  # when the grid finished, ISO 8601
    grid: str = ""  # the grid it ran ("quick", "default+custom"); "" in records written before it
    parts: int = 1  # runs that made it (a grid killed and resumed: wall_s sums them)


@dataclass(frozen=True)
class GridFloor:
    floor_s: float  # the grid's arithmetic floor on `workers` cores, seconds
    flop: float  # the training FLOPs of its ok cells
    workers: int
    counted: int  # ok cells with FLOPs and a floor rate
    no_flops: int  # ok cells without FLOPs (classical fits, a user's factory): 0 in the floor
    no_rate: int  # ok cells with FLOPs but no floor rate measured: left out of the floor


def record_path(results: Path) -> Path:
    """results/latest.csv -> results/latest.grid.json."""
    return Path(results).with_suffix(".grid.json")


def write_record(results: Path, record: GridRecord) -> Path:
    path = record_path(results)
    path.write_text(json.dumps(asdict(record), indent=2) + "\n")
    return path


def read_record(results: Path) -> GridRecord | None:
    """The grid record beside a results CSV; None where there is none; GridRecordError
    where it is not a valid record."""
    path = record_path(results)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GridRecordError(f"{path}: not readable JSON: {error}") from None
    if not isinstance(data, dict):
        raise GridRecordError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for name, types in FIELDS.items():
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, types):
            raise GridRecordError(
                f"{path}: {name} must be {' or '.join(t.__name__ for t in types)}, got {value!r}"
            )
    if (
        not (math.isfinite(data["wall_s"]) and data["wall_s"] >= 0)
        or data["workers"] < 1
        or data["cells"] < 0
    ):
        raise GridRecordError(f"{path}: expected wall_s >= 0, workers >= 1, cells >= 0; got {data}")
    grid, parts = data.get("grid", ""), data.get("parts", 1)
    if not isinstance(grid, str):
        raise GridRecordError(f"{path}: grid must be str, got {grid!r}")
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise GridRecordError(f"{path}: parts must be an int >= 1, got {parts!r}")
    return GridRecord(**{name: data[name] for name in FIELDS}, grid=grid, parts=parts)


def cell_flop(row) -> float:
    """A result row's training FLOPs: epochs_run x train_rollout x its kind's epoch FLOPs."""
    cfg = config_of(row)
    return float(row["epochs_run"]) * cfg.train_rollout * epoch_flops(cfg)


def _run_of(row):
    """The training run a row came from: cells of several marks of one seed are one run
    (sinelstm.experiment.train.Checkpoint), counted once, at its largest cap."""
    return run_of(config_of(row))


def grid_floor(frame, workers: int) -> GridFloor:
    """The arithmetic floor of a results frame's ok cells run on `workers` cores."""
    if workers < 1:
        raise ValueError(f"workers: got {workers}; expected at least 1")
    seconds = flop = 0.0
    counted = no_flops = no_rate = 0
    ok = frame[frame["status"] == "ok"]
    runs: dict = {}
    for _, row in ok.iterrows():  # each run once: its row of the most epochs
        key = _run_of(row)
        if key not in runs or float(row["epochs_run"]) > float(runs[key]["epochs_run"]):
            runs[key] = row
    for row in runs.values():
        cell = cell_flop(row)
        rate = float(row["floor_gflops"])
        if cell == 0:
            no_flops += 1
        elif not (math.isfinite(rate) and rate > 0):
            no_rate += 1
        else:
            seconds, flop, counted = seconds + cell / (rate * 1e9), flop + cell, counted + 1
    return GridFloor(seconds / workers, flop, workers, counted, no_flops, no_rate)


def _seconds(value: float) -> str:
    """259 s, 61.4 s, 0.7 s: three figures, never an exponent."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def floor_sentence(floor: GridFloor, wall_s: float | None) -> str:
    """One line: the grid's floor, its FLOPs and cores, and its wall time over the floor."""
    cores = f"{floor.workers} core{'s' if floor.workers != 1 else ''}"
    text = (
        f"grid floor {_seconds(floor.floor_s)} s ({floor.flop / 1e12:.3g} TFLOP on {cores} "
        "at each cell's best product rate)"
    )
    if wall_s is None:
        text += ", wall time unknown"
    elif floor.floor_s > 0:
        text += f", wall {_seconds(wall_s)} s: {wall_s / floor.floor_s:.1f}x its floor"
    else:
        text += f", wall {_seconds(wall_s)} s"
    notes = []
    if floor.no_flops:
        notes.append(
            f"{floor.no_flops} cells without FLOPs (classical) count 0 in the floor; "
            "their time is in the wall"
        )
    if floor.no_rate:
        notes.append(f"{floor.no_rate} cells without a floor rate are left out")
    return text + (f" ({'; '.join(notes)})" if notes else "")
