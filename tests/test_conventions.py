"""Where users meet the harness: the CLI's conventions, the PR-sized summary, the CI
workflow users copy, and the pinned install."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import grid_rows, write

from sinelstm.cli import build_parser, main
from sinelstm.report.summary import MAX_BYTES, gate_summary, summary_path
from sinelstm.verdict.judge import compare
from sinelstm.workflow import default_paths, load_gate

ROOT = Path(__file__).resolve().parent.parent
# Every flag whose values are a closed (or listed) set: argparse rejects anything else at
# parse time, and shell completion can offer the values.
ENUMERATED = {"--model", "--backend", "--engine", "--trainer", "--grid", "--executor", "--tier"}
ENUMERATED |= {"--preset", "--implementation"}


def subcommands(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from subcommands(sub, (*path, name))


def test_every_subcommand_is_described_and_every_enumerated_flag_has_choices():
    found = set()
    for path, sub in subcommands(build_parser()):
        assert sub.description, f"sinelstm {' '.join(path)} has no description"
        for action in sub._actions:
            names = set(action.option_strings) & ENUMERATED
            if names:
                found |= names
                assert action.choices, f"{' '.join(path)} {names}: no choices"
        flags = {flag for action in sub._actions for flag in action.option_strings}
        if sub.get_default("handler") is not None:  # a command, not a group of them
            assert {"-q", "-v"} <= flags, f"sinelstm {' '.join(path)}: no -q/-v"
        if path in {("run",), ("bench",), ("report",), ("history", "report")}:
            assert {"-o", "--out"} <= flags, f"sinelstm {' '.join(path)}: no -o/--out"
    assert found == ENUMERATED


def test_a_value_outside_the_choices_is_refused_at_parse_time(capsys):
    assert main(["bench", "--model", "lstm,nonesuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice" in err[0] and "'gru'" in err[0]
    # A model factory is not listed, but taken (and refused later, by name, if it cannot load).
    assert main(["run", "--model", "nosuchpkg.mod:make", "-o", "x"]) == 2
    assert "cannot be loaded" in capsys.readouterr().err


def test_version(capsys):
    from sinelstm import __version__

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"sinelstm {__version__}"


def test_compare_and_accept_follow_the_runs_grid(tmp_path, monkeypatch, capsys):
    """latest-quick.csv is judged against, and accepted into, baseline-quick.csv: never the
    default grid's baseline.csv."""
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    results.mkdir()
    default = write(results, "baseline.csv", grid_rows(windows=(25,), seeds=(0, 1, 2)))
    before = default.read_bytes()
    write(results, "baseline-quick.csv", grid_rows())
    run = write(results, "latest-quick.csv", grid_rows())
    gate = ["--gate-config", str(ROOT / "pyproject.toml")]
    assert main(["compare", str(run), *gate]) == 0
    assert "baseline-quick.csv" in capsys.readouterr().out
    assert main(["baseline", "accept", str(run), "--reason", "same rows"]) == 0
    assert "results/baseline-quick.csv: accepted" in capsys.readouterr().out
    assert default.read_bytes() == before


def test_quiet_default_and_verbose_output(tmp_path, capsys):
    base = write(tmp_path, "baseline.csv", grid_rows())
    run = write(tmp_path, "latest.csv", grid_rows())
    args = ["compare", str(run), "--baseline", str(base), "--gate-config", str(ROOT / "pyproject.toml")]
    assert main([*args, "-q"]) == 0
    quiet = capsys.readouterr().out.strip().splitlines()
    assert len(quiet) == 1 and quiet[0].startswith("gate passed")
    assert main(args) == 0
    default = capsys.readouterr().out
    assert "### sinelstm gate: ✅ PASSED" in default and "## Comparison" not in default
    assert main([*args, "-v"]) == 0
    assert "## Comparison" in capsys.readouterr().out
    assert summary_path(run).read_text().startswith("### sinelstm gate")


