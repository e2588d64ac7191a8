"""The house: data flows one way between the stages, no module is a maze, and a new
model kind or grid axis is one declaration."""

from __future__ import annotations

import ast
import dataclasses
import io
import os
import re
import tokenize
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sinelstm"
# Each module's stage; a module may import its own subpackage and the stages below it.
LAYERS = {
    "sinelstm": 0,
    "sinelstm.runtime": 0,
    "sinelstm.experiment": 1,
    "sinelstm.sweep": 2,
    "sinelstm.verdict": 3,
    "sinelstm.analysis": 4,
    "sinelstm.report": 4.5,
    "sinelstm.perf": 4,
    "sinelstm.history": 5,
    "sinelstm.workflow": 6,
    "sinelstm.cli": 7,
    "sinelstm.__main__": 8,
}
MAX_LINES = 300


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def stage(module: str) -> str:
    """The LAYERS key a module belongs to: its longest prefix there."""
    return max((key for key in LAYERS if module == key or module.startswith(key + ".")), key=len)


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The sinelstm modules a module imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("sinelstm") and name != module:
                found.add(name)
    # "from sinelstm.experiment import kinds" names the module, not the package too.
    return {name for name in found if not any(other.startswith(name + ".") for other in found)}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, set(known)) for name, path in known.items()}


def test_no_import_runs_back_up_the_pipeline():
    upward = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        for target in targets
        if LAYERS[stage(target)] > LAYERS[stage(module)]
        or (LAYERS[stage(target)] == LAYERS[stage(module)] and stage(target) != stage(module))
    ]
    assert upward == []


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for target in edges.get(node, ()):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [node, target]))
            if target not in state:
                visit(target, path + [node])
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node, [])


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The check above can fail: an experiment module importing the sweep is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("from sinelstm.sweep.rows import ok_row\n")
    found = imports("sinelstm.experiment.bad", bad, set(modules()))
    assert found == {"sinelstm.sweep.rows"}
    assert LAYERS[stage("sinelstm.sweep.rows")] > LAYERS[stage("sinelstm.experiment.bad")]


