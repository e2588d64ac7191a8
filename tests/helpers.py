"""Result rows and series made for the purpose, for the gate and report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sinelstm.config import ExperimentConfig, config_columns, config_of
from sinelstm.data import clean_sine
from sinelstm.results import SCHEMA_VERSION, append_rows, append_series, series_path

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


def row(window=25, hidden=8, seed=0, length=201, machine="m1", model="lstm", train_rollout=1, **metrics):
    """A result row with plausible metrics; keyword arguments override them."""
    cfg = ExperimentConfig(
        window=window, hidden=hidden, seed=seed, length=length, model=model, train_rollout=train_rollout
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
        "forecast_s": 0.08,
        "forecast_warmup_s": 1.0,
        "forecast_ms_per_step": 0.2,
        "engine_speedup": float("nan"),
        "predict_ms_per_step": float("nan"),
    }
    values.update(metrics)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": "r",
        "status": "ok",
        "error": "",
        **config_columns(cfg),
        "machine": machine,
        **PROVENANCE,
        **values,
    }


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
            append_series(series_path(path), cfg, fit, forecast)
    return path


def job_failing_on_seed_one(cfg):
    """An executor job for the tests: seed 1 dies inside the worker, others return a row."""
    from sinelstm.executor import CellResult

    if cfg.seed == 1:
        raise RuntimeError("worker died on seed 1")
    return CellResult(row(seed=cfg.seed))


def job_raising_on_seed_one(cfg):
    """An executor job for the tests: seed 1 raises inside the task (as a crashing cell
    would without run_cell's guard); others return a row."""
    from sinelstm.executor import CellResult

    if cfg.seed == 1:
        raise ValueError("raised inside the task on seed 1")
    return CellResult(row(seed=cfg.seed, window=cfg.window, hidden=cfg.hidden, length=cfg.length))


def job_reporting_worker(cfg):
    """An executor job for the tests: reports the worker's pid and the cores it may use."""
    import os

    from sinelstm.executor import CellResult

    return CellResult({"seed": cfg.seed, "pid": os.getpid(), "cores": sorted(os.sched_getaffinity(0))})


def job_exiting_on_seed_one(cfg):
    """An executor job for the tests: on seed 1 the worker process itself dies (as on an
    out-of-memory kill); other seeds return a row."""
    import os

    from sinelstm.executor import CellResult

    if cfg.seed == 1:
        os._exit(3)
    return CellResult({"seed": cfg.seed, "status": "ok"})
