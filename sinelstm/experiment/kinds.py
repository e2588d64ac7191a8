"""The model-kind registry: every forecaster the grid can run, one entry each.

An entry says what a kind is (its family, whether `hidden` applies), how to build it and
how much arithmetic one training epoch costs. The rest of the package asks the registry
instead of testing names: a new kind is one `register` call plus its builder. Builders are
named "package.module:function" and imported only when a model is built, so this module
imports nothing of sinelstm's and the config can consult it. A user's own Keras model comes
in through `--model package.module:function` or the entry-point group "sinelstm.models"
(docs/models.md has the factory's contract).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass

# Families: how a kind is trained and forecast.
RECURRENT = "recurrent"  # a Keras recurrent layer then a Dense head; hidden = units
NETWORK = "network"  # any other Keras model
CLASSICAL = "classical"  # numpy, fitted in one shot, no epochs
FAMILIES = (RECURRENT, NETWORK, CLASSICAL)
ENTRY_POINT_GROUP = "sinelstm.models"
ARTICLE = "lstm"  # the article's model: the config's default, the science's subject
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def recurrent_flops(cfg, n_train: int) -> float:
    """FLOPs of one training epoch of a recurrent layer with the kind's gate matrices.

    One step of one window multiplies [h, x, 1] (hidden + 2) by the (hidden + 2) x
    gates*hidden gate matrix: 2 * (hidden + 2) * gates * hidden FLOPs; the backward
    pass costs twice the forward (input and weight gradients). LSTM: 4 gates, GRU: 3,
    SimpleRNN: 1.
    """
    rows, inner, cols = recurrent_shape(cfg, n_train)
    return 3.0 * n_train * cfg.window * 2.0 * inner * cols


def recurrent_shape(cfg, batch: int) -> tuple[int, int, int]:
    """The product of one recurrent training step: (batch x hidden+2) by (hidden+2 x gates*hidden)."""
    return batch, cfg.hidden + 2, cfg.kind.gates * cfg.hidden


def cnn1d_flops(cfg, n_train: int) -> float:
    """FLOPs of one training epoch of the author's 1D-CNN, forward x 3 (backward twice the
    forward): Conv1D(30, 2) over `window` steps, Conv1D(10, 2) over window/2 of 30
    channels, Dense(300) over the window/4 x 10 flattened values, Dense(1)."""
    half, quarter = -(-cfg.window // 2), -(-cfg.window // 4)
    forward = 2 * (cfg.window * 2 * 1 * 30 + half * 2 * 30 * 10 + quarter * 10 * 300 + 300)
    return 3.0 * n_train * forward


def cnn1d_shape(cfg, batch: int) -> tuple[int, int, int]:
    """Its largest product: the flattened (window/4 x 10) values by Dense(300)."""
    return batch, -(-cfg.window // 4) * 10, 300


def no_flops(cfg, n_train: int) -> float:
    """A classical forecaster: one least-squares solve or none; no epochs to count."""
    return 0.0


@dataclass(frozen=True)
class ModelKind:
    name: str  # the value of ExperimentConfig.model
    family: str  # one of FAMILIES
    builder: str  # "package.module:function"; the function takes the config
    uses_hidden: bool = False  # whether ExperimentConfig.hidden applies
    epoch_flops: Callable[[object, int], float] | None = None  # (config, training windows) -> FLOPs
    implementations: tuple[str, ...] = ()  # training passes to choose from; the first is the default
    summary: str = ""  # one line for --help and the README
    gates: int = 0  # a recurrent kind's gate matrices (LSTM 4, GRU 3, SimpleRNN 1)
    # (config, batch) -> (rows, inner, cols): the training product its floor is measured at;
    # None where there is none to time (a classical fit, a user's factory).
    floor_shape: Callable[[object, int], tuple[int, int, int]] | None = None
    # "package.module:function": its cell's step on stacked members, (z_input, h, c,
    # recurrent_kernel, recurrent_bias) -> (h, c); "" where its seeds train one by one.
    member_cell: str = ""

    @property
    def is_network(self) -> bool:
        return self.family != CLASSICAL

    @property
    def is_classical(self) -> bool:
        return self.family == CLASSICAL

    @property
    def is_recurrent(self) -> bool:
        return self.family == RECURRENT

    @property
    def batchable(self) -> bool:
        """Whether its seeds can train as members of one batch (sinelstm.experiment.batched)."""
        return bool(self.member_cell)

    def builder_function(self) -> Callable:
        """The builder itself, imported (ImportError or AttributeError where it is missing)."""
        return _imported(self.builder)

    def member_cell_function(self) -> Callable:
        """Its batched cell step, imported."""
        return _imported(self.member_cell)

    def build(self, cfg):
        """The untrained model of cfg: what the builder returns."""
        return self.builder_function()(cfg)


def _imported(path: str) -> Callable:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


_REGISTRY: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    if kind.family not in FAMILIES:
        raise ValueError(f"model kind {kind.name!r}: family must be one of {', '.join(FAMILIES)}")
    _REGISTRY[kind.name] = kind
    return kind


_MODELS = "sinelstm.experiment.models"
_CLASSICAL = "sinelstm.experiment.classical"
_RECURRENT = dict(
    family=RECURRENT, uses_hidden=True, epoch_flops=recurrent_flops, floor_shape=recurrent_shape
)
_NUMPY = dict(family=CLASSICAL, epoch_flops=no_flops)
# The built-in kinds, one entry each; the article's LSTM first.
_CELLS = "sinelstm.experiment.batched"
register(ModelKind(ARTICLE, builder=f"{_MODELS}:lstm", gates=4, implementations=("keras", "fused", "block"),
                   summary="the article's LSTM(hidden) -> Dense(1)", member_cell=f"{_CELLS}:lstm_cell",
                   **_RECURRENT))  # fmt: skip
register(ModelKind("gru", builder=f"{_MODELS}:gru", gates=3, summary="GRU(hidden) -> Dense(1)",
                   member_cell=f"{_CELLS}:gru_cell", **_RECURRENT))  # fmt: skip
register(ModelKind("rnn", builder=f"{_MODELS}:rnn", gates=1, summary="SimpleRNN(hidden) -> Dense(1)",
                   member_cell=f"{_CELLS}:rnn_cell", **_RECURRENT))  # fmt: skip
register(ModelKind("cnn1d", NETWORK, f"{_MODELS}:cnn1d", epoch_flops=cnn1d_flops, floor_shape=cnn1d_shape,
                   summary="the author's follow-up 1D-CNN, as published"))  # fmt: skip
register(
    ModelKind("ar", builder=f"{_CLASSICAL}:AutoRegression", summary="least-squares autoregression", **_NUMPY)
)
register(ModelKind("naive", builder=f"{_CLASSICAL}:Naive", summary="repeat the last value", **_NUMPY))
register(
    ModelKind(
        "seasonal-naive", builder=f"{_CLASSICAL}:SeasonalNaive", summary="repeat the last period", **_NUMPY
    )
)


def builtin_names(but: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The registered kinds, in registration order (the article's first), less those in `but`.
    Entry-point kinds are not among them until named: a grid's cells must not depend on what
    is installed."""
    return tuple(
        name
        for name, kind in _REGISTRY.items()
        if not kind.summary.startswith("entry point") and name not in but
    )


