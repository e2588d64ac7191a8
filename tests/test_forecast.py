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


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn", "cnn1d"])
def test_models_of_one_architecture_share_a_rollout_with_their_own_weights(tiny, model):
    """Two seeds' models run one compiled rollout (weights copied into its template) and
    each gets exactly the forecast of a rollout compiled for it alone."""
    from sinelstm.experiment import forecast, models
    from sinelstm.experiment.models import build_model

    history = np.sin(np.arange(tiny.window) / 3.0)
    built = []
    for seed in (0, 1):
        cfg = tiny.replace(model=model, seed=seed, hidden=8)
        import keras

        keras.utils.set_random_seed(seed)
        built.append(build_model(cfg))
    assert models.architecture(built[0]) == models.architecture(built[1])
    shared = [rollout(m, history, 30, "compiled") for m in built]
    alone = [np.asarray(forecast._compiled(m, 30)(history[None, :].astype("float32")))[0] for m in built]
    for got, expected in zip(shared, alone, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(shared[0], shared[1])  # each model's own weights, never stale ones
    # The first model again, after the second's weights were copied in.
    np.testing.assert_array_equal(rollout(built[0], history, 30, "compiled"), shared[0])


def test_architectures_that_compute_differently_do_not_share(tiny):
    import keras

    from sinelstm.experiment import models
    from sinelstm.experiment.models import build_model

    base = models.architecture(build_model(tiny.replace(hidden=8)))
    assert models.architecture(build_model(tiny.replace(hidden=8, seed=3))) == base
    assert models.architecture(build_model(tiny.replace(hidden=9))) != base
    assert models.architecture(build_model(tiny.replace(hidden=8, model="gru"))) != base

    def lstm(window=tiny.window, **options):
        return keras.Sequential(
            [keras.Input((window, 1)), keras.layers.LSTM(8, **options), keras.layers.Dense(1)]
        )

    plain = models.architecture(lstm())
    assert models.architecture(lstm(activation="relu")) != plain
    assert models.architecture(lstm(window=tiny.window + 1)) != plain  # the input's steps
    # What changes training but not the forward pass counts too.
    assert models.architecture(lstm(kernel_regularizer="l2")) != plain
    assert models.architecture(lstm(kernel_constraint="max_norm")) != plain
    frozen = lstm()
    frozen.layers[0].trainable = False
    assert models.architecture(frozen) != plain
    assert models.architecture(lstm(dropout=0.2)) != plain
    assert models.shareable(lstm())


def test_models_that_may_hide_what_they_compute_are_not_shareable(tiny):
    """A factory's own activation serializes by its name only; a nested model may hold a
    factory's layer: neither is shared."""
    import keras

    from sinelstm.experiment import models

    def act(x):
        return x * 2.0

    own = keras.Sequential([keras.Input((tiny.window, 1)), keras.layers.LSTM(4, activation=act)])
    inner = keras.Sequential([keras.layers.Dense(1)])
    nested = keras.Sequential([keras.Input((tiny.window, 1)), keras.layers.Flatten(), inner])
    assert not models.shareable(own)
    assert not models.shareable(nested)
    inputs = keras.Input((3,))
    assert not models.shareable(keras.Model(inputs, keras.layers.Dense(1)(inputs)))


def test_a_model_with_layers_of_unknown_code_gets_its_own_rollout():
    """A factory's custom layer may compute what its config does not say: never shared."""
    import keras

    from sinelstm.experiment import models

    class Shift(keras.layers.Layer):
        by = 0.0  # set after construction: not in its config

        def call(self, x):
            return x + self.by

    def model(by):
        shift = Shift()
        shift.by = by
        built = keras.Sequential([keras.Input((3, 1)), keras.layers.Flatten(), keras.layers.Dense(1), shift])
        built.layers[1].set_weights([np.zeros((3, 1)), np.zeros(1)])
        return built

    history = np.zeros(3)
    # Shift's config does not hold `by`: were the two shared, the second would get by=1.
    first = rollout(model(1.0), history, 1, "compiled")
    second = rollout(model(5.0), history, 1, "compiled")
    assert first[0] != second[0]
    assert models.architecture(model(1.0)) == models.architecture(model(5.0))
