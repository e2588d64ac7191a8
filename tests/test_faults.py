"""Fault injection on the results store: torn rows, a full disk, changed configs, retries,
hung cells, killed drivers and workers. After each fault nothing finished is lost,
nothing is duplicated, nothing torn is counted, and every refusal is one line with the
right exit code. The cells are fake (no training) so that each fault costs seconds."""

from __future__ import annotations

import errno
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import fake_cell

from sinelstm.cli import main
from sinelstm.sweep import store
from sinelstm.sweep.grid import GRIDS
from sinelstm.sweep.rows import SCHEMA_VERSION, cell_key
from sinelstm.sweep.runner import run_grid
from sinelstm.sweep.store import ResultsError, read_results, series_path
from sinelstm.verdict.baseline import accept_baseline

TESTS = Path(__file__).resolve().parent


def cells_of(tiny, seeds=(0, 1, 2)):
    return [tiny.replace(seed=seed) for seed in seeds]


def assert_each_cell_once_and_ok(path: Path, cells) -> None:
    frame = read_results(path)
    assert sorted(frame["cell_key"]) == sorted(cell_key(cell) for cell in cells)
    assert set(frame["status"]) == {"ok"}
    raw = pd.read_csv(path)  # the file itself, not the reader's view: no cell finished twice
    assert raw[raw["status"] == "ok"]["cell_key"].is_unique


