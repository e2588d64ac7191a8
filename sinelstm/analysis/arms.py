"""The arms of the science design: a row's model, size, data, window, training (the
article's early stopping, or a budget of optimizer steps) and period, read from its config
columns; the rows of an arm, and two arms paired by seed."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sinelstm.experiment import kinds
from sinelstm.experiment.config import ExperimentConfig, split_sizes, steps_per_epoch
from sinelstm.sweep.axes import is_budgeted
from sinelstm.sweep.rows import config_of


@dataclass(frozen=True, order=True)
class Arm:
    """One arm: every seed of one training of one model on one data set."""

    hidden: int
    window: int
    length: int
    steps: int = 0  # optimizer steps of a budget (early stopping off); 0: the article's early stopping
    rollout: int = 1  # train_rollout
    period: float = 100.0
    model: str = kinds.ARTICLE

    @property
    def label(self) -> str:
        """'h64 w25 L201 1000 steps', 'h64 w25 L201 rollout 4, 1000 steps', 'ar w25 L201'."""
        who = f"h{self.hidden}" if kinds.is_article(self.model) else self.model
        parts = [who, f"w{self.window}", f"L{self.length}"]
        if self.period != 100.0:
            parts.append(f"P{self.period:g}")
        if kinds.is_classical(self.model):
            return " ".join(parts)
        training = f"{self.steps} steps" if self.steps else "early stopping"
        return " ".join(parts) + (f" rollout {self.rollout}," if self.rollout > 1 else "") + f" {training}"

    @property
    def config(self) -> ExperimentConfig:
        """The arm's data, window and training at the science grid's batch size."""
        return ExperimentConfig(window=self.window, length=self.length, period=self.period,
                                train_rollout=self.rollout)  # fmt: skip

    @property
    def epochs(self) -> float:
        return self.steps / steps_per_epoch(self.config)

    @property
    def windows_seen(self) -> int:
        """Training windows the budget passes through the model: epochs x training windows."""
        cfg = self.config
        return round(
            self.epochs * split_sizes(cfg.n_windows - cfg.train_rollout + 1, cfg.validation_split)[0]
        )

    @property
    def budget(self) -> str:
        """'100 steps (50 epochs, 24.8k windows)': a budget in all three units."""
        return f"{self.steps} steps ({self.epochs:g} epochs, {self.windows_seen / 1000:.1f}k windows)"

    def data(self, model: str) -> Arm:
        """The arm of another (classical) model on this arm's data and window."""
        return Arm(0, self.window, self.length, period=self.period, model=model)


def windows_per_step(hidden: int, window: int, length: int, rollout: int = 1) -> float:
    """Training windows an optimizer step sees on average, at the science grid's batch size."""
    cfg = Arm(hidden, window, length, 1, rollout).config
    n_train, _ = split_sizes(cfg.n_windows - cfg.train_rollout + 1, cfg.validation_split)
    return n_train / steps_per_epoch(cfg)


def arm_of(row: dict) -> Arm:
    cfg = config_of(row)
    steps = cfg.epochs * steps_per_epoch(cfg) if is_budgeted(cfg) else 0
    return Arm(cfg.hidden, cfg.window, cfg.length, steps, cfg.train_rollout, cfg.period, cfg.model)


def with_arms(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with their arm (column `arm`)."""
    frame = frame.copy()
    frame["arm"] = [arm_of(row) for row in frame.to_dict("records")]
    return frame


def rows_of(frame: pd.DataFrame, arm: Arm) -> pd.DataFrame:
    """An arm's rows (of a frame with_arms), one a seed, by seed. Refused (ValueError) where
    two configs the arm does not tell apart (another batch size, horizon, noise...) share a
    seed: pooling them would hide a control inside an arm."""
    rows = frame[frame["arm"] == arm]
    keys = rows.groupby("seed")["cell_key"].nunique() if "cell_key" in rows else pd.Series(dtype=int)
    if (keys > 1).any():
        shared = list(keys[keys > 1].index)
        raise ValueError(f"{arm.label}: configs it does not tell apart share seeds {shared}")
    return rows.drop_duplicates("seed", keep="last").sort_values("seed")


def paired(frame: pd.DataFrame, before: Arm, after: Arm, column: str) -> pd.DataFrame:
    """The seeds both arms ran, with column's value in each (before, after), by seed."""
    one = rows_of(frame, before)[["seed", column]].rename(columns={column: "before"})
    two = rows_of(frame, after)[["seed", column]].rename(columns={column: "after"})
    both = one.merge(two, on="seed")
    for side in ("before", "after"):
        both[side] = pd.to_numeric(both[side], errors="coerce")
    return both


def median_steps(rows: pd.DataFrame) -> float:
    """The median optimizer steps an arm's rows trained for."""
    return float(pd.to_numeric(rows["steps_run"], errors="coerce").median())
