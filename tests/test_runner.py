"""The grid runner: rows appended as cells finish, resume, the lock, crashed cells."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sinelstm.sweep.axis_values import parse_ints
from sinelstm.sweep.grid import GRIDS, cell_id, make_grid
from sinelstm.sweep.rows import cell_key
from sinelstm.sweep.runner import run_grid
from sinelstm.sweep.store import ResultsError, ResultsLock

ROOT = Path(__file__).resolve().parent.parent


def test_named_grids_have_the_required_axes():
    default = GRIDS["default"]
    assert default.values("window") == (25, 50) and default.values("length") == (201, 601)
    assert 300 in default.values("hidden") and len(default.values("hidden")) >= 3
    assert len(default.values("seed")) >= 3
    assert len(GRIDS["full"].values("seed")) >= 5
    assert cell_id(default.cells()[0]) == "window25-length201-hidden16-seed0"


def test_axes_parse():
    assert parse_ints("seeds", "0-2,7") == (0, 1, 2, 7)
    assert parse_ints("windows", "25, 50,25") == (25, 50)
    grid = make_grid("quick", hidden="4,8", seed="3")
    assert grid.name == "quick+custom" and {c.hidden for c in grid.cells()} == {4, 8}


@pytest.mark.parametrize(
    "text, words",
    [("5-2", "runs backwards; write 2-5"), ("5-2,7", "runs backwards"), ("", "not an integer"),
     ("1,,2", "not an integer"), ("1-", "not an integer")],
)  # fmt: skip
def test_a_reversed_or_empty_range_is_refused_never_dropped(text, words):
    from sinelstm.experiment.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        parse_ints("--seed", text)
    assert words in refused.value.accepts


@pytest.mark.slow
def test_rows_resume_and_crashes(tiny, tmp_path, monkeypatch):
    out = tmp_path / "grid.csv"
    cells = [tiny.replace(seed=s) for s in (0, 1)]
    run_grid(cells, out)
    first = pd.read_csv(out)
    assert list(first["seed"]) == [0, 1] and set(first["status"]) == {"ok"}

    # Resume: the two finished cells are skipped, only the new one runs.
    run_grid(cells + [tiny.replace(seed=2)], out, resume=True)
    resumed = pd.read_csv(out)
    assert list(resumed["seed"]) == [0, 1, 2]
    assert resumed["run_id"].nunique() == 2

    # A cell that raises becomes a failed row; the others complete.
    import sinelstm.experiment.run as experiment

    real = experiment.build_model

    def flaky(cfg):
        if cfg.seed == 4:
            raise RuntimeError("boom in cell")
        return real(cfg)

    monkeypatch.setattr(experiment, "build_model", flaky)
    run_grid([tiny.replace(seed=s) for s in (3, 4, 5)], out)
    rows = pd.read_csv(out)
    assert list(rows["status"]) == ["ok", "failed", "ok"]
    assert "boom in cell" in rows.loc[1, "error"]
    assert (
        len(list(tmp_path.glob("grid.prev-*.csv"))) == 2
    )  # the earlier run and its curves kept, not mixed in


def test_a_second_writer_is_refused(tmp_path, tiny):
    out = tmp_path / "grid.csv"
    with ResultsLock(out):
        with pytest.raises(ResultsError, match="being written by another sinelstm run"):
            run_grid([tiny], out)


@pytest.mark.slow
def test_weakened_training_fails_the_gate_against_the_quick_baseline(tmp_path):
    """End to end: the quick grid's first config (two seeds) trained for 2 epochs must fail
    against the committed quick baseline: by its changed config, named by field, and at the
    reproduction tier by its metrics."""
    out = tmp_path / "weak.csv"
    done = subprocess.run(
        [sys.executable, "-m", "sinelstm", "bench", "--grid", "quick", "--window", "25", "--length", "201",
         "--epochs", "2",
         "--out", str(out), "--baseline", str(ROOT / "results" / "baseline-quick.csv"),
         "--gate-config", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "gate failed" in done.stdout
    # Another experiment than the baseline's: named by field, and its metrics differ too.
    assert "config differs from the baseline's: epochs 100 -> 2" in done.stdout
    assert "reproduction tier" in done.stdout


@pytest.mark.slow
def test_a_failing_gate_fails_the_pytest_bench_session(tmp_path):
    """pytest bench: one selected cell, trained for 2 epochs, must fail the session through the gate.
    Its pytest is a session of its own, not an xdist worker of this one (child_environment)."""
    from helpers import child_environment

    out = tmp_path / "weak.csv"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "bench"), "--benchmark-only", "-q",
         "-p", "no:cacheprovider", "--grid", "quick", "--epochs", "2",
         "-k", "window25-length201-hidden64-seed0", "--results", str(out),
         "--baseline", str(ROOT / "results" / "baseline-quick.csv"),
         "--gate-config", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, cwd=tmp_path, env=child_environment(),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout  # the cell's test passes; the gate fails the session
    assert "gate restricted to the 1 selected cells" in done.stdout
    assert (
        "window25-length201-hidden64-seed0: config differs from the baseline's: epochs 100 -> 2"
        in done.stdout
    )
    assert len(pd.read_csv(out)) == 1


@pytest.mark.slow
def test_process_executor_matches_local_and_records_dead_workers(tiny, tmp_path):
    from helpers import job_failing_on_seed_one

    from sinelstm.sweep.executors import ProcessExecutor

    cells = [tiny.replace(seed=s) for s in (0, 1)]
    run_grid(cells, tmp_path / "local.csv")
    run_grid(cells, tmp_path / "workers.csv", executor=ProcessExecutor(workers=2))
    local = pd.read_csv(tmp_path / "local.csv").sort_values("seed")
    workers = pd.read_csv(tmp_path / "workers.csv").sort_values("seed")
    assert list(workers["threads"]) == [1, 1]  # each worker pinned to one core
    for column in ("epochs_run", "fit_rmse_clean", "forecast_rmse", "amp_first"):
        np.testing.assert_allclose(workers[column], local[column], rtol=1e-5, err_msg=column)
    series = pd.read_csv(tmp_path / "workers.series.csv")
    assert set(series["cell_key"]) == {cell_key(cell) for cell in cells}

    outcomes = dict(
        (cell.seed, outcome)
        for cell, outcome in ProcessExecutor(workers=2).run(cells, job_failing_on_seed_one)
    )
    assert outcomes[0].row["status"] == "ok"
    assert isinstance(outcomes[1], RuntimeError) and "worker died on seed 1" in str(outcomes[1])


@pytest.mark.slow
def test_workers_are_replaced_and_each_keeps_one_core(tiny):
    from helpers import job_reporting_worker

    from sinelstm.sweep.executors import ProcessExecutor

    cells = [tiny.replace(seed=s) for s in range(4)]
    results = [
        r.row for _, r in ProcessExecutor(workers=2, cells_per_worker=1).run(cells, job_reporting_worker)
    ]
    assert sorted(r["seed"] for r in results) == [0, 1, 2, 3]
    assert len({r["pid"] for r in results}) == 4  # a fresh process for every cell
    assert all(len(r["cores"]) == 1 for r in results)  # each pinned to one core


@pytest.mark.slow
def test_a_worker_that_dies_mid_cell_is_a_failed_cell_and_is_replaced(tiny):
    from helpers import job_exiting_on_seed_one

    from sinelstm.sweep.executors import ProcessExecutor

    cells = [tiny.replace(seed=s) for s in range(4)]
    outcomes = {
        cell.seed: outcome for cell, outcome in ProcessExecutor(workers=2).run(cells, job_exiting_on_seed_one)
    }
    assert sorted(outcomes) == [0, 1, 2, 3]
    assert "worker process died (exit code 3)" in str(outcomes[1])
    assert all(outcomes[s].row["status"] == "ok" for s in (0, 2, 3))


def test_a_grid_of_several_parts_takes_flags_in_every_part_and_never_names_two_cells_alike(monkeypatch):
    from sinelstm.experiment.config import ConfigError, ExperimentConfig
    from sinelstm.sweep import grid as grids
    from sinelstm.sweep.grid import cell_id, make_grid

    science = make_grid("science")
    assert len({cell_id(cell) for cell in science.cells()}) == len(science.cells())
    # A base field given is laid over every part, the article's value included.
    loop = make_grid("science", fields={"trainer": "loop"}, seed="0")
    assert {cell.trainer for cell in loop.cells()} == {"loop"}
    assert {cell.seed for cell in loop.cells()} == {0} and loop.name == "science+custom"
    # Two parts that differ in a field no name shows (the horizon): --window 75 over both
    # gives their cells one name, refused, naming that field.
    two = grids.grid("two", parts=(
        grids.grid("a", ExperimentConfig(horizon=400), window=(25,), seed=(0,)),
        grids.grid("b", ExperimentConfig(horizon=1200), window=(50,), seed=(0,))))  # fmt: skip
    monkeypatch.setitem(grids.GRIDS, "two", two)
    make_grid("two")
    with pytest.raises(ConfigError, match="differ in horizon"):
        make_grid("two", window="75")


def test_the_paths_grid_trains_its_batched_members_as_one_unit():
    """CI's paths grid must reach the batched trainer's member axis: its two batched seeds
    go to a worker as one unit (a unit of one is the loop trainer), and the budget paths:
    two seeds' early stopping and two caps as one batched run, and one seed's two caps as
    one loop run."""
    from sinelstm.sweep.runner import batches

    units = batches(GRIDS["paths"].cells(), workers=2)
    assert [len(unit) for unit in units if unit[0].trainer == "batched"] == [6]
    budgets = [unit for unit in units if len({cell.epochs for cell in unit}) > 1]
    assert [(len(unit), len({cell.seed for cell in unit})) for unit in budgets] == [(6, 2), (2, 1)]
