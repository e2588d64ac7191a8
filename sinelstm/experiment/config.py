"""The experiment's configuration: one frozen dataclass, named presets, validation."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sinelstm.experiment import kinds

ENGINES = ("compiled", "predict")
# loop: model.fit's algorithm (shuffled minibatches, validation after each epoch,
# EarlyStopping) as train_on_batch calls, without fit's per-epoch machinery; fit: the
# article's model.fit call itself; batched: the loop's algorithm with a config's seeds
# trained together (sinelstm.experiment.batched).
TRAINERS = ("loop", "fit", "batched")


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
    length: int = 201  # observed samples
    noise: float = 0.05  # half-width of the uniform noise
    # Windows: `window` consecutive values predict the next one.
    window: int = 25  # window length (steps in, one step out)
    # Model.
    model: str = kinds.ARTICLE  # model kind: a name in experiment.kinds, or "package.module:function"
    hidden: int = 300  # recurrent units; 0 (not applicable) for the other models
    # Training, as the article's model.fit call.
    epochs: int = 100  # upper bound on epochs
    batch_size: int = 300  # minibatch size
    patience: int = 20  # EarlyStopping(monitor="val_loss") patience
    learning_rate: float = 0.001  # Adam learning rate
    validation_split: float = 0.1  # last fraction of windows held out, as Keras does
    trainer: str = "loop"  # how the fit is driven, one of TRAINERS
    implementation: str = "keras"  # training pass, one of the kind's implementations; "" where it has none
    # Loss over all k steps; 1 = the article's one-step training.
    train_rollout: int = 1  # the remedy: train on k-step rollouts of the model's own predictions
    # Forecast.
    horizon: int = 400  # autoregressive steps after the observed data
    engine: str = "compiled"  # rollout engine, one of ENGINES
    # Reproducibility.
    seed: int = 0  # seeds data noise, weights and shuffling

    def __post_init__(self):
        # A number given as an int where the field is a float (period=100) is stored as the
        # float, so that equal experiments have one cell key.
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.type == "float" and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, spec.name, float(value))
        # Fields that do not apply to a model kind take one canonical value, so that
        # equal experiments have equal configs (and the grid holds each once).
        kind = kinds.lookup(self.model)
        if kind is None:
            return  # validate() names the unknown kind
        if not kind.uses_hidden:
            object.__setattr__(self, "hidden", 0)
        if not kind.is_network:
            object.__setattr__(self, "train_rollout", 1)
        if not kind.implementations:
            object.__setattr__(self, "implementation", "")

    @property
    def kind(self) -> kinds.ModelKind:
        """The model kind's registry entry (ConfigError for an unknown kind)."""
        kind = kinds.lookup(self.model)
        if kind is None:
            raise ConfigError(
                "model",
                self.model,
                f"expected one of {', '.join(kinds.builtin_names())}, or package.module:function",
            )
        return kind

    def check_builder(self) -> None:
        """Refuse (ConfigError) a model whose builder cannot be imported: a user's factory
        path with a typo fails here, in one line, before any work."""
        try:
            self.kind.builder_function()
        except Exception as error:  # noqa: BLE001 - any failure to load a user's module is bad input.
            raise ConfigError("model", self.model, f"its builder cannot be loaded ({error})") from None

    @property
    def uses_hidden(self) -> bool:
        return self.kind.uses_hidden

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
        kind = self.kind
        if kinds.is_factory(self.model):
            self.check_builder()
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
        if kind.implementations and self.implementation not in kind.implementations:
            raise ConfigError(
                "implementation", self.implementation, f"expected one of {', '.join(kind.implementations)}"
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


def field_help() -> dict[str, str]:
    """Each config field's one-line comment above: the help text of its command-line flag."""
    import inspect
    import re

    source = inspect.getsource(ExperimentConfig)
    return dict(re.findall(r"^    (\w+): \w+ = [^#\n]+#\s*(.+)$", source, re.MULTILINE))


def split_sizes(n_windows: int, validation_split: float) -> tuple[int, int]:
    """Training and validation window counts, split exactly as Keras' validation_split."""
    n_train = int(math.floor(n_windows * (1.0 - validation_split)))
    return n_train, n_windows - n_train


def checkpointable(cfg: ExperimentConfig) -> bool:
    """Whether cfg's trainer hands a run on at smaller epoch caps (the cells of several
    budgets from one run): a network's loop or batched trainer; Keras' model.fit, and a
    classical fit in one shot, do not."""
    return cfg.kind.is_network and cfg.trainer != "fit"


def run_of(cfg: ExperimentConfig) -> ExperimentConfig:
    """The key of the training run a cell belongs to: cells that differ in their epoch cap
    and patience only are one run (checkpointable), every other cell its own."""
    return cfg.replace(epochs=1, patience=1) if checkpointable(cfg) else cfg


def runs_of(cells) -> dict[ExperimentConfig, int]:
    """The training runs behind cells (run_of), each to its largest cap. Run -> its epochs."""
    runs: dict[ExperimentConfig, int] = {}
    for cfg in cells:
        key = run_of(cfg)
        runs[key] = max(runs.get(key, 0), cfg.epochs)
    return runs


def steps_per_epoch(cfg: ExperimentConfig) -> int:
    """Optimizer steps in one epoch of a network's training: its training windows (k-step
    ones for the remedy) in batches of cfg.batch_size."""
    n_train, _ = split_sizes(cfg.n_windows - cfg.train_rollout + 1, cfg.validation_split)
    return math.ceil(n_train / cfg.batch_size)


def epoch_flops(cfg: ExperimentConfig) -> float:
    """FLOPs of one training epoch of cfg's model, by its kind's own formula (0 where the
    kind has none: a classical fit, or a user's factory)."""
    n_train, _ = split_sizes(cfg.n_windows, cfg.validation_split)
    formula = cfg.kind.epoch_flops
    return formula(cfg, n_train) if formula is not None else 0.0


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


def preset(name: str) -> ExperimentConfig:
    if name not in PRESETS:
        raise ConfigError("preset", name, f"expected one of {', '.join(PRESETS)}")
    return PRESETS[name]
