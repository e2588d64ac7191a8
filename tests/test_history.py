"""The history: runs kept per commit (whole or not at all, old schemas refused by name),
change points found where a series shifts and not in noise, the trend page written, and
`history find` bisecting to a commit planted in a throwaway repository."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import row

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.history.detect import change_points, detect, series
from sinelstm.history.find import bisect, has_moved, max_runs
from sinelstm.history.history_csv import (
    HISTORY_COLUMNS,
    HISTORY_METRICS,
    HistoryError,
    append_run,
    append_skip,
    grid_label,
    read_history,
)
from sinelstm.sweep.grid import make_grid
from sinelstm.sweep.rows import SCHEMA_VERSION
from sinelstm.sweep.store import ResultsError, append_rows
from sinelstm.verdict.rules import MetricRule, load_gate_config

ROOT = Path(__file__).resolve().parent.parent
GATE = load_gate_config(ROOT / "pyproject.toml")
# A value with every digit a float64 carries, as a real metric has: the size test's worst case.
FULL = 0.12345678901234567


def quick_rows(shift: float = 0.0, **metrics) -> list[dict]:
    """The quick grid's 8 cells (2 windows x 2 lengths x 2 seeds, hidden 64), every history
    metric filled to full precision; forecast_rmse shifted by `shift`."""
    values = {name: FULL for name in HISTORY_METRICS if name not in ("diverged", "flat")}
    values.update(
        epochs_run=55,
        best_epoch=35,
        data_checksum="e89c32b23735f0c4",
        metrics_checksum="62164ca209404b2d",
        epoch_floor_ratio=2.1612345678901234,
        engine_speedup=123.45678901234567,
    )
    values.update(metrics)
    rows = []
    for window in (25, 50):
        for length in (201, 601):
            for seed in (0, 1):
                cell = dict(values, forecast_rmse=0.2 + 0.01 * seed + shift)
                rows.append(row(window=window, length=length, hidden=64, seed=seed, **cell))
    return rows


def results(tmp_path: Path, rows, name: str = "run.csv") -> Path:
    path = tmp_path / name
    path.unlink(missing_ok=True)
    append_rows(path, rows)
    return path


def test_a_quick_run_costs_the_history_under_10_kb(tmp_path):
    history = tmp_path / "history.csv"
    assert append_run(results(tmp_path, quick_rows()), history, "quick") == 8
    header = len(",".join(HISTORY_COLUMNS)) + 1
    per_run = history.stat().st_size - header
    assert per_run <= 10 * 1024, per_run
    frame = read_history(history)
    assert len(frame) == 8 and set(frame["config"]) == {
        f"window{w}-length{n}-hidden64" for w in (25, 50) for n in (201, 601)
    }
    assert list(frame["seed"][:2]) == [0, 1] and frame["commit"][0] == "abcdef1234567"
    # Ten significant digits: within the reproduction tolerance of every value kept.
    assert frame["fit_rmse_clean"][0] == pytest.approx(FULL, rel=1e-9)
    assert frame["data_checksum"][0] == "e89c32b23735f0c4" and frame["diverged"][0] == 0.0


def test_a_resumed_run_is_kept_once(tmp_path):
    """bench --resume on a finished run appends its results file again: no row twice."""
    history = tmp_path / "history.csv"
    run = results(tmp_path, quick_rows())
    assert append_run(run, history, "quick") == 8
    size = history.stat().st_size
    assert append_run(run, history, "quick") == 0 and history.stat().st_size == size


def test_the_history_keeps_every_metric_the_gate_judges():
    """A new gated metric must enter the history's schema (and bump its version)."""
    gated = {rule.metric for rule in GATE.rules} | set(GATE.reproduction.exact)
    assert gated <= set(HISTORY_METRICS)


def test_an_unknown_history_schema_is_refused_by_name(tmp_path):
    history = tmp_path / "history.csv"
    append_run(results(tmp_path, quick_rows()), history, "quick")
    text = history.read_text().replace("\n2,", "\n9,")
    history.write_text(text)
    with pytest.raises(HistoryError, match="history schema version 9; this sinelstm reads versions 1, 2"):
        read_history(history)
    other = tmp_path / "other.csv"
    other.write_text("history_schema,commit\n2,abc\n")
    with pytest.raises(HistoryError, match="another schema"):
        append_run(results(tmp_path, quick_rows()), other, "quick")
    assert other.read_text() == "history_schema,commit\n2,abc\n"


