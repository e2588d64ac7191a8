"""Seeds trained together: each member's metrics are those of its seed trained alone."""

from __future__ import annotations

import numpy as np
import pytest

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.sweep.rows import METRIC_COLUMNS
from sinelstm.verdict.rules import ReproductionRules

pytest.importorskip("tensorflow")

from sinelstm.experiment.batched import batchable  # noqa: E402
from sinelstm.experiment.run import measure, run_experiment, train_members  # noqa: E402
from sinelstm.sweep.runner import batches  # noqa: E402

# The gate's own reproduction tolerance: a batched member must pass the gate's
# reproduction tier against its seed trained alone.
RULES = ReproductionRules()
GATED = METRIC_COLUMNS  # every metric and canary of a row

# Small and fast, yet every path taken: 158 training windows in batches of 64 (two full
# batches and a partial one, so each member's own shuffle matters), and a patience of 3
# over 12 epochs, so that members stop early at different epochs.
TINY = ExperimentConfig(length=201, window=10, hidden=8, epochs=12, batch_size=64, patience=3, horizon=300)


# Metrics of the forecast's shape, which a flat forecast (the wave gone: last period's
# amplitude under 1e-3) leaves to float noise: the log of a vanishing amplitude, the
# zero crossings of a constant. Compared only where the forecast still holds a wave.
SHAPE = ("amp_ratio", "decay_per_period", "period_est", "phase_drift")


def differences(together, alone) -> list[str]:
    found = []
    for a, b in zip(together, alone, strict=True):
        flat = not float(b.metrics["amp_last"]) >= 1e-3
        for metric in GATED:
            if flat and metric in SHAPE:
                continue
            if not RULES.same(metric, b.metrics[metric], a.metrics[metric]):
                found.append(f"{metric}: {a.metrics[metric]} batched vs {b.metrics[metric]} alone")
    return found


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn", "lstm-block"])
def test_batched_members_match_their_seeds_trained_alone(model):
    model, _, implementation = model.partition("-")
    base = TINY.replace(model=model, trainer="batched", implementation=implementation or "keras").validate()
    cells = [base.replace(seed=seed) for seed in range(3)]
    together = [measure(trained) for trained in train_members(cells)]
    alone = [run_experiment(cell.replace(trainer="loop")) for cell in cells]
    assert differences(together, alone) == []
    # The members really were trained, and differently: their own data and initial weights.
    assert len({result.metrics["init_weights"] for result in together}) == 3


def test_a_stopped_member_no_longer_changes_while_others_train():
    cells = [TINY.replace(seed=seed, trainer="batched", epochs=30, patience=2) for seed in range(4)]
    trained = train_members(cells)
    runs = [t.training.epochs_run for t in trained]
    # Early stopping ended the members at different epochs, each as the loop trainer ends it.
    assert len(set(runs)) > 1, runs
    alone = [run_experiment(cell.replace(trainer="loop")).training.epochs_run for cell in cells]
    assert runs == alone


def test_a_member_is_the_same_whatever_its_co_members():
    # Through the batched arithmetic itself (a batch of one in a grid is the loop trainer):
    # seed 1 trained as the only member, and as one of three.
    from sinelstm.experiment import run
    from sinelstm.experiment.batched import train_batched

    cells = [TINY.replace(seed=seed, trainer="batched") for seed in range(3)]
    prepared = [run._prepared(cell) for cell in cells]
    inputs = np.stack([one[1] for one in prepared])
    targets = np.stack([one[2] for one in prepared])
    together = train_batched([one[3] for one in prepared], inputs, targets, cells)[1]
    alone_model = run._prepared(cells[1])[3]
    alone = train_batched([alone_model], inputs[1:2], targets[1:2], cells[1:2])[0]
    assert alone.epochs_run == together.epochs_run and alone.best_epoch == together.best_epoch
    for ours, theirs in zip(alone.history["val_loss"], together.history["val_loss"], strict=True):
        assert RULES.same("val_loss", theirs, ours)
    for mine, batch in zip(alone_model.get_weights(), prepared[1][3].get_weights(), strict=True):
        np.testing.assert_allclose(mine, batch, rtol=1e-4, atol=1e-5)


