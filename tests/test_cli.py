"""Bad input: one line on stderr naming the flag, exit status 2, nothing left behind."""

import subprocess
import sys

import pytest

from sinelstm.cli import main


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--window", "0"], "--window"),
        (["--window", "201"], "--window"),
        (["--hidden", "0"], "--hidden"),
        (["--noise", "-1"], "--noise"),
        (["--noise", "nan"], "--noise"),
        (["--horizon", "0"], "--horizon"),
        (["--validation-split", "1.5"], "--validation-split"),
        (["--validation-split", "0"], "--validation-split"),
        (["--preset", "article-2019"], "--preset"),
        (["--engine", "turbo"], "--engine"),
        (["--window", "ten"], "--window"),
        (["--backend", "torch"], "--backend"),
        (["--model", "transformer"], "--model"),
        (["--trainer", "sgd"], "--trainer"),
        (["--train-rollout", "0"], "--train-rollout"),
    ],
)
def test_bad_values_exit_2_with_one_line(args, flag, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *args, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert flag in lines[0] and lines[0].startswith("sinelstm: error:")
    assert not out.exists()


def test_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["run", "--epochs", "1", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0]
    assert blocker.read_text() == "not a directory"


def test_no_traceback_from_the_console_entry(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sinelstm", "run", "--window", "-3", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "sinelstm: error: --window: got -3; expected an integer >= 1 and < length (201)"
    )


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--model", "lstm,transformer"], "--model"),
        (["--train-rollout", "1,x"], "--train-rollout"),
        (["--executor", "processes", "--ray-address", "127.0.0.1:1"], "--ray-address"),
    ],
)
def test_bad_bench_options_exit_2_with_one_line(args, flag, tmp_path, capsys):
    out = tmp_path / "grid.csv"
    assert main(["bench", "--grid", "quick", *args, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and lines[0].startswith("sinelstm: error:")
    assert not out.exists()


def _tracked_bytes() -> dict[str, bytes]:
    """Every tracked file of the checkout, as bytes (a refusal must change none)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    names = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return {
        name: (root / name).read_bytes()
        for name in names.decode().split("\0")
        if name and (root / name).is_file()
    }


QUICK, OUT, CONFIG = "results/baseline-quick.csv", "/tmp/x.csv", "window25-length201-hidden64"


def _refused(argv, words, capsys) -> None:
    before = _tracked_bytes()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sinelstm: error:") and words in lines[0], lines
    assert _tracked_bytes() == before


@pytest.mark.parametrize(
    "argv, words",
    [
        # The default grid's run into CI's quick baseline (the grids share cell names).
        (["baseline", "accept", "results/latest.csv", "--baseline", QUICK, "--reason", "x"],
         "not comparable: the run is of the default grid and results/baseline-quick.csv is the quick grid's"),
        (["compare", "results/latest.csv", "--baseline", QUICK], "not comparable"),
        (["compare", "results/latest.csv", "--baseline", "results/baseline-paths-jax.csv"], "paths grid's"),
        (["bench", "--grid", "quick", "--baseline", "results/baseline.csv", "-o", OUT], "not comparable"),
        (["bench", "--seed", "5-2,7", "--no-gate", "-o", "/tmp/x.csv"], "runs backwards"),
        (["bench", "--seed", "", "--no-gate", "-o", "/tmp/x.csv"], "--seed"),
        (["history", "report", "--history", "results/nope.csv"], "does not exist"),
        (["history", "find", "HEAD~2..HEAD", "--metric", "amp_ratio", "--config", CONFIG,
          "--history", "x.csv"], "does not exist"),
    ],
)  # fmt: skip
def test_a_mismatch_is_refused_in_one_line_and_changes_no_tracked_file(argv, words, capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    _refused(argv, words, capsys)
    assert not Path("/tmp/x.csv").exists()


def test_other_grid_is_an_explicit_flag(tmp_path, capsys, committed_results):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    baseline = tmp_path / "baseline-quick.csv"
    shutil.copy(root / "results/baseline-quick.csv", baseline)
    argv = [
        "baseline",
        "accept",
        str(committed_results / "latest.csv"),  # the committed run: a user's own may be partial
        "--baseline",
        str(baseline),
        "--reason",
        "why",
    ]
    assert main(argv) == 2 and "not comparable" in capsys.readouterr().err
    assert main([*argv, "--other-grid"]) == 0
    assert "accepted 36 rows" in capsys.readouterr().out


def test_compare_gives_the_same_bytes_whatever_the_files_times(tmp_path, capsys, committed_results):
    """On a fresh clone git sets file times as it likes: the summary must follow the files'
    contents only (its report and figure links stay while the report describes the run)."""
    import os
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    run, baseline = tmp_path / "latest.csv", tmp_path / "baseline.csv"
    shutil.copy(committed_results / "latest.csv", run)
    shutil.copy(root / "results/baseline.csv", baseline)
    assert main(["report", str(run), "-o", str(tmp_path / "REPORT.md")]) == 0
    outputs = []
    for stamp in (1_000_000_000, 2_000_000_000):  # the run older, then newer, than its report
        os.utime(run, (stamp, stamp))
        main(["compare", str(run), "--baseline", str(baseline), "-q"])
        outputs.append((tmp_path / "latest.summary.md").read_bytes())
    capsys.readouterr()
    assert outputs[0] == outputs[1]
    assert b"REPORT.md" in outputs[0]
    # A report of other results is not linked, whatever its time.
    shutil.copy(root / "results/baseline-quick.csv", tmp_path / "other.csv")
    main(["report", str(tmp_path / "other.csv"), "-o", str(tmp_path / "REPORT.md")])
    main(["compare", str(run), "--baseline", str(baseline), "-q"])
    assert b"REPORT.md" not in (tmp_path / "latest.summary.md").read_bytes()


def test_a_second_writer_is_refused_before_any_progress_bar(tmp_path, capsys):
    """Another bench on the same --out: refused in one line (exit 2), no empty progress bar drawn
    above it, and the file it would have written untouched."""
    from sinelstm.sweep.store import ResultsLock

    out = tmp_path / "grid.csv"
    with ResultsLock(out):
        code = main(["bench", "--grid", "quick", "--no-gate", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sinelstm: error:"), err
    assert "being written by another sinelstm run" in lines[0]
    assert "grid quick" not in err and "cell/s" not in err and "\r" not in err
    assert not out.exists()
