"""Accuracy and decay metrics of a forecast: pure numpy functions.

A metric that cannot be computed (too short a horizon, a non-finite
forecast) is NaN, never an exception.
"""

from __future__ import annotations

import math

import numpy as np

# A forecast is diverged when any value is non-finite or exceeds this many
# times the true amplitude.
DIVERGENCE_FACTOR = 3.0
TRUE_AMPLITUDE = 1.0
# The amplitude resolution: a period whose amplitude is under it holds no wave. 1e-3 of the
# true amplitude sits 30x under the data's noise SD (0.029) and 1e4x over float32 rounding
# of unit values (6e-8), where two hosts' numerics differ (docs/running.md, "Flat forecasts").
FLAT_AMPLITUDE = 1e-3


def rmse(predicted: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error; NaN for empty or non-finite input."""
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    target = np.asarray(target, dtype=np.float64).ravel()
    if predicted.shape != target.shape:
        raise ValueError(f"shapes differ: {predicted.shape} vs {target.shape}")
    if predicted.size == 0:
        return math.nan
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(np.sqrt(np.mean((predicted - target) ** 2)))
    return value if math.isfinite(value) else math.nan


def period_length(period: float) -> int:
    """Samples per period, as the integer used to cut the forecast into periods."""
    return max(1, int(round(period)))


def period_amplitudes(values: np.ndarray, period: float) -> np.ndarray:
    """a_k = (max - min) / 2 over each full period k of values; partial periods are dropped."""
    values = np.asarray(values, dtype=np.float64)
    step = period_length(period)
    n_periods = len(values) // step
    # (n_periods, step)
    chunks = values[: n_periods * step].reshape(n_periods, step)
    return (chunks.max(axis=1) - chunks.min(axis=1)) / 2.0


def resolved(amplitudes: np.ndarray) -> np.ndarray:
    """The amplitudes at the resolution: each under FLAT_AMPLITUDE is 0 (no wave)."""
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    return np.where(amplitudes >= FLAT_AMPLITUDE, amplitudes, 0.0)


def decay_per_period(amplitudes: np.ndarray) -> float:
    """exp(slope) of a least-squares line through log(a_k) against k, each a_k held at
    least FLAT_AMPLITUDE (a flat period counts as the resolution, not as its rounding).

    1.0 means no decay, < 1 decay, > 1 growth. NaN with fewer than two
    periods or a non-finite amplitude.
    """
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    if len(amplitudes) < 2 or not np.all(np.isfinite(amplitudes)):
        return math.nan
    slope, _ = np.polyfit(np.arange(len(amplitudes)), np.log(np.maximum(amplitudes, FLAT_AMPLITUDE)), 1)
    return float(math.exp(slope))


def rising_zero_crossings(values: np.ndarray) -> np.ndarray:
    """Fractional indices where values cross zero going up, by linear interpolation."""
    values = np.asarray(values, dtype=np.float64)
    below, above = values[:-1], values[1:]
    index = np.nonzero((below < 0) & (above >= 0))[0]
    return index + below[index] / (below[index] - above[index])


def forecast_metrics(forecast: np.ndarray, truth: np.ndarray, period: float) -> dict[str, float]:
    """Every forecast metric of the result row, from the forecast and its noise-free truth.

    - forecast_rmse, forecast_rmse_p1: RMSE over the horizon and over its first period.
    - amp_first, amp_last, amp_ratio, decay_per_period: amplitude per full period, at the
      resolution FLAT_AMPLITUDE (under it: 0).
    - flat: the last full period holds no wave at that resolution.
    - forecast_mean: mean over the full periods (the whole horizon if none is full).
    - period_est: mean spacing of the rising zero crossings of the centred forecast, over
      the full periods before the first flat one, centred on their own mean (a flat
      line's crossings are rounding); NaN where the first period is flat.
    - phase_drift: period_est - period; negative means the forecast runs ahead
      (a shorter period gains that many steps each period).
    - diverged: any value non-finite or beyond DIVERGENCE_FACTOR x the true amplitude.
    """
    forecast = np.asarray(forecast, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    step = period_length(period)
    finite = bool(np.all(np.isfinite(forecast)))
    diverged = not finite or bool(np.any(np.abs(forecast) > DIVERGENCE_FACTOR * TRUE_AMPLITUDE))

    metrics = {
        "forecast_rmse": rmse(forecast, truth),
        "forecast_rmse_p1": rmse(forecast[:step], truth[:step]),
        "amp_first": math.nan,
        "amp_last": math.nan,
        "amp_ratio": math.nan,
        "decay_per_period": math.nan,
        "forecast_mean": math.nan,
        "period_est": math.nan,
        "phase_drift": math.nan,
        "diverged": diverged,
        "flat": False,
    }
    if not finite:
        return metrics

    raw = period_amplitudes(forecast, period)
    amplitudes = resolved(raw)
    if len(amplitudes) >= 1:
        metrics["amp_first"] = float(amplitudes[0])
        metrics["amp_last"] = float(amplitudes[-1])
        metrics["flat"] = bool(amplitudes[-1] == 0)
    if len(amplitudes) >= 2 and amplitudes[0] > 0:
        metrics["amp_ratio"] = float(amplitudes[-1] / amplitudes[0])
    metrics["decay_per_period"] = decay_per_period(raw)

    full = forecast[: len(amplitudes) * step] if len(amplitudes) else forecast
    centre = float(np.mean(full))
    metrics["forecast_mean"] = centre
    waving = forecast
    if np.any(amplitudes == 0):  # the full periods before the first flat one, about their own centre
        waving = forecast[: int(np.argmax(amplitudes == 0)) * step]
        centre = float(np.mean(waving)) if len(waving) else centre
    crossings = rising_zero_crossings(waving - centre)
    if len(crossings) >= 2:
        period_est = float((crossings[-1] - crossings[0]) / (len(crossings) - 1))
        metrics["period_est"] = period_est
        metrics["phase_drift"] = period_est - float(period)
    return metrics


def fit_metrics(predicted: np.ndarray, clean: np.ndarray, noisy: np.ndarray) -> dict[str, float]:
    """In-sample one-step RMSE against the noise-free sine and against the noisy targets."""
    return {"fit_rmse_clean": rmse(predicted, clean), "fit_rmse_noisy": rmse(predicted, noisy)}


# A run has converged where its training loss is flat over its last N = max(100, 10% of
# its steps) optimizer steps: judged on the training loss, never on the validation tail.
CONVERGENCE_STEPS, CONVERGENCE_SHARE = 100, 0.1


def loss_drift(losses, steps_per_epoch: int) -> float:
    """How far the training loss fell over a run's last N = max(100, 10% of its steps)
    optimizer steps: the loss N steps before the end over the loss at the end, minus 1,
    each the mean of the epochs' losses over a tenth of N (against minibatch noise). 0 is
    flat, 0.05 a 5% fall, below 0 a rise. A run shorter than N is judged on its whole
    fall. NaN without a finite curve."""
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) == 0 or not np.all(np.isfinite(losses)):
        return math.nan
    steps = len(losses) * steps_per_epoch
    back = math.ceil(max(CONVERGENCE_STEPS, CONVERGENCE_SHARE * steps) / steps_per_epoch)  # epochs
    smooth = max(1, back // 10)
    at = max(0, len(losses) - 1 - back)  # the epoch N steps before the last
    before = losses[max(0, at - smooth + 1) : at + 1].mean()
    end = losses[-smooth:].mean()
    return float(before / end - 1.0) if end > 0 else math.nan
