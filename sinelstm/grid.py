"""Named grids of cells: window x data length x hidden size x seed."""

from __future__ import annotations

from dataclasses import dataclass

from sinelstm.config import ConfigError, ExperimentConfig

# The grid axes, in the order of a cell's name.
AXES = ("window", "length", "hidden", "seed")


@dataclass(frozen=True)
class Grid:
    name: str
    windows: tuple[int, ...]
    lengths: tuple[int, ...]
    hidden: tuple[int, ...]
    seeds: tuple[int, ...]
    base: ExperimentConfig = ExperimentConfig()  # every field that is not an axis

    def cells(self) -> list[ExperimentConfig]:
        """Every cell, validated, seeds innermost."""
        return [
            self.base.replace(window=window, length=length, hidden=hidden, seed=seed).validate()
            for window in self.windows
            for length in self.lengths
            for hidden in self.hidden
            for seed in self.seeds
        ]

    def speedup_cell(self) -> ExperimentConfig:
        """The one cell whose forecast is also timed with the predict engine: the article's
        2017 shape where the grid has it (first window, first length, largest hidden, first seed)."""
        return self.base.replace(
            window=self.windows[0],
            length=self.lengths[0],
            hidden=max(self.hidden),
            seed=self.seeds[0],
        )


# quick: CI's grid, about a minute. default: the README's main job, every
# required axis. full: the grid that answers questions (5 seeds, 4 sizes).
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
}


def cell_id(cfg: ExperimentConfig) -> str:
    """window25-length201-hidden300-seed0: the cell's name in pytest ids, tables and the gate.

    No '=' in it: pytest's -k grammar does not accept one, and -k must select cells.
    """
    return "-".join(f"{axis}{getattr(cfg, axis)}" for axis in AXES)


def config_id(cfg: ExperimentConfig) -> str:
    """The cell's name without its seed: the unit that seeds are aggregated over."""
    return "-".join(f"{axis}{getattr(cfg, axis)}" for axis in AXES if axis != "seed")


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


def make_grid(
    name: str,
    *,
    windows: str | None = None,
    lengths: str | None = None,
    hidden: str | None = None,
    seeds: str | None = None,
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
    }
    custom = any(v is not None for v in (windows, lengths, hidden, seeds)) or base is not None
    grid = Grid(
        name=f"{name}+custom" if custom else name,
        base=base if base is not None else grid.base,
        **changes,
    )
    for cell in grid.cells():
        cell.validate()
    return grid
