"""The run report's findings: sentences computed from the data, each of which changes when
the numbers do (what kept the wave, what went flat, the best window and data length per
hidden size, the forecast engine's speed-up, the time it all took)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinelstm.analysis.frames import article_lstm, configs, median_of
from sinelstm.analysis.judged import KEEP_RATIO, PHASE_TOLERANCE, RMSE_TOLERANCE, with_judgement
from sinelstm.experiment.metrics import FLAT_AMPLITUDE


def findings(ok: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Sentences computed from the data; each changes when the numbers do."""
    out = []
    # "Kept" as the science section judges it: amplitude, phase and accuracy all within their
    # thresholds (sinelstm.analysis.judged), in at least half of a config's seeds.
    kept = {label: group["kept"].mean() >= 0.5 for label, group in configs(with_judgement(ok))}
    keep = [label for label, yes in kept.items() if yes]
    lose = [label for label, yes in kept.items() if not yes]
    rule = (
        f"amp_last within [1/{KEEP_RATIO}, {KEEP_RATIO}] of the truth, |phase_drift| <= "
        f"{PHASE_TOLERANCE:.0%} of the period and forecast_rmse <= {RMSE_TOLERANCE} in at least half the "
        "seeds"
    )
    if keep:
        out.append(f"{len(keep)} of {len(kept)} configs keep the wave ({rule}): {', '.join(keep)}.")
    else:
        out.append(f"None of the {len(kept)} configs keeps the wave ({rule}).")
    if lose and keep:
        out.append(f"The other {len(lose)} do not: {', '.join(lose)}.")
    flat = [label for label, group in configs(with_judgement(ok)) if group["flat"].mean() >= 0.5]
    if flat:
        out.append(
            f"{len(flat)} configs end as a flat line, not a decaying wave (in at least half the seeds, "
            f"the last period's amplitude under {FLAT_AMPLITUDE:g}): {', '.join(flat)}."
        )

    lstm = article_lstm(ok)
    windows, lengths = sorted(lstm["window"].unique()), sorted(lstm["length"].unique())
    # Per hidden size: sizes are never pooled (their effects differ, and some sit at a floor).
    for hidden, cells in lstm.groupby("hidden"):
        rmse = {
            (w, n): median_of(cells[(cells["window"] == w) & (cells["length"] == n)], "forecast_rmse")
            for w in windows
            for n in lengths
        }
        finite = [(v, k) for k, v in rmse.items() if np.isfinite(v)]
        if finite and len(finite) > 1:
            value, (w, n) = min(finite)
            out.append(
                f"At hidden {hidden} the article's LSTM has its lowest median forecast RMSE by window and "
                f"data length, {value:.3f}, at window {w} on {n} samples."
            )
        drifts = [
            median_of(cells[(cells["window"] == w) & (cells["length"] == n)], "phase_drift")
            for w in windows
            for n in lengths
        ]
        drifts = [d for d in drifts if np.isfinite(d)]
        if drifts:
            out.append(
                f"At hidden {hidden} its median phase_drift (forecast period minus the true one; negative "
                f"runs ahead) is {min(drifts):+.2f} to {max(drifts):+.2f} steps over the "
                f"{len(drifts)} windows and data lengths."
            )
    speed = ok[pd.to_numeric(ok["engine_speedup"], errors="coerce").notna()]
    for row in speed.to_dict("records"):
        out.append(
            f"The compiled forecast engine ran {float(row['engine_speedup']):.0f}x faster than the "
            f"article's model.predict loop ({float(row['forecast_ms_per_step']):.3f} vs "
            f"{float(row['predict_ms_per_step']):.1f} ms per step, "
            f"{row['cell']})."
        )
    diverged = int(ok["diverged"].astype(str).str.lower().eq("true").sum())
    failed = int((frame["status"] != "ok").sum())
    out.append(
        (f"{diverged} of {len(ok)} forecasts diverged." if diverged else "No forecast diverged.")
        + (f" {failed} cells crashed." if failed else "")
    )
    fit_total, forecast_total = float(ok["fit_s"].sum()), float(ok["forecast_s"].sum())
    warmup_total = float(ok["forecast_warmup_s"].sum())
    out.append(
        f"Training took {fit_total:.0f} s over all cells and forecasting {forecast_total:.1f} s "
        f"(plus {warmup_total:.0f} s of first-call compilation)."
    )
    predict_ms = pd.to_numeric(ok["predict_ms_per_step"], errors="coerce").dropna()
    if len(predict_ms):
        # The predict loop's cost per step is a fixed overhead, whatever the model's size.
        seed_way = fit_total + float(predict_ms.median()) / 1000 * float(ok["horizon"].sum())
        out.append(
            f"The article's way (the same training, then one model.predict call per forecast step "
            f"at the measured {float(predict_ms.median()):.1f} ms) would take about {seed_way:.0f} s "
            f"for these cells; their training and forecasting here took "
            f"{fit_total + forecast_total + warmup_total:.0f} s (summed over cells, before any "
            f"parallel workers divide it)."
        )
    return out
