"""Training, as the article's model.fit call, with per-epoch timing."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from sinelstm.config import ExperimentConfig


@dataclass(frozen=True)
class TrainResult:
    epochs_run: int  # epochs actually run (early stopping may end sooner)
    best_epoch: int  # 1-based epoch of the lowest val_loss
    train_loss: float  # training loss at the best epoch
    val_loss: float  # validation loss at the best epoch
    fit_s: float  # wall time of the whole fit, compilation included
    s_per_epoch: float  # median wall time of an epoch after the first
    fit_warmup_s: float  # extra time of the first epoch (tracing and compilation)
    epoch_seconds: list[float] = field(default_factory=list)  # wall time of every epoch
    history: dict[str, list[float]] = field(default_factory=dict)


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def train(model, inputs: np.ndarray, targets: np.ndarray, cfg: ExperimentConfig) -> TrainResult:
    """Fit with Adam/MSE, cfg.batch_size, up to cfg.epochs, validation on the last
    cfg.validation_split of the windows and EarlyStopping(val_loss, cfg.patience).

    As in the article, the weights of the last epoch run are kept (no
    restore_best_weights).
    """
    import keras

    timer = _epoch_timer()
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", mode="auto", patience=cfg.patience)
    start = time.perf_counter()
    history = model.fit(
        inputs,
        targets,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        validation_split=cfg.validation_split,
        callbacks=[early_stopping, timer],
        verbose=0,
    )
    fit_s = time.perf_counter() - start
    losses = {name: [float(v) for v in values] for name, values in history.history.items()}
    val_loss = np.asarray(losses["val_loss"], dtype=np.float64)
    finite = np.isfinite(val_loss)
    best = int(np.argmin(np.where(finite, val_loss, np.inf))) if finite.any() else -1
    later = timer.seconds[1:]
    s_per_epoch = float(np.median(later)) if later else timer.seconds[0]
    return TrainResult(
        epochs_run=len(val_loss),
        best_epoch=best + 1 if best >= 0 else 0,
        train_loss=losses["loss"][best] if best >= 0 else math.nan,
        val_loss=float(val_loss[best]) if best >= 0 else math.nan,
        fit_s=fit_s,
        s_per_epoch=s_per_epoch,
        fit_warmup_s=max(0.0, timer.seconds[0] - s_per_epoch),
        epoch_seconds=list(timer.seconds),
        history=losses,
    )