def test_the_committed_default_runs_summary_fits_a_pr_comment(committed_results):
    gate = load_gate(str(ROOT / "pyproject.toml"))
    latest, baseline = (committed_results / Path(path).name for path in default_paths("default"))
    result = compare(latest, baseline, gate)
    report = committed_results / "REPORT.md"
    text = gate_summary(result, latest, baseline, report, "https://ci.example/run/7")
    assert len(text.encode()) <= MAX_BYTES
    assert text.count("\n| window") == 12  # one row per config of the default grid
    assert "](https://ci.example/run/7/REPORT_figures/amplitude.png)" in text
    relative = gate_summary(result, latest, baseline, report)
    assert "](REPORT_figures/amplitude.png)" in relative  # resolves inside an artifact of results/


def test_a_failing_summary_names_the_failures_first_and_still_fits(tmp_path):
    worse = grid_rows({(50, seed): {"forecast_rmse": 0.9} for seed in (0, 1, 2)})
    run, base = write(tmp_path, "latest.csv", worse), write(tmp_path, "baseline.csv", grid_rows())
    result = compare(run, base, load_gate(str(ROOT / "pyproject.toml")), tier="statistical")
    assert not result.passed
    result.failures += [f"window50-length201-hidden8-seed{i}: " + "x" * 400 for i in range(40)]
    result.warnings += ["w" * 400] * 40
    text = gate_summary(result, run, base)
    assert len(text.encode()) <= MAX_BYTES
    assert "❌ FAILED" in text and "forecast_rmse" in text and "more (see the gate table)" in text
    rows = [line for line in text.splitlines() if line.startswith("| window")]
    assert rows[0].startswith("| window50") and "**failed**" in rows[0]
    assert all("| ok |" in row for row in rows[1:])


def test_the_ci_workflow_users_copy_runs_what_ci_runs_here():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github/workflows/bench.yml").read_text())
    steps = workflow["jobs"]["bench"]["steps"]
    runs = [step.get("run", "") for step in steps]
    # .ci/run, one tox environment a step (tests/test_pr_comment.py: every one of env_list).
    assert any(run.strip().startswith("bash .ci/run -e ") for run in runs)
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip" and "constraints.txt" in python["with"]["cache-dependency-path"]
    # The summaries the quick gate writes (TensorFlow and JAX) and the A/B's reach the job
    # page and the comment's data, by the paths sinelstm gives them.
    summaries = next(run for run in runs if ".ci/pr_comment.py" in run)
    for backend in ("tensorflow", "jax"):
        latest, _ = default_paths("quick", backend)
        assert str(summary_path(latest)) in summaries
    assert "results/latest-ab.summary.md" in summaries and "GITHUB_STEP_SUMMARY" in summaries
    # The A/B against the first parent: the checkout holds the first parent.
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] >= 2
    assert "sinelstm ab HEAD^1 --skip-without-base" in (ROOT / "tox.ini").read_text()
    upload = next(step for step in steps if step.get("with", {}).get("name") == "sinelstm-results")
    assert "results/latest-quick*" in upload["with"]["path"] and upload["if"] == "always()"
    assert "results/latest-ab*" in upload["with"]["path"]
    # The pull request's comment comes from pr-comment.yml (tests/test_pr_comment.py): this
    # workflow, which runs the PR's code, holds no token that can write.
    assert workflow["permissions"] == {"contents": "read"}
    assert (ROOT / ".github/workflows/pr-comment.yml").is_file()
    assert "pytest bench --benchmark-only --grid quick" in (ROOT / "tox.ini").read_text()
    assert "tox" in (ROOT / ".ci/run").read_text()


