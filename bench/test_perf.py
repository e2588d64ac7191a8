"""Performance targets, each measured as a ratio inside this one run.

Marked `perf`: selected with `pytest bench --benchmark-only -m perf`; a plain grid
run leaves them out. Each test records its numbers in extra_info and in the
session's perf summary before it asserts its target.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from sinelstm.experiment.config import ExperimentConfig, preset
from sinelstm.experiment.forecast import rollout
from sinelstm.experiment.run import history_of, train_phase
from sinelstm.perf.measurements import floor_figures, training_sgemm_gflops
from sinelstm.perf.peak import core_peak
from sinelstm.perf.probes import grid_peak_rss_mb, time_members, time_training

ENGINE_TOL = 1e-5
MIN_SPEEDUP = 80.0
MAX_FLOOR_RATIO = 1.5
MAX_MEMORY_GROWTH = 0.10
BATCH = 8  # start points forecast together in the batched rollout

pytestmark = pytest.mark.perf


@pytest.fixture(scope="module")
def article_2017():
    return train_phase(preset("article-2017"))


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


# (id, backend, jit, trainer, implementation, threads): the seed's model.fit on Keras'
# LSTM; the loop trainer (sinelstm's default) on Keras' LSTM, with and without XLA, and on
# the fused LSTM; JAX; on one core with one thread (as the grid's workers train) and, for
# the fused LSTM and JAX, on every core.
VARIANTS = [
    ("tensorflow-fit-keras-1core", "tensorflow", None, "fit", "keras", 1),
    ("tensorflow-loop-fused-1core", "tensorflow", None, "loop", "fused", 1),
    ("tensorflow-loop-keras-1core", "tensorflow", None, "loop", "keras", 1),
    ("tensorflow-loop-keras-xla-1core", "tensorflow", True, "loop", "keras", 1),
    ("jax-loop-keras-1core", "jax", None, "loop", "keras", 1),
    ("tensorflow-loop-fused-allcores", "tensorflow", None, "loop", "fused", 0),
    ("jax-loop-keras-allcores", "jax", None, "loop", "keras", 0),
]
SEED_WAY, DEFAULT = "tensorflow-fit-keras-1core", "tensorflow-loop-keras-1core"
TRAINING: dict[str, dict] = {}  # variant id -> its figures, for the targets test below


@pytest.mark.parametrize(
    "variant, backend, jit, trainer, implementation, threads",
    VARIANTS,
    ids=[f"perf-train-{v[0]}" for v in VARIANTS],
)
def test_perf_training(benchmark, variant, backend, jit, trainer, implementation, threads, perf_summary):
    """Per-epoch time against the arithmetic floor at the article-2017 shape: the epoch's
    FLOPs over the best product rate at the training shape (numpy's sgemm or TensorFlow's
    matmul, the faster), measured in the same process between the epochs."""
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e '.[jax]')")
    benchmark.group = "perf-train"
    cfg = preset("article-2017")
    measured = benchmark.pedantic(
        time_training,
        args=(cfg, backend, jit, trainer, threads, implementation),
        rounds=1,
        iterations=1,
    )
    figures = floor_figures(cfg, measured["epoch_s"], measured["sgemm_gflops"])
    figures["first_epoch_s"] = measured["first_epoch_s"]
    benchmark.extra_info.update(figures)
    TRAINING[variant] = figures
    flags = [
        f"unstable: {name} spread {figures[key]:.0%}"
        for name, key in (("epoch", "epoch_cv"), ("product", "sgemm_cv"), ("ratio", "floor_ratio_cv"))
        if figures[key] >= 0.10
    ]
    perf_summary.append(
        f"training, article-2017, {variant}: {figures['epoch_s'] * 1000:.0f} ms/epoch"
        f"{' (' + '; '.join(flags) + ')' if flags else ''}, "
        f"{figures['achieved_gflops']:.0f} GFLOP/s vs the best product (numpy sgemm, TF matmul) "
        f"{figures['sgemm_gflops']:.0f} GFLOP/s at the same shape and threads, measured between its "
        f"epochs: {figures['floor_ratio']:.2f}x the floor "
        f"(spread {figures['floor_ratio_cv']:.0%}); first epoch {figures['first_epoch_s']:.2f} s"
    )


def test_perf_training_targets(benchmark, perf_summary):
    """The training targets, from the variants measured above in this run: the best
    backend within 1.5x its floor, and sinelstm's default training never slower than the
    seed's model.fit. Times the machine's best product (numpy's sgemm, TensorFlow's matmul)
    at the training shape on every core, and gives one core's FP32 FMA peak, for the summary."""
    if SEED_WAY not in TRAINING or DEFAULT not in TRAINING:
        pytest.skip("select the perf-train variants too (-k perf)")
    benchmark.group = "perf-train"
    cfg = preset("article-2017")
    sgemm = benchmark.pedantic(training_sgemm_gflops, args=(cfg,), rounds=1, iterations=1)
    benchmark.extra_info["sgemm_gflops_all_cores"] = sgemm
    peak = core_peak()
    benchmark.extra_info["core_fma_peak_gflops"] = peak.gflops
    best = min(TRAINING, key=lambda v: TRAINING[v]["floor_ratio"])
    fit_s, default_s = TRAINING[SEED_WAY]["epoch_s"], TRAINING[DEFAULT]["epoch_s"]
    summary = (
        f"best product (numpy sgemm, TF matmul) at the article-2017 training shape, every core, this "
        f"run: {sgemm:.0f} GFLOP/s; {peak.describe()}; "
        f"training targets: best {best} at {TRAINING[best]['floor_ratio']:.2f}x its floor "
        f"(target <= {MAX_FLOOR_RATIO}x); the default ({DEFAULT}) {default_s * 1000:.0f} ms/epoch vs "
        f"the seed's model.fit {fit_s * 1000:.0f} ms: {fit_s / default_s:.2f}x faster (target >= 1x)"
    )
    fused = TRAINING.get("tensorflow-loop-fused-1core")
    if fused:
        speedup = TRAINING[DEFAULT]["floor_ratio"] / fused["floor_ratio"]
        summary += f"; the fused LSTM {speedup:.2f}x faster than Keras' in the same loop (floor ratios)"
    perf_summary.append(summary)
    assert TRAINING[best]["floor_ratio"] <= MAX_FLOOR_RATIO
    assert default_s <= fit_s


