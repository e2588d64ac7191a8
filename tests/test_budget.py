"""Training budgets: the cells of several epoch caps and patiences from one run, handed on
at each, are the cells of each trained alone; steps and convergence are recorded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sinelstm.experiment.config import ExperimentConfig, steps_per_epoch
from sinelstm.experiment.metrics import loss_drift
from sinelstm.sweep.grid import cell_id
from sinelstm.sweep.rows import METRIC_COLUMNS
from sinelstm.verdict.rules import ReproductionRules

pytest.importorskip("tensorflow")

from sinelstm.experiment.run import measure, train_members  # noqa: E402
from sinelstm.sweep.runner import batches, run_batch  # noqa: E402

RULES = ReproductionRules()
# 158 training windows in batches of 64: three steps an epoch, each member's shuffle counts.
TINY = ExperimentConfig(length=201, window=10, hidden=8, epochs=8, batch_size=64, patience=100, horizon=300)


def _differences(got, want) -> list[str]:
    return [
        f"{a.config.epochs} epochs, seed {a.config.seed}: {metric} {a.metrics[metric]} vs {b.metrics[metric]}"
        for a, b in zip(got, want, strict=True)
        for metric in METRIC_COLUMNS
        if not RULES.same(metric, b.metrics[metric], a.metrics[metric])
    ]


def _each_cap_alone(cells):
    """Each cap's cells trained on their own (its seeds together, as the batched trainer
    does), in cells' order."""
    results = {}
    for cap in dict.fromkeys((cell.epochs, cell.patience) for cell in cells):
        same = [cell for cell in cells if (cell.epochs, cell.patience) == cap]
        results.update(zip(same, train_members(same, measure), strict=True))
    return [results[cell] for cell in cells]


@pytest.mark.parametrize("trainer,rollout", [("batched", 1), ("loop", 1), ("loop", 2)])
def test_a_checkpoint_is_its_cap_trained_alone(trainer, rollout):
    base = TINY.replace(trainer=trainer, train_rollout=rollout, implementation="keras").validate()
    cells = [base.replace(seed=seed, epochs=epochs) for seed in (0, 1) for epochs in (3, 8)]
    handed_on = train_members(cells, measure)
    alone = _each_cap_alone(cells)
    assert [r.config for r in handed_on] == cells
    assert _differences(handed_on, alone) == []
    # The caps really differ: the longer run went on training.
    assert handed_on[0].metrics["train_loss"] != handed_on[1].metrics["train_loss"]
    assert [r.metrics["steps_run"] for r in handed_on] == [9, 24, 9, 24]


def test_a_run_stopped_early_hands_its_end_to_the_caps_it_did_not_reach():
    base = TINY.replace(trainer="batched", patience=1, implementation="keras").validate()
    cells = [base.replace(seed=seed, epochs=epochs) for seed in (0, 1) for epochs in (2, 40)]
    handed_on = train_members(cells, measure)
    alone = _each_cap_alone(cells)
    assert _differences(handed_on, alone) == []
    assert all(r.metrics["epochs_run"] < 40 for r in handed_on[1::2])  # stopped before the cap


@pytest.mark.parametrize("trainer", ["batched", "loop"])
def test_early_stopping_is_read_from_a_run_with_more_patience(trainer):
    """An early-stopped cell is the snapshot of a longer run with early stopping off where its
    patience ran out, each member at its own epoch: one run serves both."""
    base = TINY.replace(trainer=trainer, implementation="keras").validate()
    seeds = (0, 1, 2)
    cells = [base.replace(seed=seed, epochs=e, patience=p) for seed in seeds for e, p in ((30, 1), (40, 100))]
    handed_on = train_members(cells, measure)
    alone = _each_cap_alone(cells)
    assert _differences(handed_on, alone) == []
    stopped = [r.metrics["epochs_run"] for r in handed_on[0::2]]
    assert min(stopped) < 30 and all(r.metrics["epochs_run"] == 40 for r in handed_on[1::2])
    # One run a seed: the runner puts both marks of a seed in one unit.
    assert all(len({(c.epochs, c.patience) for c in unit}) == 2 for unit in batches(cells, workers=1))


def test_several_caps_without_a_handler_are_refused():
    cells = [TINY.replace(epochs=3), TINY.replace(epochs=8)]
    with pytest.raises(ValueError, match="several marks"):
        train_members(cells)


def test_a_unit_holds_every_cap_of_its_seeds_and_rows_come_back_in_order():
    base = TINY.replace(trainer="batched", implementation="keras", epochs=4).validate()
    cells = [base.replace(seed=seed, epochs=epochs) for seed in range(3) for epochs in (2, 4)]
    units = batches(cells, workers=2)
    assert sorted(map(cell_id, (cell for unit in units for cell in unit))) == sorted(map(cell_id, cells))
    for unit in units:  # a seed's caps never split across units
        for cell in unit:
            assert cell.replace(epochs=2) in unit and cell.replace(epochs=4) in unit
    results = run_batch(units[0], "run")
    assert [r.row["cell"] for r in results] == [cell_id(c) for c in units[0]]
    assert all(r.ok for r in results)


def test_a_budgeted_cell_is_named_by_its_optimizer_steps():
    cell = ExperimentConfig(length=601, window=50, hidden=64, epochs=500, patience=4000)
    assert steps_per_epoch(cell) == 2  # 495 training windows in batches of 300
    assert cell_id(cell) == "window50-length601-hidden64-steps1000-seed0"
    # The article's early stopping, and a short test cell, keep their names.
    assert "steps" not in cell_id(ExperimentConfig()) and "steps" not in cell_id(TINY.replace(patience=20))


def test_loss_drift_reads_a_flat_a_falling_and_a_short_curve():
    assert loss_drift(np.full(300, 0.01), 1) == 0.0
    falling = 0.01 * np.exp(-np.arange(300) / 100)  # falls by e over 100 steps
    assert loss_drift(falling, 1) == pytest.approx(math.e - 1, rel=0.05)
    # 2 steps an epoch: the last 100 steps are 50 epochs.
    assert loss_drift(0.01 * np.exp(-np.arange(300) / 50), 2) == pytest.approx(math.e - 1, rel=0.05)
    # Shorter than 100 steps: its whole fall.
    assert loss_drift(np.linspace(1.0, 0.5, 20), 1) > 0.5
    assert math.isnan(loss_drift([0.1, float("nan")], 1))


def test_on_jax_each_checkpoint_forecasts_with_its_own_weights(tmp_path):
    """JAX's jit takes a model's weights in as constants: a checkpoint's forecast must not
    reuse the rollout compiled at an earlier cap (it did: two caps, one forecast)."""
    import subprocess
    import sys

    pytest.importorskip("jax")
    from helpers import child_environment

    script = (
        "from sinelstm.experiment.config import ExperimentConfig\n"
        "from sinelstm.experiment.run import measure, train_members\n"
        "base = ExperimentConfig(length=201, window=10, hidden=8, batch_size=64, patience=100, horizon=300,"
        " trainer='loop', implementation='keras')\n"
        "cells = [base.replace(epochs=e) for e in (2, 6)]\n"
        "a, b = train_members(cells, measure)\n"
        "print(a.metrics['forecast_rmse'], b.metrics['forecast_rmse'])\n"
        "print(a.metrics['train_loss'] != b.metrics['train_loss'], (a.forecast != b.forecast).any())\n"
    )
    env = {**child_environment(), "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True True", done.stdout
