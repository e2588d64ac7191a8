"""Named grids of cells. The axes are declared once, in AXES, under the config field's
own name: cell names, CLI flags, pytest ids and the grid's product all come from it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sinelstm.experiment import kinds
from sinelstm.experiment.config import CONFIG_FIELDS, ConfigError, ExperimentConfig
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
        lambda c: "" if c.model == "lstm" else c.model.replace(":", "."),
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
    Axis("seed", parse_ints, lambda c: f"seed{c.seed}", "0-4 or 0,1,2"),
)


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


@dataclass(frozen=True)
class Grid:
    name: str
    axes: dict[str, tuple] = field(default_factory=dict)  # field -> values, for every axis in AXES
    base: ExperimentConfig = ExperimentConfig()  # every field that is not an axis
    # Further products whose cells join this one's (the science grid's controls: another
    # period, another batch size, more seeds on the headline cells), each a Grid of its own.
    parts: tuple[Grid, ...] = ()

    def values(self, name: str) -> tuple:
        return self.axes.get(name, (getattr(self.base, name),))

    def cells(self) -> list[ExperimentConfig]:
        """Every distinct cell, validated, seeds innermost, then each part's new cells. An
        axis that does not apply to a model (hidden, or the remedy, for the classical ones)
        gives it one cell, not many."""
        combos: list[dict] = [{}]
        for axis in AXES:
            combos = [{**combo, axis.field: value} for combo in combos for value in self.values(axis.field)]
        own = (self.base.replace(**combo).validate() for combo in combos)
        return list(dict.fromkeys([*own, *(cell for part in self.parts for cell in part.cells())]))

    def with_axes(self, **axes: tuple) -> Grid:
        """The grid, and each of its parts, with these axes' values replaced."""
        parts = tuple(part.with_axes(**axes) for part in self.parts)
        return Grid(self.name, {**self.axes, **axes}, self.base, parts)

    def laid_over(self, **fields) -> Grid:
        """The grid, and each of its parts, with these base fields replaced."""
        parts = tuple(part.laid_over(**fields) for part in self.parts)
        return Grid(self.name, self.axes, self.base.replace(**fields), parts)

    def speedup_cell(self) -> ExperimentConfig | None:
        """The one cell whose forecast is also timed with the predict engine: the article's
        2017 shape where the grid has it (the first network, the first value of every other
        axis, the largest hidden). None when the grid has no network: a classical model's
        forecast is one numpy loop whatever the engine, so there is no speed-up to measure."""
        networks = [model for model in self.values("model") if kinds.lookup(model).is_network]
        if not networks:
            return None
        first = {name: self.values(name)[0] for name in axis_fields()}
        first.update(model=networks[0], hidden=max(self.values("hidden")))
        return self.base.replace(**first).validate()


def grid(
    name: str, base: ExperimentConfig | None = None, parts: tuple[Grid, ...] = (), **axes: tuple
) -> Grid:
    unknown = set(axes) - set(axis_fields())
    if unknown:
        raise ValueError(f"not grid axes: {', '.join(sorted(unknown))}")
    return Grid(name, dict(axes), base or ExperimentConfig(), parts)


# quick: CI's grid, under a minute, chosen for power (results/mutations.md): the 601-sample
# cells train on two batches an epoch, so a change in shuffling or batching shows there
# (at 201 samples an epoch is one batch). default: the README's main job, every required
# axis. full: the LSTM's grid that answers questions (5 seeds, 4 sizes). default and
# science run the LSTM on TensorFlow's block kernel (Keras' LSTM's function and weights).
# ab: CI's speed A/B (sinelstm ab): quick's smallest and largest configs on 30 epochs.
_SHORT, _BLOCK, _TWO = ExperimentConfig(epochs=30), ExperimentConfig(implementation="block"), (0, 1)
_AB_LARGE = grid("ab-large", _SHORT, window=(50,), length=(601,), hidden=(64,), seed=(0, 1))
_SCIENCE, _THREE, _FIVE, _TEN = _BLOCK.replace(trainer="batched"), (0, 1, 2), (*range(5),), (*range(10),)

