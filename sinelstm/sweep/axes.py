"""The grid axes, declared once, in AXES, under the config field's own name: cell names,
CLI flags, pytest ids and the grid's product all come from it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sinelstm.experiment import kinds
from sinelstm.experiment.config import ExperimentConfig, steps_per_epoch
from sinelstm.sweep.axis_values import parse_ints, parse_models


@dataclass(frozen=True)
class Axis:
    """One grid axis: a config field, how its values read from a flag, how a cell names it."""

    field: str  # the ExperimentConfig field it varies
    parse: Callable[[str, str], tuple]  # (flag, text) -> values
    part: Callable[[ExperimentConfig], str]  # the cell-name part of a config ("" for none)
    example: str  # for --help
    names: Callable[[], tuple[str, ...]] | None = None  # an enumerated axis: its values, for choices
    accepts: Callable[[str], bool] | None = None  # ... and any further value it takes

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


_ARTICLE = ExperimentConfig()

# The grid axes, in the order of a cell's name and of the product (seeds innermost).
AXES: tuple[Axis, ...] = (
    Axis(
        "model",
        parse_models,
        lambda c: "" if c.model == _ARTICLE.model else c.model.replace(":", "."),
        "lstm,gru, all, or package.module:function",
        lambda: ("all", *kinds.builtin_names()),
        lambda name: kinds.lookup(name) is not None,
    ),
    Axis("window", parse_ints, lambda c: f"window{c.window}", "25,50"),
    Axis("length", parse_ints, lambda c: f"length{c.length}", "201,601"),
    Axis("hidden", parse_ints, lambda c: f"hidden{c.hidden}" if c.uses_hidden else "", "16,64,300"),
    Axis(
        "train_rollout",
        parse_ints,
        lambda c: f"train_rollout{c.train_rollout}" if c.train_rollout > 1 else "",
        "1,4 (1 = the article's one-step training; k = train on k-step rollouts)",
    ),
    # The science grid's controls vary these; a cell names them only off the article's values.
    Axis(
        "period",
        parse_ints,
        lambda c: "" if c.period == _ARTICLE.period else f"period{c.period:g}",
        "100,300",
    ),
    Axis(
        "batch_size",
        parse_ints,
        lambda c: "" if c.batch_size == _ARTICLE.batch_size else f"batch_size{c.batch_size}",
        "300,600",
    ),
    # A training budget: patience at or above the epoch cap turns early stopping off, and
    # the cell is named by its optimizer steps (epochs x batches an epoch).
    Axis(
        "patience",
        parse_ints,
        lambda c: f"steps{c.epochs * steps_per_epoch(c)}" if is_budgeted(c) else "",
        "4000 (at or above --epochs: no early stopping, the cell named by its optimizer steps)",
    ),
    Axis("seed", parse_ints, lambda c: f"seed{c.seed}", "0-4 or 0,1,2"),
)


def is_budgeted(cfg: ExperimentConfig) -> bool:
    """Whether cfg trains for a fixed budget: no early stopping (patience at or above its
    epochs), off the article's patience (a short test cell keeps its name)."""
    return cfg.kind.is_network and cfg.patience >= cfg.epochs and cfg.patience != _ARTICLE.patience


# Fields a grid lays over every cell beside its axes (--epochs, --trainer, --implementation).
BASE_FIELDS = ("epochs", "trainer", "implementation")


def axis_fields() -> tuple[str, ...]:
    """The config fields the axes vary, in AXES order."""
    return tuple(axis.field for axis in AXES)


def config_axes() -> tuple[str, ...]:
    """A config's axes: every axis but the seed."""
    return tuple(name for name in axis_fields() if name != "seed")


def cell_id(cfg: ExperimentConfig) -> str:
    """window25-length201-hidden300-seed0 (an LSTM), gru-window50-length601-hidden64-train_rollout8-seed1,
    ar-window25-length201-seed0: the cell's readable name in pytest ids, tables and the gate.
    Fields that are not axes are not in it: the row's cell_key covers the whole config.

    No '=' in it: pytest's -k grammar does not accept one, and -k must select cells.
    """
    return "-".join(part for axis in AXES if (part := axis.part(cfg)))


def config_id(cfg: ExperimentConfig) -> str:
    """The cell's name without its seed: the unit that seeds are aggregated over."""
    return "-".join(part for axis in AXES if axis.field != "seed" and (part := axis.part(cfg)))


def config_name(cell: str) -> str:
    """The config's name of a cell's name (config_id of its config): the seed part dropped."""
    return re.sub(r"-seed\d+$", "", cell)


def is_cell_id(name: str) -> bool:
    """Whether a name is a cell's (it ends in its seed), not a config's."""
    return re.search(r"-seed\d+$", name) is not None
