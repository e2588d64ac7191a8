"""The arithmetic floor of a training epoch, measured where the epoch ran.

A cell's epoch time over its floor (its training FLOPs at this process's sgemm rate at
the training shape, measured right after training) is a ratio of two timings taken on
the same core at nearly the same moment: it survives a change of machine where an
absolute time cannot, so the gate can judge it anywhere.
"""

from __future__ import annotations

import time

import numpy as np

from sinelstm.experiment.config import ExperimentConfig, split_sizes


def training_shape(cfg: ExperimentConfig) -> tuple[int, int, int] | None:
    """The product of one training step of cfg's model (its kind's floor shape at the
    training batch), or None where the kind has none."""
    shape = cfg.kind.floor_shape
    if shape is None:
        return None
    n_train, _ = split_sizes(cfg.n_windows, cfg.validation_split)
    return shape(cfg, min(cfg.batch_size, n_train))


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


def floor_gflops(cfg: ExperimentConfig, epoch_s: float, probes: int = 5) -> float:
    """This process's sgemm rate at cfg's training shape now, GFLOP/s: the median of
    `probes` probes, each about as long as an epoch (5-100 ms), so that a core shared
    with other work slows the probes as it slowed the epochs. NaN where the kind has no
    training product."""
    shape = training_shape(cfg)
    if shape is None:
        return float("nan")
    rows, inner, cols = shape
    flops = 2.0 * rows * inner * cols
    estimate = sgemm_probe(cfg, products=max(1, int(2e7 / flops)))()
    seconds = min(max(epoch_s, 0.005), 0.1)
    probe = sgemm_probe(cfg, products=max(1, min(100_000, int(seconds * estimate * 1e9 / flops))))
    return float(np.median([probe() for _ in range(probes)]))
