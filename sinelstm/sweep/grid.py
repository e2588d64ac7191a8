"""Named grids of cells. The axes are declared once, in AXES, under the config field's
own name: cell names, CLI flags, pytest ids and the grid's product all come from it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sinelstm.experiment import kinds
from sinelstm.experiment.config import CONFIG_FIELDS, ConfigError, ExperimentConfig, steps_per_epoch

# The axes and cell names live in sinelstm.sweep.axes; their names are the grid's too.
from sinelstm.sweep.axes import (  # noqa: F401 - re-exported: readers import them from the grid
    _ARTICLE,
    AXES,
    BASE_FIELDS,
    Axis,
    axis_fields,
    cell_id,
    config_axes,
    config_id,
    config_name,
    is_cell_id,
)


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
# A budget's early stopping is off: patience above every epoch cap (see science_grid).
BUDGET_PATIENCE = 10_000

GRIDS: dict[str, Grid] = {
    "quick": grid("quick", window=(25, 50), length=(201, 601), hidden=(64,), seed=(0, 1)),
    "ab": grid("ab", _SHORT, window=(25,), length=(201,), hidden=(64,), seed=(0, 1), parts=(_AB_LARGE,)),
    "default": grid("default", _BLOCK, window=(25, 50), length=(201, 601), hidden=(16, 64, 300), seed=_THREE),
    "full": grid("full", window=(25, 50), length=(201, 601), hidden=(16, 64, 128, 300), seed=(0, 1, 2, 3, 4)),
    # paths: CI's second gated grid: a small cell on every path the default and science
    # grids run and quick does not (every model kind, the block kernel, the batched trainer,
    # the remedy, hidden 300, budgets, the science controls). Its sizes keep a wave in each
    # forecast for the gate to judge (docs/layout.md, design notes; docs/gate.md).
    "paths": grid(
        "paths",
        _BLOCK,
        model=kinds.builtin_names(but=("gru",)),
        window=(25,),
        length=(201,),
        hidden=(64,),
        seed=(0,),
        parts=(
            grid("gru", _BLOCK, model=("gru",), window=(25,), length=(601,), hidden=(64,), seed=(0,)),
            grid("block-window50", _BLOCK, window=(50,), length=(201,), hidden=(64,), seed=(0,)),
            grid("batched", _SCIENCE, window=(25,), length=(201,), hidden=(64,), batch_size=(100,),
                 seed=_TWO),  # fmt: skip
            grid("remedy", _BLOCK, window=(25,), length=(201,), hidden=(64,), train_rollout=(4,), seed=(0,)),
            grid("hidden300", _BLOCK, window=(25,), length=(201,), hidden=(300,), seed=(0,)),
            grid("period300", _BLOCK.replace(horizon=1200, patience=BUDGET_PATIENCE, epochs=200),
                 window=(25,), length=(601,), hidden=(64,), period=(300,), seed=(0,)),  # fmt: skip
            grid("batch600", _BLOCK, window=(25,), length=(601,), hidden=(64,), batch_size=(600,), seed=(0,)),
            # Budgets from one run, handed on at each cap: the batched trainer's (two members, two
            # steps an epoch) and the loop trainer's (the remedy, one seed), as the science runs them.
            *(grid(f"budget-batched-{n}", _SCIENCE.replace(patience=BUDGET_PATIENCE, batch_size=100,
                   epochs=n // 2), window=(25,), length=(201,), hidden=(64,), seed=_TWO) for n in (100, 200)),
            *(grid(f"budget-loop-{n}", _BLOCK.replace(patience=BUDGET_PATIENCE, epochs=n), window=(25,),
                   length=(201,), hidden=(64,), train_rollout=(2,), seed=(0,)) for n in (100, 200)),
        ),
    ),
}


# The science grid (results/REPORT-science.md). The question: does the forecast's decay come
# from training too little, or from training one step ahead? Training budgets are the
# axis: a budgeted cell trains a fixed number of optimizer steps at Adam's constant rate
# with early stopping off (patience BUDGET_PATIENCE, above every cap), and one run a seed
# serves every budget of its config (checkpoints, sinelstm.experiment.train). Equal steps
# are the control for data length and window. The article's early stopping stays beside.
_ONE_STEP = _SCIENCE  # the article's training, seeds batched
_BUDGETED = _SCIENCE.replace(patience=BUDGET_PATIENCE)


def budgeted(name: str, base: ExperimentConfig, steps: tuple[int, ...], length: int, **axes) -> tuple:
    """A part a budget: base trained for each number of optimizer steps on `length` samples
    (epochs = steps over the batches an epoch, the same for every window of the part)."""
    windows = axes.get("window", (base.window,))
    per_epoch = {steps_per_epoch(base.replace(length=length, window=w, train_rollout=r))
                 for w in windows for r in axes.get("train_rollout", (base.train_rollout,))}  # fmt: skip
    if len(per_epoch) != 1:
        raise ValueError(f"{name}: its windows take {sorted(per_epoch)} steps an epoch")
    (per,) = per_epoch
    if any(n % per for n in steps):
        raise ValueError(f"{name}: {steps} steps are not whole epochs of {per} steps")
    return tuple(
        grid(f"{name}-steps{n}", base.replace(epochs=n // per), length=(length,), **axes) for n in steps
    )


def science_grid(name: str, seeds: tuple, big: tuple, budgets: dict, rollouts: tuple = (4,)) -> Grid:
    """The science grid's parts: hidden 64 on `seeds` (the headline and the mechanism), hidden
    300 on `big`; budgets: arm -> its optimizer steps; rollouts: the remedy's rollout lengths."""
    lstm64 = {"hidden": (64,)}
    article = dict(window=(25,), length=(201,)), dict(window=(50,), length=(601,))
    slices = ("budget-2017", "budget-2020")
    parts = [
        # The article's own LSTM, hidden 300, on its two slices: early stopping and budgets;
        # first, as its runs are the longest (a worker ends on short ones).
        *(grid(f"h300-{i}", _ONE_STEP, hidden=(300,), seed=big, **one) for i, one in enumerate(article)),
        *(part for key, one in zip(slices, article, strict=True) for part in budgeted(
            f"hidden300-{key}", _BUDGETED, budgets["hidden300-" + key], one["length"][0],
            window=one["window"],
            hidden=(300,), seed=big)),
        # The article's two slices at hidden 64: its early stopping, read from the budgeted
        # run's checkpoints (the same run, stopped where patience would), and each budget.
        *(grid(f"{name}-early-stopping-{i}", _ONE_STEP, seed=seeds, **lstm64, **one)
          for i, one in enumerate(article)),
        *(part for key, one in zip(slices, article, strict=True) for part in budgeted(
            key, _BUDGETED, budgets[key], one["length"][0], window=one["window"], seed=seeds, **lstm64)),
        # What the forecasts are worth: the classical forecasters on the same data.
        *(grid(f"classical-{i}", _ONE_STEP, model=("ar", "seasonal-naive"), seed=seeds, **one)
          for i, one in enumerate(article)),
        # The mechanism: train on k-step rollouts of the model's own predictions (a step
        # costs about k one-step steps) on the 2017 slice, against its one-step budgets.
        *(part for k in rollouts for part in budgeted(
            f"rollout{k}", _BUDGETED, budgets["rollout"], 201, window=(25,), train_rollout=(k,), seed=seeds,
            **lstm64)),
    ]  # fmt: skip
    return grid(name, _ONE_STEP, parts=tuple(parts), window=(25,), length=(201,), seed=seeds, **lstm64)


