"""One fit and one forecast benchmark per grid cell; the gate runs at the session's end."""

from __future__ import annotations

import time

import numpy as np

from sinelstm.executor import CellResult
from sinelstm.experiment import DEFAULT_FORECAST_ROUNDS, history_of, result_of, train_phase
from sinelstm.forecast import rollout
from sinelstm.grid import cell_id
from sinelstm.results import METRIC_COLUMNS
from sinelstm.runner import failed_row, measure_speedup, record


def test_cell(benchmark, bench_state, cell, phase):
    import keras

    name = cell_id(cell)
    if phase == "fit":
        benchmark.group = "fit"
        try:
            trained = benchmark.pedantic(train_phase, args=(cell,), rounds=1, iterations=1)
        except Exception as error:
            record(bench_state.out, CellResult(failed_row(cell, bench_state.run_id, error)))
            raise
        bench_state.trained[name] = trained
        training = trained.training
        benchmark.extra_info.update(
            epochs_run=training.epochs_run,
            best_epoch=training.best_epoch,
            val_loss=training.val_loss,
            s_per_epoch=training.s_per_epoch,
            fit_warmup_s=training.fit_warmup_s,
        )
        assert 1 <= training.epochs_run <= cell.epochs
        return

    benchmark.group = "forecast"
    trained = bench_state.trained.pop(name, None) or train_phase(cell)
    history = history_of(trained)
    start = time.perf_counter()
    first = rollout(trained.model, history, cell.horizon, cell.engine)  # warm-up: compiles
    warmup_s = time.perf_counter() - start
    forecast = benchmark.pedantic(
        rollout,
        args=(trained.model, history, cell.horizon, cell.engine),
        rounds=max(1, DEFAULT_FORECAST_ROUNDS[cell.engine]),
        iterations=1,
    )
    stats = benchmark.stats.stats if benchmark.stats is not None else None
    median = stats.median if stats is not None else warmup_s
    cv = stats.stddev / stats.mean if stats is not None and stats.mean > 0 else float("nan")
    row = result_of(
        trained,
        forecast,
        forecast_s=median,
        forecast_warmup_s=warmup_s,
        forecast_cv=cv,
        run_id=bench_state.run_id,
    ).row
    if cell == bench_state.grid.speedup_cell():
        row.update(measure_speedup(trained.model, history, row["forecast_ms_per_step"]))
    # Results first, assertions after: a failing check never hides the numbers.
    record(bench_state.out, CellResult(row, trained.fit_predictions, forecast))
    benchmark.extra_info.update({key: row[key] for key in METRIC_COLUMNS})
    benchmark.extra_info["forecast_warmup_s"] = warmup_s
    del trained
    keras.backend.clear_session(free_memory=True)

    assert forecast.shape == (cell.horizon,)
    np.testing.assert_array_equal(forecast, first)  # the same model forecasts the same
