"""A grid's arithmetic floor and its wall-time record, worked out by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import row

from sinelstm.sweep.gridtime import (
    GridRecord,
    GridRecordError,
    floor_sentence,
    grid_floor,
    read_record,
    record_path,
    write_record,
)

# One LSTM epoch at window 25, hidden 8, length 201: 176 windows, 158 of them trained on;
# 3 x 158 x 25 x 2 x (8 + 2) x 4 x 8 = 7,584,000 FLOPs.
EPOCH_FLOP = 7_584_000


def frame():
    return pd.DataFrame(
        [
            # 50 epochs: 3.792e8 FLOPs at 3.792 GFLOP/s -> 0.1 s.
            row(seed=0, epochs_run=50, floor_gflops=3.792),
            # 100 epochs: 7.584e8 FLOPs at 7.584 GFLOP/s -> 0.1 s.
            row(seed=1, epochs_run=100, floor_gflops=7.584),
            # Trained on 2-step rollouts: 2 x 50 epochs = 7.584e8 FLOPs at 3.792 -> 0.2 s.
            row(seed=2, train_rollout=2, epochs_run=50, floor_gflops=3.792),
            # A classical fit: no FLOPs, 0 in the floor.
            row(seed=3, model="ar", epochs_run=1, floor_gflops=float("nan")),
            # A failed cell: not counted at all.
            {**row(seed=4, epochs_run=50, floor_gflops=1.0), "status": "failed"},
        ]
    )


def test_grid_floor_by_hand():
    # 0.1 + 0.1 + 0.2 = 0.4 s of products on one core; on 2 cores 0.2 s.
    floor = grid_floor(frame(), workers=2)
    assert floor.floor_s == pytest.approx(0.2)
    assert floor.flop == pytest.approx(50 * EPOCH_FLOP + 100 * EPOCH_FLOP + 2 * 50 * EPOCH_FLOP)
    assert (floor.counted, floor.no_flops, floor.no_rate) == (3, 1, 0)
    assert grid_floor(frame(), workers=1).floor_s == pytest.approx(0.4)


def test_the_floor_sentence():
    # 1.896e9 FLOPs = 0.001896 TFLOP; wall 1.0 s over a 0.2 s floor = 5.0x.
    text = floor_sentence(grid_floor(frame(), workers=2), 1.0)
    assert text.startswith("grid floor 0.2 s (0.0019 TFLOP on 2 cores at each cell's best product rate), ")
    assert ", wall 1 s: 5.0x its floor (" in text
    assert "1 cells without FLOPs (classical) count 0 in the floor; their time is in the wall" in text
    assert "wall time unknown" in floor_sentence(grid_floor(frame(), workers=2), None)


def test_a_cell_without_a_floor_rate_is_left_out():
    lost = pd.DataFrame(
        [row(epochs_run=50, floor_gflops=float("nan")), row(seed=1, epochs_run=50, floor_gflops=3.792)]
    )
    floor = grid_floor(lost, workers=1)
    assert floor.floor_s == pytest.approx(0.1) and floor.no_rate == 1


def test_the_record_round_trips_as_json(tmp_path):
    results = tmp_path / "latest.csv"
    record = GridRecord(wall_s=259.5, workers=2, cells=12, commit="abc", utc="2026-11-28T22:00:00+00:00")
    assert write_record(results, record) == tmp_path / "latest.grid.json"
    assert read_record(results) == record
    assert json.loads(record_path(results).read_text())["wall_s"] == 259.5
    assert read_record(tmp_path / "other.csv") is None


@pytest.mark.parametrize(
    "text, why",
    [
        ("{not json", "not readable JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"wall_s": "259", "workers": 2, "cells": 1, "commit": "", "utc": ""}', "wall_s must be"),
        ('{"wall_s": 259, "workers": true, "cells": 1, "commit": "", "utc": ""}', "workers must be"),
        ('{"wall_s": 259, "workers": 0, "cells": 1, "commit": "", "utc": ""}', "workers >= 1"),
        ('{"wall_s": 259, "workers": 2, "cells": 1, "utc": ""}', "commit must be"),
    ],
)
def test_a_bad_record_is_refused(tmp_path, text, why):
    (tmp_path / "latest.grid.json").write_text(text)
    with pytest.raises(GridRecordError, match=why):
        read_record(tmp_path / "latest.csv")


def test_the_cores_a_grid_runs_on():
    from types import SimpleNamespace

    from sinelstm.workflow.grid_wall import executor_workers

    # A process pool of 16 workers runs 4 cells on 4 cores, 40 cells on 16.
    assert executor_workers(SimpleNamespace(workers=16), 4) == 4
    assert executor_workers(SimpleNamespace(workers=16), 40) == 16
    assert executor_workers(object(), 40) == 1  # the local executor: one cell at a time
    assert executor_workers(SimpleNamespace(workers=None, address="auto"), 40) is None  # a cluster


def _wall(results, wall_s, workers=1, grid="", before=None):
    """A GridWall that reads wall_s seconds (after `before`, a record of earlier parts)."""
    from sinelstm.workflow import grid_wall

    wall = grid_wall.GridWall.__new__(grid_wall.GridWall)
    wall.results, wall.grid, wall.workers = results, grid, workers
    wall._clock, wall.start = (lambda: wall_s), 0.0
    earlier = (before.wall_s, before.parts + 1, before.cells) if before else (0.0, 1, 0)
    wall.before, wall.parts, wall.rows = earlier
    return wall


def test_a_bench_records_its_grid_and_prints_its_floor(tmp_path, monkeypatch):
    from helpers import write

    from sinelstm.perf import peak
    from sinelstm.workflow import grid_wall

    results = write(tmp_path, "latest.csv", frame().to_dict("records")[:2])

    def record_grid(results, wall_s, workers, cells, grid="", parts=1):  # as the bench's, without git
        record = GridRecord(wall_s, workers, cells, commit="c", utc="u", grid=grid, parts=parts)
        write_record(results, record)
        return record

    monkeypatch.setattr(grid_wall, "record_grid", record_grid)
    monkeypatch.setattr(peak, "core_peak", lambda: peak.Peak(10.0, "made up"))
    lines = []
    grid_wall.report_grid(results, _wall(results, 0.4), 2, lines.append)
    # 0.1 s + 0.1 s on one core; rates 3.792 and 7.584: median 5.688, 57% of a 10 GFLOP/s peak.
    assert lines == [
        "grid floor 0.2 s (0.00114 TFLOP on 1 core at each cell's best product rate), wall 0.4 s: 2.0x its "
        "floor; cells' best product rate median 6 GFLOP/s against one core's FP32 FMA peak 10 GFLOP/s "
        "(made up) (57% of it)"
    ]
    assert read_record(results).wall_s == 0.4
    # A run killed after 0.4 s and resumed for 0.3 s: its record sums the two parts.
    lines.clear()
    grid_wall.report_grid(results, _wall(results, 0.3, before=read_record(results)), 2, lines.append)
    assert "2 parts" in lines[0]
    assert read_record(results).wall_s == pytest.approx(0.7) and read_record(results).parts == 2


def test_a_resumed_grid_starts_from_its_records_wall_time_only_at_the_same_grid_and_commit(tmp_path):
    from sinelstm.sweep.provenance import git_commit
    from sinelstm.workflow.grid_wall import GridWall

    results = tmp_path / "latest.csv"
    write_record(results, GridRecord(100.0, 2, 40, commit=git_commit(), utc="u", grid="science", parts=1))
    assert GridWall(results, "science", 2, resume=True).before == 100.0
    assert GridWall(results, "science", 2, resume=True).parts == 2
    assert GridWall(results, "quick", 2, resume=True).before == 0.0  # another grid's record
    assert GridWall(results, "science", 2, resume=False).before == 0.0  # a fresh run
    write_record(results, GridRecord(100.0, 2, 40, commit="another", utc="u", grid="science"))
    assert GridWall(results, "science", 2, resume=True).before == 0.0  # another commit's
    wall = GridWall(results, "science", 2, resume=False)
    wall.tick()
    assert read_record(results).cells == 1  # kept after every row
