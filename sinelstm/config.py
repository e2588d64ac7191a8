"""The experiment's configuration: one frozen dataclass, named presets, validation."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

# Recurrent networks (hidden = units), the author's 1D-CNN, and the classical
# forecasters every network must be held against (numpy, no Keras).
RECURRENT_MODELS = ("lstm", "gru", "rnn")
KERAS_MODELS = RECURRENT_MODELS + ("cnn1d",)
CLASSICAL_MODELS = ("ar", "naive", "seasonal-naive")
MODELS = KERAS_MODELS + CLASSICAL_MODELS
ENGINES = ("compiled", "predict")
# loop: model.fit's algorithm (shuffled minibatches, validation after each
# epoch, EarlyStopping) as train_on_batch calls, without fit's ~0.1 s of
# per-epoch machinery; fit: the article's model.fit call itself.
TRAINERS = ("loop", "fit")
# How an LSTM computes its training pass. keras: keras.layers.LSTM's own; fused:
# sinelstm.fused.FusedLSTM, the same layer with one product per step and the weight
# gradients as one large product (TensorFlow only): 1.07-1.21x faster per epoch in the
# perf bench, but its first epoch compiles for 0.4-1.9 s more. Only the LSTM has a choice.
IMPLEMENTATIONS = ("keras", "fused")


class ConfigError(ValueError):
    """An invalid configuration value, named by its field."""

    def __init__(self, field: str, got: object, accepts: str):
        self.field = field
        self.got = got
        self.accepts = accepts
        super().__init__(f"{field}: got {got!r}; {accepts}")

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


@dataclass(frozen=True)
class ExperimentConfig:
    """One train-and-forecast job, as the article describes it."""

    # Data: sin(2*pi*x/period) + uniform(-noise, +noise), x = 0 .. length-1.
    period: float = 100.0  # samples per sine period
    length: int = 201  # number of observed samples
    noise: float = 0.05  # half-width of the uniform noise
    # Windows: `window` consecutive values predict the next one.
    window: int = 25
    # Model.
    model: str = "lstm"  # model kind, one of MODELS
    hidden: int = 300  # recurrent units; 0 (not applicable) for the other models
    # Training, as the article's model.fit call.
    epochs: int = 100  # upper bound on epochs
    batch_size: int = 300  # minibatch size
    patience: int = 20  # EarlyStopping(monitor="val_loss") patience
    learning_rate: float = 0.001  # Adam learning rate
    validation_split: float = 0.1  # last fraction of windows held out, as Keras does
    trainer: str = "loop"  # how the fit is driven, one of TRAINERS
    implementation: str = "keras"  # the LSTM's training pass, one of IMPLEMENTATIONS; "" for other models
    # The remedy for the decay: train on k-step rollouts that feed the model's own
    # predictions back (loss over all k steps). 1 = the article's one-step training.
    train_rollout: int = 1
    # Forecast.
    horizon: int = 400  # autoregressive steps after the observed data
    engine: str = "compiled"  # rollout engine, one of ENGINES
    # Reproducibility.
    seed: int = 0  # seeds data noise, weights and shuffling

    def __post_init__(self):
        # Fields that do not apply to a model kind take one canonical value, so that
        # equal experiments have equal configs (and the grid holds each once).
        if self.model in MODELS and self.model not in RECURRENT_MODELS:
            object.__setattr__(self, "hidden", 0)
        if self.model in CLASSICAL_MODELS:
            object.__setattr__(self, "train_rollout", 1)
        if self.model in MODELS and self.model != "lstm":
            object.__setattr__(self, "implementation", "")

    @property
    def uses_hidden(self) -> bool:
        return self.model in RECURRENT_MODELS

    def validate(self) -> ExperimentConfig:
        """Raise ConfigError for the first invalid field; return self otherwise."""
        _check_finite(self, "period")
        if self.period <= 0:
            raise ConfigError("period", self.period, "expected a number > 0")
        if self.length < 2:
            raise ConfigError("length", self.length, "expected an integer >= 2")
        _check_finite(self, "noise")
        if self.noise < 0:
            raise ConfigError("noise", self.noise, "expected a finite number >= 0")
        if not 1 <= self.window < self.length:
            raise ConfigError("window", self.window, f"expected an integer >= 1 and < length ({self.length})")
        if self.model not in MODELS:
            raise ConfigError("model", self.model, f"expected one of {', '.join(MODELS)}")
        if self.uses_hidden and self.hidden < 1:
            raise ConfigError("hidden", self.hidden, "expected an integer >= 1")
        if self.epochs < 1:
            raise ConfigError("epochs", self.epochs, "expected an integer >= 1")
        if self.batch_size < 1:
            raise ConfigError("batch_size", self.batch_size, "expected an integer >= 1")
        if self.patience < 0:
            raise ConfigError("patience", self.patience, "expected an integer >= 0")
        _check_finite(self, "learning_rate")
        if self.learning_rate <= 0:
            raise ConfigError("learning_rate", self.learning_rate, "expected a number > 0")
        _check_finite(self, "validation_split")
        if not 0 < self.validation_split < 1:
            raise ConfigError("validation_split", self.validation_split, "expected a number in (0, 1)")
        n_train, n_val = split_sizes(self.n_windows, self.validation_split)
        if n_train < 1 or n_val < 1:
            raise ConfigError(
                "validation_split",
                self.validation_split,
                f"it leaves {n_train} training and {n_val} validation windows of "
                f"{self.n_windows}; both must be >= 1",
            )
        if self.trainer not in TRAINERS:
            raise ConfigError("trainer", self.trainer, f"expected one of {', '.join(TRAINERS)}")
        if self.model == "lstm" and self.implementation not in IMPLEMENTATIONS:
            raise ConfigError(
                "implementation", self.implementation, f"expected one of {', '.join(IMPLEMENTATIONS)}"
            )
        if not 1 <= self.train_rollout < n_train:
            raise ConfigError(
                "train_rollout",
                self.train_rollout,
                f"expected an integer >= 1 and < {n_train} (training windows)",
            )
        if self.horizon < 1:
            raise ConfigError("horizon", self.horizon, "expected an integer >= 1")
        if self.engine not in ENGINES:
            raise ConfigError("engine", self.engine, f"expected one of {', '.join(ENGINES)}")
        if self.seed < 0:
            raise ConfigError("seed", self.seed, "expected an integer >= 0")
        return self

    @property
    def n_windows(self) -> int:
        return self.length - self.window

    def replace(self, **changes) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)


def split_sizes(n_windows: int, validation_split: float) -> tuple[int, int]:
    """Training and validation window counts, split exactly as Keras' validation_split."""
    n_train = int(math.floor(n_windows * (1.0 - validation_split)))
    return n_train, n_windows - n_train


