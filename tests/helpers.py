"""Result rows and series made for the purpose, for the gate and report tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.experiment.data import clean_sine
from sinelstm.sweep.rows import config_of, ok_row
from sinelstm.sweep.store import append_rows, append_series, series_path

PROVENANCE = {
    "cpu": "cpu",
    "threads": 2,
    "python": "3.11",
    "numpy": "2",
    "tensorflow": "2.21",
    "keras": "3",
    "backend": "tensorflow",
    "git_commit": "abcdef1234567",
    "git_dirty": False,
}


def row(
    window=25,
    hidden=8,
    seed=0,
    length=201,
    machine="m1",
    model="lstm",
    train_rollout=1,
    config=None,
    **metrics,
):
    """A result row with plausible metrics; keyword arguments override them, and config
    sets other config fields (period, batch_size, horizon: they change the cell_key)."""
    cfg = ExperimentConfig(
        window=window,
        hidden=hidden,
        seed=seed,
        length=length,
        model=model,
        train_rollout=train_rollout,
        **(config or {}),
    )
    values = {
        "epochs_run": 50,
        "fit_rmse_clean": 0.02,
        "forecast_rmse": 0.2,
        "forecast_rmse_p1": 0.1,
        "amp_ratio": 0.9,
        "decay_per_period": 0.97,
        "phase_drift": -1.0,
        "diverged": False,
        "fit_s": 10.0,
        "s_per_epoch": 0.1,
        "epoch_floor_ratio": float("nan"),
        "forecast_s": 0.08,
        "forecast_warmup_s": 1.0,
        "forecast_ms_per_step": 0.2,
        "engine_speedup": float("nan"),
        "predict_ms_per_step": float("nan"),
    }
    values.update(metrics)
    return {**ok_row(cfg, "r", {}, {}), "machine": machine, **PROVENANCE, **values}


def grid_rows(changes=None, windows=(25, 50), seeds=(0, 1, 2)):
    """windows x seeds rows; changes: {(window, seed): {metric: value}}."""
    changes = changes or {}
    return [
        row(window=window, seed=seed, **changes.get((window, seed), {}))
        for window in windows
        for seed in seeds
    ]


def write(tmp_path: Path, name: str, rows, decay: dict | None = None) -> Path:
    """Write rows to a fresh CSV and, with decay {(window, seed): factor per period},
    a series file of damped-sine forecasts beside it."""
    path = tmp_path / name
    path.unlink(missing_ok=True)
    series_path(path).unlink(missing_ok=True)
    append_rows(path, rows)
    if decay is not None:
        for r in rows:
            cfg = config_of(r)
            x = np.arange(cfg.length, cfg.length + cfg.horizon)
            factor = decay.get((cfg.window, cfg.seed), 1.0)
            forecast = factor ** ((x - cfg.length) / cfg.period) * clean_sine(x, cfg.period)
            fit = clean_sine(np.arange(cfg.window, cfg.length), cfg.period)
            curves = {"fit": (cfg.window, fit), "forecast": (cfg.length, forecast)}
            append_series(series_path(path), r["cell_key"], curves)
    return path


def job_failing_on_seed_one(cfg):
    """An executor job for the tests: seed 1 dies inside the worker, others return a row."""
    from sinelstm.sweep.runner import CellResult

    if cfg.seed == 1:
        raise RuntimeError("worker died on seed 1")
    return CellResult(row(seed=cfg.seed))


def job_raising_on_seed_one(cfg):
    """An executor job for the tests: seed 1 raises inside the task (as a crashing cell
    would without run_cell's guard); others return a row."""
    from sinelstm.sweep.runner import CellResult

    if cfg.seed == 1:
        raise ValueError("raised inside the task on seed 1")
    return CellResult(row(seed=cfg.seed, window=cfg.window, hidden=cfg.hidden, length=cfg.length))


def job_reporting_worker(cfg):
    """An executor job for the tests: reports the worker's pid and the cores it may use."""
    import os

    from sinelstm.sweep.runner import CellResult

    return CellResult({"seed": cfg.seed, "pid": os.getpid(), "cores": sorted(os.sched_getaffinity(0))})


def job_exiting_on_seed_one(cfg):
    """An executor job for the tests: on seed 1 the worker process itself dies (as on an
    out-of-memory kill); other seeds return a row."""
    import os

    from sinelstm.sweep.runner import CellResult

    if cfg.seed == 1:
        os._exit(3)
    return CellResult({"seed": cfg.seed, "status": "ok"})


def job_sleeping_with_its_pid(cfg):
    """An executor job for the tests: leaves its worker's pid in $SINELSTM_TEST_PIDS, then
    sleeps far longer than any test waits (a unit the driver's death must end)."""
    import os
    import time
    from pathlib import Path

    Path(os.environ["SINELSTM_TEST_PIDS"], str(os.getpid())).write_text("")
    time.sleep(120)


def toy_dense(cfg):
    """A user's own Keras model factory for the tests: the window, flattened, into one Dense
    unit (a linear autoregression trained by Adam). `--model helpers:toy_dense` runs it."""
    import keras

    return keras.Sequential(
        [keras.Input(shape=(cfg.window, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )


def fake_cell(cfg, run_id="fake", hang_on_seed=None, fail_on_seed=None):
    """A cell without training, for the store's fault tests: a row of made-up metrics for
    cfg (its real cell key), with curves; it hangs or raises on the seeds named."""
    import time

    from sinelstm.sweep.runner import CellResult

    if cfg.seed == hang_on_seed:
        time.sleep(3600)
    if cfg.seed == fail_on_seed:
        raise RuntimeError(f"fake failure on seed {cfg.seed}")
    metrics = {"epochs_run": 3, "forecast_rmse": 0.1 + cfg.seed / 100, "amp_ratio": 0.9, "diverged": False}
    timings = {"fit_s": 0.01, "s_per_epoch": 0.003, "forecast_ms_per_step": 0.1}
    fit = np.zeros(cfg.length - cfg.window)
    return CellResult(ok_row(cfg, run_id, metrics, timings), fit, np.zeros(cfg.horizon))


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment for a child process, without pytest's per-process
    variables: under pytest -n, pytest-xdist's PYTEST_XDIST_WORKER would make a child pytest
    take itself for a worker (pytest-benchmark then disables itself, and --benchmark-only
    refuses to run: exit 4), and PYTEST_CURRENT_TEST names this process's test, not the child's."""
    own = ("PYTEST_XDIST_", "PYTEST_CURRENT_TEST")
    return {**{name: value for name, value in os.environ.items() if not name.startswith(own)}, **extra}
