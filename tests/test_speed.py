"""The A/B speed verdict: the signed-rank statistics worked by hand, each verdict made on
purpose, and `sinelstm ab` end to end on two copies of the code, one with a slower epoch."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sinelstm.verdict.speed import (
    Acceptance,
    SpeedRules,
    hodges_lehmann,
    judge_pairs,
    min_pairs,
    signed_rank_cdf,
    walsh_averages,
)

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-12


def test_signed_rank_distribution_of_three_pairs():
    # Ranks 1, 2, 3, each signed by a fair coin: W+ = 0,1,2,3,3,4,5,6 over the 8 sign
    # patterns (3 twice: {3} and {1,2}), so P(W+ <= w) = 1,2,3,5,6,7,8 eighths.
    assert np.allclose(signed_rank_cdf(3), np.array([1, 2, 3, 5, 6, 7, 8]) / 8, atol=TOL)


def test_walsh_averages_and_the_fewest_pairs_for_95_percent():
    assert list(walsh_averages(np.array([0.0, 2.0]))) == [0.0, 1.0, 2.0]
    # P(W+ = 0) = 2^-n must be <= 2.5%: n = 6 (1/64), not 5 (1/32).
    assert min_pairs(0.95) == 6


def test_hodges_lehmann_interval_at_six_pairs_is_the_range():
    # n = 6: only W+ = 0 has P <= 2.5% (1/64), so the interval runs from the smallest to the
    # largest Walsh average (the smallest and largest values), coverage 1 - 2/64.
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 10.0])
    estimate, low, high, coverage = hodges_lehmann(values)
    assert (low, high) == (0.0, 10.0)
    assert math.isclose(coverage, 1 - 2 / 64, abs_tol=TOL)
    # The median of the 21 Walsh averages of 0,1,2,3,4,10 is 2.5.
    assert math.isclose(estimate, 2.5, abs_tol=TOL)


def test_too_few_pairs_give_no_interval():
    _, low, high, _ = hodges_lehmann(np.zeros(5))
    assert math.isnan(low) and math.isnan(high)


RULES = SpeedRules(threshold=0.10, margin=0.05)
BASE = [1.0] * 12
JITTER = [1.0, 1.01, 0.99, 1.02, 0.98, 1.005, 0.995, 1.015, 0.985, 1.0, 1.01, 0.99]


def judged(head, rules=RULES, accepted=()):
    return judge_pairs("cfg", "s_per_epoch", BASE[: len(head)], head, rules, accepted)


def test_a_slowdown_past_the_threshold_fails():
    verdict = judged([1.3 * j for j in JITTER])
    assert verdict.verdict == "slower" and verdict.failed
    assert 1.28 < verdict.ratio < 1.32 and verdict.low > 1.1


def test_the_same_speed_passes_and_says_what_it_could_detect():
    verdict = judged(JITTER)
    assert verdict.verdict == "same" and not verdict.failed
    # The lower half-width laid on the threshold: 1.1 * ratio / low - 1, a little over 10%.
    assert math.isclose(verdict.detectable, 1.1 * verdict.ratio / verdict.low - 1, rel_tol=1e-9)
    assert 0.10 < verdict.detectable < 0.13


def test_a_speedup_is_reported_as_faster():
    verdict = judged([0.7 * j for j in JITTER])
    assert verdict.verdict == "faster" and not verdict.failed


def test_a_noisy_run_that_straddles_the_threshold_is_underpowered_and_fails():
    noisy = [1.1 * j for j in (0.6, 1.5, 0.8, 1.4, 1.0, 1.3, 0.7, 1.2, 0.9, 1.1, 1.6, 0.5)]
    verdict = judged(noisy)
    assert verdict.verdict == "underpowered" and verdict.failed
    assert verdict.detectable > RULES.threshold + RULES.margin


def test_a_tight_run_that_straddles_the_threshold_is_inconclusive():
    verdict = judged([1.1 * j for j in JITTER])
    assert verdict.verdict == "inconclusive" and not verdict.failed


def test_too_few_pairs_is_underpowered():
    verdict = judged([1.0] * 5)
    assert verdict.verdict == "underpowered" and "needs 6" in verdict.reason


def test_an_acceptance_covers_only_its_config_metric_and_ratio():
    slow = [1.3 * j for j in JITTER]
    ok = Acceptance("cf*", "s_per_epoch", 1.5, "the remedy trains on rollouts")
    assert judged(slow, accepted=(ok,)).verdict == "accepted"
    too_small = Acceptance("cfg", "s_per_epoch", 1.2, "less than measured")
    other = Acceptance("cfg", "forecast_ms_per_step", 2.0, "another metric")
    assert judged(slow, accepted=(too_small, other)).verdict == "slower"


def test_non_positive_or_missing_timings_are_not_pairs():
    verdict = judge_pairs("cfg", "cell_s", [1.0] * 7, [1.0] * 6 + [math.nan], RULES)
    assert verdict.pairs == 6


def sinelstm(*args, cwd=ROOT, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "sinelstm", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_a_base_that_names_no_commit_is_refused_in_one_line(tmp_path):
    done = sinelstm("ab", "no-such-rev", "-o", str(tmp_path / "ab.csv"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no-such-rev" in done.stderr
    skipped = sinelstm("ab", "no-such-rev", "--skip-without-base", "-o", str(tmp_path / "ab.csv"))
    assert skipped.returncode == 0 and "no A/B" in skipped.stdout
    assert not (tmp_path / "ab.csv").exists()


def copy_of_the_code(folder: Path) -> Path:
    shutil.copytree(ROOT / "sinelstm", folder / "sinelstm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


@pytest.mark.slow
def test_ab_fails_a_slower_epoch_and_names_it(tmp_path):
    base = copy_of_the_code(tmp_path / "base")
    head = copy_of_the_code(tmp_path / "head")
    train = head / "sinelstm" / "experiment" / "train.py"
    line = "        seconds.append(time.perf_counter() - start)"
    text = train.read_text()
    assert text.count(line) == 1
    train.write_text(text.replace(line, "        time.sleep(2 * (time.perf_counter() - start))\n" + line))
    out = tmp_path / "ab.csv"
    flags = [
        "--window",
        "25",
        "--length",
        "201",
        "--seed",
        "0-2",
        "--epochs",
        "4",
        "--repeats",
        "2",
        "--max-repeats",
        "2",
    ]
    done = sinelstm("ab", str(base), str(head), *flags, "--streams", "1", "-o", str(out))
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "epoch slower" in done.stdout
    table = out.with_suffix(".md").read_text()
    assert "| window25-length201-hidden64 | epoch | 6 |" in table
    # The numerics are unchanged: no result differs.
    assert "every metric and canary of every cell the same on both sides" in table


@pytest.mark.slow
def test_a_killed_ab_leaves_no_worker_computing(tmp_path):
    """kill -9 of sinelstm ab mid-run: its four workers (two sides on two streams) end
    within two seconds."""
    import os
    import signal
    import time

    import psutil

    base = copy_of_the_code(tmp_path / "base")
    args = ["ab", str(base), str(base), "--window", "25", "--length", "201", "--seed", "0-2"]
    args += ["--epochs", "50"]
    driver = subprocess.Popen(
        [sys.executable, "-m", "sinelstm", *args, "--streams", "2", "-o", str(tmp_path / "ab.csv")], cwd=ROOT
    )
    deadline = time.monotonic() + 120
    workers: list = []
    while len(workers) < 4 and time.monotonic() < deadline:
        workers = psutil.Process(driver.pid).children()
        time.sleep(0.1)
    assert len(workers) == 4, "the A/B's workers never started"
    time.sleep(3)  # into the cells
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    killed = time.monotonic()
    alive = workers
    while alive and time.monotonic() - killed < 2.0:
        alive = [w for w in alive if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    assert alive == [], f"{len(alive)} workers still running 2 s after the A/B's driver died"


# Sides measured alike: the order of each cell's turns, and the two trees.


def test_each_cell_runs_base_first_as_often_as_head_first():
    from collections import Counter

    from sinelstm.sweep.ab_pairs import SIDES, schedule
    from sinelstm.sweep.grid import GRIDS, cell_id

    cells = GRIDS["ab"].cells()
    for streams in (1, 2, 3):
        orders = Counter(
            (cell_id(cell), order[0]) for jobs in schedule(cells, 4, streams) for _, cell, order in jobs
        )
        assert set(orders.values()) == {2}, (streams, orders)
        assert {first for _, first in orders} == set(SIDES)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_both_sides_are_fresh_copies_of_one_kind_whatever_they_name(tmp_path):
    """A commit, the working tree (what git would commit: untracked files in, ignored ones
    out) and a folder all become copies beside each other, of paths of one length, with
    their bytecode compiled before any worker starts, and gone afterwards."""
    from sinelstm.workflow.ab_sides import sides

    repo = tmp_path / "repo"
    (repo / "sinelstm").mkdir(parents=True)
    (repo / "sinelstm" / "__init__.py").write_text("VERSION = 1\n")
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (repo / ".gitignore").write_text("junk.py\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    (repo / "sinelstm" / "__init__.py").write_text("VERSION = 2\n")
    (repo / "sinelstm" / "new.py").write_text("NEW = True\n")  # untracked: the head has it
    (repo / "sinelstm" / "junk.py").write_text("JUNK = True\n")  # ignored: no side has it
    with sides(repo, "HEAD", None) as (base, head):
        assert (base.label, head.label) == (base.label, "working tree") and len(base.label) == 10
        assert (base.tree / "sinelstm" / "__init__.py").read_text() == "VERSION = 1\n"
        assert (head.tree / "sinelstm" / "__init__.py").read_text() == "VERSION = 2\n"
        assert (head.tree / "sinelstm" / "new.py").is_file() and not (
            base.tree / "sinelstm" / "new.py"
        ).exists()
        assert not (head.tree / "sinelstm" / "junk.py").exists()
        assert base.tree.parent == head.tree.parent and len(str(base.tree)) == len(str(head.tree))
        assert repo not in (base.tree, head.tree)
        for tree in (base.tree, head.tree):
            assert list((tree / "sinelstm" / "__pycache__").glob("__init__.*.pyc"))
        made = base.tree.parent
    assert not made.exists()
    with sides(repo, str(repo), "HEAD") as (base, head):  # the working tree as a folder, swapped
        assert (base.tree / "sinelstm" / "new.py").is_file() and base.label == str(repo)
        assert not (base.tree / "sinelstm" / "__pycache__" / "junk.py").exists()


def test_a_worker_that_imports_another_tree_is_refused(tmp_path, monkeypatch):
    from sinelstm.sweep.ab_pairs import ABError, Side, Worker

    worker = Worker(Side("head", tmp_path, "working tree"), None, {}, tmp_path / "log")
    elsewhere = {"fields": [], "package": "/somewhere/else/sinelstm", "nice": 0}
    monkeypatch.setattr(worker, "_receive", lambda timeout: elsewhere)
    with pytest.raises(ABError, match="imports /somewhere/else/sinelstm, not its own tree"):
        worker.handshake()
    monkeypatch.setattr(
        worker, "_receive", lambda timeout: {**elsewhere, "package": str(tmp_path / "sinelstm")}
    )
    worker.handshake()
    assert worker.fields == []


def test_a_later_round_keeps_each_cells_order_balanced_by_its_place_in_the_grid():
    from collections import Counter

    from sinelstm.sweep.ab_pairs import schedule
    from sinelstm.sweep.grid import GRIDS, cell_id

    cells = GRIDS["ab"].cells()
    positions = {cell_id(cell): index for index, cell in enumerate(cells)}
    # Three repeats of all four cells, then three more of the last two only (odd rounds).
    rounds = [(cells, 0), (cells[2:], 3)]
    orders = Counter(
        (cell_id(cell), order[0])
        for todo, first in rounds
        for jobs in schedule(todo, 3, 2, first, positions)
        for _, cell, order in jobs
    )
    assert all(orders[(cell_id(cell), "base")] == orders[(cell_id(cell), "head")] == 3 for cell in cells[2:])


def test_a_side_without_a_sinelstm_package_is_refused_in_one_line(tmp_path):
    from sinelstm.sweep.ab_pairs import ABError
    from sinelstm.workflow.ab_sides import sides

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README").write_text("no package here\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    with pytest.raises(ABError, match=r"^BASE: [0-9a-f]{10} holds no sinelstm package$"):
        with sides(repo, "HEAD", None):
            pass
    folder = tmp_path / "folder"
    (folder / "sinelstm").mkdir(parents=True)
    (folder / "sinelstm" / "__init__.py").write_text("")
    with pytest.raises(ABError, match=r"^HEAD: working tree holds no sinelstm package$"):
        with sides(repo, str(folder), None):  # the working tree has none either
            pass
