"""The benchmark grid as a pytest-benchmark suite.

`pytest bench --benchmark-only [--grid quick]` runs every cell of a named grid
as one benchmark each: pytest-benchmark times the runner's own cell code
(sinelstm.sweep.runner.run_cell: train, forecast, measure), each cell's row
is appended to the results CSV as soon as it is done, and the run is gated
against the committed baseline at the end: a failing gate fails the session. The
grid's wall time (first cell to last) is kept beside the results (RUN.grid.json) and set
against the grid's arithmetic floor on one core.

Cells compute with one thread, as `sinelstm bench`'s workers do (the environment is
set here, before numpy or TensorFlow start a thread pool): the same numerics, and an
epoch's floor ratio measured the same way on either path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sinelstm.runtime import raise_priority, worker_env  # noqa: E402 - imports nothing heavy

# A worker's environment, as `sinelstm bench`'s workers get it: one thread, and the
# driver's own XLA flags kept (an instruction-set cap, --xla_cpu_max_isa, applies here too).
os.environ.update(worker_env())
# The cells run in this process: it takes a worker's priority too, where the OS allows, so
# that a busy neighbour does not move the timings the gate judges.
raise_priority()

from sinelstm.experiment.config import ConfigError  # noqa: E402
from sinelstm.sweep.grid import cell_id  # noqa: E402
from sinelstm.sweep.runner import new_run_id, set_aside  # noqa: E402
from sinelstm.sweep.store import ResultsError, ResultsLock, read_results  # noqa: E402
from sinelstm.verdict.rules import GateConfigError  # noqa: E402
from sinelstm.workflow import (  # noqa: E402
    UsageError,
    add_grid_options,
    check_writable,
    default_paths,
    forget_grid,
    grid_from_options,
    load_gate,
)


@dataclass
class BenchState:
    grid: object
    out: Path
    baseline: Path
    gate: object  # the gate's rules, None with --no-gate
    run_id: str = field(default_factory=new_run_id)
    selected: set = field(default_factory=set)
    lock: ResultsLock | None = None
    gate_status: int | None = None
    perf: list = field(default_factory=list)  # one line per perf target, printed at the end
    wall: object = None  # the grid's wall clock (sinelstm.workflow.GridWall), from the first cell on


def pytest_addoption(parser):
    group = parser.getgroup("sinelstm", "sinelstm benchmark grid")
    add_grid_options(group.addoption)
    group.addoption("--results", help="results CSV (results/latest.csv or latest-GRID.csv)")
    group.addoption("--baseline", help="baseline CSV (results/baseline.csv or baseline-GRID.csv)")
    group.addoption("--gate-config", help="pyproject.toml with [tool.sinelstm.gate]")
    group.addoption("--no-gate", action="store_true", help="skip the gate")
    group.addoption("--tier", choices=("auto", "statistical"), default="auto", help="the gate's tier (auto)")
    group.addoption("--link-base", help="absolute URL of the results folder, for the summary's figure links")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    # Everything that can be checked is checked before anything runs (pytest exits 4 on a
    # usage error): the grid, the gate's rules, the baseline, the output folder.
    try:
        grid = grid_from_options(config.getoption)
        gate = None if config.getoption("no_gate") else load_gate(config.getoption("gate_config"))
        from sinelstm.runtime import backend

        latest, baseline = default_paths(grid.name, backend())
        out = Path(config.getoption("results") or latest)
        baseline = Path(config.getoption("baseline") or baseline)
        if gate is not None and not config.option.collectonly:
            read_results(baseline)
        check_writable(out.parent, "--results")
    except ConfigError as error:
        raise pytest.UsageError(f"{error.flag}: got {error.got!r}; {error.accepts}") from None
    except (GateConfigError, ResultsError, UsageError) as error:
        raise pytest.UsageError(str(error)) from None
    config._sinelstm = BenchState(grid=grid, out=out, baseline=baseline, gate=gate)


def pytest_benchmark_update_machine_info(config, machine_info):
    """pytest-benchmark's machine record gains the fingerprint the gate compares timings by,
    and the stack the reproduction tier compares metrics by."""
    from sinelstm.sweep.provenance import provenance

    machine_info["sinelstm"] = {key: str(value) for key, value in provenance().items() if key != "utc_time"}


def pytest_generate_tests(metafunc):
    if "cell" in metafunc.fixturenames:
        cells = metafunc.config._sinelstm.grid.cells()
        metafunc.parametrize("cell", cells, ids=[cell_id(cell) for cell in cells])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The perf-marked tests run when a mark expression kept them (`-m perf`), or when the
    selection kept nothing else (`-k perf_training`); a plain run, or a -k that picks grid
    cells (`-k "not seed1"`), leaves them out. Then note which cells remain: the gate
    judges those."""
    perf = [item for item in items if item.get_closest_marker("perf") is not None]
    alone = len(perf) == len(items)
    if perf and not config.getoption("markexpr") and not alone:
        config.hook.pytest_deselected(items=perf)
        items[:] = [item for item in items if item.get_closest_marker("perf") is None]
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
    forget_grid(state.out)
    from sinelstm.workflow import GridWall

    # The cells run one after another in this process: one core.
    state.wall = GridWall(state.out, state.grid.name, 1, resume=False)


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
    """Gate the run against its baseline and write the report (the gate judged once), then
    release the results file. Every error it meets is one line and a failed session:
    pytest's exit status 1 for a failed gate or an unreadable file, 3 for anything else."""
    state = session.config._sinelstm
    if state.lock is None:
        return
    from sinelstm.sweep.executors import LocalExecutor
    from sinelstm.workflow import Output, gate_and_report, record_history, report_grid, seed_runner

    lines: list[str] = []
    every = {cell_id(cell) for cell in state.grid.cells()}
    only = None if state.selected == every else state.selected
    try:
        if state.out.exists():
            baseline = state.baseline if state.gate is not None else None
            tier = session.config.getoption("tier")
            # pytest -v: the full gate table; -q (CI's habit) still prints the summary.
            verbosity = 1 if session.config.getoption("verbose") > 0 else 0
            output = Output(lines.append, verbosity, session.config.getoption("link_base"))
            report_grid(state.out, state.wall, len(state.selected), lines.append)
            record_history(state.out, state.grid, output)
            # A suspected statistical failure is rerun here, in-process, as the cells ran.
            rerun = seed_runner(state.out, LocalExecutor)
            state.gate_status = gate_and_report(
                state.out, baseline, state.gate, only, output, tier=tier, rerun=rerun
            )
    except (ResultsError, OSError) as error:
        lines.append(f"sinelstm: error: {error}")
        state.gate_status = pytest.ExitCode.TESTS_FAILED
    except Exception as error:  # noqa: BLE001 - one line, never a traceback.
        lines.append(f"sinelstm: internal error: {type(error).__name__}: {error}")
        state.gate_status = pytest.ExitCode.INTERNAL_ERROR
    finally:
        state.lock.__exit__(None, None, None)
        state.lock = None
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "sinelstm gate")
        for line in lines:
            reporter.write_line(line)
    if state.gate_status:
        session.exitstatus = max(int(state.gate_status), int(session.exitstatus))