# (length, window, hidden): the default grid's corners and the two articles' shapes.
SHAPES = [(201, 25, 16), (201, 25, 64), (201, 25, 300), (601, 50, 64), (601, 50, 300)]


IMPLEMENTATIONS = ("keras", "fused", "block")


@pytest.mark.parametrize("length, window, hidden", SHAPES, ids=[f"l{s[0]}-w{s[1]}-h{s[2]}" for s in SHAPES])
def test_perf_implementation(benchmark, length, window, hidden, perf_summary):
    """Keras' LSTM against the fused one and TensorFlow's block kernel, one core, the loop
    trainer: per epoch, each as its ratio to the floor of its own moment (they run in
    different processes, minutes apart, on a machine whose speed drifts by a third), and
    the first epoch's extra time (the fused LSTM compiles its step functions with XLA for
    every new batch shape), so that the report says where each pays. Asserted at the
    article-2017 shape only, the one the training floor target is measured at: fused and
    block no slower than Keras' there; elsewhere the outcome is the measurement."""
    benchmark.group = "perf-implementation"
    cfg = ExperimentConfig(length=length, window=window, hidden=hidden)

    def measure(implementation: str) -> dict:
        measured = time_training(cfg, "tensorflow", None, "loop", 1, implementation, epochs=8)
        figures = floor_figures(cfg, measured["epoch_s"], measured["sgemm_gflops"])
        return {**figures, "first_epoch_s": measured["first_epoch_s"]}

    # The benchmark's own time is the runs together; the figures are the children's.
    figures = benchmark.pedantic(
        lambda: {name: measure(name) for name in IMPLEMENTATIONS}, rounds=1, iterations=1
    )
    keras_ = figures["keras"]
    benchmark.extra_info.update(
        {f"{name}_{key}": value for name, values in figures.items() for key, value in values.items()}
    )
    parts = [f"keras {keras_['floor_ratio']:.2f}x its floor ({keras_['epoch_s'] * 1000:.0f} ms/epoch)"]
    for name in IMPLEMENTATIONS[1:]:
        other = figures[name]
        speedup = keras_["floor_ratio"] / other["floor_ratio"]
        extra = other["first_epoch_s"] - keras_["first_epoch_s"]
        saved = keras_["epoch_s"] * (1 - 1 / speedup)  # per epoch, at Keras' pace
        pays = f"pays back after {extra / saved:.0f} epochs" if saved > 0 and extra > 0 else ""
        pays = pays or ("never pays back" if saved <= 0 else "no extra first epoch")
        parts.append(
            f"{name} {other['floor_ratio']:.2f}x ({other['epoch_s'] * 1000:.0f} ms/epoch): {speedup:.2f}x "
            f"faster, first epoch {extra:+.2f} s: {pays}"
        )
    perf_summary.append(
        f"implementation, length {length} window {window} hidden {hidden}, one core: " + "; ".join(parts)
    )
    if (length, window, hidden) == (201, 25, 300):  # the article-2017 shape: the floor's variant
        assert figures["fused"]["floor_ratio"] <= keras_["floor_ratio"]
        assert figures["block"]["floor_ratio"] <= keras_["floor_ratio"]


