"""Model builders, one per model kind, behind one interface: build_model(cfg)."""

from __future__ import annotations

from collections.abc import Callable

from sinelstm.config import ExperimentConfig


def _lstm(cfg: ExperimentConfig):
    import keras

    # The article's model: LSTM(n_hidden) -> Dense(1) -> Activation("linear").
    return keras.Sequential(
        [
            keras.Input(shape=(cfg.window, 1)),
            keras.layers.LSTM(cfg.hidden),
            keras.layers.Dense(1),
            keras.layers.Activation("linear"),
        ],
        name="lstm",
    )


BUILDERS: dict[str, Callable[[ExperimentConfig], object]] = {"lstm": _lstm}


def build_model(cfg: ExperimentConfig):
    """A compiled Keras model for cfg.model: Adam(cfg.learning_rate), MSE loss."""
    import keras

    if cfg.model not in BUILDERS:
        raise ValueError(f"unknown model {cfg.model!r}; expected one of {', '.join(BUILDERS)}")
    model = BUILDERS[cfg.model](cfg)
    model.compile(
        loss="mean_squared_error",
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
    )
    return model
