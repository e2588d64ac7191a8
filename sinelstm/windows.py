"""Sliding windows: each run of `window` values predicts the next value."""

from __future__ import annotations

import numpy as np


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n_windows, window, 1) and targets (n_windows, 1), float32.

    Window i is series[i : i + window] and its target series[i + window], as
    the article's make_dataset; n_windows = len(series) - window.
    """
    series = np.asarray(series)
    if series.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {series.shape}")
    if not 1 <= window < len(series):
        raise ValueError(f"window must be >= 1 and < len(series) ({len(series)}), got {window}")
    # (len(series) - window, window): a read-only view, copied by astype.
    inputs = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    targets = series[window:]
    return inputs[..., None].astype(np.float32), targets[:, None].astype(np.float32)
