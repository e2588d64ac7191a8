import math

import numpy as np
import pytest

from sinelstm.experiment.data import clean_sine
from sinelstm.experiment.metrics import (
    decay_per_period,
    fit_metrics,
    forecast_metrics,
    period_amplitudes,
    rising_zero_crossings,
    rmse,
)

TOL = 1e-9


def sine(horizon=400, period=100.0, start=0):
    return clean_sine(np.arange(start, start + horizon), period)


def test_rmse_by_hand():
    # errors 1, -1, 1, -1 -> mean square 1 -> rmse 1; errors 3, 4 -> sqrt(12.5).
    assert rmse(np.array([1, 0, 1, 0]), np.array([0, 1, 0, 1])) == 1.0
    assert rmse(np.array([3.0, 4.0]), np.zeros(2)) == pytest.approx(math.sqrt(12.5), abs=TOL)
    assert math.isnan(rmse(np.array([]), np.array([])))
    assert math.isnan(rmse(np.array([np.inf]), np.array([0.0])))


def test_pure_sine_has_no_decay_and_its_own_period():
    metrics = forecast_metrics(sine(), sine(), 100.0)
    assert metrics["forecast_rmse"] == 0.0 and metrics["forecast_rmse_p1"] == 0.0
    assert metrics["amp_first"] == pytest.approx(1.0, abs=TOL)
    assert metrics["amp_ratio"] == pytest.approx(1.0, abs=TOL)
    assert metrics["decay_per_period"] == pytest.approx(1.0, abs=TOL)
    assert metrics["period_est"] == pytest.approx(100.0, abs=1e-6)
    assert metrics["phase_drift"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["forecast_mean"] == pytest.approx(0.0, abs=TOL)
    assert metrics["diverged"] is False


def test_geometrically_damped_sine_gives_its_factor():
    # f(x) = 0.8**(x/100) sin(2 pi x/100): period k is 0.8**k times period 0,
    # so a_k = 0.8**k exactly, decay 0.8 and amp_ratio 0.8**3 over 4 periods.
    x = np.arange(400)
    damped = 0.8 ** (x / 100) * clean_sine(x, 100.0)
    metrics = forecast_metrics(damped, clean_sine(x, 100.0), 100.0)
    assert metrics["decay_per_period"] == pytest.approx(0.8, abs=TOL)
    assert metrics["amp_ratio"] == pytest.approx(0.8**3, abs=TOL)
    np.testing.assert_allclose(
        period_amplitudes(damped, 100.0) / period_amplitudes(damped, 100.0)[0],
        [1, 0.8, 0.64, 0.512],
        atol=TOL,
    )


def test_growing_amplitudes_give_decay_above_one():
    assert decay_per_period(np.array([1.0, 2.0, 4.0])) == pytest.approx(2.0, abs=TOL)


def test_shorter_period_shows_as_negative_drift():
    # A period-95 forecast judged against period 100 runs ahead 5 steps a period.
    metrics = forecast_metrics(sine(period=95.0), sine(), 100.0)
    assert metrics["period_est"] == pytest.approx(95.0, abs=1e-3)
    assert metrics["phase_drift"] == pytest.approx(-5.0, abs=1e-3)


def test_offset_forecast_reports_its_mean_and_keeps_its_period():
    metrics = forecast_metrics(sine() - 0.3, sine(), 100.0)
    assert metrics["forecast_mean"] == pytest.approx(-0.3, abs=TOL)
    assert metrics["period_est"] == pytest.approx(100.0, abs=1e-6)


def test_rising_zero_crossings_interpolate():
    # -1 -> 1 crosses at 0.5; -3 -> 1 at 0.75 of the step from index 2.
    np.testing.assert_allclose(rising_zero_crossings(np.array([-1.0, 1.0, -3.0, 1.0])), [0.5, 2.75])


def test_divergence_and_nan_metrics_do_not_crash():
    exploding = sine()
    exploding[-1] = 3.5  # beyond 3x the true amplitude
    assert forecast_metrics(exploding, sine(), 100.0)["diverged"] is True
    broken = sine()
    broken[10] = np.nan
    metrics = forecast_metrics(broken, sine(), 100.0)
    assert metrics["diverged"] is True
    assert math.isnan(metrics["forecast_rmse"]) and math.isnan(metrics["amp_ratio"])


def test_short_horizon_leaves_period_metrics_empty():
    metrics = forecast_metrics(sine(horizon=50), sine(horizon=50), 100.0)
    assert math.isnan(metrics["amp_first"]) and math.isnan(metrics["amp_ratio"])
    assert math.isnan(metrics["decay_per_period"]) and math.isnan(metrics["period_est"])
    assert metrics["forecast_rmse"] == 0.0


def test_a_flat_forecast_is_flagged_and_its_amplitudes_are_the_resolution():
    metrics = forecast_metrics(np.zeros(400), sine(), 100.0)
    assert metrics["flat"] is True and metrics["amp_first"] == 0.0 and metrics["amp_last"] == 0.0
    assert math.isnan(metrics["amp_ratio"])  # nothing to divide by
    assert metrics["decay_per_period"] == pytest.approx(1.0)  # flat at the resolution throughout
    assert math.isnan(metrics["period_est"]) and math.isnan(metrics["phase_drift"])
    assert metrics["forecast_rmse"] == pytest.approx(math.sqrt(0.5), abs=1e-9)


def test_a_collapsed_forecast_measures_the_same_whatever_its_rounding():
    """Two hosts' copies of one forecast that decays to a constant: one ends in float32
    rounding noise (3.7e-9, as a host with oneDNN did), the other exactly constant. Every
    metric agrees: no amplitude, ratio, log-slope or zero crossing is taken of rounding,
    though the constant sits at the wave's own centre, where the rounding crosses it."""
    x = np.arange(400)
    wave = 0.3 * np.exp(-x / 60.0) * np.sin(2 * np.pi * x / 100) + 0.1
    exact = np.where(x < 300, wave, float(np.mean(wave[:300])))
    rounded = exact + np.where(x >= 300, 3.7e-9 * np.sin(2 * np.pi * x / 7), 0.0)
    assert len(rising_zero_crossings(rounded[300:] - np.mean(wave[:300]))) > 10  # what rounding would add
    a, b = forecast_metrics(exact, sine(), 100.0), forecast_metrics(rounded, sine(), 100.0)
    assert a["flat"] is True and b["flat"] is True
    for name, value in a.items():
        other = b[name]
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(other), name
        else:
            assert other == pytest.approx(value, rel=1e-6, abs=1e-9), name
    assert a["amp_ratio"] == 0.0 and 0 < a["decay_per_period"] < 1
    # The first three periods are a wave: their crossings are kept, about their own centre.
    assert a["period_est"] == pytest.approx(100.0, abs=5.0)


def test_a_wave_that_collapses_far_from_its_centre_keeps_its_crossings():
    """The crossings of the waving periods are taken about their own centre, not one pulled
    towards the flat tail's level (a wave of amplitude 0.5 about 0 collapsing to 2.5: the
    mean of all four periods, 0.625, is above every crest)."""
    x = np.arange(400)
    forecast = np.where(x < 300, 0.5 * np.sin(2 * np.pi * x / 100), 2.5)
    metrics = forecast_metrics(forecast, sine(), 100.0)
    assert metrics["flat"] is True and metrics["period_est"] == pytest.approx(100.0, abs=1e-6)


def test_a_forecast_flat_in_its_first_period_has_no_ratio_and_no_period():
    x = np.arange(400)
    forecast = np.where(x < 100, 0.2, np.sin(2 * np.pi * x / 100))
    metrics = forecast_metrics(forecast, sine(), 100.0)
    assert metrics["amp_first"] == 0.0 and metrics["flat"] is False
    assert math.isnan(metrics["amp_ratio"]) and math.isnan(metrics["period_est"])


def test_the_resolution_sits_between_rounding_and_the_noise():
    """FLAT_AMPLITUDE: far under the data's noise SD, far over float32 rounding of unit values."""
    from sinelstm.experiment.metrics import FLAT_AMPLITUDE

    noise_sd = 0.05 / math.sqrt(3)
    assert FLAT_AMPLITUDE * 10 < noise_sd and FLAT_AMPLITUDE > 1000 * np.finfo(np.float32).eps
    waving = forecast_metrics(2 * FLAT_AMPLITUDE * np.sin(2 * np.pi * np.arange(400) / 100), sine(), 100.0)
    assert waving["flat"] is False and waving["amp_ratio"] == pytest.approx(1.0)


def test_fit_metrics_against_clean_and_noisy():
    assert fit_metrics(np.zeros(2), np.array([1.0, -1.0]), np.array([2.0, 0.0])) == {
        "fit_rmse_clean": 1.0,
        "fit_rmse_noisy": pytest.approx(math.sqrt(2.0)),
    }
