"""One experiment end to end: config -> series -> windows -> model -> forecast -> metrics.

What comes back is measurements (metrics and timings as plain dicts) and the
curves behind them; turning them into a result row is the sweep's job
(sinelstm.sweep.rows).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from sinelstm.experiment.batched import batchable, batched_checkpoints
from sinelstm.experiment.canaries import metrics_checksum, series_checksum, weights_sum
from sinelstm.experiment.config import ExperimentConfig, checkpointable, epoch_flops, steps_per_epoch
from sinelstm.experiment.data import clean_sine, noisy_sine
from sinelstm.experiment.floor import floor_gflops
from sinelstm.experiment.forecast import forget_compiled, rollout
from sinelstm.experiment.metrics import fit_metrics, forecast_metrics, loss_drift
from sinelstm.experiment.models import build_model, rollout_model
from sinelstm.experiment.seeding import set_seed
from sinelstm.experiment.train import Checkpoint, Mark, TrainResult, checkpoints
from sinelstm.experiment.windows import make_windows

# Timed forecast rounds after the first (warm-up) call, per engine. The
# predict engine's one call already takes seconds and is its own sample.
DEFAULT_FORECAST_ROUNDS = {"compiled": 5, "predict": 0}
# Steps of the predict engine timed for the engine speed-up: its per-step cost
# is a fixed overhead, so 50 steps measure it as well as 400 would.
SPEEDUP_STEPS = 50


@dataclass
class RunResult:
    config: ExperimentConfig
    metrics: dict[str, object]  # training, fit and forecast metrics (the row's METRIC_COLUMNS)
    timings: dict[str, float]  # the row's TIMING_COLUMNS that were measured
    series: np.ndarray  # (length,) the noisy observations
    fit_predictions: np.ndarray  # (n_windows,) one-step predictions for x = window .. length-1
    forecast: np.ndarray  # (horizon,) for x = length .. length+horizon-1
    truth: np.ndarray  # (horizon,) the noise-free continuation
    training: TrainResult
    model: object = None  # the trained Keras model, when asked to keep it


def forecast_x(cfg: ExperimentConfig) -> np.ndarray:
    """Positions of the forecast: the first value is for x = length."""
    return np.arange(cfg.length, cfg.length + cfg.horizon)


def time_forecast(model, history: np.ndarray, horizon: int, engine: str, rounds: int):
    """The forecast, and its warm-up and steady per-call seconds (median) and spread (CV)."""
    start = time.perf_counter()
    forecast = rollout(model, history, horizon, engine)
    warmup_s = time.perf_counter() - start
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        again = rollout(model, history, horizon, engine)
        samples.append(time.perf_counter() - start)
        if not np.array_equal(again, forecast, equal_nan=True):
            raise RuntimeError("the forecast changed between identical calls")
    if samples:
        steady = np.asarray(samples)
        return forecast, warmup_s, float(np.median(steady)), float(steady.std() / steady.mean())
    return forecast, warmup_s, warmup_s, float("nan")


def measure_speedup(model, history: np.ndarray, compiled_ms_per_step: float) -> dict[str, float]:
    """Time the predict engine on the same trained model; the ratio to the compiled engine."""
    rollout(model, history, 2, "predict")  # warm-up: builds the predict function
    start = time.perf_counter()
    rollout(model, history, SPEEDUP_STEPS, "predict")
    predict_ms = (time.perf_counter() - start) / SPEEDUP_STEPS * 1000.0
    return {"predict_ms_per_step": predict_ms, "engine_speedup": predict_ms / compiled_ms_per_step}


@dataclass
class Trained:
    """A trained model with the data it was trained on."""

    config: ExperimentConfig
    series: np.ndarray  # (length,) the noisy observations
    model: object
    training: TrainResult
    fit_predictions: np.ndarray  # (n_windows,) one-step predictions for x = window .. length-1
    init_weights: float  # sum of |w| over the untrained model's weights (a canary of model and seed)


def _prepared(cfg: ExperimentConfig):
    """Seed, build the data, windows and cfg's untrained model: (series, inputs, targets, model)."""
    cfg.validate()
    set_seed(cfg.seed)
    series = noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed)
    # (n_windows, window, 1), (n_windows, 1): the classical forecasters work in float64.
    dtype = np.float32 if cfg.kind.is_network else np.float64
    inputs, targets = make_windows(series, cfg.window, dtype=dtype)
    return series, inputs, targets, build_model(cfg)