def _check_finite(cfg: ExperimentConfig, field: str) -> None:
    value = getattr(cfg, field)
    if not math.isfinite(value):
        raise ConfigError(field, value, "expected a finite number")


# The article's two runs. The 2020 update called toy_problem(T=300), whose
# x = 0..600 went into sin(x) with sin's own default T=100: six periods of a
# period-100 sine. article-2020 reproduces that; pass --period 300 for the
# corrected variant.
PRESETS: dict[str, ExperimentConfig] = {
    "article-2017": ExperimentConfig(period=100.0, length=201, window=25, hidden=300),
    "article-2020": ExperimentConfig(period=100.0, length=601, window=50, hidden=300),
}

CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(ExperimentConfig))


def config_columns(cfg: ExperimentConfig) -> dict[str, object]:
    """A config as result-row columns; a field that does not apply to the model is empty (n/a)."""
    columns: dict[str, object] = dataclasses.asdict(cfg)
    if not cfg.uses_hidden:
        columns["hidden"] = ""
    return columns


def config_of(row) -> ExperimentConfig:
    """The config of a result row (a dict or a CSV record), each field cast to its type;
    an empty (n/a) hidden reads as 0, an empty implementation as ""."""
    default = ExperimentConfig()
    values = {}
    for name in CONFIG_FIELDS:
        value = row[name]
        empty = value == "" or (isinstance(value, float) and math.isnan(value))
        if name == "hidden" and empty:
            value = 0
        elif name == "implementation" and empty:
            value = ""
        values[name] = type(getattr(default, name))(value)
    return ExperimentConfig(**values)


def preset(name: str) -> ExperimentConfig:
    if name not in PRESETS:
        raise ConfigError("preset", name, f"expected one of {', '.join(PRESETS)}")
    return PRESETS[name]
