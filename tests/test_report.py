"""The report, from fixture CSVs made for the purpose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers import grid_rows, row, write

from sinelstm.cli import main
from sinelstm.report.markdown import MAX_CHARS, build_report, report_paths
from sinelstm.report.tables import summarise
from sinelstm.sweep.gridtime import GridRecord, write_record
from sinelstm.sweep.rows import SCHEMA_VERSION
from sinelstm.verdict.rules import load_gate_config

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
GATE = load_gate_config(PYPROJECT)


def judged_report(results, out, baseline=None, gate_rules=None):
    """The report, judged against baseline as the CLI does (the gate run once); (markdown, verdict)."""
    from sinelstm.verdict.judge import compare

    gate = compare(results, baseline, gate_rules, tier="statistical") if baseline is not None else None
    return build_report(results, out, gate, baseline), gate


# Window 25 decays by 0.7 a period, window 50 holds its amplitude.
DECAY = {(25, s): 0.7 for s in range(3)} | {(50, s): 1.0 for s in range(3)}


def fixture_rows(changes=None):
    # forecast_rmse at window 25: 0.1, 0.3, 0.2 -> median 0.2, half-range 0.1.
    base = {(25, s): {"amp_ratio": 0.8, "amp_last": 0.8} for s in range(3)}
    base[25, 0] |= {"forecast_rmse": 0.1}
    base[25, 1] |= {"forecast_rmse": 0.3}
    # Window 50 keeps the wave: amplitude, phase and a forecast RMSE under 0.1.
    base |= {(50, s): {"amp_ratio": 1.0, "amp_last": 1.0, "decay_per_period": 1.0, "forecast_rmse": 0.05}
             for s in range(3)}  # fmt: skip
    for key, values in (changes or {}).items():
        base[key] = {**base.get(key, {}), **values}
    return grid_rows(base)


def test_summary_by_hand():
    # median 0.2, half-range (0.3 - 0.1) / 2 = 0.1, wide (0.1 > 0.05) -> min-max shown.
    assert summarise(np.array([0.1, 0.3, 0.2]), 3) == "0.200 ± 0.100 [0.100–0.300]"
    # median 1.0, half-range 0.01: narrow, no min-max.
    assert summarise(np.array([0.99, 1.01, 1.0]), 2) == "1.00 ± 0.01"
    assert summarise(np.array([np.nan, 1.0]), 1) == "1.0 ± 0.0 (1 n/a)"
    assert summarise(np.array([np.nan]), 1) == "–"


def test_report_tables_verdict_and_findings(tmp_path):
    results = write(tmp_path, "latest.csv", fixture_rows(), DECAY)
    baseline = write(tmp_path, "baseline.csv", fixture_rows())
    markdown, gate = judged_report(results, tmp_path / "REPORT.md", baseline, GATE)
    assert gate.passed
    assert markdown.startswith("# sinelstm benchmark report\n\nThese numbers come from 6 cells")
    assert "TensorFlow 2.21 and Keras 3 (tensorflow backend), at commit abcdef1234" in markdown
    assert "**PASSED**" in markdown
    # The declared report columns, in the row's order: epochs, fit RMSE, forecast RMSE, ...
    row = "| window25-length201-hidden8 | 3       | 50 ± 0   | 0.020 ± 0.000 | 0.200 ± 0.100 [0.100–0.300]"
    assert row in markdown
    rule = "amp_last within [1/1.1, 1.1] of the truth, |phase_drift| <= 1%"
    assert f"1 of 2 configs keep the wave ({rule}" in markdown
    assert ": window50-length201-hidden8." in markdown
    assert "No forecast diverged." in markdown
    assert (tmp_path / "REPORT.md").read_text() == markdown


def test_findings_follow_the_data(tmp_path):
    first, _ = judged_report(write(tmp_path, "a.csv", fixture_rows(), DECAY), tmp_path / "a.md")
    # Window 25 held too, amplitude and accuracy: both keep the wave.
    held = {(25, s): {"amp_ratio": 1.02, "amp_last": 1.02, "forecast_rmse": 0.05} for s in range(3)}
    second, _ = judged_report(write(tmp_path, "b.csv", fixture_rows(held), DECAY), tmp_path / "b.md")
    assert "1 of 2 configs keep" in first and "2 of 2 configs keep" in second


def test_a_regression_gives_a_failed_verdict_naming_the_cell(tmp_path):
    baseline = write(tmp_path, "baseline.csv", fixture_rows())
    worse = {(50, s): {"forecast_rmse": 2.0} for s in range(3)} | {(25, 2): {"diverged": True}}
    results = write(tmp_path, "latest.csv", fixture_rows(worse), DECAY)
    markdown, gate = judged_report(results, tmp_path / "REPORT.md", baseline, GATE)
    assert not gate.passed
    assert "**FAILED**" in markdown
    assert "- window50-length201-hidden8: forecast_rmse regressed" in markdown
    assert "- window25-length201-hidden8-seed2: diverged (its baseline did not)" in markdown
    assert "worse ❌" in markdown
    assert "1 of 6 forecasts diverged." in markdown


def test_figures_are_real_images(tmp_path):
    import matplotlib.image

    results = write(tmp_path, "latest.csv", fixture_rows(), DECAY)
    judged_report(results, tmp_path / "REPORT.md")
    figures = report_paths(tmp_path / "REPORT.md").figures
    for name in ("forecasts.png", "amplitude.png", "fit_time.png"):
        path = figures / name
        assert path.stat().st_size > 5_000, name  # a blank palette PNG is about 1 KB
        pixels = matplotlib.image.imread(path)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 600
        assert pixels[..., :3].std() > 0.05, name  # not a blank canvas


def test_same_csv_same_report_byte_for_byte(tmp_path):
    results = write(tmp_path, "latest.csv", fixture_rows(), DECAY)
    outputs = []
    for name in ("one", "two"):
        judged_report(results, tmp_path / name / "REPORT.md")
        folder = tmp_path / name
        outputs.append({p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()})
    assert outputs[0] == outputs[1]


def test_a_large_grid_stays_under_the_comment_limit(tmp_path):
    rows = [
        row(window=w, hidden=h, seed=s) for w in range(10, 60) for h in (8, 16, 32, 64) for s in (0, 1, 2)
    ]
    results = write(tmp_path, "big.csv", rows)
    markdown, _ = judged_report(results, tmp_path / "REPORT.md", results, GATE)
    assert len(markdown) < MAX_CHARS
    assert "more configs are in the CSV" in markdown


def test_malformed_csv_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"schema_version,window\n{SCHEMA_VERSION},25\n")
    assert main(["report", str(bad), "-o", str(tmp_path / "R.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing columns" in err[0]
    old = tmp_path / "old.csv"
    write(tmp_path, "ok.csv", fixture_rows())
    old.write_text((tmp_path / "ok.csv").read_text().replace(f"\n{SCHEMA_VERSION},", "\n7,"))
    assert main(["report", str(old), "-o", str(tmp_path / "R.md")]) == 2
    assert "schema version 7" in capsys.readouterr().err
    assert not (tmp_path / "R.md").exists()


def test_missing_csv(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.csv")]) == 2
    assert "no such results file" in capsys.readouterr().err


def floor_rows():
    # window 25, hidden 8: 7,584,000 FLOPs an epoch; 50 epochs at 3.792 GFLOP/s = 0.1 s,
    # 100 epochs at 7.584 GFLOP/s = 0.1 s, and a classical fit (0 FLOPs): 0.2 s on one core.
    return [
        row(seed=0, epochs_run=50, floor_gflops=3.792),
        row(seed=1, epochs_run=100, floor_gflops=7.584),
        row(seed=2, model="ar", epochs_run=1, floor_gflops=float("nan")),
    ]


def test_the_report_sets_the_wall_time_against_the_grid_floor(tmp_path):
    results = write(tmp_path, "latest.csv", floor_rows())
    # On 2 cores the floor is 0.1 s; a wall of 0.7 s is 7.0x it.
    record = GridRecord(
        wall_s=0.7, workers=2, cells=3, commit="abcdef1234567", utc="2026-11-28T22:00:00+00:00"
    )
    write_record(results, record)
    markdown = build_report(results, tmp_path / "REPORT.md")
    floor = "Grid floor 0.1 s (0.00114 TFLOP on 2 cores at each cell's best product rate)"
    assert f"{floor}, wall 0.7 s: 7.0x its floor" in markdown
    assert "`3 x windows x window x 2 x (hidden+2) x 4 x hidden`" in markdown
    assert "1 cells without FLOPs (classical) count 0 in the floor; their time is in the wall" in markdown


def test_without_the_grid_record_the_wall_time_is_unknown(tmp_path):
    results = write(tmp_path, "latest.csv", floor_rows())
    markdown = build_report(results, tmp_path / "REPORT.md")
    assert (
        "Grid floor 0.2 s (0.00114 TFLOP on 1 core at each cell's best product rate), wall time unknown"
        in markdown
    )
    assert "The wall time is unknown: no grid record (`latest.grid.json`) beside the CSV" in markdown
    # A record of another run (another commit) is not taken for this one's.
    write_record(results, GridRecord(wall_s=9.0, workers=2, cells=3, commit="0123456", utc=""))
    assert "is not of this CSV's run" in build_report(results, tmp_path / "REPORT.md")


def test_the_run_reports_figures_stay_under_the_size_limit(tmp_path, committed_results):
    """The committed default-grid run (36 cells, 12 configs of 3 seeds, 400-step forecasts)
    and a heavier one (12 configs of 10 seeds whose forecasts wander over the whole range)
    give every figure under 250 KB, still the full size and in colour."""
    import shutil

    import matplotlib.image
    import pandas as pd

    from sinelstm.report.run_figures import MAX_PNG_BYTES
    from sinelstm.sweep.store import series_path

    root = committed_results  # the committed run: a user's own main job rewrites results/latest.csv
    committed = tmp_path / "committed" / "latest.csv"
    committed.parent.mkdir()
    shutil.copy(root / "latest.csv", committed)
    shutil.copy(root / "latest.series.csv", series_path(committed))
    seeds = range(10)
    decay = {(w, s): 0.6 + 0.1 * s for w in (25, 50) for s in seeds}
    hiddens = (16, 32, 64, 128, 256, 300)
    rows = [row(window=w, hidden=h, seed=s) for w in (25, 50) for h in hiddens for s in seeds]
    (tmp_path / "heavy").mkdir()
    heavy = write(tmp_path / "heavy", "latest.csv", rows, decay)
    series = pd.read_csv(series_path(heavy))
    # Each cell's forecast drifts off at its own period, as the science grid's chaotic seeds do.
    for number, key in enumerate(series["cell_key"].unique()):
        at = (series["cell_key"] == key) & (series["kind"] == "forecast")
        drift = 0.6 * np.sin(2 * np.pi * np.arange(at.sum()) / (60 + 9 * (number % 10)))
        series.loc[at, "value"] += drift
    series.to_csv(series_path(heavy), index=False)
    for results in (committed, heavy):
        build_report(results, results.parent / "REPORT.md")
        drawn = sorted(report_paths(results.parent / "REPORT.md").figures.glob("*.png"))
        assert {"forecasts.png", "amplitude.png"} <= {path.name for path in drawn}
        for path in drawn:
            assert path.stat().st_size < MAX_PNG_BYTES, (path, path.stat().st_size)
            pixels = matplotlib.image.imread(path)
            assert pixels.shape[1] >= 700 and pixels[..., :3].std() > 0.05, path


def test_every_committed_png_is_under_the_size_limit():
    """Every PNG git tracks under results/ (a local run's ignored figures aside)."""
    import subprocess

    from sinelstm.report.run_figures import MAX_PNG_BYTES

    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run(
        ["git", "ls-files", "-z", "results/"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    pngs = [name for name in listed.split("\0") if name.endswith(".png") and (root / name).is_file()]
    assert pngs
    big = {name: (root / name).stat().st_size for name in pngs}
    assert not {name: size for name, size in big.items() if size >= MAX_PNG_BYTES}