@pytest.mark.parametrize("cut", [1, 20, "all but the newline"])
def test_a_torn_last_row_is_set_aside_never_counted(cut, tiny, tmp_path, capsys):
    out = tmp_path / "grid.csv"
    cells = cells_of(tiny)
    run_grid(cells, out, job=fake_cell)
    raw = out.read_bytes()
    last = raw.rfind(b"\n", 0, len(raw) - 1) + 1
    keep = len(raw) - 1 if cut == "all but the newline" else last + cut
    out.write_bytes(raw[:keep])

    with pytest.raises(ResultsError, match="cut short"):
        read_results(out)
    assert main(["report", str(out), "-o", str(tmp_path / "R.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cut short" in err[0]

    with pytest.warns(UserWarning, match="cut short"):
        run_grid(cells, out, resume=True, job=fake_cell)
    assert_each_cell_once_and_ok(out, cells)
    assert Path(str(out) + ".torn").read_bytes() == raw[last:keep] + b"\n"


def test_a_short_row_is_refused_by_line(tiny, tmp_path):
    out = tmp_path / "grid.csv"
    run_grid(cells_of(tiny), out, job=fake_cell)
    with open(out, "a") as handle:
        handle.write(f"{SCHEMA_VERSION},r\n")
    with pytest.raises(ResultsError, match="line 5 is a short row"):
        read_results(out)


def test_a_full_disk_leaves_whole_rows_only(tiny, tmp_path, monkeypatch):
    out = tmp_path / "grid.csv"
    run_grid(cells_of(tiny, (0,)), out, job=fake_cell)
    before = out.read_bytes()
    real_write, calls = os.write, []

    def full_disk(fd, data):
        # The first write gets 10 bytes onto the disk, the next finds it full.
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "write", full_disk)
    with pytest.raises(ResultsError, match="No space left on device"):
        run_grid(cells_of(tiny, (1,)), out, resume=True, job=fake_cell)
    monkeypatch.undo()
    assert out.read_bytes() == before  # the half row was cut back
    run_grid(cells_of(tiny, (0, 1)), out, resume=True, job=fake_cell)
    assert_each_cell_once_and_ok(out, cells_of(tiny, (0, 1)))


def test_resume_refuses_another_experiment_before_any_training(tiny, tmp_path, capsys):
    out = tmp_path / "grid.csv"
    run_grid(cells_of(tiny), out, job=fake_cell)
    before = out.read_bytes()
    with pytest.raises(
        ResultsError, match=r"window8-length60-hidden4-seed0 with another config \(epochs 3 -> 5\)"
    ):
        run_grid([cell.replace(epochs=5) for cell in cells_of(tiny)], out, resume=True, job=fake_cell)
    assert out.read_bytes() == before

    # The same through the CLI: the quick grid's cells on file at 3 epochs, resumed at 100.
    quick = tmp_path / "quick.csv"
    run_grid([cell.replace(epochs=3) for cell in GRIDS["quick"].cells()], quick, job=fake_cell)
    before = quick.read_bytes()
    assert main(["bench", "--grid", "quick", "--out", str(quick), "--resume", "--no-gate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "epochs 3 -> 100" in err[0] and err[0].startswith("sinelstm: error: --resume")
    assert quick.read_bytes() == before


def test_a_retry_supersedes_the_failed_row_for_every_reader(tiny, tmp_path):
    out = tmp_path / "grid.csv"
    cells = cells_of(tiny)
    run_grid(cells, out, job=functools.partial(fake_cell, fail_on_seed=1))
    assert list(read_results(out)["status"]) == ["ok", "failed", "ok"]
    run_grid(cells, out, resume=True, job=fake_cell)
    assert len(pd.read_csv(out)) == 4  # the failed row stays on file, superseded
    assert_frame = read_results(out)
    assert list(assert_frame["status"]) == ["ok", "ok", "ok"]
    baseline = tmp_path / "baseline.csv"
    assert accept_baseline(out, baseline, "a retried run") == 3
    assert_each_cell_once_and_ok(baseline, cells)


def test_earlier_runs_are_kept_under_their_own_names(tiny, tmp_path):
    out = tmp_path / "grid.csv"
    for _ in range(5):
        run_grid(cells_of(tiny, (0,)), out, job=fake_cell)
        time.sleep(0.01)  # distinct modification times
    kept = sorted(p.name for p in tmp_path.glob("grid.prev-*.csv") if not p.name.endswith(".series.csv"))
    assert len(kept) == 3  # the newest three earlier runs; older ones deleted
    for name in kept:
        assert series_path(tmp_path / name).exists()


@pytest.mark.slow
def test_a_hung_cell_becomes_a_failed_row_naming_its_limit(tiny, tmp_path):
    from sinelstm.sweep.executors import ProcessExecutor

    out = tmp_path / "grid.csv"
    start = time.monotonic()
    run_grid(
        cells_of(tiny),
        out,
        # A fresh worker imports no TensorFlow for a fake cell (its imports take well under a
        # second); 5 s leaves room for a loaded machine.
        executor=ProcessExecutor(workers=2, limit=5),
        job=functools.partial(fake_cell, hang_on_seed=1),
    )
    assert time.monotonic() - start < 120
    rows = read_results(out).set_index("seed")
    assert rows.loc[1, "status"] == "failed" and "time limit of 5 s" in rows.loc[1, "error"]
    assert rows.loc[0, "status"] == rows.loc[2, "status"] == "ok"


DRIVER = """
import functools, sys, time
sys.path.insert(0, {tests!r})
from helpers import fake_cell
from conftest import TINY
from sinelstm.sweep.runner import run_grid

def slow(cfg):
    time.sleep(0.4)
    return fake_cell(cfg)

run_grid([TINY.replace(seed=s) for s in range(8)], {out!r}, resume={resume}, job=slow)
"""


@pytest.mark.slow
@pytest.mark.parametrize("after_rows", [0, 2, 5])
def test_a_killed_driver_loses_and_duplicates_nothing(after_rows, tiny, tmp_path):
    out = tmp_path / "grid.csv"
    cells = cells_of(tiny, range(8))
    script = DRIVER.format(tests=str(TESTS), out=str(out), resume=False)
    driver = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = out.read_text().count("\n") - 1 if out.exists() else -1
        if rows >= after_rows:
            break
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    finished = read_results(out) if out.exists() and out.stat().st_size else None
    run_grid(cells, out, resume=True, job=fake_cell)
    assert_each_cell_once_and_ok(out, cells)
    if finished is not None:  # what was finished before the kill was kept, not rerun
        kept = read_results(out).set_index("cell_key")
        for key, run_id in zip(finished["cell_key"], finished["run_id"], strict=True):
            assert kept.loc[key, "run_id"] == run_id


def pid_file_cell(cfg, folder):
    """A fake cell that, on seed 1, writes its worker's pid and waits to be killed."""
    if cfg.seed == 1:
        Path(folder, "pid").write_text(str(os.getpid()))
        time.sleep(60)
    return fake_cell(cfg)


@pytest.mark.slow
def test_a_killed_worker_is_a_failed_cell_and_resume_reruns_it(tiny, tmp_path):
    import threading

    from sinelstm.sweep.executors import ProcessExecutor

    out = tmp_path / "grid.csv"
    cells = cells_of(tiny)

    def killer():
        pid_path = tmp_path / "pid"
        deadline = time.monotonic() + 60
        while not pid_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(int(pid_path.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    job = functools.partial(pid_file_cell, folder=str(tmp_path))
    run_grid(cells, out, executor=ProcessExecutor(workers=2), job=job)
    thread.join()
    rows = read_results(out).set_index("seed")
    assert rows.loc[1, "status"] == "failed" and "worker process died (exit code -9)" in rows.loc[1, "error"]
    run_grid(cells, out, resume=True, job=fake_cell)
    assert_each_cell_once_and_ok(out, cells)


def test_exit_codes_one_by_one(tiny, tmp_path, capsys, monkeypatch):
    from helpers import grid_rows, write

    gate = ["--gate-config", str(TESTS.parent / "pyproject.toml")]
    base = write(tmp_path, "base.csv", grid_rows())
    worse = write(tmp_path, "worse.csv", grid_rows({(50, s): {"forecast_rmse": 0.9} for s in range(3)}))
    assert main(["compare", str(base), "--baseline", str(base), *gate]) == 0  # passed
    assert main(["compare", str(worse), "--baseline", str(base), *gate]) == 1  # the gate failed
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "missing.csv"), "--baseline", str(base), *gate]) == 2
    assert (
        main(["compare", str(base), "--baseline", str(base), "--gate-config", str(tmp_path / "no.toml")]) == 2
    )
    assert main(["bench", "--grid", "nonesuch"]) == 2  # bad input
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("sinelstm: error:") for line in err)

    from sinelstm.workflow import results_jobs

    def broken(*args, **kwargs):
        raise RuntimeError("an unexpected bug")

    monkeypatch.setattr(results_jobs, "judge", broken)
    assert main(["compare", str(base), "--baseline", str(base), *gate]) == 3  # internal error
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sinelstm: internal error: RuntimeError: an unexpected bug (--debug shows the traceback)"]
    with pytest.raises(RuntimeError, match="an unexpected bug"):
        main(["--debug", "compare", str(base), "--baseline", str(base), *gate])


def test_a_corrupt_series_file_is_one_line_exit_2(tiny, tmp_path, capsys):
    out = tmp_path / "grid.csv"
    run_grid(cells_of(tiny, (0,)), out, job=fake_cell)
    series_path(out).write_bytes(b"\x00\xff\xfe garbage \x00\n\x01,\x02\n")
    assert main(["report", str(out), "-o", str(tmp_path / "R.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "series" in err[0]


POOL_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from helpers import job_sleeping_with_its_pid
from conftest import TINY
from sinelstm.sweep.executors import ProcessExecutor
from sinelstm.sweep.runner import run_grid

run_grid([TINY.replace(seed=s) for s in range(4)], {out!r}, executor=ProcessExecutor(workers=2),
         job=job_sleeping_with_its_pid)
"""


@pytest.mark.slow
def test_workers_die_within_two_seconds_of_their_driver(tiny, tmp_path):
    """kill -9 of the driver mid-unit: its pool's workers end themselves (they watch their
    parent), not after finishing their cells."""
    import psutil

    pids = tmp_path / "pids"
    pids.mkdir()
    script = POOL_DRIVER.format(tests=str(TESTS), out=str(tmp_path / "grid.csv"))
    driver = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, "SINELSTM_TEST_PIDS": str(pids)}
    )
    deadline = time.monotonic() + 90
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(path.name) for path in pids.iterdir()]
    assert len(workers) == 2, "the pool's workers never started their units"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    killed = time.monotonic()
    alive = workers
    while alive and time.monotonic() - killed < 2.0:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        time.sleep(0.05)
    assert alive == [], f"workers still running {time.monotonic() - killed:.1f} s after their driver died"
