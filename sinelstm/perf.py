"""Performance measurements: arithmetic floors, per-backend training speed, memory.

The training floor of a config is its epoch's arithmetic (forward and
backward through every training window) divided by this machine's sgemm
rate at the training shape, both measured in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from sinelstm.config import ExperimentConfig, split_sizes


def epoch_flops(cfg: ExperimentConfig) -> float:
    """FLOPs of one training epoch: every training window, every step, forward + backward.

    One LSTM step of one window multiplies [h, x, 1] (hidden + 2) by the
    (hidden + 2) x 4*hidden gate matrix: 2 * (hidden + 2) * 4 * hidden FLOPs.
    The backward pass costs twice the forward (input and weight gradients).
    """
    n_train, _ = split_sizes(cfg.n_windows, cfg.validation_split)
    return 3.0 * n_train * cfg.window * 2.0 * (cfg.hidden + 2) * 4 * cfg.hidden


def sgemm_gflops(rows: int, inner: int, cols: int, seconds: float = 1.0) -> float:
    """numpy float32 matrix product rate at one shape, GFLOP/s (median of repeats)."""
    rng = np.random.default_rng(0)
    a = rng.random((rows, inner), dtype=np.float32)
    b = rng.random((inner, cols), dtype=np.float32)
    a @ b
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        rates.append(10 * 2.0 * rows * inner * cols / (time.perf_counter() - start) / 1e9)
    return float(np.median(rates))


def training_sgemm_gflops(cfg: ExperimentConfig) -> float:
    """sgemm rate at the config's training shape: (batch x hidden+2) by (hidden+2 x 4*hidden)."""
    n_train, _ = split_sizes(cfg.n_windows, cfg.validation_split)
    return sgemm_gflops(min(cfg.batch_size, n_train), cfg.hidden + 2, 4 * cfg.hidden)


TRAIN_CHILD = """
import json, sys, time
import numpy as np
from sinelstm.config import ExperimentConfig
from sinelstm.data import noisy_sine
from sinelstm.models import build_model
from sinelstm.seeding import set_seed
from sinelstm.train import train
from sinelstm.windows import make_windows
import keras
spec = json.loads(sys.argv[1])
cfg = ExperimentConfig(**spec["config"])
set_seed(cfg.seed)
inputs, targets = make_windows(noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed), cfg.window)
model = build_model(cfg)
if spec["jit"] is not None:
    model.compile(loss="mean_squared_error",
                  optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
                  jit_compile=spec["jit"])
result = train(model, inputs, targets, cfg)
seconds = result.epoch_seconds[1:]
print(json.dumps({"backend": keras.backend.backend(), "epochs": result.epochs_run,
                  "first_epoch_s": result.epoch_seconds[0], "epoch_s": seconds}))
"""


def time_training(cfg: ExperimentConfig, backend: str, jit: bool | None, epochs: int = 12) -> dict:
    """Per-epoch seconds of model.fit on one backend, in a fresh process (the backend
    is fixed per process). Early stopping is off so every run has the same epochs."""
    spec = {
        "config": {**cfg.__dict__, "epochs": epochs, "patience": epochs + 1},
        "jit": jit,
    }
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"training on {backend} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


MEMORY_CHILD = """
import json, resource, sys, tempfile
from pathlib import Path
from sinelstm.config import ExperimentConfig
from sinelstm.runner import run_grid
spec = json.loads(sys.argv[1])
base = ExperimentConfig(**spec["config"])
cells = [base.replace(seed=seed) for seed in range(spec["cells"])]
with tempfile.TemporaryDirectory() as folder:
    run_grid(cells, Path(folder) / "grid.csv")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cells": len(cells), "peak_rss_mb": peak}))
"""


def grid_peak_rss_mb(cfg: ExperimentConfig, cells: int) -> float:
    """Peak resident memory, MB, of a fresh process that runs `cells` seeds of cfg as a grid."""
    spec = {"config": cfg.__dict__, "cells": cells}
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"memory run failed: {last}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"])
