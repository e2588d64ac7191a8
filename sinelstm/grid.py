"""Named grids of cells: model x window x data length x hidden size x remedy x seed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sinelstm.config import KERAS_MODELS, MODELS, ConfigError, ExperimentConfig

# The grid axes, in the order of a cell's name.
AXES = ("model", "window", "length", "hidden", "train_rollout", "seed")


@dataclass(frozen=True)
class Grid:
    name: str
    windows: tuple[int, ...]
    lengths: tuple[int, ...]
    hidden: tuple[int, ...]
    seeds: tuple[int, ...]
    models: tuple[str, ...] = ("lstm",)
    rollouts: tuple[int, ...] = (1,)  # train_rollout values: 1 = the article's training
    base: ExperimentConfig = ExperimentConfig()  # every field that is not an axis

    def cells(self) -> list[ExperimentConfig]:
        """Every distinct cell, validated, seeds innermost. An axis that does not apply to
        a model (hidden, or the remedy, for the classical ones) gives it one cell, not many."""
        cells = (
            self.base.replace(
                model=model, window=window, length=length, hidden=hidden, train_rollout=rollout, seed=seed
            ).validate()
            for model in self.models
            for window in self.windows
            for length in self.lengths
            for hidden in self.hidden
            for rollout in self.rollouts
            for seed in self.seeds
        )
        return list(dict.fromkeys(cells))

    def speedup_cell(self) -> ExperimentConfig | None:
        """The one cell whose forecast is also timed with the predict engine: the article's
        2017 shape where the grid has it (the first network, first window, first length,
        largest hidden, first seed). None when the grid has no network: a classical model's
        forecast is one numpy loop whatever the engine, so there is no speed-up to measure."""
        networks = [model for model in self.models if model in KERAS_MODELS]
        if not networks:
            return None
        return self.base.replace(
            model=networks[0],
            train_rollout=self.rollouts[0],
            window=self.windows[0],
            length=self.lengths[0],
            hidden=max(self.hidden),
            seed=self.seeds[0],
        ).validate()


# quick: CI's grid, about a minute. default: the README's main job, every
# required axis. full: the LSTM's grid that answers questions (5 seeds, 4 sizes).
GRIDS: dict[str, Grid] = {
    "quick": Grid("quick", windows=(25, 50), lengths=(201,), hidden=(64,), seeds=(0, 1)),
    "default": Grid("default", windows=(25, 50), lengths=(201, 601), hidden=(16, 64, 300), seeds=(0, 1, 2)),
    "full": Grid(
        "full",
        windows=(25, 50),
        lengths=(201, 601),
        hidden=(16, 64, 128, 300),
        seeds=(0, 1, 2, 3, 4),
    ),
    # science: the report's answer to the article's two questions. Every model kind,
    # both windows and data lengths, two hidden sizes, the remedy on and off, 5 seeds.
    "science": Grid(
        "science",
        windows=(25, 50),
        lengths=(201, 601),
        hidden=(16, 64),
        seeds=(0, 1, 2, 3, 4),
        models=MODELS,
        rollouts=(1, 4),
    ),
}


def _name_parts(cfg: ExperimentConfig) -> list[str]:
    parts = [] if cfg.model == "lstm" else [cfg.model]
    parts += [f"window{cfg.window}", f"length{cfg.length}"]
    if cfg.uses_hidden:
        parts.append(f"hidden{cfg.hidden}")
    if cfg.train_rollout > 1:
        parts.append(f"rollout{cfg.train_rollout}")
    return parts


def cell_id(cfg: ExperimentConfig) -> str:
    """window25-length201-hidden300-seed0 (an LSTM), gru-window50-length601-hidden64-rollout8-seed1,
    ar-window25-length201-seed0: the cell's name in pytest ids, tables and the gate.

    No '=' in it: pytest's -k grammar does not accept one, and -k must select cells.
    """
    return "-".join(_name_parts(cfg) + [f"seed{cfg.seed}"])


def is_cell_id(name: str) -> bool:
    """Whether a name is a cell's (it ends in its seed), not a config's."""
    return re.search(r"-seed\d+$", name) is not None


def config_id(cfg: ExperimentConfig) -> str:
    """The cell's name without its seed: the unit that seeds are aggregated over."""
    return "-".join(_name_parts(cfg))


def parse_ints(flag: str, text: str) -> tuple[int, ...]:
    """'25,50' or '0-4' or '0-2,7' -> a tuple of distinct ints in the given order."""
    values: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                low, high = part.split("-", 1)
                values.extend(range(int(low), int(high) + 1))
            else:
                values.append(int(part))
    except ValueError:
        raise ConfigError(flag, text, "expected integers separated by commas, or ranges like 0-4") from None
    if not values:
        raise ConfigError(flag, text, "expected at least one value")
    return tuple(dict.fromkeys(values))


def parse_models(text: str) -> tuple[str, ...]:
    """'lstm,gru' or 'all' -> model kinds, each checked."""
    if text.strip() == "all":
        return MODELS
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    for name in names:
        if name not in MODELS:
            raise ConfigError(
                "models", name, f"expected 'all' or a comma-separated list of {', '.join(MODELS)}"
            )
    return names


def make_grid(
    name: str,
    *,
    windows: str | None = None,
    lengths: str | None = None,
    hidden: str | None = None,
    seeds: str | None = None,
    models: str | None = None,
    rollouts: str | None = None,
    base: ExperimentConfig | None = None,
) -> Grid:
    """A named grid with any axis replaced, its base config replaced, validated."""
    if name not in GRIDS:
        raise ConfigError("grid", name, f"expected one of {', '.join(GRIDS)}")
    grid = GRIDS[name]
    changes = {
        "windows": parse_ints("windows", windows) if windows else grid.windows,
        "lengths": parse_ints("lengths", lengths) if lengths else grid.lengths,
        "hidden": parse_ints("hidden", hidden) if hidden else grid.hidden,
        "seeds": parse_ints("seeds", seeds) if seeds else grid.seeds,
        "models": parse_models(models) if models else grid.models,
        "rollouts": parse_ints("rollouts", rollouts) if rollouts else grid.rollouts,
    }
    custom = (
        any(v is not None for v in (windows, lengths, hidden, seeds, models, rollouts)) or base is not None
    )
    grid = Grid(
        name=f"{name}+custom" if custom else name,
        base=base if base is not None else grid.base,
        **changes,
    )
    for cell in grid.cells():
        cell.validate()
    return grid
