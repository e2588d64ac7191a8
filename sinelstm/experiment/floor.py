"""The arithmetic floor of a training epoch, measured where the epoch ran.

A cell's epoch time over its floor (its training FLOPs at this process's best product
rate at the training shape, measured right after training) is a ratio of two timings
taken on the same core at nearly the same moment: it survives a change of machine where
an absolute time cannot, so the gate can judge it anywhere. Two products are timed,
numpy's sgemm (OpenBLAS) and TensorFlow's own matmul (oneDNN on x86), and the faster
counts: on a core where TensorFlow's matmul beats numpy's, an epoch could otherwise run
"below its floor".
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

import numpy as np

from sinelstm.experiment.config import ExperimentConfig, split_sizes

Probe = Callable[[], float]


def training_shape(cfg: ExperimentConfig) -> tuple[int, int, int] | None:
    """The product of one training step of cfg's model (its kind's floor shape at the
    training batch), or None where the kind has none."""
    shape = cfg.kind.floor_shape
    if shape is None:
        return None
    n_train, _ = split_sizes(cfg.n_windows, cfg.validation_split)
    return shape(cfg, min(cfg.batch_size, n_train))


def _operands(cfg: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    """(rows x inner, inner x cols) float32 operands at cfg's training shape."""
    rows, inner, cols = training_shape(cfg)
    rng = np.random.default_rng(0)
    return rng.random((rows, inner), dtype=np.float32), rng.random((inner, cols), dtype=np.float32)


def _timed(product: Callable[[], object], products: int, flops: float) -> Probe:
    def probe() -> float:
        start = time.perf_counter()
        for _ in range(products):
            product()
        return products * flops / (time.perf_counter() - start) / 1e9

    return probe


def sgemm_probe(cfg: ExperimentConfig, products: int = 40) -> Probe:
    """A function that times `products` numpy float32 products at the training shape and
    returns their rate, GFLOP/s: run between epochs, it gives each epoch the machine's
    speed of that moment (on a shared machine the rate moves within a minute)."""
    a, b = _operands(cfg)
    a @ b
    return _timed(lambda: a @ b, products, 2.0 * a.shape[0] * a.shape[1] * b.shape[1])


def tf_matmul_probe(cfg: ExperimentConfig, products: int = 40) -> Probe | None:
    """The same, with TensorFlow's tf.linalg.matmul on float32 tensors, run eagerly in this
    process with its thread settings; None where TensorFlow is not importable."""
    if importlib.util.find_spec("tensorflow") is None:
        return None
    try:
        import tensorflow as tf
    except ImportError:
        return None
    a, b = (tf.constant(x) for x in _operands(cfg))
    tf.linalg.matmul(a, b)  # the first call picks the kernel
    return _timed(lambda: tf.linalg.matmul(a, b), products, 2.0 * a.shape[0] * a.shape[1] * b.shape[1])


PRODUCTS = (sgemm_probe, tf_matmul_probe)  # numpy's, TensorFlow's


def product_probes(cfg: ExperimentConfig, seconds: float) -> list[Probe]:
    """Each product's probe (numpy's, then TensorFlow's where importable), each timing about
    `seconds` of products at the rate a short first probe of its own found."""
    rows, inner, cols = training_shape(cfg)
    flops = 2.0 * rows * inner * cols
    probes = []
    for make in PRODUCTS:
        estimate = make(cfg, max(1, int(2e7 / flops)))
        if estimate is not None:
            products = max(1, min(100_000, int(seconds * estimate() * 1e9 / flops)))
            probes.append(make(cfg, products))
    return probes


def best_product_probe(cfg: ExperimentConfig, products: int = 40) -> Probe:
    """One probe of each product in turn (numpy's sgemm, TensorFlow's matmul), the faster
    rate returned: the machine's best product at the training shape of this moment."""
    probes = [p for p in (make(cfg, products) for make in PRODUCTS) if p is not None]
    return lambda: max(probe() for probe in probes)


def best_of(rates: list[list[float]]) -> float:
    """The faster product's median rate: rates[p][i] is product p's i-th probe."""
    return max(float(np.median(samples)) for samples in rates)


def floor_gflops(cfg: ExperimentConfig, epoch_s: float, probes: int = 5) -> float:
    """This process's best product rate at cfg's training shape now, GFLOP/s: numpy's sgemm
    and TensorFlow's matmul (where importable), probed in turn `probes` times each, each
    probe about as long as an epoch (5-100 ms) so that a core shared with other work slows
    the probes as it slowed the epochs; the larger of the two medians. NaN where the kind
    has no training product."""
    if training_shape(cfg) is None:
        return float("nan")
    timed = product_probes(cfg, min(max(epoch_s, 0.005), 0.1))
    rates: list[list[float]] = [[] for _ in timed]
    for _ in range(probes):
        for samples, probe in zip(rates, timed, strict=True):
            samples.append(probe())
    return best_of(rates)
