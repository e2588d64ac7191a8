"""The Keras builders of the registry's network kinds, and build_model(cfg) for every kind.

The classical forecasters (ar, naive, seasonal-naive) are numpy objects in
sinelstm.experiment.classical; build_model returns those too, so that every
model kind goes through the same training, forecast and metrics code.
"""

from __future__ import annotations

from sinelstm.experiment import kinds
from sinelstm.experiment.config import ConfigError, ExperimentConfig


def check_implementation(implementation: str, backend: str) -> None:
    """Refuse an LSTM implementation the Keras backend cannot run (ConfigError)."""
    if implementation in ("fused", "block") and backend != "tensorflow":
        raise ConfigError(
            "implementation",
            implementation,
            f"the {implementation} LSTM runs on the tensorflow backend, not {backend}; use keras",
        )


def _recurrent(layer_name: str):
    def build(cfg: ExperimentConfig):
        import keras

        layer = getattr(keras.layers, layer_name)
        check_implementation(cfg.implementation, keras.backend.backend())
        if cfg.implementation in ("fused", "block"):
            from sinelstm.experiment.fused import BlockLSTM, FusedLSTM

            layer = FusedLSTM if cfg.implementation == "fused" else BlockLSTM
        # The article's model, with its LSTM swapped for `layer_name`:
        # RNN(n_hidden) -> Dense(1) -> Activation("linear").
        return keras.Sequential(
            [
                keras.Input(shape=(cfg.window, 1)),
                layer(cfg.hidden),
                keras.layers.Dense(1),
                keras.layers.Activation("linear"),
            ],
            name=layer_name.lower(),
        )

    return build


def _cnn1d(cfg: ExperimentConfig):
    import keras

    # The author's follow-up article, exactly as published.
    return keras.Sequential(
        [
            keras.Input(shape=(cfg.window, 1)),
            keras.layers.Conv1D(30, 2, padding="same", activation="relu"),
            keras.layers.MaxPool1D(2, padding="same"),
            keras.layers.Conv1D(10, 2, padding="same", activation="relu"),
            keras.layers.MaxPool1D(2, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(1, activation="tanh"),
        ],
        name="cnn1d",
    )


# The registry's builders (sinelstm.experiment.kinds names them).
lstm = _recurrent("LSTM")
gru = _recurrent("GRU")
rnn = _recurrent("SimpleRNN")
cnn1d = _cnn1d


def build_model(cfg: ExperimentConfig):
    """cfg.model untrained: a Keras model compiled with Adam(cfg.learning_rate) and MSE,
    or a classical forecaster."""
    kind = cfg.kind
    if not kind.is_network:
        return kind.build(cfg)
    import keras

    try:
        model = kind.build(cfg)
    except Exception as error:
        if not kinds.is_factory(cfg.model):
            raise
        # A user's factory that fails is bad input, named by its flag, not an internal error.
        raise ConfigError(
            "model", cfg.model, f"its factory failed: {type(error).__name__}: {error}"
        ) from None

    if not isinstance(model, keras.Model):
        raise ConfigError(
            "model", cfg.model, f"its builder returned {type(model).__name__}, not a keras.Model"
        )
    return compile_model(model, cfg)


def compile_model(model, cfg: ExperimentConfig, **options):
    """Compile with the article's loss and optimizer (MSE, Adam(cfg.learning_rate)); options
    go to model.compile (the perf bench passes jit_compile)."""
    import keras

    model.compile(
        loss="mean_squared_error",
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
        **options,
    )
    return model


def rollout_model(model, cfg: ExperimentConfig):
    """The remedy's training model: `model` run on its own predictions for cfg.train_rollout
    steps, (batch, window, 1) -> (batch, steps), compiled with MSE over every step.

    It shares its weights with `model`, so training it trains `model`; gradients
    flow through the fed-back predictions.
    """
    import keras
    from keras import ops

    inputs = keras.Input(shape=(cfg.window, 1))
    window = inputs
    predictions = []
    for _ in range(cfg.train_rollout):
        # (batch, 1)
        predicted = model(window)
        predictions.append(predicted)
        window = ops.concatenate([window[:, 1:, :], predicted[:, :, None]], axis=1)
    outputs = ops.concatenate(predictions, axis=1)
    return compile_model(keras.Model(inputs, outputs, name=f"{model.name}_rollout"), cfg)
