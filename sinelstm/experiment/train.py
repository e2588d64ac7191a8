"""Training, as the article's model.fit call, with per-epoch timing."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from sinelstm.experiment.config import ExperimentConfig, split_sizes
from sinelstm.experiment.models import architecture, shareable


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


@dataclass(frozen=True, order=True)
class Mark:
    """Where a cell of one run ends: its epoch cap and its early stopping's patience."""

    epochs: int
    patience: int

    def reached(self, epoch: int, wait: int) -> bool:
        """Whether a run of this cap and patience ends after `epoch` (1-based), val_loss not
        improved for `wait` epochs (Keras' rule: never after the first epoch)."""
        return epoch >= self.epochs or (wait >= self.patience and epoch > 1)


@dataclass(frozen=True)
class Checkpoint:
    """A training handed on at `mark` while its models hold that epoch's weights: each
    member's TrainResult so far (None for a member not at that mark now). At a mark below
    the run's own cap and patience it goes on once resumed (fit_s leaves out the time until
    then); its last checkpoint is its end, at its own mark. A capped run is the first epochs
    of a longer one, and a run stopped early is a snapshot of one with more patience (the
    validation losses are the same), so a mark's cell is that cell trained alone; where the
    run ends sooner, the marks it has not reached get its end."""

    mark: Mark
    results: tuple[TrainResult | None, ...]


def _epoch_timer(after_epoch: Callable[[], None] | None = None):
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)
            if after_epoch is not None:
                after_epoch()

    return EpochTimer()


def train(
    model,
    inputs: np.ndarray,
    targets: np.ndarray,
    cfg: ExperimentConfig,
    after_epoch: Callable[[], None] | None = None,
) -> TrainResult:
    """Fit with Adam/MSE, cfg.batch_size, up to cfg.epochs, validation on the last
    cfg.validation_split of the windows and EarlyStopping(val_loss, cfg.patience).

    As in the article, the weights of the last epoch run are kept (no
    restore_best_weights). cfg.trainer picks who drives it: the "loop" below
    or Keras' own model.fit; a classical model is fitted in one shot. The "batched"
    trainer runs the loop's algorithm on a config's seeds together
    (sinelstm.experiment.batched); a model it cannot batch trains here by the loop.
    after_epoch, if given, runs after every epoch, outside the epoch's timing (the perf
    bench measures the machine's sgemm rate there, interleaved with the epochs).
    """
    (end,) = checkpoints(model, inputs, targets, cfg, (), after_epoch)
    return end.results[0]


def checkpoints(
    model, inputs, targets, cfg: ExperimentConfig, marks: tuple[Mark, ...] = (), after_epoch=None
) -> Iterator[Checkpoint]:
    """train(), handed on at marks below cfg's own (the loop trainer's): a Checkpoint at each
    as the run reaches it, the end's last."""
    clock = FitClock(time.perf_counter())
    if marks and (not cfg.kind.is_network or cfg.trainer == "fit"):
        raise ValueError(f"checkpoints need the loop trainer, not {cfg.trainer} on {cfg.model}")
    if not cfg.kind.is_network:
        seconds, losses = _fit_classical(model, inputs, targets, cfg)
    elif cfg.trainer == "fit":
        seconds, losses = _keras_fit(model, inputs, targets, cfg, after_epoch)
    else:
        seconds, losses = yield from _loop(model, inputs, targets, cfg, after_epoch, marks, clock)
    yield Checkpoint(Mark(cfg.epochs, cfg.patience), (summarize(seconds, losses, clock.elapsed()),))


class FitClock:
    """A fit's wall time, less the time it spent handed on at its checkpoints."""

    def __init__(self, start: float):
        self.start, self.paused = start, 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - began


def so_far(seconds: list[float], losses: dict[str, list[float]], fit_s: float) -> TrainResult:
    """summarize() of a training still under way (copies of its curves)."""
    return summarize(list(seconds), {name: list(values) for name, values in losses.items()}, fit_s)


def summarize(seconds: list[float], losses: dict[str, list[float]], fit_s: float) -> TrainResult:
    """A training's result from its epochs' seconds and its loss curves (loss, val_loss)."""
    val_loss = np.asarray(losses["val_loss"], dtype=np.float64)
    finite = np.isfinite(val_loss)
    best = int(np.argmin(np.where(finite, val_loss, np.inf))) if finite.any() else -1
    later = seconds[1:]
    s_per_epoch = float(np.median(later)) if later else seconds[0]
    return TrainResult(
        epochs_run=len(val_loss),
        best_epoch=best + 1 if best >= 0 else 0,
        train_loss=losses["loss"][best] if best >= 0 else math.nan,
        val_loss=float(val_loss[best]) if best >= 0 else math.nan,
        fit_s=fit_s,
        s_per_epoch=s_per_epoch,
        fit_warmup_s=max(0.0, seconds[0] - s_per_epoch),
        epoch_seconds=list(seconds),
        history=losses,
    )


def _keras_fit(model, inputs, targets, cfg, after_epoch=None):
    import keras

    timer = _epoch_timer(after_epoch)
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", mode="auto", patience=cfg.patience)
    history = model.fit(
        inputs,
        targets,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        validation_split=cfg.validation_split,
        callbacks=[early_stopping, timer],
        verbose=0,
    )
    return timer.seconds, {name: [float(v) for v in values] for name, values in history.history.items()}


