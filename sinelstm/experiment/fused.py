"""The article's LSTM layer with faster training passes for TensorFlow: fused and block.

FusedLSTM is keras.layers.LSTM (same weights, initializers and config) whose training pass
uses fewer, larger operations: one product a step, each step's gate arithmetic in one XLA
function, and every weight gradient as one product over all steps. Inference, and the
options it does not cover, run Keras' own code. BlockLSTM runs the whole sequence in
TensorFlow's fused BlockLSTMV2 kernels, in training and inference, with a gradient of its
own (the registered one is wrong). tests/test_fused.py holds both to keras.layers.LSTM;
the reasoning is in docs/layout.md, design notes.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@tf.function(jit_compile=True)
def _step_forward(z, c, x_next):
    """Gates, state and the next step's [h, x, 1] from the pre-activations z (batch, 4*units),
    in Keras' gate order i, f, c, o."""
    zi, zf, zg, zo = tf.split(z, 4, axis=1)
    i, f, g, o = tf.sigmoid(zi), tf.sigmoid(zf), tf.tanh(zg), tf.sigmoid(zo)
    c = f * c + i * g
    tc = tf.tanh(c)
    h = o * tc
    stacked = tf.concat([h, x_next, tf.ones_like(x_next[:, :1])], axis=1)
    return stacked, c, tf.concat([i, f, g, o], axis=1), tc


@tf.function(jit_compile=True)
def _step_backward(dh, dc, gates, tc, c_prev):
    """The pre-activations' gradient and the previous cell state's, from this step's."""
    i, f, g, o = tf.split(gates, 4, axis=1)
    dzo = dh * tc * o * (1 - o)
    dc = dc + dh * o * (1 - tc * tc)
    dzi = dc * g * i * (1 - i)
    dzf = dc * c_prev * f * (1 - f)
    dzg = dc * i * (1 - g * g)
    return tf.concat([dzi, dzf, dzg, dzo], axis=1), dc * f


def fused_lstm(x, kernel, recurrent_kernel, bias):
    """(h_T, c_T) of an LSTM from a zero state over x (batch, steps, inputs), with the
    backward pass above. Weights in Keras' layout: kernel (inputs, 4u), recurrent_kernel
    (u, 4u), bias (4u,)."""

    @tf.custom_gradient
    def run(x, kernel, recurrent_kernel, bias):
        steps, units = x.shape[1], recurrent_kernel.shape[0]
        xs = tf.unstack(x, axis=1)  # steps x (batch, inputs)
        no_input = tf.zeros_like(xs[0])
        zero = tf.zeros(tf.stack([tf.shape(x)[0], units]), x.dtype)
        weights = tf.concat([recurrent_kernel, kernel, bias[None, :]], axis=0)
        # Step 0 starts from h = 0, c = 0: only x_0 and the bias contribute.
        stacked, c, gates, tc = _step_forward(
            tf.matmul(xs[0], kernel) + bias, zero, xs[1] if steps > 1 else no_input
        )
        inputs, saved = [], [(zero, gates, tc)]  # per step: c_prev, gates, tanh(c)
        for t in range(1, steps):
            inputs.append(stacked)
            c_prev = c
            stacked, c, gates, tc = _step_forward(
                tf.matmul(stacked, weights), c, xs[t + 1] if t + 1 < steps else no_input
            )
            saved.append((c_prev, gates, tc))
        h = stacked[:, :units]

        def grad(dh, dc):
            dh = tf.zeros_like(h) if dh is None else dh
            dc = tf.zeros_like(c) if dc is None else dc
            recurrent_t = tf.transpose(recurrent_kernel)
            dzs = [None] * steps
            for t in reversed(range(steps)):
                c_prev, gates, tc = saved[t]
                dzs[t], dc = _step_backward(dh, dc, gates, tc, c_prev)
                if t:
                    dh = tf.matmul(dzs[t], recurrent_t)
            # Time-major (steps * batch, 4u); rows of step 0 first.
            dz = tf.concat(dzs, axis=0)
            batch = tf.shape(x)[0]
            d_kernel = tf.matmul(xs[0], dzs[0], transpose_a=True)
            d_bias = tf.reduce_sum(dzs[0], axis=0)
            if steps > 1:
                # Steps 1.. in one product: [h, x, 1]^T (u+inputs+1, (steps-1)*batch) by dz.
                d_weights = tf.matmul(tf.transpose(tf.concat(inputs, axis=0)), dz[batch:])
                d_recurrent = d_weights[:units]
                d_kernel += d_weights[units:-1]
                d_bias += d_weights[-1]
            else:
                d_recurrent = tf.zeros_like(recurrent_kernel)
            dx = tf.matmul(dz, kernel, transpose_b=True)  # (steps * batch, inputs)
            dx = tf.transpose(tf.reshape(dx, [steps, batch, -1]), [1, 0, 2])
            return dx, d_kernel, d_recurrent, d_bias

        return (h, c), grad

    return run(x, kernel, recurrent_kernel, bias)


