"""The seeds of one config trained together: one compiled step advances every member.

The members (one config but for the seed) are stacked: every weight gains a leading member
axis, and a training step is one batched product per time step for all members. Each keeps
what the loop trainer gives a seed: its own data, initial weights, shuffle order, Adam
state, validation loss and early stopping. Losses are summed and Adam is element-wise, so
each member's update is its own; tests hold the metrics to the loop trainer's. Covered:
lstm, gru and rnn with Keras' layers on TensorFlow, one-step training; everything else
trains one by one (batchable says so). Why: docs/layout.md, design notes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from sinelstm.experiment import kinds
from sinelstm.experiment.config import ExperimentConfig, split_sizes
from sinelstm.experiment.train import Checkpoint, FitClock, Mark, TrainResult, so_far, summarize

# Adam's constants as keras.optimizers.Adam has them by default.
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7


# Seeds of a larger model train one by one: at hidden 300 an epoch is one large product a
# step already, and a member axis makes it slower (docs/layout.md, design notes).
MAX_BATCHED_HIDDEN = 128


def batchable(cfg: ExperimentConfig, backend: str) -> bool:
    """Whether cfg's seeds train as members of one batch: a kind with a member cell, with
    Keras' layers up to MAX_BATCHED_HIDDEN units, one-step training, on TensorFlow."""
    return (
        cfg.trainer == "batched"
        and (kind := kinds.lookup(cfg.model)) is not None
        and kind.batchable
        and cfg.hidden <= MAX_BATCHED_HIDDEN
        # Keras' LSTM's function: its layer or TensorFlow's block kernel ("": gru, rnn).
        and cfg.implementation in ("keras", "block", "")
        and cfg.train_rollout == 1
        and backend == "tensorflow"
    )


# The kinds' member cells (kinds.ModelKind.member_cell): one step (z_input, h, c,
# recurrent_kernel, recurrent_bias) -> (h, c), in Keras' own arithmetic (its gate order and
# where its biases go).
def lstm_cell(z_input, h, c, recurrent_kernel, recurrent_bias):
    import tensorflow as tf

    # (members, batch, 4 * units): Keras' gate order i, f, c, o.
    z = z_input + tf.linalg.matmul(h, recurrent_kernel)
    zi, zf, zc, zo = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zc)
    return tf.sigmoid(zo) * tf.tanh(c), c


def gru_cell(z_input, h, c, recurrent_kernel, recurrent_bias):
    import tensorflow as tf

    # reset_after=True, Keras' default: the recurrent bias is added before the reset gate.
    inner = tf.linalg.matmul(h, recurrent_kernel) + recurrent_bias
    x_z, x_r, x_h = tf.split(z_input, 3, axis=-1)
    h_z, h_r, h_h = tf.split(inner, 3, axis=-1)
    update, reset = tf.sigmoid(x_z + h_z), tf.sigmoid(x_r + h_r)
    candidate = tf.tanh(x_h + reset * h_h)
    return update * h + (1 - update) * candidate, c


def rnn_cell(z_input, h, c, recurrent_kernel, recurrent_bias):
    import tensorflow as tf

    return tf.tanh(z_input + tf.linalg.matmul(h, recurrent_kernel)), c


def _split_weights(weights: list[np.ndarray]) -> list[np.ndarray]:
    """A member's Keras weights -> [kernel (1, g), recurrent kernel (u, g), input bias (g,),
    recurrent bias (g,), dense kernel (u, 1), dense bias (1,)], g the gates' width."""
    kernel, recurrent_kernel, bias, dense_kernel, dense_bias = weights
    if bias.ndim == 2:  # GRU's input and recurrent biases, (2, 3 * units)
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    return [kernel, recurrent_kernel, input_bias, recurrent_bias, dense_kernel, dense_bias]


def _join_weights(parts: list[np.ndarray], paired_bias: bool) -> list[np.ndarray]:
    """_split_weights undone: the Keras weights of one member (paired_bias: its bias was 2-D)."""
    kernel, recurrent_kernel, input_bias, recurrent_bias, dense_kernel, dense_bias = parts
    bias = np.stack([input_bias, recurrent_bias]) if paired_bias else input_bias
    return [kernel, recurrent_kernel, bias, dense_kernel, dense_bias]