def test_members_must_share_their_config_but_the_seed():
    with pytest.raises(ValueError, match="seed, epochs and patience only"):
        train_members([TINY.replace(trainer="batched"), TINY.replace(trainer="batched", hidden=4, seed=1)])


def test_what_batches_and_how_the_grid_packs_it():
    assert batchable(TINY.replace(trainer="batched"), "tensorflow")
    assert not batchable(TINY, "tensorflow")  # the loop trainer: one by one
    assert not batchable(TINY.replace(trainer="batched"), "jax")
    assert not batchable(TINY.replace(trainer="batched", train_rollout=4), "tensorflow")
    assert not batchable(TINY.replace(trainer="batched", model="cnn1d"), "tensorflow")
    assert not batchable(TINY.replace(trainer="batched", implementation="fused"), "tensorflow")
    # As a grid holds them: validated, a GRU's and a SimpleRNN's implementation is "".
    for model in ("gru", "rnn"):
        assert batchable(TINY.replace(trainer="batched", model=model).validate(), "tensorflow")
    small = [TINY.replace(trainer="batched", seed=seed) for seed in range(6)]
    big = [TINY.replace(trainer="batched", hidden=300, length=601, window=50, seed=seed) for seed in range(6)]
    units = batches(small + big, workers=2)
    # Every cell once; the small config's seeds together, the big one's alone (one of its
    # seeds already costs more than a quarter of the grid's share per worker).
    assert {cell for unit in units for cell in unit} == set(small + big)
    assert sum(len(unit) for unit in units) == 12
    assert (tuple(small),) == tuple(unit for unit in units if unit[0].hidden == 8)
    assert all(len(unit) == 1 for unit in units if unit[0].hidden == 300)
    # A batch's activations stay under the memory cap: at hidden 64, window 50 and batches of
    # 300 a member keeps about 117 MB (8 tensors of 300 x 256 floats a step, 50 steps), so 4
    # members fill the 512 MB.
    wide = [ExperimentConfig(trainer="batched", hidden=64, length=601, window=50, seed=s) for s in range(10)]
    others = [ExperimentConfig(hidden=300, length=601, window=50, seed=s) for s in range(40)]  # the loop's
    assert [len(unit) for unit in batches(wide + others, workers=1) if unit[0].hidden == 64] == [4, 4, 2]
    # Cells of the loop trainer are never batched: a unit of them trains one after another.
    loop = [cell.replace(trainer="loop") for cell in small]
    assert tuple(loop) in batches(loop + [cell.replace(trainer="loop") for cell in big], workers=2)
    assert not batchable(small[0].replace(hidden=300), "tensorflow")  # a member axis buys nothing there
    # Classical cells are units of one.
    classical = [TINY.replace(model="ar", seed=seed).validate() for seed in range(3)]
    assert batches(classical) == [(cell,) for cell in classical]


def test_a_unit_trained_one_after_another_fails_only_the_cell_that_crashed(monkeypatch):
    """The loop trainer's seeds share a unit (one worker, one template) but not a fate."""
    from sinelstm.experiment import run
    from sinelstm.sweep.runner import run_batch

    original = run._train_alone

    def crash_on_seed_1(cfg, *rest):
        if cfg.seed == 1:
            raise RuntimeError("out of memory")
        return original(cfg, *rest)

    monkeypatch.setattr(run, "_train_alone", crash_on_seed_1)
    cells = tuple(TINY.replace(seed=seed) for seed in range(3))
    results = run_batch(cells, "run")
    assert [r.row["status"] for r in results] == ["ok", "failed", "ok"]
    assert "out of memory" in results[1].row["error"]


def test_a_batch_that_cannot_train_fails_every_cell_in_it(monkeypatch):
    from sinelstm.experiment import run
    from sinelstm.sweep.runner import run_batch

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(run, "batched_checkpoints", broken)
    cells = tuple(TINY.replace(trainer="batched", seed=seed) for seed in range(2))
    results = run_batch(cells, "run")
    assert [r.row["status"] for r in results] == ["failed", "failed"]
    assert all("out of memory" in r.row["error"] for r in results)