def test_a_history_of_an_older_schema_reads_and_is_upgraded_in_place_on_its_next_append(tmp_path):
    """Version 1 had no `flat`: its rows read with it empty (not recorded then), and the next
    append rewrites the file as this version's, every old row kept."""
    from sinelstm.history.history_csv import HISTORY_COLUMNS

    history = tmp_path / "history.csv"
    append_run(results(tmp_path, quick_rows()), history, "quick")
    new = read_history(history)
    old_columns = [name for name in HISTORY_COLUMNS if name != "flat"]
    import csv

    records = list(csv.reader(history.read_text().splitlines()))
    kept = [records[0].index(name) for name in old_columns]
    lines = [",".join(["1" if i == 0 and n else r[i] for i in kept]) for n, r in enumerate(records)]
    lines[0] = ",".join(old_columns)
    history.write_text("\n".join(lines) + "\n")
    read = read_history(history)
    assert list(read.columns) == list(HISTORY_COLUMNS) and len(read) == 8 and read["flat"].isna().all()
    assert (read["forecast_rmse"] == new["forecast_rmse"]).all()
    second = results(tmp_path, quick_rows(shift=0.1, flat=False), name="second.csv")
    append_run(second, history, "quick", commit="f" * 40)
    assert history.read_text().splitlines()[0] == ",".join(HISTORY_COLUMNS)
    both = read_history(history)
    assert len(both) == 16 and both["flat"].isna().sum() == 8 and (both["history_schema"] == "2").all()


def test_an_old_results_schema_is_refused_by_name_and_writes_nothing(tmp_path):
    old = results(tmp_path, quick_rows())
    old.write_text(old.read_text().replace(f"\n{SCHEMA_VERSION},", "\n0,"))
    history = tmp_path / "history.csv"
    with pytest.raises(ResultsError, match=f"schema version 0, this sinelstm reads version {SCHEMA_VERSION}"):
        append_run(old, history, "quick")
    assert not history.exists()


def test_a_torn_tail_is_never_read_and_the_next_append_sets_it_aside(tmp_path):
    history = tmp_path / "history.csv"
    append_run(results(tmp_path, quick_rows()), history, "quick")
    with open(history, "a") as handle:
        handle.write("1,deadbeef,False,2026-")  # a kill mid-append
    with pytest.warns(UserWarning, match="cut short"):
        assert len(read_history(history)) == 8
    with pytest.warns(UserWarning, match="set aside"):
        append_skip(history, "f00d", "quick", "sinelstm: error: unrecognized arguments: --window")
    frame = read_history(history)
    assert len(frame) == 9 and frame["status"].iloc[-1] == "skipped"
    assert "deadbeef" in (tmp_path / "history.csv.torn").read_text()


def test_the_grid_label_names_the_cells():
    assert grid_label(make_grid("quick")) == "quick"
    assert grid_label(make_grid("quick", window="25,50", seed="0,1")) == "quick"
    tiny = grid_label(make_grid("quick", window="8", length="60", hidden="4", seed="0"))
    assert tiny.startswith("quick~") and tiny != grid_label(make_grid("quick", window="8", length="60"))


def test_a_shift_is_found_at_its_commit_and_its_size_and_direction_named():
    rule = MetricRule("forecast_rmse", "lower", abs_tol=0.15, rel_tol=0.5)
    rng = np.random.default_rng(0)
    values = 0.3 + rng.normal(0, 0.03, 30)
    values[18:] += 0.6  # worse by four tolerances from commit 18 on
    found = change_points(values, rule)
    assert [index for index, *_ in found] == [18]
    _, before, after, tolerance = found[0]
    assert after - before == pytest.approx(0.6, abs=0.05) and tolerance == pytest.approx(0.15)


@pytest.mark.parametrize("seed", range(5))
def test_no_change_point_in_noise(seed):
    rule = MetricRule("forecast_rmse", "lower", abs_tol=0.15, rel_tol=0.5)
    values = 0.3 + np.random.default_rng(seed).normal(0, 0.1, 40)
    assert change_points(values, rule) == []