class Members:
    """The stacked weights and Adam state of a config's members, and its compiled steps."""

    def __init__(self, cfg: ExperimentConfig, models: list):
        import tensorflow as tf

        self.cfg, self.models = cfg, models
        keras_weights = [[np.asarray(w) for w in m.get_weights()] for m in models]
        self.paired_bias = keras_weights[0][2].ndim == 2
        per_member = [_split_weights(weights) for weights in keras_weights]
        # Each variable: (members, *its Keras shape); the biases as (members, 1, width) so that
        # they broadcast over the batch.
        stacked = [np.stack(parts) for parts in zip(*per_member, strict=True)]
        for index in (2, 3, 5):
            stacked[index] = stacked[index][:, None, :]
        self.weights = [tf.Variable(value, dtype=tf.float32) for value in stacked]
        self.moments = [tf.Variable(tf.zeros_like(value, dtype=tf.float32)) for value in stacked]
        self.velocities = [tf.Variable(tf.zeros_like(value, dtype=tf.float32)) for value in stacked]
        self.steps = tf.Variable(0, dtype=tf.int64)
        self.cell = cfg.kind.member_cell_function()
        # Graph functions without XLA: here XLA's CPU products are slower than oneDNN's, and
        # compiling the unrolled steps costs more than it saves (docs/layout.md, design notes).
        self.train_step = tf.function(self._train_step, reduce_retracing=True)
        self.losses = tf.function(self._losses, reduce_retracing=True)

    def _predict(self, inputs):
        """(members, batch, window, 1) -> (members, batch, 1), each member by its own weights."""
        import tensorflow as tf

        kernel, recurrent_kernel, input_bias, recurrent_bias, dense_kernel, dense_bias = self.weights
        shape = tf.shape(inputs)
        h = tf.zeros([shape[0], shape[1], recurrent_kernel.shape[1]])
        c = tf.zeros_like(h)
        for t in range(self.cfg.window):
            # (members, batch, 1) times (members, 1, gates): the input's product has one input.
            z_input = inputs[:, :, t, :] * kernel + input_bias
            h, c = self.cell(z_input, h, c, recurrent_kernel, recurrent_bias)
        return tf.linalg.matmul(h, dense_kernel) + dense_bias

    def _losses(self, inputs, targets):
        """Each member's mean squared error, (members,)."""
        import tensorflow as tf

        return tf.reduce_mean(tf.square(self._predict(inputs) - targets), axis=[1, 2])

    def _train_step(self, inputs, targets, active):
        """One Adam step of every active member (active: (members,) 1.0 or 0.0); the members'
        losses before the step."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            losses = self._losses(inputs, targets)
            total = tf.reduce_sum(losses)
        gradients = tape.gradient(total, self.weights)
        self.steps.assign_add(1)
        step = tf.cast(self.steps, tf.float32)
        alpha = self.cfg.learning_rate * tf.sqrt(1 - BETA_2**step) / (1 - BETA_1**step)
        for weight, moment, velocity, gradient in zip(
            self.weights, self.moments, self.velocities, gradients, strict=True
        ):
            if gradient is None:  # the recurrent bias of an LSTM or SimpleRNN: none, stays zero
                continue
            keep = tf.reshape(active, [-1] + [1] * (len(weight.shape) - 1)) > 0
            new_moment = moment + (gradient - moment) * (1 - BETA_1)
            new_velocity = velocity + (tf.square(gradient) - velocity) * (1 - BETA_2)
            new_weight = weight - (new_moment * alpha) / (tf.sqrt(new_velocity) + EPSILON)
            moment.assign(tf.where(keep, new_moment, moment))
            velocity.assign(tf.where(keep, new_velocity, velocity))
            weight.assign(tf.where(keep, new_weight, weight))
        return losses

    def write_back(self) -> None:
        """Every member's trained weights into its own Keras model."""
        stacked = [np.asarray(w.numpy()) for w in self.weights]
        for index in (2, 3, 5):
            stacked[index] = stacked[index][:, 0, :]
        for member, model in enumerate(self.models):
            model.set_weights(_join_weights([part[member] for part in stacked], self.paired_bias))


