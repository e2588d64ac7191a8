"""One benchmark per grid cell: pytest-benchmark times the runner's own cell code; the gate
runs at the session's end."""

from __future__ import annotations

from sinelstm.sweep.rows import METRIC_COLUMNS
from sinelstm.sweep.runner import record, run_cell


def test_cell(benchmark, bench_state, cell):
    benchmark.group = "cell"
    speedup = cell == bench_state.grid.speedup_cell()
    result = benchmark.pedantic(
        run_cell, args=(cell, bench_state.run_id), kwargs={"speedup": speedup}, rounds=1, iterations=1
    )
    # Results first, assertions after: a failing check never hides the numbers.
    record(bench_state.out, result)
    benchmark.extra_info.update({name: result.row.get(name) for name in METRIC_COLUMNS})
    assert result.ok, result.row["error"]
    assert 1 <= result.row["epochs_run"] <= cell.epochs
    assert len(result.forecast) == cell.horizon