def test_the_install_is_pinned_to_the_baselines_stack():
    import pandas as pd

    pins = dict(
        line.lower().replace("_", "-").split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    stack = pd.read_csv(ROOT / "results/baseline.csv", usecols=["numpy", "tensorflow", "keras"], dtype=str)
    assert pins["numpy"] == stack["numpy"].iloc[0] and pins["keras"] == stack["keras"].iloc[0]
    assert pins["tensorflow-cpu"] == stack["tensorflow"].iloc[0]
    assert "PIP_CONSTRAINT = {toxinidir}/constraints.txt" in (ROOT / "tox.ini").read_text()
    assert "-c constraints.txt" in (ROOT / "README.md").read_text()


# A line of TensorFlow's native logging (absl/glog: "I0000 00:00:... port.cc:153] ..."):
# which lines a host prints varies (oneDNN's only where oneDNN is on, the CPU-feature one
# where the host has instructions the build lacks), so the tests ask this host's TensorFlow.
NATIVE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|\.cc:\d+\]")


def native_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if NATIVE.search(line)]


def test_a_quiet_backend_load_keeps_native_writes_to_stderr_off_the_terminal():
    """What the project controls, on any host: a write to file descriptor 2 during the backend's
    import (as TensorFlow's C++ logging writes) is held back unless -v, and let through with it."""
    script = (
        "import os, sys; import sinelstm.runtime as r; "
        "r._import_backend = lambda: os.write(2, b'I0000 00:00:1.0 1 port.cc:153] native\\n'); "
        "r.load_backend_quietly(); print('loaded')"
    )
    env = {k: v for k, v in os.environ.items() if k != "SINELSTM_VERBOSE"}
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "loaded", quiet.stderr
    assert native_lines(quiet.stderr) == []
    loud = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**env, "SINELSTM_VERBOSE": "1"}
    )
    assert native_lines(loud.stderr) == ["I0000 00:00:1.0 1 port.cc:153] native"]


@pytest.mark.slow
def test_workers_keep_tensorflows_native_log_lines_to_themselves_unless_verbose(tmp_path):
    args = [sys.executable, "-m", "sinelstm", "bench", "--grid", "quick", "--window", "25", "--length", "201"]
    args += ["--seed", "0", "--epochs", "1", "--no-gate"]
    env = {k: v for k, v in os.environ.items() if k != "SINELSTM_VERBOSE"}
    raw = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True, env=env)
    printed = native_lines(raw.stderr)  # what this host's TensorFlow writes natively on import
    quiet = subprocess.run([*args, "-o", str(tmp_path / "q.csv")], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert native_lines(quiet.stderr) == []
    loud_args = [*args, "-v", "-o", str(tmp_path / "v.csv")]
    loud = subprocess.run(loud_args, capture_output=True, text=True, env=env)
    assert loud.returncode == 0, loud.stderr
    if printed:  # the lines are TensorFlow's: -v lets them through
        assert printed[0].split("]", 1)[-1] in loud.stderr
    # Both runs were kept in the history beside their results, one row per cell.
    from sinelstm.history.history_csv import read_history

    history = read_history(tmp_path / "history.csv")
    assert list(history["config"]) == ["window25-length201-hidden64"] * 2
    assert set(history["run_id"]) == set(pd.read_csv(tmp_path / "q.csv")["run_id"]) | set(
        pd.read_csv(tmp_path / "v.csv")["run_id"]
    )


def test_every_relative_link_of_the_readme_and_the_docs_opens():
    """README.md and docs/*.md link to pages, figures and files of this checkout: each must
    be there (a dead link is a newcomer's dead end)."""
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "results" / "README.md"]
    dead = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                dead.append(f"{page.relative_to(ROOT)}: {target}")
    assert dead == []
    # The README links every docs page.
    readme = (ROOT / "README.md").read_text()
    assert [p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"(docs/{p.name})" not in readme] == []


def test_the_grids_table_is_the_grids():
    import re

    from sinelstm.sweep.grid import GRIDS

    text = (ROOT / "docs" / "gate.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (\d+) \|", text, flags=re.M))
    assert rows == {name: str(len(grid.cells())) for name, grid in GRIDS.items()}


def test_the_readme_fits_three_screens():
    assert len((ROOT / "README.md").read_bytes()) <= 12 * 1024