# (architecture, optimizer, loss, jit) -> (compiled template, its optimizer's fresh state, lock).
_TRAINEES: dict[str, tuple[object, list[np.ndarray], threading.Lock]] = {}


@contextlib.contextmanager
def _in_place_of(model) -> Iterator[object]:
    """The Keras model that trains in `model`'s place. On TensorFlow, for a shareable()
    model: one compiled template per architecture, optimizer config and loss in this
    process, which takes model's variables (weights, seed states) and a fresh optimizer
    state first and gives its trained variables back after. Tracing a model's train and
    test functions (its first epoch's fit_warmup_s) can cost more than a small cell's
    training; the template traces them once. The same graph on the same
    values: the same arithmetic (tests/test_experiment.py holds a cell trained after
    another on the template to the cell trained alone, bit for bit). Elsewhere, or while
    the template is in use, `model`."""
    import keras

    if keras.backend.backend() != "tensorflow" or not shareable(model):
        yield model
        return
    optimizer = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}
    key = json.dumps([architecture(model), type(model.optimizer).__qualname__, optimizer,
                      str(model.loss), bool(model.jit_compile)], sort_keys=True, default=str)  # fmt: skip
    if key not in _TRAINEES:
        trainee = keras.models.clone_model(model)
        trainee.compile(
            optimizer=type(model.optimizer).from_config(model.optimizer.get_config()),
            loss=model.loss,
            jit_compile=model.jit_compile,
        )
        trainee.optimizer.build(trainee.trainable_variables)
        fresh = [variable.numpy() for variable in trainee.optimizer.variables]
        _TRAINEES[key] = trainee, fresh, threading.Lock()
    trainee, fresh, lock = _TRAINEES[key]
    if not lock.acquire(blocking=False):
        yield model
        return
    try:
        # Weights and random-seed states (dropout's) alike.
        for target, source in zip(trainee.variables, model.variables, strict=True):
            target.assign(source.value)
        for variable, value in zip(trainee.optimizer.variables, fresh, strict=True):
            variable.assign(value)
        yield trainee
        for target, source in zip(model.variables, trainee.variables, strict=True):
            target.assign(source.value)
    finally:
        lock.release()


def _loop(model, inputs, targets, cfg, after_epoch=None, marks=(), clock=None):
    """model.fit's algorithm, batch by batch: the last validation_split of the windows held
    out; each epoch the training windows shuffled and split into batches; the epoch's
    loss the batch-size-weighted mean; val_loss after each epoch; Keras' EarlyStopping
    rule (stop once val_loss has not improved for `patience` epochs, never after the first).
    It trains `model` through the template _in_place_of gives; at a checkpoint `model` is
    given the trainee's weights of that epoch first. Yields the checkpoints at marks;
    returns (seconds, losses).
    """
    with _in_place_of(model) as trainee:
        return (yield from _loop_on(trainee, inputs, targets, cfg, after_epoch, marks, clock, model))


def _loop_on(model, inputs, targets, cfg, after_epoch=None, marks=(), clock=None, owner=None):
    n_train, _ = split_sizes(len(inputs), cfg.validation_split)
    x_train, y_train = inputs[:n_train], targets[:n_train]
    x_val, y_val = inputs[n_train:], targets[n_train:]
    # The validation batches are the same every epoch.
    val_batches = [slice(i, i + cfg.batch_size) for i in range(0, len(x_val), cfg.batch_size)]
    val_weights = [len(x_val[batch]) for batch in val_batches]
    rng = np.random.default_rng(cfg.seed)
    seconds: list[float] = []
    losses: dict[str, list[float]] = {"loss": [], "val_loss": []}
    best, wait = math.inf, 0
    pending = list(marks)
    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        order = rng.permutation(n_train)
        batches = [order[i : i + cfg.batch_size] for i in range(0, n_train, cfg.batch_size)]
        batch_losses = [float(model.train_on_batch(x_train[b], y_train[b])) for b in batches]
        losses["loss"].append(float(np.average(batch_losses, weights=[len(b) for b in batches])))
        val_losses = [float(model.test_on_batch(x_val[batch], y_val[batch])) for batch in val_batches]
        current = float(np.average(val_losses, weights=val_weights))
        losses["val_loss"].append(current)
        seconds.append(time.perf_counter() - start)
        if after_epoch is not None:
            after_epoch()
        stop = False
        if current < best:
            best, wait = current, 0
        else:
            wait += 1
            stop = wait >= cfg.patience and epoch > 0
        # Those due now, and (the run ending sooner) those it will not reach.
        for mark in [mark for mark in pending if stop or mark.reached(epoch + 1, wait)]:
            pending.remove(mark)
            with clock.pause():
                checkpoint = Checkpoint(mark, (so_far(seconds, losses, clock.elapsed()),))
                if owner is not None and owner is not model:  # it trained in owner's place
                    for target, source in zip(owner.variables, model.variables, strict=True):
                        target.assign(source.value)
                yield checkpoint
        if stop:
            break
    return seconds, losses


def _fit_classical(model, inputs, targets, cfg):
    n_train, _ = split_sizes(len(inputs), cfg.validation_split)
    start = time.perf_counter()
    model.fit(inputs, targets, n_train)
    seconds = [time.perf_counter() - start]
    errors = model.predict(inputs) - np.asarray(targets, dtype=np.float64)[:, 0]
    losses = {
        "loss": [float(np.mean(errors[:n_train] ** 2))],
        "val_loss": [float(np.mean(errors[n_train:] ** 2))],
    }
    return seconds, losses
