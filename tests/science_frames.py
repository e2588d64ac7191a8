"""Small results frames shaped like the science grid, built in memory for the analysis tests."""

from __future__ import annotations

import pandas as pd

# A headline cell's config where a test does not say otherwise.
BASE = dict(model="lstm", train_rollout=1, period=100.0, batch_size=300, horizon=400, noise=0.05, epochs=100)


def cell(window: int, length: int, hidden: int, seed: int, amp_ratio: float, **overrides) -> dict:
    """One ok row: a fitted, well-phased forecast unless overridden."""
    return {
        **BASE,
        "status": "ok",
        "window": window,
        "length": length,
        "hidden": hidden,
        "seed": seed,
        "amp_ratio": amp_ratio,
        "phase_drift": 0.1,
        "forecast_rmse": 0.05,
        "fit_rmse_clean": 0.02,
        "epochs_run": 60,
        "best_epoch": 40,
        "cell": f"window{window}-length{length}-hidden{hidden}-seed{seed}",
        **overrides,
    }


def science_frame(data_gain: float, seeds: int = 10, controls: bool = True) -> pd.DataFrame:
    """LSTM cells at hidden 16 and 64. Hidden 16 never fits on 201 samples (flat, a floor);
    at hidden 64 the window does nothing, and 201 -> 601 samples moves amp_ratio by
    data_gain (+ 0.01 x seed, so no two pairs tie). Controls at 601 samples: period 300
    (horizon 1200) and batch 600, both at the 201-sample level."""
    rows = []
    for seed in range(seeds):
        jitter = 0.01 * seed
        for window in (25, 50):
            rows.append(cell(window, 201, 16, seed, 0.0, fit_rmse_clean=0.3, forecast_rmse=1.0))
            rows.append(cell(window, 601, 16, seed, 0.98))
            rows.append(cell(window, 201, 64, seed, 0.5))
            rows.append(cell(window, 601, 64, seed, 0.5 + data_gain + jitter, epochs_run=100))
            if controls:
                for hidden in (16, 64):
                    rows.append(cell(window, 601, hidden, seed, 0.5, period=300.0, horizon=1200))
                    rows.append(cell(window, 601, hidden, seed, 0.5, batch_size=600))
    return pd.DataFrame(rows)
