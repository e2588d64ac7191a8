"""Performance measurements: arithmetic floors, per-backend training speed, memory.

The training floor of a config is its epoch's arithmetic (forward and
backward through every training window) divided by this machine's best product
rate at the training shape (numpy's sgemm or TensorFlow's matmul, whichever is
faster), measured in the same process right after each epoch: the two are
interleaved, so that the machine's drift moves both.
"""

from __future__ import annotations

import time

import numpy as np

from sinelstm.experiment.config import ExperimentConfig, epoch_flops
from sinelstm.experiment.floor import best_product_probe


def training_sgemm_gflops(cfg: ExperimentConfig, seconds: float = 1.0) -> float:
    """The best product rate at the config's training shape, GFLOP/s: the median of probes
    for `seconds` (at least 5), each probe 10 products of numpy's sgemm then 10 of
    TensorFlow's matmul (where importable), the faster counted."""
    probe, rates = best_product_probe(cfg, products=10), []
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
    best product rate (sgemm_gflops: numpy's sgemm or TensorFlow's matmul) measured right
    after it; the ratio is the median of the pairs' ratios."""
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
