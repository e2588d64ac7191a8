"""The benchmark grid as a pytest-benchmark suite.

`pytest bench --benchmark-only [--grid quick]` runs every cell of a named
grid as two benchmarks (group fit: one training; group forecast: several
rounds of the compiled rollout), appends each cell's row to the results CSV
as soon as it is done, and gates the run against the committed baseline at
the end: a failing gate fails the session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sinelstm.cli import GRID_OPTIONS, add_grid_options, default_paths, grid_from_options  # noqa: E402
from sinelstm.config import ConfigError  # noqa: E402
from sinelstm.grid import cell_id  # noqa: E402
from sinelstm.results import ResultsError, ResultsLock  # noqa: E402
from sinelstm.runner import new_run_id, set_aside  # noqa: E402

PHASES = ("fit", "forecast")


@dataclass
class BenchState:
    grid: object
    out: Path
    baseline: Path
    gate_config: str | None
    gate: bool
    run_id: str = field(default_factory=new_run_id)
    trained: dict = field(default_factory=dict)  # cell id -> Trained, from fit to forecast
    selected: set = field(default_factory=set)
    lock: ResultsLock | None = None
    gate_status: int | None = None
    perf: list = field(default_factory=list)  # one line per perf target, printed at the end


def pytest_addoption(parser):
    group = parser.getgroup("sinelstm", "sinelstm benchmark grid")
    add_grid_options(group.addoption)
    group.addoption("--results", help="results CSV (results/latest.csv or latest-GRID.csv)")
    group.addoption("--baseline", help="baseline CSV (results/baseline.csv or baseline-GRID.csv)")
    group.addoption("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    group.addoption("--no-gate", action="store_true", help="skip the gate")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    try:
        grid = grid_from_options(**{name: config.getoption(name) for name in GRID_OPTIONS})
    except ConfigError as error:
        raise pytest.UsageError(f"{error.flag}: got {error.got!r}; {error.accepts}") from None
    latest, baseline = default_paths(grid.name)
    out = Path(config.getoption("results") or latest)
    state = BenchState(
        grid=grid,
        out=out,
        baseline=Path(config.getoption("baseline") or baseline),
        gate_config=config.getoption("gate_config"),
        gate=not config.getoption("no_gate"),
    )
    config._sinelstm = state
    session = getattr(config, "_benchmarksession", None)
    if session is not None and not session.json:
        perf = "perf" in (config.getoption("keyword") or "")
        session.json = out.with_name("perf.benchmark.json") if perf else out.with_suffix(".benchmark.json")


def pytest_generate_tests(metafunc):
    if {"cell", "phase"} <= set(metafunc.fixturenames):
        grid = metafunc.config._sinelstm.grid
        pairs = [(cell, phase) for cell in grid.cells() for phase in PHASES]
        metafunc.parametrize("cell, phase", pairs, ids=[f"{phase}-{cell_id(cell)}" for cell, phase in pairs])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Leave the perf tests out unless -k asks for them; note which cells remain after
    -k / -m deselection: the gate judges those."""
    if "perf" not in (config.getoption("keyword") or ""):
        perf = [item for item in items if "perf" in item.name]
        if perf:
            config.hook.pytest_deselected(items=perf)
            items[:] = [item for item in items if "perf" not in item.name]
    state = config._sinelstm
    state.selected = {
        cell_id(item.callspec.params["cell"])
        for item in items
        if hasattr(item, "callspec") and "cell" in item.callspec.params
    }


def pytest_runtestloop(session):
    """Take the results file for the whole session: lock it, move an old run aside."""
    state = session.config._sinelstm
    if session.config.option.collectonly or not state.selected:
        return
    state.out.parent.mkdir(parents=True, exist_ok=True)
    state.lock = ResultsLock(state.out)
    try:
        state.lock.__enter__()
    except ResultsError as error:
        state.lock = None
        raise pytest.UsageError(str(error)) from None
    set_aside(state.out)


@pytest.fixture
def bench_state(request) -> BenchState:
    return request.config._sinelstm


@pytest.fixture
def perf_summary(request) -> list:
    return request.config._sinelstm.perf


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config._sinelstm.perf
    if lines:
        terminalreporter.write_sep("=", "sinelstm performance targets")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    """Release the results file, gate the run against its baseline, write the report."""
    state = session.config._sinelstm
    if state.lock is None:
        return
    state.lock.__exit__(None, None, None)
    state.lock = None
    if not state.out.exists():
        return
    from sinelstm.cli import gate_run, write_report

    lines: list[str] = []
    every = {cell_id(cell) for cell in state.grid.cells()}
    only = None if state.selected == every else state.selected
    try:
        if state.gate:
            state.gate_status = gate_run(state.out, state.baseline, state.gate_config, only, lines.append)
        report = write_report(state.out, state.baseline if state.gate else None, state.gate_config)
        lines.append(f"report: {report}")
    except ResultsError as error:
        lines.append(f"sinelstm: error: {error}")
        state.gate_status = 2
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "sinelstm gate")
        for line in lines:
            reporter.write_line(line)
    if state.gate_status:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