# Round 4 (results/REPORT-science.md, docs/science.md): the budgets sweep the decay zone,
# 2017's every step count beside 2020's at equal steps and at equal windows seen.
_SWEEP_2017 = (25, 50, 75, 100, 150, 200, 300, 400, 600, 800)
_SWEEP_2020 = (16, 32, 48, 50, 64, 96, 100, 128, 150, 200, 400)
# Set from the pilot (docs/science.md): B = 100 steps; the budgets from where the pilot's
# models first fitted (25 steps: 12 of 12 never fitted) to where every seed kept the
# amplitude; rollout 8 left out (5 of 12 closer than rollout 4 at B). The seeds are what
# the measured cost fits in about an hour on 2 cores: 64 at hidden 64, 12 at hidden 300.
GRIDS["science"] = science_grid(
    "science",
    seeds=tuple(range(64)),
    big=tuple(range(12)),
    budgets={"budget-2017": (50, 75, 100, 150, 200, 400), "budget-2020": (64, 100, 150, 200),
             "rollout": (50, 75, 100, 150),
             "hidden300-budget-2017": (50, 100, 200, 400), "hidden300-budget-2020": (64, 100, 200, 400)},
)  # fmt: skip
GRIDS["science-pilot"] = science_grid(
    "science-pilot",
    seeds=tuple(range(200, 212)),
    big=(),
    budgets={"budget-2017": _SWEEP_2017, "budget-2020": _SWEEP_2020, "rollout": (25, 50, 75, 100, 150, 200),
             "hidden300-budget-2017": (), "hidden300-budget-2020": ()},
    rollouts=(4, 8),
)  # fmt: skip


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
