"""The Keras builders of the registry's network kinds, and build_model(cfg) for every kind.

The classical forecasters (ar, naive, seasonal-naive) are numpy objects in
sinelstm.experiment.classical; build_model returns those too, so that every
model kind goes through the same training, forecast and metrics code.
"""

from __future__ import annotations

import json

from sinelstm.experiment import kinds
from sinelstm.experiment.config import ConfigError, ExperimentConfig

# LSTM implementations that run on the tensorflow backend only.
TENSORFLOW_ONLY = ("fused", "block")


def check_implementation(implementation: str, backend: str) -> None:
    """Refuse an LSTM implementation the Keras backend cannot run (ConfigError)."""
    if implementation in TENSORFLOW_ONLY and backend != "tensorflow":
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
        if cfg.implementation in TENSORFLOW_ONLY:
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


# A layer's config keys that do not change what its built layer computes once it holds
# another model's variables (weights and random-seed states).
_NOT_COMPUTED = ("name", "seed")
_NOT_COMPUTED_SUFFIXES = ("_initializer",)
# Where a layer's config is known to say everything it computes: Keras' own and ours.
_KNOWN_LAYERS = ("keras.", "sinelstm.")


def shareable(model) -> bool:
    """Whether another model of the same architecture() computes and trains as `model` does
    once it holds model's variables: a Sequential of Keras' layers and ours, none of them a
    model, whose configs name no object from outside Keras (a factory's own activation is
    serialized by its name only; a factory's own layer may compute what its config omits)."""
    import keras

    def keras_only(value) -> bool:
        if isinstance(value, dict):
            module = value.get("module")
            if isinstance(module, str) and not module.startswith("keras"):
                return False
            return all(keras_only(item) for item in value.values())
        if isinstance(value, (list, tuple)):
            return all(keras_only(item) for item in value)
        return not callable(value)

    return type(model) is keras.Sequential and all(
        type(layer).__module__.startswith(_KNOWN_LAYERS)
        and not isinstance(layer, keras.Model)
        and keras_only(layer.get_config())
        for layer in model.layers
    )


def architecture(model) -> str:
    """What a built Keras model computes and how it trains, but for its variables' values, as
    text: its input shapes, every layer's class and config (its name, seed and initializers
    left out: the variables carry them) and every variable's shape and dtype. Meaningful for
    a shareable() model."""

    def computed(config: dict) -> dict:
        return {
            key: value
            for key, value in config.items()
            if key not in _NOT_COMPUTED and not key.endswith(_NOT_COMPUTED_SUFFIXES)
        }

    inputs = [list(tensor.shape) for tensor in model.inputs]
    layers = [
        [type(one).__module__, type(one).__qualname__, computed(one.get_config())] for one in model.layers
    ]
    shapes = [[list(variable.shape), str(variable.dtype)] for variable in model.variables]
    return json.dumps([type(model).__qualname__, inputs, layers, shapes], sort_keys=True, default=str)