def train_batched(
    models: list,
    inputs: np.ndarray,
    targets: np.ndarray,
    cfgs: list[ExperimentConfig],
    after_epoch: Callable[[], None] | None = None,
) -> list[TrainResult]:
    """Train the members (cfgs differ only in seed; models built from their seeds; inputs
    (members, n_windows, window, 1), targets (members, n_windows, 1)) by the loop trainer's
    algorithm, all at once; each model ends with its member's last weights.

    A member's epoch time is the batch's epoch time over the number of members (every
    member is computed every epoch, a stopped one masked), so its s_per_epoch is its share.
    """
    (end,) = batched_checkpoints(models, inputs, targets, cfgs, (), after_epoch)
    return list(end.results)


def batched_checkpoints(
    models: list,
    inputs: np.ndarray,
    targets: np.ndarray,
    cfgs: list[ExperimentConfig],
    marks: tuple[Mark, ...] = (),
    after_epoch: Callable[[], None] | None = None,
) -> Iterator[Checkpoint]:
    """train_batched, handed on at marks below cfgs' own (train.Checkpoint): at each, every
    model is given its member's weights of that epoch first, each member's result so far in
    cfgs' order; the end's last."""
    import tensorflow as tf

    cfg = cfgs[0]
    members = len(cfgs)
    n_train, _ = split_sizes(inputs.shape[1], cfg.validation_split)
    x_train, y_train = inputs[:, :n_train], targets[:, :n_train]
    x_val = tf.constant(inputs[:, n_train:])
    y_val = tf.constant(targets[:, n_train:])
    stacked = Members(cfg, models)
    generators = [np.random.default_rng(member.seed) for member in cfgs]
    rows = np.arange(members)[:, None]
    seconds: list[float] = []
    losses = [{"loss": [], "val_loss": []} for _ in cfgs]
    best, wait = [math.inf] * members, [0] * members
    active = np.ones(members, dtype=np.float32)
    clock = FitClock(time.perf_counter())

    def checkpoint(mark, due: list[int]) -> Checkpoint:
        stacked.write_back()
        fit_s = clock.elapsed() / members
        shares = [s / members for s in seconds]
        results = [so_far(shares[: len(h["val_loss"])], h, fit_s) for h in losses]
        return Checkpoint(mark, tuple(one if member in due else None for member, one in enumerate(results)))

    # Each member's marks not yet handed on (a stopped member's weights stay as they are).
    pending = [list(marks) for _ in cfgs]

    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        # (members, n_train): each member's shuffle, drawn as the loop trainer draws it.
        orders = np.stack([generator.permutation(n_train) for generator in generators])
        batch_losses, sizes = [], []
        for first in range(0, n_train, cfg.batch_size):
            batch = orders[:, first : first + cfg.batch_size]
            # (members, batch, window, 1), (members, batch, 1)
            step_losses = stacked.train_step(
                tf.constant(x_train[rows, batch]), tf.constant(y_train[rows, batch]), tf.constant(active)
            )
            batch_losses.append(step_losses.numpy())
            sizes.append(batch.shape[1])
        epoch_loss = np.average(np.stack(batch_losses), axis=0, weights=sizes)
        val_loss = stacked.losses(x_val, y_val).numpy()
        seconds.append(time.perf_counter() - start)
        if after_epoch is not None:
            after_epoch()
        for member in np.flatnonzero(active):
            losses[member]["loss"].append(float(epoch_loss[member]))
            current = float(val_loss[member])
            losses[member]["val_loss"].append(current)
            if current < best[member]:
                best[member], wait[member] = current, 0
            else:
                wait[member] += 1
                if wait[member] >= cfg.patience and epoch > 0:
                    active[member] = 0.0
        # Each member's marks due now, and (the member stopped) those it will not reach.
        due: dict = {}
        for member, marks in enumerate(pending):
            for mark in [
                mark for mark in marks if not active[member] or mark.reached(epoch + 1, wait[member])
            ]:
                marks.remove(mark)
                due.setdefault(mark, []).append(member)
        for mark, who in sorted(due.items()):
            with clock.pause():
                yield checkpoint(mark, who)
        if not active.any():
            break
    fit_s = clock.elapsed() / members
    stacked.write_back()
    # Each member's share of every epoch it ran.
    shares = [s / members for s in seconds]
    ends = tuple(summarize(shares[: len(history["val_loss"])], history, fit_s) for history in losses)
    yield Checkpoint(Mark(cfg.epochs, cfg.patience), ends)