GRIDS: dict[str, Grid] = {
    "quick": grid("quick", window=(25, 50), length=(201, 601), hidden=(64,), seed=(0, 1)),
    "ab": grid("ab", _SHORT, window=(25,), length=(201,), hidden=(64,), seed=(0, 1), parts=(_AB_LARGE,)),
    "default": grid("default", _BLOCK, window=(25, 50), length=(201, 601), hidden=(16, 64, 300), seed=_THREE),
    "full": grid("full", window=(25, 50), length=(201, 601), hidden=(16, 64, 128, 300), seed=(0, 1, 2, 3, 4)),
    # paths: CI's second gated grid, a small cell (one seed, 201 samples where the path
    # allows) on every path the default and science grids run and quick does not: every
    # model kind, the block kernel (hidden 16 at both windows), the batched trainer (two
    # members as one unit, hidden 8, batches of 100: two an epoch, so shuffles count),
    # the remedy, hidden 300 in a part of its own
    # (the predict loop stays timed on the first part's hidden 16), and the science
    # controls on 601 samples (period 300 with its 1200-step horizon; batches of 600).
    "paths": grid(
        "paths",
        _BLOCK,
        model=kinds.builtin_names(),
        window=(25,),
        length=(201,),
        hidden=(16,),
        seed=(0,),
        parts=(
            grid("block-window50", _BLOCK, window=(50,), length=(201,), hidden=(16,), seed=(0,)),
            grid("batched", _SCIENCE, window=(25,), length=(201,), hidden=(8,), batch_size=(100,), seed=_TWO),
            grid("remedy", _BLOCK, window=(25,), length=(201,), hidden=(16,), train_rollout=(4,), seed=(0,)),
            grid("hidden300", _BLOCK, window=(25,), length=(201,), hidden=(300,), seed=(0,)),
            grid("period300", _BLOCK.replace(horizon=1200), window=(25,), length=(601,), hidden=(16,),
                 period=(300,), seed=(0,)),  # fmt: skip
            grid("batch600", _BLOCK, window=(25,), length=(601,), hidden=(16,), batch_size=(600,), seed=(0,)),
        ),
    ),
    "science": grid(
        "science",
        # The seeds of a config are trained together (the same metrics, tests/test_batched.py).
        _SCIENCE,
        # The model comparison: every kind, both windows and data lengths, hidden 64, 10 seeds
        # (enough for a 95% interval of each paired difference with ar).
        model=kinds.builtin_names(),
        window=(25, 50),
        length=(201, 601),
        hidden=(64,),
        seed=_TEN,
        parts=(
            # The headline: the article's LSTM at three sizes, 10 seeds.
            grid("headline", _SCIENCE, window=(25, 50), length=(201, 601), hidden=(16, 64, 300), seed=_TEN),
            # The remedy on the LSTM, against one-step training on the same seeds.
            grid(
                "remedy",
                _SCIENCE,
                window=(25, 50),
                length=(201, 601),
                hidden=(64,),
                train_rollout=(4,),
                seed=_FIVE,
            ),
            # Controls on 601 samples: two periods in them, as 201 samples hold at period 100
            # (the horizon kept at four periods); one optimizer step an epoch, as 201 samples
            # get. 10 seeds at hidden 16 and 64, 5 at hidden 300 (a cell there costs 40-70 s).
            *(
                grid(name, base, window=(25, 50), length=(601,), hidden=hidden, seed=seeds, **axis)
                for name, base, axis in (
                    ("fewer-periods", _SCIENCE.replace(horizon=1200), {"period": (300,)}),
                    ("one-step-an-epoch", _SCIENCE, {"batch_size": (600,)}),
                )
                for hidden, seeds in (((16, 64), _TEN), ((300,), _FIVE))
            ),
        ),
    ),
}


def make_grid(
    name: str,
    *,
    base: ExperimentConfig | None = None,
    fields: dict | None = None,
    backend: str = "tensorflow",
    **texts: str | None,
) -> Grid:
    """A named grid with any axis replaced (texts: field -> flag text, as typed) in it and
    every part, and the base fields given (fields: name -> value, as typed; or base: every
    field where it differs from the article's) laid over every part, validated. Off
    TensorFlow a grid's TensorFlow-only LSTM implementation gives way to Keras'. Refused
    (ConfigError) where two of its cells would share a name: axis flags laid over a grid of
    several parts can make one part's cells another's but for a field no name shows."""
    if name not in GRIDS:
        raise ConfigError("grid", name, f"expected one of {', '.join(GRIDS)}")
    by_field = {axis.field: axis for axis in AXES}
    axes = {}
    for field_name, text in texts.items():
        if text is not None:
            axis = by_field[field_name]
            axes[field_name] = axis.parse(axis.flag[2:], text)
    made = GRIDS[name].with_axes(**axes)
    if backend != "tensorflow":
        from sinelstm.experiment.models import TENSORFLOW_ONLY

        if any(cell.implementation in TENSORFLOW_ONLY for cell in made.cells()):
            made = made.laid_over(implementation="keras")  # validated: "" where a kind has none
    changes = dict(fields or {})
    if base is not None:
        changes = {
            field_name: getattr(base, field_name)
            for field_name in CONFIG_FIELDS
            if getattr(base, field_name) != getattr(_ARTICLE, field_name)
        } | changes
    if changes:
        made = made.laid_over(**changes)
    if axes or changes:
        made = dataclasses.replace(made, name=f"{name}+custom")
    cells = made.cells()  # validates every cell
    names: dict[str, ExperimentConfig] = {}
    for cell in cells:
        other = names.setdefault(cell_id(cell), cell)
        if other != cell:
            differ = [f for f in CONFIG_FIELDS if getattr(other, f) != getattr(cell, f)]
            raise ConfigError(
                "grid",
                made.name,
                f"two of its cells would both be named {cell_id(cell)} (they differ in {', '.join(differ)}); "
                "choose axis values that keep its parts apart",
            )
    return made
