"""Numbers the READMEs quote from committed CSVs, recomputed from those CSVs: a number typed
by hand, or left over from an earlier run, fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def _read(name: str) -> pd.DataFrame:
    path = RESULTS / name
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    return pd.read_csv(path)


def _spread(values: pd.Series, digits: int = 3) -> str:
    """'min / median / max' as the results README writes it."""
    return " / ".join(f"{value:.{digits}f}" for value in (values.min(), values.median(), values.max()))


def test_the_seed_spread_table_is_the_committed_baselines():
    baseline = _read("baseline.csv")
    text = (RESULTS / "README.md").read_text()
    rows = re.findall(
        r"^\| window (\d+), (\d+) samples, hidden (\d+) \| ([\d. /]+) \| ([\d. /]+) \|$", text, re.MULTILINE
    )
    assert len(rows) == 4, "the table of the seed spread is gone from results/README.md"
    for window, length, hidden, rmse, amp in rows:
        cells = baseline[
            (baseline["window"] == int(window))
            & (baseline["length"] == int(length))
            & (baseline["hidden"] == int(hidden))
        ]
        assert len(cells) == 3
        assert rmse.strip() == _spread(cells["forecast_rmse"]), (window, length, hidden)
        assert amp.strip() == _spread(cells["amp_ratio"]), (window, length, hidden)
    fitted = baseline["fit_rmse_clean"][baseline["fit_rmse_clean"] < 0.1]
    assert f"({fitted.min():.3f}-{fitted.max():.3f})" in text


def test_the_readmes_seed_range_of_the_2017_setup_is_the_committed_baselines():
    # The baseline, not latest.csv: a user's own bench run rewrites latest.csv.
    baseline = _read("baseline.csv")
    article = baseline[
        (baseline["model"] == "lstm")
        & (baseline["train_rollout"] == 1)
        & (baseline["window"] == 25)
        & (baseline["length"] == 201)
        & (baseline["hidden"] == 300)
    ]
    text = (ROOT / "README.md").read_text()
    low, high = article["amp_ratio"].min(), article["amp_ratio"].max()
    assert f"ranges from {low:.2f} to {high:.2f}" in text


def test_the_readme_quotes_the_speed_ab_power_the_mutation_suite_measured():
    """The README's sentence on what CI's A/B detects is the committed runs' own counts."""
    import csv

    from mutations.__main__ import power_sentence

    readme = (ROOT / "README.md").read_text().replace("\n", " ")
    if not (RESULTS / "mutations-ab.csv").exists():  # not measured yet: the README claims nothing
        assert "On unchanged code it was red" not in readme
        return
    with open(RESULTS / "mutations-ab.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert power_sentence(rows) in readme


def test_the_readme_quotes_the_quality_gates_false_alarms_the_benign_runs_measured():
    """The README's rate of red quality gates on unchanged code is the committed benign runs'."""
    from mutations.__main__ import clopper_pearson
    from mutations.benign import largest_sentence, rate_sentence, read_rows

    readme = " ".join((ROOT / "README.md").read_text().split())
    rows = read_rows(RESULTS / "mutations-benign.csv")
    if not rows:
        pytest.skip("no benign runs committed")
    assert " ".join(rate_sentence(rows, clopper_pearson).split()) in readme
    results = " ".join((RESULTS / "README.md").read_text().split())
    assert f"{rate_sentence(rows, clopper_pearson)}; {largest_sentence(rows)}" in results
    assert {row["gate"] for row in rows} == {"quick", "quick-jax", "paths", "paths-jax"}
    assert all(int(n) >= 18 for n in pd.Series([row["gate"] for row in rows]).value_counts())


def test_the_flat_counts_quoted_are_the_committed_baselines():
    """results/README.md: how many cells of each baseline end flat, and which."""
    text = " ".join((RESULTS / "README.md").read_text().split())
    quoted = re.search(r"the flat rule flags: (.*?)\.", text)
    assert quoted, "results/README.md no longer quotes the flat counts"
    counts = []
    for label in ("quick", "quick-jax", "paths", "paths-jax", "default"):
        frame = _read("baseline.csv" if label == "default" else f"baseline-{label}.csv")
        flat = frame["flat"].astype(str).str.lower().eq("true")
        counts.append(f"{label} {int(flat.sum())} of {len(frame)}")
    assert quoted[1].startswith(", ".join(counts))


def test_every_network_of_the_paths_baselines_keeps_a_wave_the_gate_can_judge():
    """The paths grid is sized so that only the naive model (a constant by design) ends flat."""
    for name in ("baseline-paths.csv", "baseline-paths-jax.csv"):
        frame = _read(name)
        flat = frame[frame["flat"].astype(str).str.lower().eq("true")]
        assert list(flat["model"]) == ["naive"], (name, list(flat["cell"]))