def test_no_module_over_300_lines():
    long = {
        name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.slow
def test_a_new_model_kind_is_one_registry_entry(tiny, tmp_path, monkeypatch):
    """A toy kind registered with its builder runs through grid, rows, store, gate and report."""
    from sinelstm.experiment import kinds
    from sinelstm.report.markdown import build_report
    from sinelstm.sweep.grid import make_grid
    from sinelstm.sweep.runner import run_grid
    from sinelstm.verdict.judge import compare
    from sinelstm.verdict.rules import load_gate_config

    monkeypatch.setattr(kinds, "_REGISTRY", dict(kinds._REGISTRY))
    kinds.register(kinds.ModelKind("toy", kinds.NETWORK, "helpers:toy_dense", summary="a toy"))

    grid = make_grid("quick", model="toy,ar", window="8", length="60", seed="0,1")
    cells = [
        cell.replace(**{k: getattr(tiny, k) for k in ("epochs", "patience", "horizon")})
        for cell in grid.cells()
    ]
    assert [c.hidden for c in cells if c.model == "toy"] == [0, 0]  # hidden does not apply to it
    out = tmp_path / "toy.csv"
    run_grid(cells, out)
    rows = pd.read_csv(out)
    assert list(rows["status"]) == ["ok"] * 4, rows["error"].tolist()
    assert list(rows["cell"])[:2] == ["toy-window8-length60-seed0", "toy-window8-length60-seed1"]
    verdict = compare(out, out, load_gate_config(ROOT / "pyproject.toml"))
    assert verdict.passed and any(c.config == "toy-window8-length60" for c in verdict.comparisons)
    assert "toy-window8-length60" in build_report(out, tmp_path / "REPORT.md", verdict, out)


@pytest.mark.slow
def test_a_users_model_factory_runs_from_the_command_line(tmp_path, capsys):
    from sinelstm.cli import main

    out = tmp_path / "run"
    args = ["run", "--model", "helpers:toy_dense", "--length", "60", "--window", "8", "--epochs", "3"]
    assert main([*args, "--horizon", "30", "--out", str(out)]) == 0
    row = pd.read_csv(out / "run.csv").iloc[0]
    assert row["model"] == "helpers:toy_dense" and row["cell"].startswith("helpers.toy_dense-window8")


@pytest.mark.parametrize("model", ["no_such_package.module:build", "helpers:no_such_function"])
def test_an_unknown_factory_is_one_line_exit_2(model, tmp_path, capsys):
    from sinelstm.cli import main

    assert main(["run", "--model", model, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model" in err[0] and model in err[0]
    assert not (tmp_path / "x").exists()


def test_a_new_grid_axis_is_one_declaration(monkeypatch):
    """A toy axis over the noise field: cells, names, CLI flag and pytest ids follow from it."""
    from sinelstm.cli import build_parser
    from sinelstm.sweep import grid as grids

    def parse_floats(flag, text):
        return tuple(float(part) for part in text.split(","))

    from sinelstm.sweep import axes

    noise = grids.Axis("noise", parse_floats, lambda c: f"noise{c.noise:g}", "0.05,0.1")
    # The axes are declared in sinelstm.sweep.axes; the grid module re-exports them.
    for module in (axes, grids):
        monkeypatch.setattr(module, "AXES", grids.AXES[:-1] + (noise, grids.AXES[-1]))

    made = grids.make_grid("quick", noise="0.05,0.1")
    cells = made.cells()
    assert len(cells) == 2 * len(grids.GRIDS["quick"].cells())
    assert grids.cell_id(cells[0]) == "window25-length201-hidden64-noise0.05-seed0"
    assert grids.config_name(grids.cell_id(cells[0])) == "window25-length201-hidden64-noise0.05"
    args = build_parser().parse_args(["bench", "--grid", "quick", "--noise", "0.05,0.1"])
    assert args.noise == "0.05,0.1"
    assert {dataclasses.replace(c, noise=0.05) for c in cells} == set(grids.GRIDS["quick"].cells())


@pytest.mark.slow
def test_a_new_metric_is_one_declaration_plus_its_computation(tmp_path):
    """A copy of the package with one more declared column and the line that computes it:
    the column is in the row, the report's table, the history, and the gate judges it by its
    declared rule."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE, copy / "sinelstm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    plant = {
        "sweep/columns.py": (
            '    Column("flat", "", value="flag", exact=True, history=True),',
            '    Column("flat", "", value="flag", exact=True, history=True),\n'
            '    Column("forecast_peak", "data units", **_rule("lower", 0.01), report="peak"),',
        ),
        "experiment/metrics.py": (
            '        "flat": False,\n    }',
            '        "flat": False,\n        "forecast_peak": float(np.max(np.abs(forecast))),\n    }',
        ),
    }
    for path, (old, new) in plant.items():
        target = copy / "sinelstm" / path
        assert target.read_text().count(old) == 1, path
        target.write_text(target.read_text().replace(old, new))
    env = {**os.environ, "PYTHONPATH": str(copy), "SINELSTM_HISTORY": str(tmp_path / "history.csv")}
    run = tmp_path / "run.csv"
    args = ["bench", "--grid", "quick", "--model", "ar,naive", "--window", "25", "--length", "201"]
    done = subprocess.run(
        [sys.executable, "-m", "sinelstm", *args, "--seed", "0,1", "--no-gate", "-q", "-o", str(run)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pd.read_csv(run)
    assert rows["forecast_peak"].notna().all() and (rows["forecast_peak"] > 0.9).any()
    assert "| peak" in (tmp_path / "REPORT-run.md").read_text()
    assert "forecast_peak" in (tmp_path / "history.csv").read_text().splitlines()[0]
    lower = rows.assign(forecast_peak=rows["forecast_peak"] - 0.5)
    lower.to_csv(tmp_path / "base.csv", index=False)
    judged = subprocess.run(
        [sys.executable, "-m", "sinelstm", "compare", str(run), "--baseline", str(tmp_path / "base.csv"),
         "--gate-config", str(copy / "pyproject.toml"), "--tier", "statistical"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert judged.returncode == 1 and "forecast_peak regressed" in judged.stdout, judged.stdout[-2000:]


def kind_name_tests(source: str, names: set[str]) -> list[int]:
    """The lines where source compares a value with a kind's name written out (x == "gru",
    x in ("lstm", "gru")), or dispatches on names in a dict literal ({"lstm": f, "gru": g})."""

    def named(node) -> set[str]:
        if isinstance(node, ast.Constant) and node.value in names:
            return {node.value}
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in names}
        return set()

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(named(side) for side in [node.left, *node.comparators]):
            found.append(node.lineno)
        elif isinstance(node, ast.Dict) and len(set().union(*map(named, filter(None, node.keys)))) >= 2:
            found.append(node.lineno)
    return sorted(found)


def test_no_module_but_the_registry_tests_a_kind_by_its_name():
    """Capabilities (batchable, classical, gates, the article's model) are asked of the kind:
    adding a kind needs no edit elsewhere."""
    from sinelstm.experiment import kinds

    names = set(kinds.builtin_names())
    registry = PACKAGE / "experiment" / "kinds.py"
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(modules().values())
        if path != registry
        for line in kind_name_tests(path.read_text(), names)
    ]
    assert found == []


def test_the_kind_name_check_catches_a_name_test():
    """The check above can fail: a comparison, a membership test and a dispatch table."""
    names = {"lstm", "gru", "rnn"}
    assert kind_name_tests('if cfg.model == "gru":\n    pass\n', names) == [1]
    assert kind_name_tests('ok = model in ("lstm", "gru")\n', names) == [1]
    assert kind_name_tests('x = 1\nf = {"lstm": a, "rnn": b}[model]\n', names) == [2]
    assert kind_name_tests('grid(model=("gru",))\nif kinds.is_article(m):\n    pass\n', names) == []


# The command line parses and dispatches: the jobs are sinelstm.workflow's. It may name the
# errors of the stages below it (to map them to exit status 2), nothing else of theirs.
JOB_STAGES = ("sinelstm.sweep", "sinelstm.history", "sinelstm.verdict", "sinelstm.analysis",
              "sinelstm.report", "sinelstm.perf")  # fmt: skip
MAX_HANDLER_LINES = 25


def job_imports(source: str) -> list[str]:
    """What a cli module imports from the job stages, other than error types."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.startswith(JOB_STAGES)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(JOB_STAGES):
            found += [
                f"{node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if not a.name.endswith("Error")
            ]
    return found


def long_handlers(source: str) -> list[str]:
    """The cmd_* functions of a module over MAX_HANDLER_LINES lines."""
    return [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("cmd_")
        and node.end_lineno - node.lineno + 1 > MAX_HANDLER_LINES
    ]


def test_the_command_line_holds_no_job_logic():
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        source = path.read_text()
        assert job_imports(source) == [], f"{path.name} imports a job stage"
        assert long_handlers(source) == [], f"{path.name}: a handler does a job's work"


def test_the_command_line_check_catches_a_job_in_a_handler():
    source = (
        "def cmd_bench(args):\n"
        "    from sinelstm.sweep.runner import run_grid\n"
        "    from sinelstm.sweep.store import ResultsError\n" + "    x = 1\n" * 30
    )
    assert job_imports(source) == ["2: from sinelstm.sweep.runner import run_grid"]
    assert long_handlers(source) == ["cmd_bench: 33 lines"]


# Code that reads short: a module docstring says what the module is for; rationale,
# measurements and history live in docs/, not in comments.
MAX_DOCSTRING_LINES = 10
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
MEASUREMENT = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds|GFLOP/s|MiB|GiB|GB)\b|\b\d+(?:\.\d+)?x (?:faster|slower)\b"
)


def notebook_lines(source: str) -> list[str]:
    """A docstring over MAX_DOCSTRING_LINES, and each comment that carries a commit hash or a
    measurement."""
    found = []
    docstring = ast.get_docstring(ast.parse(source), clean=False) or ""
    if len(docstring.strip().splitlines()) > MAX_DOCSTRING_LINES:
        found.append(f"docstring of {len(docstring.strip().splitlines())} lines")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and (
            COMMIT_HASH.search(token.string) or MEASUREMENT.search(token.string)
        ):
            found.append(f"{token.start[0]}: {token.string}")
    return found


def test_no_module_reads_as_a_lab_notebook():
    found = {
        path.relative_to(ROOT).as_posix(): notebook_lines(path.read_text()) for path in PACKAGE.rglob("*.py")
    }
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_notebook_check_catches_a_long_docstring_a_hash_and_a_timing():
    source = (
        '"""' + "line\n" * 11 + '"""\nx = 1  # 3.2x faster at 449e84b\ny = 2  # took 12 s\nz = 3  # 4 gates\n'
    )
    assert notebook_lines(source) == [
        "docstring of 11 lines",
        "13: # 3.2x faster at 449e84b",
        "14: # took 12 s",
    ]