def test_a_shift_within_the_tolerance_is_not_a_change():
    """Clean steps the detector sees, but smaller than the gate's tolerance: not listed."""
    rule = MetricRule("amp_ratio", "target", target=1.0, abs_tol=0.25)
    values = np.r_[np.full(10, 0.8), np.full(10, 0.6)]
    assert change_points(values, rule) == []
    assert [index for index, *_ in change_points(np.r_[np.full(10, 0.8), np.full(10, 0.4)], rule)] == [10]


def test_within_one_stack_a_metric_is_judged_by_the_reproduction_tolerance():
    """Seeded runs repeat within a stack: a step of 0.027 in forecast_rmse (the loop
    trainer replacing model.fit, at 2e66e9d) is far inside the statistical tolerance (0.15)
    and far outside the reproduction one (1e-4 + 1e-4 * value); bit-identical commits
    around it are no change at all."""
    from sinelstm.verdict.rules import ReproductionRules

    rule = MetricRule("forecast_rmse", "lower", abs_tol=0.15, rel_tol=0.5)
    values = np.r_[np.full(21, 0.0349), np.full(35, 0.0623)]
    assert change_points(values, rule) == []
    found = change_points(values, rule, ReproductionRules().tolerance)
    assert [index for index, *_ in found] == [21]
    assert change_points(np.full(56, 0.0623), rule, ReproductionRules().tolerance) == []


def _history_over(tmp_path: Path, commits: list[str], worse_from: int) -> Path:
    history = tmp_path / "history.csv"
    for index, sha in enumerate(commits):
        rng = np.random.default_rng(index)
        shift = (0.6 if index >= worse_from else 0.0) + float(rng.normal(0, 0.02))
        append_run(results(tmp_path, quick_rows(shift)), history, "quick", commit=sha, dirty=False)
    return history


def test_detect_names_the_first_commit_after_a_shift(tmp_path):
    commits = [f"{index:040x}" for index in range(12)]
    history = read_history(_history_over(tmp_path, commits, worse_from=7))
    found = detect(history, commits, GATE)
    assert {(c.metric, c.commit, c.direction) for c in found} == {("forecast_rmse", commits[7], "worse")}
    assert len(found) == 4  # one per config
    assert all(c.size == pytest.approx(0.6, abs=0.05) for c in found)
    # Dirty runs and commits off the line are not drawn.
    frame = series(history.assign(dirty=True), commits, GATE)
    assert frame.empty


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    return repo


def _commit(repo: Path, message: str, files: dict[str, str] | None = None) -> str:
    for name, text in (files or {}).items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def test_the_trend_page_names_the_change_and_draws_each_metric(tmp_path):
    from sinelstm.history.report import build_history_report

    repo = _repo(tmp_path)
    commits = [_commit(repo, f"step {index}") for index in range(10)]
    baseline = _commit(repo, "accept a baseline", {"results/baseline-quick.csv": "x\n"})
    commits.append(baseline)
    history = _history_over(tmp_path, commits, worse_from=6)
    append_skip(history, commits[0], "quick", "sinelstm: error: argument command: invalid choice: 'bench'")
    out = tmp_path / "HISTORY.md"
    text, changes = build_history_report(repo, history, out, GATE)
    assert out.read_text() == text
    assert [c.commit for c in changes] == [commits[6]] * 4
    assert f"`{commits[6][:10]}` step 6" in text and "| worse |" in text
    assert "invalid choice: 'bench'" in text
    figures = sorted(path.name for path in (tmp_path / "HISTORY_figures").iterdir())
    assert len(figures) == len(GATE.rules) + 2  # every metric, and the two speed ratios
    assert "KB a run" in text


def test_bisect_finds_every_position_within_log2_n_plus_one_runs():
    for count in range(2, 20):
        for first in [*range(1, count), None]:
            result = bisect(count, lambda index, first=first: first is not None and index >= first)
            assert result.found == first
            assert len(result.probed) + 1 <= max_runs(count) <= math.log2(count) + 1 + 1
            if first is None:
                assert count - 1 in result.probed  # "not moved" has measured the last commit


