"""Autoregressive forecasting: each prediction is appended to the window and fed back.

Two engines compute the same rollout. ``predict`` is the article's way and the reference:
one ``model.predict`` call per step. ``compiled`` runs the whole rollout as one compiled
loop (XLA on TensorFlow, jax.jit on JAX); for a recurrent layer followed by per-sample
layers it advances the overlapping windows together, one batched cell step per forecast
step. On TensorFlow one compiled rollout per architecture and horizon serves every model of
that shape: each model's variables are copied into a template first. JAX keeps one per
model, as it bakes the weights in (docs/layout.md, design notes).
"""

from __future__ import annotations

import threading

import numpy as np

from sinelstm.experiment.classical import Classical
from sinelstm.experiment.config import ENGINES
from sinelstm.experiment.models import architecture, shareable


def rollout(model, history: np.ndarray, horizon: int, engine: str = "compiled") -> np.ndarray:
    """Forecast `horizon` values after `history`, feeding predictions back.

    history is (window,) or (batch, window): the last `window` observed
    values of each sequence. Returns (horizon,) or (batch, horizon); the
    first value is the prediction for the step right after the history.
    """
    classical = isinstance(model, Classical)
    # The classical forecasters work in float64; the networks in float32.
    history = np.asarray(history, dtype=np.float64 if classical else np.float32)
    single = history.ndim == 1
    # (batch, window)
    histories = history[None, :] if single else history
    if histories.ndim != 2 or histories.shape[1] < 1:
        raise ValueError(f"history must be (window,) or (batch, window), got {history.shape}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if classical:
        # One numpy loop: there is no per-call overhead for an engine to remove.
        forecast = model.rollout(histories, horizon)
    elif engine == "predict":
        forecast = _predict_rollout(model, histories, horizon)
    else:
        forecast = _compiled_rollout(model, histories, horizon)
    return forecast[0] if single else forecast


def _predict_rollout(model, histories: np.ndarray, horizon: int) -> np.ndarray:
    """The article's loop: one model.predict per step."""
    batch, window = histories.shape
    current = histories.copy()
    # (batch, horizon)
    forecast = np.empty((batch, horizon), dtype=np.float32)
    for step in range(horizon):
        # (batch, window, 1) -> (batch, 1)
        predicted = model.predict(current[:, :, None], verbose=0)
        forecast[:, step] = predicted[:, 0]
        current = np.concatenate([current[:, 1:], predicted.astype(np.float32)], axis=1)
    return forecast


# (architecture, horizon) -> (template model, its compiled rollout): the TensorFlow rollouts
# shared by every model of that architecture in this process; the lock keeps a template's
# weights from changing under a rollout that runs on them.
_SHARED: dict[tuple[str, int], tuple[object, object]] = {}
_SHARED_LOCK = threading.Lock()


def _compiled_rollout(model, histories: np.ndarray, horizon: int) -> np.ndarray:
    """The compiled rollout of `model` from `histories`: on TensorFlow through the rollout
    shared by its architecture, elsewhere through one compiled for the model itself."""
    import keras

    if keras.backend.backend() != "tensorflow" or not shareable(model):
        return np.asarray(_compiled(model, horizon)(histories))
    key = (architecture(model), horizon)
    with _SHARED_LOCK:
        if key not in _SHARED:
            template = keras.models.clone_model(model)
            _SHARED[key] = template, _compiled(template, horizon)
        template, compiled = _SHARED[key]
        for target, source in zip(template.variables, model.variables, strict=True):
            target.assign(source.value)
        return np.asarray(compiled(histories))


def forget_compiled(model) -> None:
    """Drop the rollout functions compiled for model: JAX's jit takes the weights in as
    constants, so a model whose weights changed after a forecast (a checkpoint's, training
    on) must compile its rollout anew. (TensorFlow's functions read their variables live.)"""
    model.__dict__.pop("_sinelstm_rollouts", None)


def _compiled(model, horizon: int):
    """The compiled rollout function for (model, horizon), built once and cached on the model
    (forget_compiled drops it)."""
    cache = model.__dict__.setdefault("_sinelstm_rollouts", {})
    if horizon not in cache:
        recurrent = _recurrent_split(model)
        if recurrent is not None:
            body = _wavefront_body(*recurrent, horizon)
        else:
            body = _windowed_body(model, horizon)
        cache[horizon] = _compile(body)
    return cache[horizon]


def _recurrent_split(model):
    """(rnn_layer, head_layers) when the model is an RNN layer then per-sample layers, else None."""
    import keras

    layers = list(model.layers)
    if not layers or not isinstance(layers[0], keras.layers.RNN):
        return None
    rnn = layers[0]
    if rnn.return_sequences or rnn.return_state or rnn.go_backwards or rnn.stateful:
        return None
    head = layers[1:]
    if not all(isinstance(layer, (keras.layers.Dense, keras.layers.Activation)) for layer in head):
        return None
    return rnn, head


def _wavefront_body(rnn, head, horizon: int):
    from keras import ops

    cell = rnn.cell
    units = cell.units
    state_sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]

    def apply_head(values):
        for layer in head:
            values = layer(values)
        return values

    def body(histories):
        batch, window = histories.shape
        slots = batch * window
        # Slot k of each sequence holds a window that has consumed k inputs.
        states = [ops.zeros((slots, size), dtype="float32") for size in state_sizes]
        # (batch, window + horizon): the history, then the forecast as it is written.
        buffer = ops.concatenate(
            [ops.cast(histories, "float32"), ops.zeros((batch, horizon), dtype="float32")], axis=1
        )

        def tick(t, carry, write):
            buffer, states = carry
            # (batch,) -> (batch * window, 1): every slot in flight takes the same input.
            value = ops.take(buffer, t, axis=1)
            inputs = ops.reshape(ops.repeat(value[:, None], window, axis=1), (slots, 1))
            output, new_states = cell(inputs, list(states), training=False)
            if not isinstance(new_states, (list, tuple)):
                new_states = [new_states]
            # The last slot has now consumed a whole window: its output is the next value.
            last = ops.reshape(output, (batch, window, units))[:, -1, :]
            if write:
                predicted = ops.reshape(apply_head(last), (batch, 1))
                buffer = ops.slice_update(buffer, (0, t + 1), ops.cast(predicted, "float32"))
            # Shift every window one slot on and start a fresh window in slot 0.
            shifted = []
            for state in new_states:
                state = ops.reshape(state, (batch, window, -1))
                fresh = ops.zeros_like(state[:, :1, :])
                shifted.append(ops.reshape(ops.concatenate([fresh, state[:, :-1, :]], axis=1), (slots, -1)))
            return buffer, shifted

        # Warm-up: after window - 1 ticks over the history every slot is filled.
        carry = ops.fori_loop(0, window - 1, lambda t, carry: tick(t, carry, write=False), (buffer, states))
        buffer, _ = ops.fori_loop(
            window - 1, window - 1 + horizon, lambda t, carry: tick(t, carry, write=True), carry
        )
        return buffer[:, window:]

    return body


def _windowed_body(model, horizon: int):
    from keras import ops

    def body(histories):
        batch, window = histories.shape
        buffer = ops.concatenate(
            [ops.cast(histories, "float32"), ops.zeros((batch, horizon), dtype="float32")], axis=1
        )

        def step(t, buffer):
            # (batch, window, 1) -> (batch, 1)
            inputs = ops.slice(buffer, (0, t), (batch, window))[:, :, None]
            predicted = ops.cast(model(inputs, training=False), "float32")
            return ops.slice_update(buffer, (0, t + window), ops.reshape(predicted, (batch, 1)))

        return ops.fori_loop(0, horizon, step, buffer)[:, window:]

    return body


def _compile(body):
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(body, jit_compile=True)
    if backend == "jax":
        import jax

        return jax.jit(body)
    raise RuntimeError(f"the compiled engine supports the tensorflow and jax backends, not {backend}")