def implementations() -> tuple[str, ...]:
    """Every training pass a registered kind offers, each once, in registration order."""
    return tuple(dict.fromkeys(i for kind in _REGISTRY.values() for i in kind.implementations))


def default_implementation(name) -> str:
    """The training pass a kind runs unless told: its first implementation, or "" (also for
    a name that is no kind)."""
    kind = lookup(name) if isinstance(name, str) else None
    return kind.implementations[0] if kind is not None and kind.implementations else ""


def is_article(name) -> bool:
    """Whether `name` is the article's model."""
    return name == ARTICLE


def is_classical(name) -> bool:
    """Whether `name` is a registered classical kind (False for any other name)."""
    kind = _REGISTRY.get(name) if isinstance(name, str) else None
    return kind is not None and kind.is_classical


def factory_kind(name: str) -> ModelKind:
    """The kind of a user's factory "package.module:function": a Keras network whose
    `hidden` is passed through (the factory decides what it means)."""
    return ModelKind(name, NETWORK, name, uses_hidden=True, summary="a user's Keras model factory")


def is_factory(name: str) -> bool:
    return bool(_FACTORY.match(name))


def lookup(name: str) -> ModelKind | None:
    """The kind called `name`: registered, from an entry point, or a factory path; None if unknown."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    _load_entry_points()
    if name in _REGISTRY:
        return _REGISTRY[name]
    return factory_kind(name) if is_factory(name) else None


_entry_points_loaded = False


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in _REGISTRY:
            register(
                ModelKind(
                    point.name, NETWORK, point.value, uses_hidden=True, summary=f"entry point {point.value}"
                )
            )
