"""The measure and the judgements: how far a forecast's amplitude ends from the truth's
(|log amp_last|),
whether it kept the amplitude and the wave, whether it decayed or grew, whether its model
fitted and its training converged, and the reference errors every forecast is measured
against, all computed from the columns of a results row."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sinelstm.experiment.data import clean_sine
from sinelstm.experiment.metrics import FLAT_AMPLITUDE

# The measure: |log amp_last|, the last forecast period's amplitude against the truth's (the
# unit sine's, 1) on a log scale, so that halving and doubling are equally far from the truth
# and decay inside the first period counts. Held to [1/100, 100] (a forecast that lost 99%
# has lost it all); a forecast without one (not finite, or shorter than a period) counts as
# the cap, the worst. |log amp_ratio| (last period against first) stays beside it.
RATIO_CAP = 100.0
KEEP_RATIO = 1.10  # kept the amplitude: amp_last within [1/1.1, 1.1], |log amp_last| <= log 1.1
OTHER_KEEP_RATIOS = (1.05, 1.20)  # the counts at other thresholds, to show how they move
PHASE_TOLERANCE = 0.01  # |phase_drift| <= 1% of the period: 4% of a period (14 degrees) over 4 periods
RMSE_TOLERANCE = 0.10  # forecast_rmse <= 0.10: a tenth of the unit amplitude, ~3.5x the noise SD
UNFIT_RMSE = 0.10  # fit_rmse_clean > 0.10: the model never fitted the training series
FLOOR_SHARE = 0.5  # a group sits at a floor when at least half its seeds never fitted
CONVERGED_DRIFT = 0.05  # converged: training loss fell under 5% over the last max(100, 10%) steps

THRESHOLDS = (
    (
        "measure",
        "|log amp_last|, amp_last held to [0.01, 100]",
        "against the truth's amplitude, 1; halving and doubling equally far from 0",
    ),
    ("beside it", "|log amp_ratio|, the last period against the first", "blind to decay in the first period"),
    (
        "kept the amplitude",
        f"amp_last within [1/{KEEP_RATIO}, {KEEP_RATIO}]",
        f"|log amp_last| <= {math.log(KEEP_RATIO):.3f}: the last period within 10% of the truth's",
    ),
    ("decayed, grew", f"amp_last below 1/{KEEP_RATIO}, above {KEEP_RATIO}", "shown apart, never netted"),
    (
        "kept the wave",
        f"the amplitude kept, |phase_drift| <= {PHASE_TOLERANCE:.0%} of the period, "
        f"forecast_rmse <= {RMSE_TOLERANCE}",
        "4% of a period of drift over 4 periods; a tenth of the unit amplitude, ~3.5x the noise SD",
    ),
    ("never fitted", f"fit_rmse_clean > {UNFIT_RMSE}", "the fit misses the clean training sine by a tenth"),
    (
        "floor",
        f"at least {FLOOR_SHARE:.0%} of a group's seeds never fitted",
        "no effect touching it is read; a flat forecast of a fitted model is the decay itself, and counts",
    ),
    (
        "converged",
        f"training loss moved under {CONVERGED_DRIFT:.0%} (fell or rose) over the last max(100, 10%) steps",
        "judged on the training loss, not on the 16-18-window validation tail",
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


def numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce")


def amp_error(amplitude) -> np.ndarray:
    """|log amplitude| (amp_last against the truth's 1, or amp_ratio), held to [1/RATIO_CAP,
    RATIO_CAP]; none (not finite, or 0): the cap."""
    ratio = np.asarray(pd.to_numeric(pd.Series(amplitude), errors="coerce"), dtype=np.float64)
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0 / RATIO_CAP)
    return np.abs(np.log(np.clip(ratio, 1.0 / RATIO_CAP, RATIO_CAP)))


def flat(frame: pd.DataFrame) -> pd.Series:
    """Whether each forecast ends flat (its last period holds no wave at the metrics'
    resolution, FLAT_AMPLITUDE): the row's own flag, or for rows from before the flag, its
    amp_last under the resolution."""
    derived = numeric(frame, "amp_last") < FLAT_AMPLITUDE
    if "flat" not in frame:
        return derived
    flag = frame["flat"].map(lambda v: {"true": True, "false": False}.get(str(v).strip().lower()))
    return flag.where(flag.notna(), derived).astype(bool)


def kept_at(threshold: float) -> str:
    """The column of 'kept the amplitude' at another threshold: 'kept_amp_at_1.05'."""
    return f"kept_amp_at_{threshold:g}"


def with_judgement(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with the measure (amp_error, and ratio_error beside it), the judgements
    (kept_amp, kept_amp_at_<threshold>, kept, decayed, grown, unfit, flat, converged,
    worse_than_zero) and the reference errors (zero_rmse, noise_sd), from the row's columns."""
    frame = frame.copy()
    amp = numeric(frame, "amp_last")
    drift, rmse = numeric(frame, "phase_drift"), numeric(frame, "forecast_rmse")
    period = numeric(frame, "period")
    frame["amp_error"] = amp_error(amp)
    frame["ratio_error"] = amp_error(numeric(frame, "amp_ratio"))
    frame["kept_amp"] = frame["amp_error"] <= math.log(KEEP_RATIO) + 1e-12
    for threshold in OTHER_KEEP_RATIOS:
        frame[kept_at(threshold)] = frame["amp_error"] <= math.log(threshold) + 1e-12
    frame["decayed"] = ~frame["kept_amp"] & ~(amp > KEEP_RATIO)
    frame["grown"] = amp > KEEP_RATIO
    frame["kept"] = frame["kept_amp"] & (drift.abs() <= PHASE_TOLERANCE * period) & (rmse <= RMSE_TOLERANCE)
    frame["flat"] = flat(frame)
    frame["unfit"] = numeric(frame, "fit_rmse_clean") > UNFIT_RMSE
    frame["converged"] = numeric(frame, "loss_drift").abs() < CONVERGED_DRIFT  # a rising loss is not flat
    frame["zero_rmse"] = [
        zero_forecast_rmse(int(n), float(p), int(h))
        for n, p, h in zip(frame["length"], frame["period"], frame["horizon"], strict=True)
    ]
    frame["noise_sd"] = [noise_sd(v) for v in numeric(frame, "noise")]
    frame["worse_than_zero"] = rmse > frame["zero_rmse"]
    return frame


def at_floor(group: pd.DataFrame) -> bool:
    """Whether a group of seeds sits at a floor: at least half of them never fitted."""
    return len(group) > 0 and float(group["unfit"].mean()) >= FLOOR_SHARE


def floor_reason(group: pd.DataFrame) -> str:
    """'7 of 10 seeds never fitted', for naming a floor."""
    return f"{int(group['unfit'].sum())} of {len(group)} seeds never fitted"
