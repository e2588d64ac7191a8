"""Sliding windows: each run of `window` values predicts the next value(s)."""

from __future__ import annotations

import numpy as np


def make_windows(
    series: np.ndarray, window: int, steps: int = 1, dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, window, 1) and targets (n, steps), n = len(series) - window - steps + 1.

    Window i is series[i : i + window] and its targets the `steps` values after
    it; with steps=1 this is the article's make_dataset (target series[i + window]).
    """
    series = np.asarray(series)
    if series.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {series.shape}")
    if not 1 <= window < len(series):
        raise ValueError(f"window must be >= 1 and < len(series) ({len(series)}), got {window}")
    if not 1 <= steps <= len(series) - window:
        raise ValueError(
            f"steps must be >= 1 and <= len(series) - window ({len(series) - window}), got {steps}"
        )
    # (len(series) - window - steps + 1, window): read-only views, copied by astype.
    inputs = np.lib.stride_tricks.sliding_window_view(series[: len(series) - steps], window)
    targets = np.lib.stride_tricks.sliding_window_view(series[window:], steps)
    return inputs[..., None].astype(dtype), targets.astype(dtype)
