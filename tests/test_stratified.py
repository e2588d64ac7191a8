"""Effects stratified by hidden size, the floors, the controls and the thresholds of "kept"."""

from __future__ import annotations

import math

import pytest
from science_frames import cell, science_frame

from sinelstm.report.accuracy import noise_sd, with_judgement, zero_forecast_rmse
from sinelstm.report.stratified import HEADLINE, arm_summary, design_of, stratified_effects


def test_reference_errors_come_from_the_config():
    # Whole periods of a unit sine: RMS 1/sqrt(2), whatever the period or start.
    assert zero_forecast_rmse(201, 100.0, 400) == pytest.approx(1 / math.sqrt(2))
    assert zero_forecast_rmse(601, 300.0, 1200) == pytest.approx(1 / math.sqrt(2))
    assert noise_sd(0.05) == pytest.approx(0.05 / math.sqrt(3))  # 0.0289


def test_kept_needs_amplitude_phase_and_accuracy():
    import pandas as pd

    rows = pd.DataFrame(
        [
            cell(25, 201, 64, 0, 1.0),  # kept
            cell(25, 201, 64, 1, 1.0, phase_drift=2.0),  # 2 steps a period at period 100: not kept
            cell(25, 201, 64, 2, 1.0, forecast_rmse=0.8),  # worse than the zero forecast (0.707)
            cell(25, 201, 64, 3, 0.01, fit_rmse_clean=0.2),  # flat and never fitted
        ]
    )
    judged = with_judgement(rows)
    assert list(judged["kept"]) == [True, False, False, False]
    assert list(judged["worse_than_zero"]) == [False, False, True, False]
    assert list(judged["flat"]) == [False, False, False, True]
    assert list(judged["unfit"]) == [False, False, False, True]


def effects_by_name(frame):
    judged = with_judgement(frame)
    return {(e.hidden, e.name): e for e in stratified_effects(judged, design_of(judged))}


def test_effects_are_per_hidden_size_and_a_floor_is_named_not_read():
    effects = effects_by_name(science_frame(data_gain=0.4))
    data = effects[(64, "201 -> 601 samples at window 25")]
    # Pairs 0.4 + 0.01 x seed, seeds 0..9: median 0.445, 2nd and 9th ordered 0.41 and 0.48.
    assert (data.amp.value, data.amp.low, data.amp.high, data.amp.n) == pytest.approx((0.445, 0.41, 0.48, 10))
    # 10 of 10 positive: p = 2/1024. Holm over the four hidden-64 headline effects (the
    # hidden-16 ones at 201 samples sit at a floor; its 601-sample window effect is 0, p = 1):
    # 2/1024 ranks first of 5 -> 5 x 2/1024.
    assert data.amp.p_value == pytest.approx(2 / 1024)
    assert data.holm_p == pytest.approx(10 / 1024) and data.significant
    floor = effects[(16, "window 25 -> 50 on 201 samples")]
    assert floor.floor.startswith("w25 L201: 10 of 10 seeds flat, 10 never fitted")
    assert math.isnan(floor.holm_p) and floor.family == HEADLINE


def test_the_controls_separate_samples_periods_and_steps():
    effects = effects_by_name(science_frame(data_gain=0.4))
    names = {name for hidden, name in effects if hidden == 64}
    assert "more samples, same periods (201 at period 100 -> 601 at period 300), window 25" in names
    assert "more periods, same samples (601 at period 300 -> 100), window 50" in names
    assert "equal optimizer steps (201 -> 601 at batch 600), window 25" in names
    assert "second step per epoch (601: batch 600 -> 300), window 50" in names
    periods = effects[(64, "more periods, same samples (601 at period 300 -> 100), window 25")]
    assert periods.amp.value == pytest.approx(0.445) and math.isnan(periods.holm_p)  # exploratory


def test_a_run_without_controls_has_none_planned_and_the_cap_is_counted():
    frame = science_frame(data_gain=0.4, seeds=5, controls=False)
    judged = with_judgement(frame)
    design = design_of(judged)
    assert design.period_control is None and design.steps_batch is None
    summary = arm_summary(judged, design)
    long = summary[(summary["hidden"] == 64) & (summary["arm"] == "w25 L601")].iloc[0]
    assert (long["seeds"], long["capped"], long["still_improving"]) == (5, 5, 0)
    assert list(summary[summary["hidden"] == 16]["floor"]) == [True, True, False, False]
