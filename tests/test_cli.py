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
