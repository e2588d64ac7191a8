"""The one seeding function."""

from __future__ import annotations


def set_seed(seed: int) -> None:
    """Seed Python, numpy and the Keras backend, and make TensorFlow ops deterministic."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
