"""The science section: bootstrap intervals and paired effects, on fixture CSVs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers import row, write

from sinelstm.report.effects import bootstrap_median, effect, paired_differences
from sinelstm.report.frames import with_keys
from sinelstm.report.markdown import build_report
from sinelstm.report.science import findings, is_science, science_section
from sinelstm.sweep.store import read_results


def test_bootstrap_of_constant_values_is_that_value():
    estimate = bootstrap_median([0.5] * 5)
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (0.5, 0.5, 0.5, 5)
    assert estimate.text() == "0.50 [0.50, 0.50]"


def test_a_tiny_negative_prints_as_zero():
    assert bootstrap_median([-0.001, -0.002, -0.001]).text(signed=True) == "+0.00 [+0.00, +0.00]"


def test_bootstrap_interval_brackets_the_median_and_skips_nan():
    estimate = bootstrap_median([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    # median of 1..5 is 3; every resample's median lies within [1, 5].
    assert estimate.value == 3.0 and estimate.n == 5
    assert 1.0 <= estimate.low <= 3.0 <= estimate.high <= 5.0
    assert bootstrap_median([np.nan]).text() == "n/a"
    assert bootstrap_median([1.0, 2.0, 9.0]).text() == bootstrap_median([1.0, 2.0, 9.0]).text()  # seeded


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows).assign(hidden=lambda f: f["hidden"].replace("", 0).astype(int))


def test_paired_differences_match_cells_on_every_other_axis():
    # Window 25 -> 50 on the same seed: amp_ratio 0.4 -> 0.9 (seed 0) and 0.6 -> 0.8 (seed 1).
    rows = [
        row(window=25, seed=0, amp_ratio=0.4),
        row(window=25, seed=1, amp_ratio=0.6),
        row(window=50, seed=0, amp_ratio=0.9),
        row(window=50, seed=1, amp_ratio=0.8),
        row(window=50, seed=2, amp_ratio=5.0),  # no window-25 partner: left out
    ]
    differences = paired_differences(frame(rows), "window", 25, 50, "amp_ratio")
    np.testing.assert_allclose(sorted(differences), [0.2, 0.5])


def science_rows(remedy_gain: float):
    """LSTM and ar cells, 5 seeds: the data length keeps the amplitude, the window does not;
    the remedy moves the LSTM's amp_ratio by remedy_gain."""
    rows = []
    for seed in range(5):
        jitter = 0.01 * seed
        for window in (25, 50):
            for length in (201, 601):
                amp = (0.4 if length == 201 else 0.98) + jitter
                rows.append(
                    row(window=window, length=length, seed=seed, amp_ratio=amp, forecast_rmse=0.5 - amp / 2)
                )
                rows.append(
                    row(window=window, length=length, seed=seed, train_rollout=4,
                        amp_ratio=amp + remedy_gain, forecast_rmse=0.5 - (amp + remedy_gain) / 2)
                )  # fmt: skip
                rows.append(
                    row(
                        window=window, length=length, seed=seed, model="ar", amp_ratio=1.0, forecast_rmse=0.01
                    )
                )
    return rows


def line_of(text: str, start: str) -> str:
    """The one markdown line holding `start`."""
    (line,) = [line for line in text.splitlines() if start in line]
    return line


def test_the_section_says_which_factor_keeps_the_amplitude(tmp_path):
    ok = with_keys(read_results(write(tmp_path, "s.csv", science_rows(remedy_gain=0.3))))
    assert is_science(ok)
    text = "\n".join(science_section(ok))
    # At each hidden size on its own: window effect 0 on both lengths, data effect +0.58
    # (0.98 - 0.40, every seed) at both windows; 5 seeds is too few for a 95% interval (*).
    assert "| +0.00 [+0.00, +0.00] n=5* |" in line_of(text, "| window 25 -> 50 on 201 samples ")
    assert "| +0.58 [+0.58, +0.58] n=5* |" in line_of(text, "| 201 -> 601 samples at window 25 ")
    assert "Remedy (4-step rollout training) on lstm" in text
    # Window by window (the two windows share each seed's data: never pooled).
    assert "w25 L201: amp_ratio +0.30 [+0.30, +0.30] n=5*" in text
    assert "w50 L201: amp_ratio +0.30 [+0.30, +0.30] n=5*" in text
    assert "| ar " in text and "lstm h8" in text
    assert "Period control absent" in text and "Steps control absent" in text


def test_a_longer_window_that_loses_or_overshoots_the_amplitude_is_never_said_to_keep_it(tmp_path):
    """The committed default report once said "the window, more than the data length, is
    what keeps the amplitude" where the longer window took amp_ratio from 0.97 to 0.38:
    the size of an effect was compared without its sign. An overshoot (1.7) is no more
    kept than a decay."""
    levels = {(25, 201): 0.97, (50, 201): 0.38, (25, 601): 1.0, (50, 601): 0.99}
    for overshoot in (False, True):
        if overshoot:
            levels[(50, 201)] = 1.7
        rows = [
            row(window=w, length=n, seed=seed, amp_ratio=amp + 0.001 * seed)
            for (w, n), amp in levels.items()
            for seed in range(5)
        ]
        ok = with_keys(read_results(write(tmp_path, "w.csv", rows)))
        text = "\n".join(findings(ok, ok))  # the default report's verdict (one model, one training)
        assert "Only the longer window" not in text and "Both changes" not in text
        assert "with the longer window +0.59" in text or "with the longer window +0.67" in text


def test_the_section_follows_the_data(tmp_path):
    ok = with_keys(read_results(write(tmp_path, "s.csv", science_rows(remedy_gain=0.0))))
    text = "\n".join(science_section(ok))
    assert "w25 L601: amp_ratio +0.00 [+0.00, +0.00] n=5*" in text
    assert "(interval holds 0)" in text
    assert effect(ok, "train_rollout", 1, 4, "amp_ratio").value == 0.0


def test_report_has_the_science_section_only_for_a_science_run(tmp_path):
    science = build_report(write(tmp_path, "s.csv", science_rows(0.3)), tmp_path / "s.md")
    plain = build_report(write(tmp_path, "p.csv", [row(seed=s) for s in range(3)]), tmp_path / "p.md")
    assert "## Why the amplitude decays" in science
    assert "## Why the amplitude decays" not in plain
