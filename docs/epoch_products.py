"""The products of one LSTM training epoch alone, timed at the article-2017 shape on one
thread: the forward products (batch x hidden+2 by hidden+2 x 4 hidden, one a step), the
state-gradient products (batch x 4 hidden by 4 hidden x hidden, one a step) and the
weight gradient as one product over all steps, each with distinct operands per step so
that no op is folded away. Their time against the harness's floor (the same FLOPs at
sinelstm.experiment.floor.floor_gflops, the best of numpy's and TensorFlow's product rate
at the training shape) is how close a training pass built on these products could come
to the floor, before its gate arithmetic, Adam and validation.

    python docs/epoch_products.py [hidden [length [window]]]    # 300 201 25: article-2017
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sinelstm.experiment.config import ExperimentConfig  # noqa: E402
from sinelstm.experiment.floor import floor_gflops, training_shape  # noqa: E402


def timed(function, rounds: int = 20) -> float:
    function()
    function()
    start = time.perf_counter()
    for _ in range(rounds):
        function()
    return (time.perf_counter() - start) / rounds


def main(hidden: int = 300, length: int = 201, window: int = 25) -> None:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cfg = ExperimentConfig(hidden=hidden, length=length, window=window)
    batch, steps = training_shape(cfg)[0], window
    rng = np.random.default_rng(0)
    gates = 4 * hidden
    stacked = tf.constant(rng.random((steps, batch, hidden + 2), dtype=np.float32))
    weights = tf.constant(rng.random((hidden + 2, gates), dtype=np.float32))
    dz = tf.constant(rng.random((steps, batch, gates), dtype=np.float32))
    recurrent = tf.constant(rng.random((hidden, gates), dtype=np.float32))

    @tf.function
    def forward():
        return sum(tf.matmul(stacked[t], weights)[0, 0] for t in range(steps))

    @tf.function
    def state_gradient():
        return sum(tf.matmul(dz[t], recurrent, transpose_b=True)[0, 0] for t in range(steps))

    @tf.function
    def weight_gradient():
        flat = tf.reshape(stacked, [steps * batch, hidden + 2])
        return tf.matmul(flat, tf.reshape(dz, [steps * batch, gates]), transpose_a=True)[0, 0]

    product = 2.0 * batch * (hidden + 2) * gates
    floor_rate = floor_gflops(cfg, 0.1)
    total = 0.0
    for name, function, flops in (
        ("forward", forward, steps * product),
        ("state gradient", state_gradient, steps * 2.0 * batch * gates * hidden),
        ("weight gradient (one product)", weight_gradient, steps * product),
    ):
        seconds = timed(function)
        total += seconds
        print(f"{name}: {seconds * 1000:.1f} ms, {flops / seconds / 1e9:.0f} GFLOP/s")
    floor = 3 * steps * product / (floor_rate * 1e9)
    print(f"the products together: {total * 1000:.1f} ms against the floor {floor * 1000:.1f} ms "
          f"(best product {floor_rate:.0f} GFLOP/s): {total / floor:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
