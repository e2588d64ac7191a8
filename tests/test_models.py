"""Every model kind: shapes, known answers, the remedy's training model, the trainers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sinelstm.experiment import kinds
from sinelstm.experiment.classical import AutoRegression, Naive, SeasonalNaive
from sinelstm.experiment.config import ConfigError, ExperimentConfig
from sinelstm.experiment.data import clean_sine
from sinelstm.experiment.forecast import rollout
from sinelstm.experiment.models import build_model, rollout_model
from sinelstm.experiment.run import run_experiment
from sinelstm.experiment.windows import make_windows
from sinelstm.sweep.grid import cell_id, make_grid
from sinelstm.sweep.rows import config_of

MODELS = kinds.builtin_names()
KERAS_MODELS = tuple(name for name in MODELS if kinds.lookup(name).is_network)
CLASSICAL_MODELS = tuple(name for name in MODELS if not kinds.lookup(name).is_network)


def test_every_model_kind_is_listed_once():
    assert set(MODELS) == {"lstm", "gru", "rnn", "cnn1d", "ar", "naive", "seasonal-naive"}
    assert len(MODELS) == len(set(MODELS))


@pytest.mark.parametrize("kind", KERAS_MODELS)
def test_keras_models_map_windows_to_one_value(kind, tiny):
    model = build_model(tiny.replace(model=kind))
    assert model.predict(np.zeros((5, tiny.window, 1), np.float32), verbose=0).shape == (5, 1)


def test_cnn1d_is_the_published_architecture(tiny):
    model = build_model(tiny.replace(model="cnn1d", window=50, length=120))
    kinds = [
        (type(layer).__name__, getattr(layer, "filters", None) or getattr(layer, "units", None))
        for layer in model.layers
    ]
    assert kinds == [
        ("Conv1D", 30),
        ("MaxPooling1D", None),
        ("Conv1D", 10),
        ("MaxPooling1D", None),
        ("Flatten", None),
        ("Dense", 300),
        ("Dense", 1),
    ]
    assert model.layers[-1].activation.__name__ == "tanh"
    assert all(layer.padding == "same" for layer in model.layers[:4])


def test_hidden_is_not_applicable_outside_the_recurrent_models():
    assert ExperimentConfig(model="cnn1d", hidden=64).hidden == 0
    assert ExperimentConfig(model="ar", hidden=64, train_rollout=5).train_rollout == 1
    assert ExperimentConfig(model="gru", hidden=64).hidden == 64
    with pytest.raises(ConfigError, match="hidden"):
        ExperimentConfig(model="rnn", hidden=0).validate()


def test_ar_forecasts_a_noiseless_sine_to_1e6_over_400_steps():
    # sin obeys y[t] = 2 cos(w) y[t-1] - y[t-2]: least squares finds an exact recurrence.
    for window in (2, 25, 50):
        result = run_experiment(ExperimentConfig(model="ar", noise=0.0, window=window, horizon=400))
        assert result.forecast.shape == (400,)
        assert np.max(np.abs(result.forecast - result.truth)) < 1e-6, window


def test_ar_recovers_the_two_term_recurrence():
    w = 2 * np.pi / 100
    series = clean_sine(np.arange(201), 100.0)
    inputs, targets = make_windows(series, 2, dtype=np.float64)
    model = AutoRegression(ExperimentConfig(model="ar", window=2))
    model.fit(inputs, targets, n_train=150)
    np.testing.assert_allclose(model.coef, [-1.0, 2 * np.cos(w)], atol=1e-9)
    assert abs(model.intercept) < 1e-9


def test_naive_and_seasonal_naive_known_answers():
    series = np.arange(30.0)
    inputs, targets = make_windows(series, 5, dtype=np.float64)
    naive = Naive(ExperimentConfig(model="naive", window=5, length=30))
    naive.fit(inputs, targets, 20)
    np.testing.assert_array_equal(naive.predict(inputs), series[4:-1])
    np.testing.assert_array_equal(naive.rollout(series[None, -5:], 3), [[29, 29, 29]])
    # Period 4 fits in a window of 5: read from the window.
    seasonal = SeasonalNaive(ExperimentConfig(model="seasonal-naive", window=5, length=30, period=4))
    seasonal.fit(inputs, targets, 20)
    np.testing.assert_array_equal(seasonal.predict(inputs), series[5:] - 4)
    np.testing.assert_array_equal(seasonal.rollout(series[None, -5:], 6), [[26, 27, 28, 29, 26, 27]])
    # Period 10 does not: read from the observed series, forecasting only from its end.
    long = SeasonalNaive(ExperimentConfig(model="seasonal-naive", window=5, length=30, period=10))
    long.fit(inputs, targets, 20)
    np.testing.assert_array_equal(long.predict(inputs)[5:], series[10:] - 10)
    np.testing.assert_array_equal(long.rollout(series[None, -5:], 12), [np.r_[20:30, 20:22]])
    with pytest.raises(ValueError, match="end of its series"):
        long.rollout(series[None, :5], 3)


def test_seasonal_naive_repeats_the_period_of_a_clean_sine():
    result = run_experiment(ExperimentConfig(model="seasonal-naive", noise=0.0, horizon=400))
    assert np.max(np.abs(result.forecast - result.truth)) < 1e-12


@pytest.mark.parametrize("kind", CLASSICAL_MODELS)
def test_classical_models_go_through_every_engine_alike(kind):
    result = run_experiment(ExperimentConfig(model=kind, horizon=200))
    history = result.series[-result.config.window :]
    assert result.config.hidden == 0 and result.metrics["epochs_run"] == 1
    np.testing.assert_array_equal(
        rollout(build_fitted(result.config), history, 200, "predict"), result.forecast
    )


def build_fitted(cfg):
    from sinelstm.experiment.data import noisy_sine

    model = build_model(cfg)
    inputs, targets = make_windows(
        noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed), cfg.window, dtype=np.float64
    )
    model.fit(inputs, targets, int(len(inputs) * 0.9))
    return model


def test_rollout_model_feeds_predictions_back_and_shares_weights(tiny):
    cfg = tiny.replace(train_rollout=3)
    base = build_model(cfg)
    unrolled = rollout_model(base, cfg)
    windows = np.random.default_rng(0).normal(size=(4, cfg.window, 1)).astype(np.float32)
    out = np.asarray(unrolled.predict(windows, verbose=0))
    assert out.shape == (4, 3)
    # Step by step with the base model gives the same three values.
    current = windows.copy()
    for step in range(3):
        value = base.predict(current, verbose=0)
        np.testing.assert_allclose(out[:, step], value[:, 0], atol=1e-5)
        current = np.concatenate([current[:, 1:], value[:, :, None]], axis=1)
    assert {id(v) for v in unrolled.trainable_variables} == {id(v) for v in base.trainable_variables}


@pytest.mark.parametrize("trainer", ["loop", "fit"])
def test_both_trainers_stop_by_the_early_stopping_rule(trainer, tiny):
    cfg = tiny.replace(trainer=trainer, epochs=30, patience=2, learning_rate=1e-6)
    training = run_experiment(cfg).training
    val = np.asarray(training.history["val_loss"])
    assert len(val) == training.epochs_run == len(training.epoch_seconds)
    # Keras' rule: stop at the first epoch with `patience` epochs since the best, or at the last.
    best_so_far = np.minimum.accumulate(val)
    since = [
        epoch - int(np.flatnonzero(val[: epoch + 1] == best_so_far[epoch])[0]) for epoch in range(len(val))
    ]
    stops = [e for e in range(1, len(val)) if since[e] >= cfg.patience]
    assert (stops[0] + 1 if stops else cfg.epochs) == training.epochs_run


def test_remedy_runs_and_is_recorded(tiny):
    result = run_experiment(tiny.replace(train_rollout=4))
    assert result.config.train_rollout == 4 and result.forecast.shape == (tiny.horizon,)


def test_grid_holds_each_classical_cell_once_and_names_it():
    grid = make_grid("quick", model="lstm,ar", hidden="8,16", train_rollout="1,4", seed="0")
    ids = [cell_id(c) for c in grid.cells()]
    assert len(ids) == len(set(ids))
    assert "ar-window25-length201-seed0" in ids and "window25-length201-hidden16-train_rollout4-seed0" in ids
    assert sum(i.startswith("ar-") for i in ids) == 4  # 2 windows x 2 lengths; hidden and remedy do not apply
    with pytest.raises(ConfigError, match="model"):
        make_grid("quick", model="lstm,transformer")


def test_the_speedup_cell_is_a_network():
    assert make_grid("quick", model="ar,cnn1d,lstm").speedup_cell().model == "cnn1d"
    assert make_grid("quick", model="ar,naive").speedup_cell() is None
    cell = make_grid("quick", model="gru", hidden="8,32").speedup_cell()
    assert (cell.model, cell.window, cell.hidden) == ("gru", 25, 32)


def test_config_of_reads_an_empty_hidden_as_not_applicable():
    cfg = ExperimentConfig(model="ar")
    row = {**{k: v for k, v in vars(cfg).items()}, "hidden": float("nan")}
    assert config_of(row) == cfg


@pytest.mark.parametrize("kind", ["ar", "cnn1d"])
def test_sinelstm_run_takes_every_model(kind, tmp_path, capsys):
    from sinelstm.cli import main

    out = tmp_path / kind
    args = ["run", "--model", kind, "--length", "120", "--window", "20", "--epochs", "3", "--horizon", "50"]
    assert main(args + ["--out", str(out)]) == 0
    row = pd.read_csv(out / "run.csv").iloc[0]
    assert row["model"] == kind and pd.isna(row["hidden"])
    assert "forecast_rmse" in capsys.readouterr().out


class ScriptedModel:
    """A stand-in for a Keras model whose validation losses are known in advance."""

    def __init__(self, val_losses):
        self.val_losses = list(val_losses)
        self.epoch = -1

    def train_on_batch(self, x, y):
        self.epoch += 1
        return 1.0

    def test_on_batch(self, x, y):
        return self.val_losses[self.epoch]


def test_loop_trainer_applies_keras_early_stopping_rule(tiny):
    from sinelstm.experiment.train import train

    inputs = np.zeros((50, tiny.window, 1), np.float32)
    targets = np.zeros((50, 1), np.float32)
    cfg = tiny.replace(epochs=10, patience=2, batch_size=300)
    # best 0.5 at epoch 2; epochs 3 and 4 do not improve: patience 2 is used up, stop after 4.
    result = train(ScriptedModel([1.0, 0.5, 0.6, 0.7, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1]), inputs, targets, cfg)
    assert (result.epochs_run, result.best_epoch, result.val_loss) == (4, 2, 0.5)
    # An equal loss is no improvement either (Keras compares with <).
    result = train(ScriptedModel([1.0, 1.0, 1.0] + [0.1] * 7), inputs, targets, cfg)
    assert result.epochs_run == 3
    # Patience 0: the first epoch never stops; the first non-improving one after it does.
    result = train(ScriptedModel([1.0, 0.9, 0.95] + [0.1] * 7), inputs, targets, cfg.replace(patience=0))
    assert result.epochs_run == 3