def test_bisect_passes_over_an_unrunnable_commit_or_says_it_cannot_tell():
    result = bisect(9, lambda index: None if index == 4 else index >= 6)
    assert result.found == 6 and 4 in result.unrunnable
    with pytest.raises(HistoryError, match="could not run"):
        bisect(9, lambda index: None if index == 5 else index >= 5)


def test_moved_is_the_gates_rule():
    reference = [dict(row(seed=seed, forecast_rmse=0.2), status="ok") for seed in (0, 1)]
    same = [dict(r, forecast_rmse=0.2 + 1e-5) for r in reference]
    assert not has_moved(reference, same, "forecast_rmse", "window25-length601-hidden8", GATE).moved
    nudged = [dict(reference[0]), dict(reference[1], forecast_rmse=0.201)]
    verdict = has_moved(reference, nudged, "forecast_rmse", "window25-length601-hidden8", GATE)
    assert verdict.moved and verdict.tier == "reproduction"
    # Another stack: the statistical tolerance (0.15 here) decides.
    other = [dict(r, tensorflow="2.99") for r in nudged]
    verdict = has_moved(reference, other, "forecast_rmse", "window25-length601-hidden8", GATE)
    assert not verdict.moved and verdict.tier == "statistical"
    far = [dict(r, forecast_rmse=0.5) for r in other]
    assert has_moved(reference, far, "forecast_rmse", "window25-length601-hidden8", GATE).moved
    crashed = [reference[0], dict(reference[1], status="failed")]
    assert has_moved(reference, crashed, "forecast_rmse", "window25-length601-hidden8", GATE).moved