@keras.saving.register_keras_serializable(package="sinelstm")
class FusedLSTM(keras.layers.LSTM):
    """keras.layers.LSTM whose training pass runs fused_lstm where it applies."""

    def fuses(self, initial_state=None, mask=None, training=False) -> bool:
        cell = self.cell
        return bool(
            training
            and initial_state is None
            and mask is None
            and keras.backend.backend() == "tensorflow"
            and self.compute_dtype == "float32"
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and cell.use_bias
            and not (cell.dropout or cell.recurrent_dropout)
            and not (self.return_sequences or self.go_backwards or self.stateful)
        )

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if not self.fuses(initial_state, mask, training) or not self._runs(sequences):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        cell = self.cell
        # Read as tensors: their gradients flow back to the variables.
        weights = [tf.convert_to_tensor(w.value) for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]
        h, c = self._run(tf.convert_to_tensor(sequences, tf.float32), *weights)
        return (h, h, c) if self.return_state else h

    def _runs(self, sequences) -> bool:
        """fused_lstm unrolls its steps: a trace whose time dimension is unknown runs Keras'."""
        return sequences.shape[1] is not None

    def _run(self, sequences, kernel, recurrent_kernel, bias):
        return fused_lstm(sequences, kernel, recurrent_kernel, bias)


def block_lstm(x, kernel, recurrent_kernel, bias):
    """(h_T, c_T) of an LSTM from a zero state over x (batch, steps, inputs), through
    TensorFlow's BlockLSTMV2 kernel and BlockLSTMGradV2 for its gradient. Weights in
    Keras' layout, as fused_lstm takes them."""
    ops = tf.raw_ops

    @tf.custom_gradient
    def run(x, kernel, recurrent_kernel, bias):
        units = recurrent_kernel.shape[0]
        # Time-major (steps, batch, inputs); [x_t, h] multiplies the stacked [kernel; recurrent].
        xs = tf.transpose(x, [1, 0, 2])
        steps = tf.shape(xs, out_type=tf.int64)[0]  # known at run time even where a trace has None
        weights = tf.concat([kernel, recurrent_kernel], axis=0)
        zero = tf.zeros(tf.stack([tf.shape(x)[0], units]), x.dtype)
        no_peephole = tf.zeros([units], x.dtype)
        fixed = dict(
            seq_len_max=steps,
            x=xs,
            cs_prev=zero,
            h_prev=zero,
            w=weights,
            wci=no_peephole,
            wcf=no_peephole,
            wco=no_peephole,
            b=bias,
            use_peephole=False,
        )
        # Each (steps, batch, units): the gates i, c (cell state), f, o, c's input ci,
        # tanh(c) and h, every step; the backward pass takes them all.
        i, cs, f, o, ci, co, h = ops.BlockLSTMV2(cell_clip=0.0, **fixed)

        def grad(dh, dc):
            # Only the last step's h and c leave the layer.
            before = tf.zeros_like(h[:-1])
            h_grad = tf.concat([before, (tf.zeros_like(h[-1]) if dh is None else dh)[None]], axis=0)
            cs_grad = tf.concat([before, (tf.zeros_like(cs[-1]) if dc is None else dc)[None]], axis=0)
            dx, _, _, d_weights, _, _, _, d_bias = ops.BlockLSTMGradV2(
                i=i, cs=cs, f=f, o=o, ci=ci, co=co, h=h, cs_grad=cs_grad, h_grad=h_grad, **fixed
            )
            inputs = kernel.shape[0]
            return tf.transpose(dx, [1, 0, 2]), d_weights[:inputs], d_weights[inputs:], d_bias

        return (h[-1], cs[-1]), grad

    return run(x, kernel, recurrent_kernel, bias)


@keras.saving.register_keras_serializable(package="sinelstm")
class BlockLSTM(FusedLSTM):
    """keras.layers.LSTM that runs block_lstm where it applies, in training and inference."""

    def fuses(self, initial_state=None, mask=None, training=False) -> bool:
        return super().fuses(initial_state, mask, training=True)

    def _runs(self, sequences) -> bool:
        return True  # its kernel takes the steps at run time

    def _run(self, sequences, kernel, recurrent_kernel, bias):
        return block_lstm(sequences, kernel, recurrent_kernel, bias)