def test_perf_memory_is_flat(benchmark, perf_summary):
    """Peak RSS of a whole 12-cell grid run (driver and workers, as sinelstm bench runs it)
    within 10% of a 2-cell run's: nothing of a cell is kept beyond its worker's turn; and
    the same grid with its seeds trained together no higher than one by one (within 10%)."""
    benchmark.group = "perf-memory"
    cfg = ExperimentConfig(length=120, window=20, hidden=32, epochs=5, horizon=100)
    small = grid_peak_rss_mb(cfg, 2)
    large = benchmark.pedantic(grid_peak_rss_mb, args=(cfg, 12), rounds=1, iterations=1)
    in_process = grid_peak_rss_mb(cfg, 12, executor="local")
    in_process_small = grid_peak_rss_mb(cfg, 2, executor="local")
    # The same 12 cells with their seeds trained together (batches of members in the workers).
    batched = grid_peak_rss_mb(cfg.replace(trainer="batched"), 12)
    growth = large / small - 1
    benchmark.extra_info.update(
        peak_rss_12_cells_batched_mb=batched,
        peak_rss_2_cells_mb=small,
        peak_rss_12_cells_mb=large,
        growth=growth,
        in_process_2_cells_mb=in_process_small,
        in_process_12_cells_mb=in_process,
    )
    perf_summary.append(
        f"memory, worker processes (sinelstm bench's default): peak RSS {small:.0f} MB for 2 cells, "
        f"{large:.0f} MB for 12: {growth:+.1%} (target <= +{MAX_MEMORY_GROWTH:.0%}); in one process: "
        f"{in_process_small:.0f} -> {in_process:.0f} MB ({in_process / in_process_small - 1:+.1%}); "
        f"the 12 cells with their seeds trained together: {batched:.0f} MB "
        f"({batched / large - 1:+.1%} against one by one; target <= +{MAX_MEMORY_GROWTH:.0%})"
    )
    assert growth <= MAX_MEMORY_GROWTH
    assert batched <= large * (1 + MAX_MEMORY_GROWTH)


# (length, window, hidden): the shapes of the per-seed training targets; members per batch.
MEMBER_SHAPES = [(201, 25, 16), (201, 25, 64), (601, 50, 64), (201, 25, 300)]
MEMBERS = 10
MAX_MEMBER_FLOOR_RATIO = 3.0  # hidden 16 and 64: a seed's epoch within 3x its floor


@pytest.mark.parametrize(
    "length, window, hidden",
    MEMBER_SHAPES,
    ids=[f"perf-members-l{s[0]}-w{s[1]}-h{s[2]}" for s in MEMBER_SHAPES],
)
def test_perf_members(benchmark, length, window, hidden, perf_summary):
    """A seed's epoch, trained alone (the loop trainer, on Keras' LSTM and on TensorFlow's
    block kernel) and as one of 10 members trained together (the batched trainer), each
    against the floor of its own moment (the best product rate at the training shape,
    measured between the epochs in the same process): one core, one thread, as the grid's
    workers train. The outcome at every shape is the measurement; the target (a seed's
    epoch within 3x its floor at hidden 16 and 64, by the faster way) is reported, and
    asserted only as batched no slower than alone on Keras' LSTM where batching is what
    makes a seed fast: a member's step small (201 samples, batches of 158 windows, hidden
    16 and 64). At 601 samples and window 50 (batches of 300, 50 steps) a step is large
    enough on its own and the two were even within the machine's drift (batched 1.07x
    faster at b0d61eb, 0.94x at 6d273ad): reported, not asserted. Hidden 300 runs its
    seeds alone in a grid: a member axis buys nothing there."""
    benchmark.group = "perf-members"
    cfg = ExperimentConfig(length=length, window=window, hidden=hidden)

    def measure() -> dict:
        alone = time_training(cfg, "tensorflow", None, "loop", 1, "keras", epochs=12)
        block = time_training(cfg, "tensorflow", None, "loop", 1, "block", epochs=12)
        together = time_members(cfg, MEMBERS, epochs=12)
        return {
            "alone": floor_figures(cfg, alone["epoch_s"], alone["sgemm_gflops"]),
            "block": floor_figures(cfg, block["epoch_s"], block["sgemm_gflops"]),
            "together": floor_figures(cfg, together["epoch_s"], together["sgemm_gflops"]),
        }

    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    alone, block, together = figures["alone"], figures["block"], figures["together"]
    speedup = alone["floor_ratio"] / together["floor_ratio"]
    benchmark.extra_info.update(
        {f"{name}_{key}": value for name, values in figures.items() for key, value in values.items()}
    )
    target = hidden in (16, 64)
    best = min(together["floor_ratio"], block["floor_ratio"])
    met = best <= MAX_MEMBER_FLOOR_RATIO
    perf_summary.append(
        f"members, length {length} window {window} hidden {hidden}, one core: a seed alone "
        f"{alone['epoch_s'] * 1000:.1f} ms/epoch, {alone['floor_ratio']:.2f}x its floor; alone on the block "
        f"kernel {block['epoch_s'] * 1000:.1f} ms, {block['floor_ratio']:.2f}x; one of {MEMBERS} "
        f"trained together {together['epoch_s'] * 1000:.2f} ms, {together['floor_ratio']:.2f}x: "
        f"{speedup:.2f}x faster a seed than alone on Keras' LSTM"
        + (
            f" (target <= {MAX_MEMBER_FLOOR_RATIO}x, the faster way {best:.2f}x: "
            f"{'met' if met else 'NOT met'})"
            if target
            else ""
        )
    )
    if length == 201 and hidden < 300:
        assert together["floor_ratio"] <= alone["floor_ratio"]