def history_main(argv: list[str]) -> int:
    """The history commands as the sinelstm CLI runs them."""
    from sinelstm.cli import main

    return main(argv)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["find", "HEAD", "--metric", "speed", "--config", "x"], "--metric"),
        (["find", "HEAD", "--metric", "forecast_rmse", "--config", "nope"], "not a config of the grid"),
        (["run", "no-such-rev..HEAD"], "git rev-list"),
        (["run", "HEAD", "--grid-from", "commit", "--window", "8"], "axis flags do not apply"),
        (["run", "HEAD", "--grid", "huge"], "--grid"),
        (["run", "HEAD", "--window", "ten"], "--window"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, words, tmp_path, monkeypatch, capsys):
    repo = _repo(tmp_path)
    _commit(repo, "one")
    monkeypatch.chdir(repo)
    assert history_main(["history", *argv, "--history", str(tmp_path / "h.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].startswith("sinelstm: error:"), err
    assert not (tmp_path / "h.csv").exists()


def _planted_repository(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository over 8 commits whose `python -m sinelstm bench` is FAKE_MAIN: it writes
    the results file each commit holds. The sixth commit (index 5) moves fit_rmse_noisy by a
    quarter; the others touch only documentation. (The real package run at each commit is
    test_find_names_the_commit_that_slowed_the_epoch_by_an_ab_of_each_probe's.)"""
    repo = _repo(tmp_path)

    from sinelstm.history.find import _this_stack

    def held(noisy: float) -> dict[str, str]:  # on this stack: find compares runs of one stack only
        rows = [row(window=8, length=60, hidden=4, seed=0, fit_rmse_noisy=noisy, **_this_stack())]
        return {"results.csv": results(tmp_path, rows, "held.csv").read_text()}

    fake = {"sinelstm/__init__.py": "", "sinelstm/__main__.py": FAKE_MAIN}
    commits = [_commit(repo, "the package", {**fake, **held(0.1)})]
    for index in range(1, 8):
        if index == 5:
            commits.append(_commit(repo, "Gaussian noise", held(0.125)))
        else:
            commits.append(_commit(repo, f"notes {index}", {"NOTES.md": f"note {index}\n"}))
    return repo, commits


def test_find_names_the_planted_commit_within_log2_n_plus_one_runs(tmp_path, monkeypatch, capsys):
    repo, commits = _planted_repository(tmp_path)
    monkeypatch.chdir(repo)
    history = tmp_path / "history.csv"
    tiny = ["--window", "8", "--length", "60", "--hidden", "4", "--seed", "0", "--epochs", "3"]
    config = ["--metric", "fit_rmse_noisy", "--config", "window8-length60-hidden4", "--history", str(history)]
    # find reads and extends a history; it refuses to start one (history run does: here, the reference).
    assert history_main(["history", "run", commits[0], *tiny, "--history", str(history)]) == 0
    assert history_main(["history", "find", "HEAD", *tiny, *config]) == 0
    out = capsys.readouterr().out
    assert f"first moved: {commits[5]}" in out, out
    runs = int(out.split("); ")[-1].split(" grid runs")[0])
    assert runs <= math.log2(len(commits)) + 1
    assert not _git(repo, "worktree", "list").count("\n")  # every temporary worktree removed
    # Nothing planted in this range: not moved, exit 1 (its last commit read from the history).
    assert history_main(["history", "find", f"{commits[2]}..{commits[4]}", *tiny, *config]) == 1
    assert "not moved" in capsys.readouterr().out


@pytest.mark.slow
def test_run_and_find_run_the_real_package_at_each_commit(tmp_path, monkeypatch, capsys):
    """The path the stand-in above skips: this package's own CLI at each commit (a worktree,
    its results read and appended, kept by the stack of this process), two commits apart by
    a note only: find measures the second, and nothing moved."""
    repo = _repo(tmp_path)
    shutil.copytree(ROOT / "sinelstm", repo / "sinelstm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / ".gitignore").write_text("__pycache__/\n*.lock\n")
    commits = [_commit(repo, "the package"), _commit(repo, "notes", {"NOTES.md": "one\n"})]
    monkeypatch.chdir(repo)
    history = tmp_path / "history.csv"
    tiny = ["--window", "8", "--length", "60", "--hidden", "4", "--seed", "0", "--epochs", "3"]
    assert history_main(["history", "run", commits[0], *tiny, "--history", str(history)]) == 0
    config = ["--metric", "fit_rmse_noisy", "--config", "window8-length60-hidden4", "--history", str(history)]
    assert history_main(["history", "find", "HEAD", *tiny, *config]) == 1
    out = capsys.readouterr().out
    assert f"{commits[1][:10]}: running 1 cells" in out and "not moved" in out, out
    frame = read_history(history)
    assert list(frame["commit"]) == commits and set(frame["status"]) == {"ok"}
    assert not _git(repo, "worktree", "list").count("\n")


# A stand-in for an old commit's `python -m sinelstm bench`: it keeps its arguments beside
# --out and writes the results file the commit holds (or fails as an old CLI would).
FAKE_MAIN = """
import shutil, sys
from pathlib import Path
out = Path(sys.argv[sys.argv.index("--out") + 1])
out.with_suffix(".argv").write_text(" ".join(sys.argv[1:]))
if not Path("results.csv").is_file():
    sys.exit("sinelstm: error: argument command: invalid choice: 'bench' (choose from 'run')")
shutil.copy("results.csv", out)
"""


def test_history_run_records_what_ran_and_what_could_not_and_resumes(tmp_path, monkeypatch, capsys):
    repo = _repo(tmp_path)
    fake = {"sinelstm/__init__.py": "", "sinelstm/__main__.py": FAKE_MAIN}
    old = _commit(repo, "an old CLI", fake)
    good = results(tmp_path, quick_rows())
    ran = _commit(repo, "a bench", {"results.csv": good.read_text()})
    monkeypatch.chdir(repo)
    history = tmp_path / "h.csv"
    assert history_main(["history", "run", "HEAD", "--history", str(history)]) == 0
    frame = read_history(history)
    assert list(frame["commit"]) == [old] + [ran] * 8
    assert frame["status"][0] == "skipped" and "invalid choice: 'bench'" in frame["note"][0]
    assert not frame["dirty"].any() and set(frame["grid"]) == {"quick"}
    assert "1 commits measured, 1 skipped" in capsys.readouterr().out
    assert _git(repo, "worktree", "list").count("\n") == 0
    # Resumed: both commits are there (one measured, one that cannot run), neither is rerun.
    size = history.stat().st_size
    assert history_main(["history", "run", "HEAD", "--history", str(history), "--resume"]) == 0
    assert history.stat().st_size == size and "2 already there" in capsys.readouterr().out


def test_a_commit_runs_this_checkouts_cells_and_is_stopped_past_its_limit(tmp_path, monkeypatch):
    from sinelstm.history.commits import bench_flags, run_at

    repo = _repo(tmp_path)
    hang = FAKE_MAIN.replace("if not", "import time; time.sleep(60)\nif not")
    sha = _commit(repo, "a slow bench", {"sinelstm/__init__.py": "", "sinelstm/__main__.py": hang})
    flags = bench_flags(make_grid("quick"))
    assert flags == ["--grid", "quick", "--window", "25,50", "--length", "201,601", "--hidden", "64"] + [
        "--seed",
        "0,1",
    ]
    fused = make_grid("quick", base=ExperimentConfig(epochs=3, implementation="fused"))
    assert bench_flags(fused)[-4:] == ["--epochs", "3", "--implementation", "fused"]
    out = tmp_path / "out" / "results.csv"
    out.parent.mkdir()
    run = run_at(repo, sha, flags, out, timeout=3)
    assert run.results is None and "ran past 3 s" in run.reason
    assert out.with_suffix(".argv").read_text().startswith("bench --grid quick --window 25,50")
    assert _git(repo, "worktree", "list").count("\n") == 0


def test_ctrl_c_stops_the_run_and_removes_its_worktree(tmp_path, monkeypatch):
    from sinelstm.history import commits

    repo = _repo(tmp_path)
    hang = FAKE_MAIN.replace("if not", "import time; time.sleep(60)\nif not")
    sha = _commit(repo, "a slow bench", {"sinelstm/__init__.py": "", "sinelstm/__main__.py": hang})
    started = []

    class Interrupted(subprocess.Popen):
        """Ctrl-C while the bench runs (git's own commands run as ever)."""

        def communicate(self, *args, **kwargs):
            if "bench" not in self.args:
                return super().communicate(*args, **kwargs)
            started.append(self)
            raise KeyboardInterrupt

    monkeypatch.setattr(commits.subprocess, "Popen", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        commits.run_at(repo, sha, ["--grid", "quick"], tmp_path / "r.csv", timeout=30)
    assert started and started[0].poll() is not None  # the run is stopped
    assert _git(repo, "worktree", "list").count("\n") == 0


@pytest.mark.slow
def test_find_names_the_commit_that_slowed_the_epoch_by_an_ab_of_each_probe(tmp_path, monkeypatch, capsys):
    """A timing is judged by an A/B of the probe against the reference, measured now: the
    third of four commits makes every epoch sleep twice its own time."""
    repo = _repo(tmp_path)
    shutil.copytree(ROOT / "sinelstm", repo / "sinelstm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / ".gitignore").write_text("__pycache__/\n*.lock\n")
    commits = [_commit(repo, "the package"), _commit(repo, "notes", {"NOTES.md": "one\n"})]
    line = "        seconds.append(time.perf_counter() - start)"
    train = (repo / "sinelstm/experiment/train.py").read_text()
    slower = train.replace(line, "        time.sleep(2 * (time.perf_counter() - start))\n" + line)
    assert slower != train
    commits.append(_commit(repo, "slower epochs", {"sinelstm/experiment/train.py": slower}))
    commits.append(_commit(repo, "notes", {"NOTES.md": "two\n"}))
    monkeypatch.chdir(repo)
    tiny = ["--window", "8", "--length", "60", "--hidden", "4", "--seed", "0-1", "--epochs", "10"]
    speed = ["--metric", "s_per_epoch", "--config", "window8-length60-hidden4"]
    assert history_main(["history", "find", "HEAD", *tiny, *speed]) == 0
    out = capsys.readouterr().out
    assert f"first moved: {commits[2]}" in out, out
    assert "A/B runs" in out and "s_per_epoch head/base" in out
    assert not _git(repo, "worktree", "list").count("\n")


def test_a_grid_of_many_configs_is_drawn_in_parts_of_at_most_twelve_panels(tmp_path, monkeypatch):
    """20 configs: every metric in two figures (10 panels each), each listed on the page, the
    title above the top row's panel titles, never over them."""
    import sinelstm.history.trend_figures as figures_module
    from sinelstm.history.report import build_history_report

    drawn = {}
    real_save = figures_module.save_png

    def save_and_measure(fig, path, **kwargs):
        real_save(fig, path, **kwargs)
        renderer = fig.canvas.get_renderer()
        panels = [ax for ax in fig.axes if ax.get_visible()]
        title_bottom = fig._suptitle.get_window_extent(renderer).y0
        tops = [ax.title.get_window_extent(renderer).y1 for ax in panels]
        drawn[path.name] = (len(panels), title_bottom >= max(tops))

    monkeypatch.setattr(figures_module, "save_png", save_and_measure)
    repo = _repo(tmp_path)
    commits = [_commit(repo, f"step {index}") for index in range(3)]
    history = tmp_path / "history.csv"
    values = {name: FULL for name in HISTORY_METRICS if name not in ("diverged", "flat")}
    for sha in commits:
        rows = [
            row(window=window, length=length, hidden=hidden, seed=seed, **values)
            for window in (10, 15, 20, 25, 30)
            for length in (201, 601)
            for hidden in (16, 64)
            for seed in (0, 1)
        ]
        append_run(results(tmp_path, rows), history, "many", commit=sha, dirty=False)
    import dataclasses

    one_metric = dataclasses.replace(GATE, rules=[r for r in GATE.rules if r.metric == "forecast_rmse"])
    text, _ = build_history_report(repo, history, tmp_path / "HISTORY.md", one_metric)
    forecast = sorted(name for name in drawn if name.endswith("-forecast_rmse-part1-of-2.png"))
    assert forecast and all(panels <= 12 for panels, _ in drawn.values())
    assert {panels for name, (panels, _) in drawn.items() if "forecast_rmse-" in name} == {10}
    assert all(clear for _, clear in drawn.values())
    on_disk = {path.name for path in (tmp_path / "HISTORY_figures").glob("*.png")}
    assert on_disk == set(drawn) and all(f"HISTORY_figures/{name})" in text for name in on_disk)
    metrics = {name.rsplit("-part", 1)[0] for name in on_disk}
    assert "many-stack1-forecast_rmse" in metrics
    assert on_disk == {f"{m}-part{i}-of-2.png" for m in metrics for i in (1, 2)}


def test_the_committed_history_page_states_the_committed_history_files_size_and_runs(committed_results):
    """results/HISTORY.md is sinelstm history report's page of results/history.csv as
    committed: its size and run count are the file's own (rerun the command after a run)."""
    import re

    from sinelstm.history.history_csv import run_size

    size, runs = run_size(committed_results / "history.csv")
    page = (committed_results / "HISTORY.md").read_text()
    stated = re.search(r"holds ([\d.]+) KB for (\d+) runs", page)
    assert stated and (stated[1], int(stated[2])) == (f"{size / 1024:.1f}", runs), (
        "results/HISTORY.md is stale: rerun `sinelstm history report`"
    )
    assert page.startswith(f"# History\n\n{runs} runs of ")


def test_an_upgrade_in_place_sets_a_torn_line_aside_and_keeps_the_files_mode(tmp_path):
    import os

    from sinelstm.history.history_csv import HISTORY_COLUMNS

    history = tmp_path / "history.csv"
    append_run(results(tmp_path, quick_rows()), history, "quick")
    lines = history.read_text().splitlines()
    flat = lines[0].split(",").index("flat")
    old = [",".join(v for i, v in enumerate(line.split(",")) if i != flat) for line in lines]
    history.write_text("\n".join(old) + "\n" + "2,abc,Tr")  # a torn last line
    os.chmod(history, 0o640)
    second = results(tmp_path, quick_rows(shift=0.1, flat=False), name="second.csv")
    with pytest.warns(UserWarning, match="cut short"):
        append_run(second, history, "quick", commit="f" * 40)
    assert (tmp_path / "history.csv.torn").read_text() == "2,abc,Tr\n"
    assert os.stat(history).st_mode & 0o777 == 0o640
    assert history.read_text().splitlines()[0] == ",".join(HISTORY_COLUMNS)
    assert len(read_history(history)) == 16
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".history.csv.")]  # no temporary left
