"""What the data says about the decay: the report's findings and its science section,
every sentence computed from the results CSV alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinelstm.experiment import kinds
from sinelstm.report.accuracy import AMP_TOLERANCE, PHASE_TOLERANCE, RMSE_TOLERANCE, with_judgement
from sinelstm.report.effects import bootstrap_median, effect
from sinelstm.report.effects_tables import (
    arm_lines,
    control_lines,
    effect_lines,
    interval_lines,
    reference_lines,
    thresholds_lines,
)
from sinelstm.report.frames import article_lstm, configs, keys, median_of, select
from sinelstm.report.models_compared import against_ar, ar_by_slice, comparison_hidden, model_tables, remedy
from sinelstm.report.stratified import Design, arm_summary, design_of, stratified_effects


def model_order(ok: pd.DataFrame) -> list[str]:
    """The model kinds in the run: the registry's order, then any user factories."""
    present = list(dict.fromkeys(ok["model"]))
    builtin = [name for name in kinds.builtin_names() if name in present]
    return builtin + [name for name in present if name not in builtin]


def is_networks(models) -> list[str]:
    return [name for name in models if kinds.lookup(name) is not None and kinds.lookup(name).is_network]


def is_science(ok: pd.DataFrame) -> bool:
    """Whether the run has the axes the science section compares: several model kinds
    or the remedy, with at least 3 seeds per config."""
    seeds = ok.groupby(keys())["seed"].nunique()
    several = ok["model"].nunique() > 1 or ok["train_rollout"].nunique() > 1
    return several and len(seeds) > 0 and int(seeds.min()) >= 3


def headline_settings(ok: pd.DataFrame, design: Design) -> pd.DataFrame:
    """The rows at the headline's period and batch size (the controls left out), so that
    pairs on window, length and seed never cross into a control."""
    if design.base is None:
        return ok
    return ok[np.isclose(ok["period"], design.base.period) & (ok["batch_size"] == design.base.batch_size)]


def science_section(ok: pd.DataFrame) -> list[str]:
    """The markdown lines of the science section; every sentence is computed from ok."""
    judged = with_judgement(ok)
    design = design_of(judged)
    effects = stratified_effects(judged, design)
    summary = arm_summary(judged, design)
    ns = [e.amp.n for e in effects] + (list(summary["seeds"]) if not summary.empty else [])
    lines = thresholds_lines() + interval_lines(ns or [len(ok)]) + reference_lines(judged)
    lines += arm_lines(summary) + effect_lines(effects) + control_lines(design)

    main = headline_settings(judged, design)
    models = model_order(main)
    windows, lengths = sorted(main["window"].unique()), sorted(main["length"].unique())
    plain = main[main["train_rollout"] == 1]
    hidden = comparison_hidden(plain)
    # The models at the one hidden size they share, one-step training.
    compared = plain[plain["hidden"].isin([0, hidden])]
    lines += model_tables(compared, models, windows, lengths, hidden)
    if "ar" in models:
        lines += against_ar(compared, is_networks(models), lengths, "one-step training")
        lines.append(f"- ar's own median forecast RMSE: {ar_by_slice(plain)}.")
    lines += remedy(main, models, hidden)
    return lines


def _window_or_data(lstm: pd.DataFrame, windows, lengths) -> list[str]:
    """Which of the 2020 run's two changes keeps the amplitude, on the article's LSTM,
    at each hidden size on its own (sizes are never pooled: their effects differ)."""
    lines = []
    if len(windows) < 2 or len(lengths) < 2 or lstm.empty:
        return lines
    w0, w1, n0, n1 = windows[0], windows[-1], lengths[0], lengths[-1]
    for hidden in sorted(lstm["hidden"].unique()):
        cells = lstm[lstm["hidden"] == hidden]
        window_short = effect(cells[cells["length"] == n0], "window", w0, w1, "amp_ratio")
        window_long = effect(cells[cells["length"] == n1], "window", w0, w1, "amp_ratio")
        data_short = effect(cells[cells["window"] == w0], "length", n0, n1, "amp_ratio")
        data_long = effect(cells[cells["window"] == w1], "length", n0, n1, "amp_ratio")
        start = bootstrap_median(select(cells, window=w0, length=n0)["amp_ratio"])
        both = bootstrap_median(select(cells, window=w1, length=n1)["amp_ratio"])
        lines.append(
            f"- **Window or data, hidden {hidden}** ({window_short.n} seeds per effect)? "
            f"Window {w0} -> {w1} changes the median amp_ratio by {window_short.text(signed=True)} "
            f"on {n0} samples and {window_long.text(signed=True)} on {n1}; {n0} -> {n1} samples "
            f"changes it by {data_short.text(signed=True)} at window {w0} and "
            f"{data_long.text(signed=True)} at window {w1} (window {w0} on {n0} samples: {start.text()}; "
            f"window {w1} on {n1}: {both.text()}). "
            + _verdict(cells.assign(amp_error=(cells["amp_ratio"] - 1).abs()), w0, w1, n0, n1)
        )
    return lines


