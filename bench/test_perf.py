"""Performance targets, each measured as a ratio inside this one run.

Selected with `pytest bench --benchmark-only -k perf`; a plain grid run
leaves them out. Each test records its numbers in extra_info and in the
session's perf summary before it asserts its target.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from sinelstm.config import ExperimentConfig, preset
from sinelstm.experiment import history_of, train_phase
from sinelstm.forecast import rollout
from sinelstm.perf import (
    epoch_flops,
    grid_peak_rss_mb,
    time_training,
    training_sgemm_gflops,
)

ENGINE_TOL = 1e-5
MIN_SPEEDUP = 80.0
MAX_FLOOR_RATIO = 1.5
MAX_MEMORY_GROWTH = 0.10
BATCH = 8  # start points forecast together in the batched rollout


@pytest.fixture(scope="module")
def article_2017():
    return train_phase(preset("article-2017"))


def spread(samples) -> float:
    samples = np.asarray(samples, dtype=float)
    return float(samples.std() / samples.mean())


def test_perf_forecast_engine(benchmark, article_2017, perf_summary):
    """Compiled rollout vs the article's predict loop: same model, same 400 steps."""
    benchmark.group = "perf-forecast"
    cfg, model, history = article_2017.config, article_2017.model, history_of(article_2017)
    start = time.perf_counter()
    rollout(model, history, cfg.horizon, "compiled")
    warmup_s = time.perf_counter() - start
    compiled = benchmark.pedantic(
        rollout, args=(model, history, cfg.horizon, "compiled"), rounds=10, iterations=1
    )
    compiled_s = benchmark.stats.stats.median
    rollout(model, history, 2, "predict")  # warm-up: builds the predict function
    start = time.perf_counter()
    by_predict = rollout(model, history, cfg.horizon, "predict")
    predict_s = time.perf_counter() - start

    # Several start points in one batched rollout: the last BATCH windows of the data.
    series = article_2017.series
    starts = np.stack([series[len(series) - cfg.window - k : len(series) - k] for k in range(BATCH)])
    rollout(model, starts, cfg.horizon, "compiled")
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        rollout(model, starts, cfg.horizon, "compiled")
        samples.append(time.perf_counter() - start)
    batched_s = float(np.median(samples))

    speedup = predict_s / compiled_s
    difference = float(np.abs(compiled - by_predict).max())
    per_sequence = batched_s / BATCH / cfg.horizon * 1000
    benchmark.extra_info.update(
        predict_ms_per_step=predict_s / cfg.horizon * 1000,
        compiled_ms_per_step=compiled_s / cfg.horizon * 1000,
        compiled_warmup_s=warmup_s,
        compiled_cv=benchmark.stats.stats.stddev / benchmark.stats.stats.mean,
        speedup=speedup,
        max_difference=difference,
        batched_ms_per_step_per_sequence=per_sequence,
    )
    perf_summary.append(
        f"forecast, article-2017, 400 steps: compiled {compiled_s * 1000:.1f} ms "
        f"(cv {benchmark.extra_info['compiled_cv']:.0%}, first call {warmup_s:.2f} s) vs predict "
        f"{predict_s:.1f} s: {speedup:.0f}x (target >= {MIN_SPEEDUP:.0f}x); max difference "
        f"{difference:.1e}; batched x{BATCH}: {per_sequence:.4f} ms per step per sequence, "
        f"{compiled_s / cfg.horizon * 1000 / per_sequence:.1f}x the single rollout's throughput"
    )
    assert difference <= ENGINE_TOL
    assert speedup >= MIN_SPEEDUP


BACKENDS = [("tensorflow", False), ("tensorflow", True), ("jax", None)]


@pytest.mark.parametrize(
    "backend, jit", BACKENDS, ids=["perf-train-tensorflow", "perf-train-tensorflow-xla", "perf-train-jax"]
)
def test_perf_training(benchmark, backend, jit, perf_summary):
    """model.fit per-epoch time on each backend against the arithmetic floor, article-2017 shape."""
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e '.[jax]')")
    benchmark.group = "perf-train"
    cfg = preset("article-2017")
    measured = benchmark.pedantic(time_training, args=(cfg, backend, jit), rounds=1, iterations=1)
    epoch_s = float(np.median(measured["epoch_s"]))
    gflops = training_sgemm_gflops(cfg)
    floor_s = epoch_flops(cfg) / (gflops * 1e9)
    achieved = epoch_flops(cfg) / epoch_s / 1e9
    ratio = epoch_s / floor_s
    label = backend + (" + XLA" if jit else "")
    benchmark.extra_info.update(
        epoch_s=epoch_s,
        epoch_cv=spread(measured["epoch_s"]),
        first_epoch_s=measured["first_epoch_s"],
        achieved_gflops=achieved,
        sgemm_gflops=gflops,
        floor_s=floor_s,
        floor_ratio=ratio,
    )
    flag = " (unstable: spread >= 10%)" if benchmark.extra_info["epoch_cv"] >= 0.10 else ""
    perf_summary.append(
        f"training, article-2017, {label}: {epoch_s * 1000:.0f} ms/epoch{flag}, "
        f"{achieved:.0f} GFLOP/s vs sgemm {gflops:.0f} GFLOP/s at the same shape: "
        f"{ratio:.2f}x the floor of {floor_s * 1000:.0f} ms (target <= {MAX_FLOOR_RATIO}x); "
        f"first epoch {measured['first_epoch_s']:.2f} s"
    )
    assert ratio <= MAX_FLOOR_RATIO


def test_perf_memory_is_flat(benchmark, perf_summary):
    """Peak RSS of a 12-cell grid within 10% of a 2-cell grid's: nothing kept per cell."""
    benchmark.group = "perf-memory"
    cfg = ExperimentConfig(length=120, window=20, hidden=32, epochs=5, horizon=100)
    small = grid_peak_rss_mb(cfg, 2)
    large = benchmark.pedantic(grid_peak_rss_mb, args=(cfg, 12), rounds=1, iterations=1)
    growth = large / small - 1
    benchmark.extra_info.update(peak_rss_2_cells_mb=small, peak_rss_12_cells_mb=large, growth=growth)
    perf_summary.append(
        f"memory: peak RSS {small:.0f} MB for 2 cells, {large:.0f} MB for 12: {growth:+.1%} "
        f"(target <= +{MAX_MEMORY_GROWTH:.0%})"
    )
    assert growth <= MAX_MEMORY_GROWTH
