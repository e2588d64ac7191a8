"""One experiment end to end: config -> series -> windows -> model -> forecast -> metrics -> row."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from sinelstm.config import CLASSICAL_MODELS, ExperimentConfig, config_columns
from sinelstm.data import clean_sine, noisy_sine
from sinelstm.forecast import rollout
from sinelstm.metrics import fit_metrics, forecast_metrics
from sinelstm.models import build_model, rollout_model
from sinelstm.provenance import provenance
from sinelstm.results import SCHEMA_VERSION
from sinelstm.seeding import set_seed
from sinelstm.train import TrainResult, train
from sinelstm.windows import make_windows

# Timed forecast rounds after the first (warm-up) call, per engine. The
# predict engine's one call already takes seconds and is its own sample.
DEFAULT_FORECAST_ROUNDS = {"compiled": 5, "predict": 0}


@dataclass
class RunResult:
    config: ExperimentConfig
    row: dict[str, object]  # the result row: config, metrics, timings, provenance
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


@dataclass
class Trained:
    """A trained model with the data it was trained on."""

    config: ExperimentConfig
    series: np.ndarray  # (length,) the noisy observations
    model: object
    training: TrainResult
    fit_predictions: np.ndarray  # (n_windows,) one-step predictions for x = window .. length-1


def train_phase(cfg: ExperimentConfig) -> Trained:
    """Seed, build the data and windows, train cfg's model, predict in-sample."""
    cfg.validate()
    set_seed(cfg.seed)
    series = noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed)
    classical = cfg.model in CLASSICAL_MODELS
    dtype = np.float64 if classical else np.float32
    # (n_windows, window, 1), (n_windows, 1)
    inputs, targets = make_windows(series, cfg.window, dtype=dtype)
    model = build_model(cfg)
    if cfg.train_rollout > 1:
        # The remedy: train on k-step rollouts; (n, window, 1), (n, k).
        train_inputs, train_targets = make_windows(series, cfg.window, steps=cfg.train_rollout)
        training = train(rollout_model(model, cfg), train_inputs, train_targets, cfg)
    else:
        training = train(model, inputs, targets, cfg)
    if classical:
        fit_predictions = model.predict(inputs)
    else:
        # (n_windows, 1) -> (n_windows,)
        fit_predictions = np.asarray(model.predict(inputs, batch_size=1024, verbose=0))[:, 0]
    return Trained(cfg, series, model, training, fit_predictions)


def history_of(trained: Trained) -> np.ndarray:
    """The last `window` observed values: where the forecast starts."""
    return trained.series[-trained.config.window :]


def result_of(
    trained: Trained,
    forecast: np.ndarray,
    *,
    forecast_s: float,
    forecast_warmup_s: float,
    forecast_cv: float,
    run_id: str = "",
    keep_model: bool = False,
) -> RunResult:
    """The result row of a trained model and its timed forecast."""
    cfg, training = trained.config, trained.training
    truth = clean_sine(forecast_x(cfg), cfg.period)
    fit_x = np.arange(cfg.window, cfg.length)
    row: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": "ok",
        "error": "",
        **config_columns(cfg),
        "epochs_run": training.epochs_run,
        "best_epoch": training.best_epoch,
        "train_loss": training.train_loss,
        "val_loss": training.val_loss,
        **fit_metrics(trained.fit_predictions, clean_sine(fit_x, cfg.period), trained.series[cfg.window :]),
        **forecast_metrics(forecast, truth, cfg.period),
        "fit_s": training.fit_s,
        "fit_warmup_s": training.fit_warmup_s,
        "s_per_epoch": training.s_per_epoch,
        "forecast_s": forecast_s,
        "forecast_warmup_s": forecast_warmup_s,
        "forecast_ms_per_step": forecast_s / cfg.horizon * 1000.0,
        "forecast_cv": forecast_cv,
        **provenance(),
    }
    return RunResult(
        config=cfg,
        row=row,
        series=trained.series,
        fit_predictions=trained.fit_predictions,
        forecast=forecast,
        truth=truth,
        training=training,
        model=trained.model if keep_model else None,
    )


def run_experiment(
    cfg: ExperimentConfig,
    *,
    run_id: str = "",
    forecast_rounds: int | None = None,
    keep_model: bool = False,
) -> RunResult:
    """Train cfg's model on cfg's data, forecast cfg.horizon steps, and measure it all."""
    trained = train_phase(cfg)
    rounds = DEFAULT_FORECAST_ROUNDS[cfg.engine] if forecast_rounds is None else forecast_rounds
    forecast, warmup_s, forecast_s, forecast_cv = time_forecast(
        trained.model, history_of(trained), cfg.horizon, cfg.engine, rounds
    )
    return result_of(
        trained,
        forecast,
        forecast_s=forecast_s,
        forecast_warmup_s=warmup_s,
        forecast_cv=forecast_cv,
        run_id=run_id,
        keep_model=keep_model,
    )
