"""What "kept" means: amplitude judged with phase and accuracy, the floors a cell can sit
at, and the reference errors every forecast is measured against (the zero forecast, the
data's noise), all computed from the config columns of a results row."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sinelstm.experiment.data import clean_sine

# The thresholds, defined once and printed in the report.
AMP_TOLERANCE = 0.10  # |amp_ratio - 1| <= 0.10: the last period within 10% of the first's amplitude.
PHASE_TOLERANCE = 0.01  # |phase_drift| <= 1% of the period: 4% of a period (14 degrees) over 4 periods.
RMSE_TOLERANCE = 0.10  # forecast_rmse <= 0.10: a tenth of the unit amplitude, ~3.5x the noise SD.
FLAT_AMP = 0.05  # amp_ratio < 0.05: the forecast has gone flat (the wave is gone, not decaying).
UNFIT_RMSE = 0.10  # fit_rmse_clean > 0.10: the model never fitted the training series.
FLOOR_SHARE = 0.5  # a group sits at a floor when at least half its seeds are flat or unfitted.

THRESHOLDS = (
    (
        "kept: amplitude",
        f"|amp_ratio - 1| <= {AMP_TOLERANCE}",
        "the last forecast period within 10% of the first",
    ),
    (
        "kept: phase",
        f"|phase_drift| <= {PHASE_TOLERANCE:.0%} of the period",
        "1 step a period at period 100 adds up to 4% of a period (14 degrees) over a 4-period horizon",
    ),
    (
        "kept: accuracy",
        f"forecast_rmse <= {RMSE_TOLERANCE}",
        "a tenth of the unit amplitude, about 3.5 times the noise SD; the zero forecast scores 0.71",
    ),
    ("flat", f"amp_ratio < {FLAT_AMP}", "the forecast has lost the wave altogether"),
    ("never fitted", f"fit_rmse_clean > {UNFIT_RMSE}", "the fit misses the clean training sine by a tenth"),
    (
        "floor",
        f"at least {FLOOR_SHARE:.0%} of a group's seeds flat or never fitted",
        "its median compares a floor, not an amplitude kept or lost",
    ),
)


def zero_forecast_rmse(length: int, period: float, horizon: int) -> float:
    """RMSE of predicting 0 against the noise-free continuation over the horizon
    (1/sqrt(2) = 0.707 for whole periods of a unit sine)."""
    x = np.arange(length, length + horizon)  # (horizon,)
    return float(np.sqrt(np.mean(clean_sine(x, period) ** 2)))


def noise_sd(noise: float) -> float:
    """The SD of the data noise, uniform on +-noise: noise / sqrt(3)."""
    return float(noise) / math.sqrt(3)


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce")


def with_judgement(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with boolean columns kept, flat, unfit, worse_than_zero and capped, and
    the reference errors zero_rmse and noise_sd, each computed from the row's own config."""
    frame = frame.copy()
    amp, drift, rmse = (
        _numeric(frame, "amp_ratio"),
        _numeric(frame, "phase_drift"),
        _numeric(frame, "forecast_rmse"),
    )
    period = _numeric(frame, "period")
    frame["zero_rmse"] = [
        zero_forecast_rmse(int(n), float(p), int(h))
        for n, p, h in zip(frame["length"], frame["period"], frame["horizon"], strict=True)
    ]
    frame["noise_sd"] = [noise_sd(v) for v in _numeric(frame, "noise")]
    frame["kept"] = (
        ((amp - 1).abs() <= AMP_TOLERANCE)
        & (drift.abs() <= PHASE_TOLERANCE * period)
        & (rmse <= RMSE_TOLERANCE)
    )
    frame["flat"] = amp.isna() | (amp < FLAT_AMP)
    frame["unfit"] = _numeric(frame, "fit_rmse_clean") > UNFIT_RMSE
    frame["worse_than_zero"] = rmse > frame["zero_rmse"]
    epochs = _numeric(frame, "epochs")
    frame["capped"] = _numeric(frame, "epochs_run") >= epochs
    frame["still_improving"] = _numeric(frame, "best_epoch") >= epochs
    return frame


def at_floor(group: pd.DataFrame) -> bool:
    """Whether a group of seeds sits at a floor (judged rows, see with_judgement)."""
    return len(group) > 0 and float((group["flat"] | group["unfit"]).mean()) >= FLOOR_SHARE


def floor_reason(group: pd.DataFrame) -> str:
    """'7 of 10 seeds flat, 7 never fitted', for naming a floor."""
    n = len(group)
    return f"{int(group['flat'].sum())} of {n} seeds flat, {int(group['unfit'].sum())} never fitted"