def _in_sample(cfg: ExperimentConfig, model, inputs: np.ndarray) -> np.ndarray:
    """One-step predictions of every window, (n_windows,)."""
    if cfg.kind.is_network:
        # (n_windows, 1) -> (n_windows,)
        return np.asarray(model.predict(inputs, batch_size=1024, verbose=0))[:, 0]
    return model.predict(inputs)


def train_phase(cfg: ExperimentConfig) -> Trained:
    """Seed, build the data and windows, train cfg's model, predict in-sample."""
    return train_members([cfg])[0]


def train_members(cfgs: list[ExperimentConfig], result_of: Callable[[Trained], object] | None = None) -> list:
    """result_of(trained) for each of trained_cells(cfgs), run while its model holds that
    cell's weights; the results, in cfgs' order. Without result_of, the Trained themselves
    (cells of one mark only: a checkpoint's model would not keep its weights)."""
    if len({Mark(cfg.epochs, cfg.patience) for cfg in cfgs}) > 1 and result_of is None:
        raise ValueError("cells of several marks need `result_of`: a checkpoint's model trains on")
    result_of = result_of or (lambda trained: trained)
    with contextlib.closing(trained_cells(cfgs)) as cells:
        done = {trained.config: result_of(trained) for trained in cells}
    return [done[cfg] for cfg in cfgs]


def trained_cells(cfgs: list[ExperimentConfig]) -> Iterator[Trained]:
    """The cells of one config (cfgs differ in their seed, epochs and patience only), each
    yielded while its model holds that cell's weights (a checkpoint's model trains on once
    resumed): each seed's cells of several epoch caps as one run to the largest, handed on
    at each smaller cap (train.Checkpoint: a capped run is the first epochs of a longer
    one); the seeds together, as one batch, where their trainer batches them
    (sinelstm.experiment.batched), else one by one."""
    import keras

    first = cfgs[0]
    if any(
        cfg.replace(seed=first.seed, epochs=first.epochs, patience=first.patience) != first for cfg in cfgs
    ):
        raise ValueError("members of one batch must differ in their seed, epochs and patience only")
    marks = sorted({Mark(cfg.epochs, cfg.patience) for cfg in cfgs})
    if len(marks) > 1 and not checkpointable(first):
        for cfg in cfgs:
            yield from trained_cells([cfg])
        return
    # The run: to the largest cap, with the most patience; every other mark handed on.
    top = Mark(max(m.epochs for m in marks), max(m.patience for m in marks))
    caps = tuple(mark for mark in marks if mark != top)
    seeds = [first.replace(seed=seed, epochs=top.epochs, patience=top.patience)
             for seed in dict.fromkeys(c.seed for c in cfgs)]  # fmt: skip
    # A batch of one is the loop trainer itself: the same arithmetic, and Keras' own cell is
    # faster than a member axis of one (MAX_BATCHED_HIDDEN's note).
    if len(seeds) == 1 or not batchable(first, keras.backend.backend()):
        runs = itertools.chain.from_iterable(_train_alone(cfg, caps) for cfg in seeds)
    else:
        runs = _train_together(seeds, caps)
    wanted = set(cfgs)
    for trained in runs:
        if trained.config in wanted:
            # A checkpoint's model was forecast at an earlier cap with other weights.
            forget_compiled(trained.model)
            yield trained


def _cells(run: Iterator[Checkpoint], cfgs: list[ExperimentConfig]) -> Iterator[tuple]:
    """(member, the cell's config, its TrainResult) of each member at each checkpoint of run."""
    for checkpoint in run:
        at = checkpoint.mark
        for member, result in enumerate(checkpoint.results):
            if result is not None:
                yield member, cfgs[member].replace(epochs=at.epochs, patience=at.patience), result


def _train_together(cfgs: list[ExperimentConfig], caps: tuple[Mark, ...]) -> Iterator[Trained]:
    prepared = [_prepared(cfg) for cfg in cfgs]
    models = [model for *_, model in prepared]
    init_weights = [weights_sum(model) for model in models]
    # (members, n_windows, window, 1), (members, n_windows, 1)
    inputs = np.stack([one[1] for one in prepared])
    targets = np.stack([one[2] for one in prepared])
    for member, cfg, training in _cells(batched_checkpoints(models, inputs, targets, cfgs, caps), cfgs):
        series, member_inputs, _, model = prepared[member]
        in_sample = _in_sample(cfg, model, member_inputs)
        yield Trained(cfg, series, model, training, in_sample, init_weights[member])


