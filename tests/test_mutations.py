"""The mutation suite's own checks: its catalog matches the code, and CI's fast subset is
caught (and its benign rerun is not) by the quick gate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mutations.catalog import BENIGN, FAST, MUTANTS, PATHS, TIMING, TIMING_BENIGN

ROOT = Path(__file__).resolve().parent.parent


def test_every_planted_line_is_in_the_code_once():
    for mutant in MUTANTS + PATHS + TIMING:
        text = (ROOT / "sinelstm" / mutant.path).read_text()
        assert text.count(mutant.old) == 1, mutant.name
        assert mutant.new != mutant.old


def test_the_suite_covers_every_part_of_the_experiment():
    kinds = {mutant.kind for mutant in MUTANTS}
    assert len(MUTANTS) >= 12 and len(BENIGN) >= 3
    assert kinds >= {"data", "windows", "model", "training", "early stopping", "forecast", "metrics",
                     "engine speed", "training speed"}  # fmt: skip
    assert set(FAST) <= {v.name for v in MUTANTS + BENIGN}


def test_the_speed_and_paths_suites_cover_what_ci_claims():
    # Slowdowns of the epoch and of the compiled forecast at 10, 20 and 40%: 10 runs of each
    # 20% one, 5 of each 40% one; at least 15 benign runs over five conditions; none in CI's
    # fast subset (timing runs must never share the machine).
    runs = {v.name: v.runs for v in TIMING}
    assert runs["epoch-slower-20"] >= 10 and runs["forecast-slower-20"] >= 10
    assert runs["epoch-slower-40"] >= 5 and runs["forecast-slower-40"] >= 5
    assert {"epoch-slower-10", "forecast-slower-10"} <= set(runs)
    assert sum(v.runs for v in TIMING_BENIGN) >= 15 and len(TIMING_BENIGN) >= 5
    assert not set(FAST) & {v.name for v in TIMING + TIMING_BENIGN}
    # Every path of the paths grid has a regression planted on it.
    paths = {v.kind for v in PATHS}
    assert {"path: ar", "path: seasonal-naive", "path: cnn1d", "path: gru", "path: block kernel"} <= paths
    assert {"path: batched trainer", "path: remedy", "path: period 300", "path: batch 600"} <= paths


@pytest.mark.slow
def test_ci_catches_the_fast_subset_without_a_false_alarm(tmp_path):
    out = tmp_path / "mutations.md"
    done = subprocess.run(
        [sys.executable, "-m", "mutations", "--fast", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    text = out.read_text()
    assert "caught **2 of 2** planted regressions with **0 false alarms in 1**" in text


def test_clopper_pearson_at_the_ends_worked_by_hand():
    from mutations.__main__ import clopper_pearson

    # All runs caught: the lower bound solves p^n = 0.025; none: (1 - p)^n = 0.025.
    low, high = clopper_pearson(10, 10)
    assert abs(low - 0.025 ** (1 / 10)) < 1e-9 and high == 1.0
    low, high = clopper_pearson(0, 15)
    assert low == 0.0 and abs(high - (1 - 0.025 ** (1 / 15))) < 1e-9
    # 3 of 5, both tails: P(X >= 3 | p_low) = P(X <= 3 | p_high) = 0.025.
    low, high = clopper_pearson(3, 5)
    assert 0.146 < low < 0.148 and 0.946 < high < 0.948
