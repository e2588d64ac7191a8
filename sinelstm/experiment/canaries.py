"""The canaries of a result row: what the data, the untrained model and the metric
functions were, each reduced to a number or a hash that changes exactly when it does."""

from __future__ import annotations

import functools
import hashlib
import json

import numpy as np

from sinelstm.experiment.metrics import forecast_metrics


def series_checksum(series: np.ndarray) -> str:
    """A canary of the data: the first 16 hex digits of the SHA-256 of the series' float64 bytes."""
    return hashlib.sha256(np.asarray(series, dtype=np.float64).tobytes()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def metrics_checksum() -> str:
    """A canary of the metric functions: every forecast metric of a fixed reference (a sine
    that loses 10% per period, running 2% fast, off centre by 0.01), to 9 digits, hashed.
    It changes exactly when a metric's definition does, whatever the training does."""
    x = np.arange(400)
    reference = 0.9 ** (x / 100) * np.sin(2 * np.pi * x / 98) + 0.01
    metrics = forecast_metrics(reference, np.sin(2 * np.pi * x / 100), 100.0)
    text = json.dumps({k: round(float(v), 9) for k, v in metrics.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def weights_sum(model) -> float:
    """sum |w| over a Keras model's weights (0 for a classical forecaster, which has none yet)."""
    weights = getattr(model, "weights", None) or []
    return float(sum(np.abs(np.asarray(w, dtype=np.float64)).sum() for w in weights))