def _train_alone(cfg: ExperimentConfig, caps: tuple[Mark, ...]) -> Iterator[Trained]:
    series, inputs, targets, model = _prepared(cfg)
    init_weights = weights_sum(model)
    if cfg.train_rollout > 1:
        # The remedy: train on k-step rollouts; (n, window, 1), (n, k).
        train_inputs, train_targets = make_windows(series, cfg.window, steps=cfg.train_rollout)
        run = checkpoints(rollout_model(model, cfg), train_inputs, train_targets, cfg, caps)
    else:
        run = checkpoints(model, inputs, targets, cfg, caps)
    for _, one, training in _cells(run, [cfg]):
        yield Trained(one, series, model, training, _in_sample(one, model, inputs), init_weights)


def history_of(trained: Trained) -> np.ndarray:
    """The last `window` observed values: where the forecast starts."""
    return trained.series[-trained.config.window :]


def run_experiment(
    cfg: ExperimentConfig,
    *,
    forecast_rounds: int | None = None,
    keep_model: bool = False,
    speedup: bool = False,
) -> RunResult:
    """Train cfg's model on cfg's data, forecast cfg.horizon steps, and measure it all;
    with speedup, also time the article's predict loop on the same model."""
    return measure(train_phase(cfg), forecast_rounds=forecast_rounds, keep_model=keep_model, speedup=speedup)


def run_members(cfgs: list[ExperimentConfig], *, speedup: ExperimentConfig | None = None) -> list[RunResult]:
    """run_experiment for the members of one config (cfgs differ in their seed only), trained
    together where their trainer batches them; speedup: the member whose predict loop is timed."""
    return train_members(cfgs, lambda trained: measure(trained, speedup=trained.config == speedup))


def measure(
    trained: Trained, *, forecast_rounds: int | None = None, keep_model: bool = False, speedup: bool = False
) -> RunResult:
    """Forecast a trained model cfg.horizon steps and measure training, fit and forecast."""
    cfg = trained.config
    rounds = DEFAULT_FORECAST_ROUNDS[cfg.engine] if forecast_rounds is None else forecast_rounds
    history = history_of(trained)
    forecast, warmup_s, forecast_s, forecast_cv = time_forecast(
        trained.model, history, cfg.horizon, cfg.engine, rounds
    )
    training = trained.training
    truth = clean_sine(forecast_x(cfg), cfg.period)
    fit_x = np.arange(cfg.window, cfg.length)
    network = cfg.kind.is_network
    metrics = {
        "epochs_run": training.epochs_run,
        "best_epoch": training.best_epoch,
        "train_loss": training.train_loss,
        "val_loss": training.val_loss,
        # The optimizer steps the forecast's model was trained for, and whether its training
        # loss still fell at the end (a classical fit has neither).
        "steps_run": training.epochs_run * steps_per_epoch(cfg) if network else None,
        "loss_drift": loss_drift(training.history["loss"], steps_per_epoch(cfg)) if network else None,
        **fit_metrics(trained.fit_predictions, clean_sine(fit_x, cfg.period), trained.series[cfg.window :]),
        **forecast_metrics(forecast, truth, cfg.period),
        # Canaries: what the data, the model's start and the metric functions were.
        "data_checksum": series_checksum(trained.series),
        "init_weights": trained.init_weights,
        "metrics_checksum": metrics_checksum(),
    }
    timings = {
        "fit_s": training.fit_s,
        "fit_warmup_s": training.fit_warmup_s,
        "s_per_epoch": training.s_per_epoch,
        "forecast_s": forecast_s,
        "forecast_warmup_s": warmup_s,
        "forecast_ms_per_step": forecast_s / cfg.horizon * 1000.0,
        "forecast_cv": forecast_cv,
    }
    if speedup:
        timings.update(measure_speedup(trained.model, history, timings["forecast_ms_per_step"]))
    # The epoch against its floor, measured now, in this process (a ratio that survives a
    # change of machine; the remedy's epoch runs its k steps).
    gflops = floor_gflops(cfg, training.s_per_epoch)
    timings["floor_gflops"] = gflops
    timings["epoch_floor_ratio"] = training.s_per_epoch / (
        cfg.train_rollout * epoch_flops(cfg) / (gflops * 1e9)
    )
    return RunResult(
        config=cfg,
        metrics=metrics,
        timings=timings,
        series=trained.series,
        fit_predictions=trained.fit_predictions,
        forecast=forecast,
        truth=truth,
        training=training,
        model=trained.model if keep_model else None,
    )
