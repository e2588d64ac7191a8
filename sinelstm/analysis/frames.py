"""The results as the report reads them: rows grouped into configs, the article's model picked out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sinelstm.experiment import kinds
from sinelstm.sweep.grid import config_axes, config_name


def keys() -> list[str]:
    """The columns a config is grouped by: every axis but the seed (hidden 0 where n/a), and
    the epoch cap (a budget's cells differ in it only)."""
    return [*config_axes(), "epochs"]


def configs(ok: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(config name, its rows) in axis order: model, window, length, hidden, remedy."""
    return [(config_name(group["cell"].iloc[0]), group) for _, group in ok.groupby(keys(), sort=True)]


def with_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with hidden n/a read as 0, so that it groups by keys()."""
    frame = frame.copy()
    frame["hidden"] = pd.to_numeric(frame["hidden"], errors="coerce").fillna(0).astype(int)
    return frame


def article_lstm(ok: pd.DataFrame) -> pd.DataFrame:
    """The rows of the article's own model and training (LSTM, one-step training)."""
    return ok[(ok["model"] == kinds.ARTICLE) & (ok["train_rollout"] == 1)]


def median_of(frame: pd.DataFrame, column: str) -> float:
    values = pd.to_numeric(frame[column], errors="coerce")
    values = values[np.isfinite(values)]
    return float(values.median()) if len(values) else math.nan


def select(ok: pd.DataFrame, **values) -> pd.DataFrame:
    mask = np.ones(len(ok), dtype=bool)
    for key, value in values.items():
        mask &= (ok[key] == value).to_numpy()
    return ok[mask]