def _verdict(cells: pd.DataFrame, w0, w1, n0, n1) -> str:
    """What each change does to the amplitude's error |amp_ratio - 1| (an overshoot is no
    more kept than a decay), slice by slice: a change "keeps the amplitude" only where it
    brings the error down in every slice, its interval clear of 0; nothing is pooled."""
    effects = {
        "the longer window": [
            (f"on {n} samples", effect(cells[cells["length"] == n], "window", w0, w1, "amp_error"))
            for n in (n0, n1)
        ],
        "more data": [
            (f"at window {w}", effect(cells[cells["window"] == w], "length", n0, n1, "amp_error"))
            for w in (w0, w1)
        ],
    }
    said, keeps = [], []
    for name, slices in effects.items():
        parts = ", ".join(f"{e.text(signed=True)} {where}" for where, e in slices)
        said.append(f"{name} {parts}")
        if all(e.excludes_zero and e.value < 0 for _, e in slices):
            keeps.append(name)
    text = "Its error |amp_ratio - 1| changes with " + "; with ".join(said) + ". "
    if len(keeps) == 2:
        return text + "Both changes bring the amplitude closer in every slice."
    if keeps:
        return text + f"Only {keeps[0]} brings the amplitude closer in every slice."
    return text + "Neither change brings the amplitude closer in every slice at these seeds."


def findings(ok: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Sentences computed from the data; each changes when the numbers do."""
    out = []
    # "Kept" as the science section judges it: amplitude, phase and accuracy all within their
    # thresholds (sinelstm.report.accuracy), in at least half of a config's seeds.
    kept = {label: group["kept"].mean() >= 0.5 for label, group in configs(with_judgement(ok))}
    keep = [label for label, yes in kept.items() if yes]
    lose = [label for label, yes in kept.items() if not yes]
    rule = (
        f"|amp_ratio - 1| <= {AMP_TOLERANCE}, |phase_drift| <= {PHASE_TOLERANCE:.0%} of the period and "
        f"forecast_rmse <= {RMSE_TOLERANCE} in at least half the seeds"
    )
    if keep:
        out.append(f"{len(keep)} of {len(kept)} configs keep the wave ({rule}): {', '.join(keep)}.")
    else:
        out.append(f"None of the {len(kept)} configs keeps the wave ({rule}).")
    if lose and keep:
        out.append(f"The other {len(lose)} do not: {', '.join(lose)}.")
    last = {label: median_of(group, "amp_last") for label, group in configs(ok)}
    flat = [k for k, v in last.items() if np.isfinite(v) and v < 0.05]
    if flat:
        out.append(
            f"{len(flat)} configs end as a flat line, not a decaying wave (median amplitude of "
            f"the last period < 0.05): {', '.join(flat)}."
        )

    # The article's LSTM at the headline's period and batch size: a control is never pooled in.
    lstm = headline_settings(article_lstm(ok), design_of(ok))
    windows, lengths = sorted(lstm["window"].unique()), sorted(lstm["length"].unique())
    if (len(windows) >= 2 or len(lengths) >= 2) and not is_science(ok):  # the science section has it
        out += [line.removeprefix("- ") for line in _window_or_data(lstm, windows, lengths)]
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
