"""Performance measurements: arithmetic floors, per-backend training speed, memory.

The training floor of a config is its epoch's arithmetic (forward and
backward through every training window) divided by this machine's sgemm
rate at the training shape, measured in the same process right after each
epoch: the two are interleaved, so that the machine's drift moves both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
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


def training_shape(cfg: ExperimentConfig) -> tuple[int, int, int]:
    """The product of one training step: (batch x hidden+2) by (hidden+2 x 4*hidden)."""
    n_train, _ = split_sizes(cfg.n_windows, cfg.validation_split)
    return min(cfg.batch_size, n_train), cfg.hidden + 2, 4 * cfg.hidden


def sgemm_probe(cfg: ExperimentConfig, products: int = 40):
    """A function that times `products` numpy float32 products at the training shape and
    returns their rate, GFLOP/s: run between epochs, it gives each epoch the machine's
    speed of that moment (on a shared machine the rate moves by 30% within a minute)."""
    rows, inner, cols = training_shape(cfg)
    rng = np.random.default_rng(0)
    a, b = rng.random((rows, inner), dtype=np.float32), rng.random((inner, cols), dtype=np.float32)
    a @ b

    def probe() -> float:
        start = time.perf_counter()
        for _ in range(products):
            a @ b
        return products * 2.0 * rows * inner * cols / (time.perf_counter() - start) / 1e9

    return probe


def training_sgemm_gflops(cfg: ExperimentConfig, seconds: float = 1.0) -> float:
    """sgemm rate at the config's training shape, GFLOP/s: the median of probes of 10
    products for `seconds` (at least 5)."""
    probe, rates = sgemm_probe(cfg, products=10), []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        rates.append(probe())
    return float(np.median(rates))


def spread(samples) -> float:
    """Coefficient of variation: standard deviation over mean."""
    samples = np.asarray(samples, dtype=float)
    return float(samples.std() / samples.mean())


def floor_figures(cfg: ExperimentConfig, epoch_s, sgemm_gflops) -> dict[str, float]:
    """Per-epoch time against the floor of the same moment. Each epoch is paired with the
    sgemm rate measured right after it; the ratio is the median of the pairs' ratios."""
    epoch_s, sgemm = np.asarray(epoch_s, dtype=float), np.asarray(sgemm_gflops, dtype=float)
    floors = epoch_flops(cfg) / (sgemm * 1e9)
    ratios = epoch_s / floors
    return dict(
        epoch_s=float(np.median(epoch_s)),
        epoch_cv=spread(epoch_s),
        achieved_gflops=epoch_flops(cfg) / float(np.median(epoch_s)) / 1e9,
        sgemm_gflops=float(np.median(sgemm)),
        sgemm_cv=spread(sgemm),
        floor_s=float(np.median(floors)),
        floor_ratio=float(np.median(ratios)),
        floor_ratio_cv=spread(ratios),
    )


TRAIN_CHILD = """
import json, os, sys
spec = json.loads(sys.argv[1])
if spec["threads"] == 1:
    # As a grid worker runs: one core (the thread limits came in the environment),
    # pinned before numpy or TensorFlow start any thread.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import keras
from sinelstm.config import ExperimentConfig
from sinelstm.data import noisy_sine
from sinelstm.models import build_model
from sinelstm.perf import sgemm_probe
from sinelstm.seeding import set_seed
from sinelstm.train import train
from sinelstm.windows import make_windows
cfg = ExperimentConfig(**spec["config"])
set_seed(cfg.seed)
inputs, targets = make_windows(noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed), cfg.window)
model = build_model(cfg)
if spec["jit"] is not None:
    model.compile(loss="mean_squared_error",
                  optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
                  jit_compile=spec["jit"])
probe, rates = sgemm_probe(cfg), []
result = train(model, inputs, targets, cfg, after_epoch=lambda: rates.append(probe()))
print(json.dumps({"backend": keras.backend.backend(), "epochs": result.epochs_run,
                  "first_epoch_s": result.epoch_seconds[0], "epoch_s": result.epoch_seconds[1:],
                  "sgemm_gflops": rates[1:]}))
"""


def time_training(
    cfg: ExperimentConfig,
    backend: str,
    jit: bool | None,
    trainer: str = "loop",
    threads: int = 0,
    implementation: str = "fused",
    epochs: int = 16,
) -> dict:
    """Per-epoch seconds of training on one backend, in a fresh process (the backend is
    fixed per process), each epoch followed by a measurement of the sgemm rate at the
    training shape in that same process: epoch_s[i] pairs with sgemm_gflops[i].
    threads=1 runs as a grid worker does (one core, one thread); 0 uses every core.
    Early stopping is off so every run has the same epochs."""
    spec = {
        "config": {
            **cfg.__dict__,
            "epochs": epochs,
            "patience": epochs + 1,
            "trainer": trainer,
            "implementation": implementation,
        },
        "jit": jit,
        "threads": threads,
    }
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if threads == 1:
        from sinelstm.executor import SINGLE_THREAD_ENV

        env.update(SINGLE_THREAD_ENV)
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
import json, sys, tempfile
from pathlib import Path
from sinelstm.config import ExperimentConfig
from sinelstm.executor import EXECUTORS
from sinelstm.runner import run_grid
spec = json.loads(sys.argv[1])
base = ExperimentConfig(**spec["config"])
cells = [base.replace(seed=seed) for seed in range(spec["cells"])]
with tempfile.TemporaryDirectory() as folder:
    run_grid(cells, Path(folder) / "grid.csv", executor=EXECUTORS[spec["executor"]]())
"""


def _tree_rss_mb(root: int) -> float:
    """Resident memory, MB, of a process and all its descendants now (Linux /proc)."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                # pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
                parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as handle:
                rss[int(entry)] = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def grid_peak_rss_mb(cfg: ExperimentConfig, cells: int, executor: str = "processes") -> float:
    """Peak resident memory, MB, of a whole grid run of `cells` seeds of cfg in a fresh
    process: the driver and its workers together, sampled every 50 ms."""
    spec = {"config": cfg.__dict__, "cells": cells, "executor": executor}
    peak = 0.0
    # stderr to a file, not a pipe: TensorFlow's start-up logs could fill a pipe and stall the run.
    with (
        tempfile.TemporaryFile(mode="w+") as errors,
        subprocess.Popen(
            [sys.executable, "-c", MEMORY_CHILD, json.dumps(spec)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        ) as child,
    ):
        while child.poll() is None:
            peak = max(peak, _tree_rss_mb(child.pid))
            time.sleep(0.05)
        if child.returncode != 0:
            errors.seek(0)
            last = (errors.read().strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"memory run failed: {last}")
    return peak
