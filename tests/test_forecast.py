"""The autoregressive loop against models whose answer is known exactly."""

import numpy as np
import pytest

from sinelstm.experiment.forecast import rollout


class PlusOne:
    """A stub with Keras' predict signature: next = last + 1."""

    def predict(self, inputs, verbose=0):
        return inputs[:, -1, :] + 1.0


def plus_one_rnn(window: int):
    """A real Keras RNN whose answer is next = last + 1: a linear one-unit SimpleRNN
    that copies its input (kernel 1, recurrent 0), then Dense(weight 1, bias 1)."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((window, 1)),
            keras.layers.SimpleRNN(1, activation="linear"),
            keras.layers.Dense(1),
        ]
    )
    rnn, dense = model.layers
    rnn.set_weights([np.ones((1, 1)), np.zeros((1, 1)), np.zeros(1)])
    dense.set_weights([np.ones((1, 1)), np.ones(1)])
    return model


def mean_plus_one(window: int):
    """A non-recurrent Keras model: next = mean(window) + 1."""
    import keras

    return keras.Sequential([keras.Input((window, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]), window


def test_predict_loop_with_stub_counts_on():
    np.testing.assert_array_equal(rollout(PlusOne(), np.array([1, 2, 3, 4.0]), 4, "predict"), [5, 6, 7, 8])


def test_predict_loop_batches_sequences():
    forecast = rollout(PlusOne(), np.array([[0, 1.0], [10, 20.0]]), 3, "predict")
    np.testing.assert_array_equal(forecast, [[2, 3, 4], [21, 22, 23]])


@pytest.mark.parametrize("window", [1, 2, 5])
def test_compiled_wavefront_counts_on(window):
    history = np.arange(1.0, window + 1.0)
    forecast = rollout(plus_one_rnn(window), history, 6, "compiled")
    np.testing.assert_allclose(forecast, window + 1 + np.arange(6), atol=1e-5)


def test_compiled_wavefront_batches_sequences():
    forecast = rollout(plus_one_rnn(3), np.array([[0, 0, 1.0], [5, 6, 7.0]]), 4, "compiled")
    np.testing.assert_allclose(forecast, [[2, 3, 4, 5], [8, 9, 10, 11]], atol=1e-5)


def test_compiled_windowed_path_for_non_recurrent_models():
    model, window = mean_plus_one(4)
    dense = model.layers[-1]
    dense.set_weights([np.full((4, 1), 0.25), np.ones(1)])
    # history 0,0,0,4: mean 1 -> 2; window 0,0,4,2: mean 1.5 -> 2.5; 0,4,2,2.5 -> 3.125.
    forecast = rollout(model, np.array([0, 0, 0, 4.0]), 3, "compiled")
    np.testing.assert_allclose(forecast, [2.0, 2.5, 3.125], atol=1e-6)
    np.testing.assert_allclose(rollout(model, np.array([0, 0, 0, 4.0]), 3, "predict"), forecast, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="horizon"):
        rollout(PlusOne(), np.ones(3), 0, "predict")
    with pytest.raises(ValueError, match="engine"):
        rollout(PlusOne(), np.ones(3), 2, "magic")


def test_compiled_rollout_takes_a_new_batch_size_after_the_first_call():
    model = plus_one_rnn(3)
    rollout(model, np.array([0, 0, 1.0]), 2, "compiled")
    forecast = rollout(model, np.array([[0, 0, 1.0], [5, 6, 7.0], [1, 2, 3.0]]), 2, "compiled")
    np.testing.assert_allclose(forecast, [[2, 3], [8, 9], [4, 5]], atol=1e-5)
