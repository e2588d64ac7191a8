"""The whole pipeline on a tiny config: smoke, determinism, engine equivalence."""

import csv
import dataclasses
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from sinelstm.cli import main
from sinelstm.experiment import models
from sinelstm.experiment.forecast import rollout
from sinelstm.experiment.run import run_experiment
from sinelstm.sweep.rows import COLUMNS, METRIC_COLUMNS, SCHEMA_VERSION

pytestmark = pytest.mark.slow

ENGINE_TOL = 1e-5


def metric_values(row):
    return {name: row[name] for name in METRIC_COLUMNS}


def same(a, b):
    return all((isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_run_command_writes_everything(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--out", str(out)] + [
        f"--{name.replace('_', '-')}={value}" for name, value in dataclasses.asdict(tiny).items()
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "forecast_rmse" in printed and "amp_ratio" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "fit.png",
        "forecast.csv",
        "forecast.png",
        "run.csv",
        "run.csv.lock",  # kept: deleting a lock file lets two writers hold it at once
    ]
    with open(out / "run.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and tuple(rows[0]) == COLUMNS
    row = rows[0]
    assert row["schema_version"] == str(SCHEMA_VERSION) and row["status"] == "ok"
    assert row["window"] == "8" and row["hidden"] == "4" and row["seed"] == "0"
    assert row["keras"] and row["backend"] == "tensorflow" and row["cpu"] and row["machine"]
    assert 1 <= int(row["epochs_run"]) <= tiny.epochs
    assert float(row["fit_rmse_clean"]) >= 0 and float(row["forecast_ms_per_step"]) > 0
    with open(out / "forecast.csv") as handle:
        forecast = list(csv.DictReader(handle))
    assert len(forecast) == tiny.horizon and list(forecast[0]) == ["x", "truth", "forecast"]
    assert forecast[0]["x"] == str(tiny.length)  # the first forecast value is for x = length
    for name in ("fit.png", "forecast.png"):
        assert (out / name).stat().st_size > 5_000  # a palette PNG; a blank one is about 1 KB


def test_same_seed_same_metrics_in_one_process(tiny):
    first = run_experiment(tiny)
    second = run_experiment(tiny)
    assert same(metric_values(first.metrics), metric_values(second.metrics))
    np.testing.assert_array_equal(first.forecast, second.forecast)
    other = run_experiment(tiny.replace(seed=1))
    assert not np.array_equal(first.forecast, other.forecast)


CHILD = """
import json, sys
from sinelstm.experiment.config import ExperimentConfig
from sinelstm.experiment.run import run_experiment
from sinelstm.sweep.rows import METRIC_COLUMNS
row = run_experiment(ExperimentConfig(**json.loads(sys.argv[1]))).metrics
print(json.dumps({k: row[k] for k in METRIC_COLUMNS}))
"""


def test_same_seed_same_metrics_across_processes(tiny):
    config = json.dumps(dataclasses.asdict(tiny))
    outputs = [
        subprocess.run([sys.executable, "-c", CHILD, config], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1]
    here = metric_values(run_experiment(tiny).metrics)
    assert same(json.loads(outputs[0]), here)


@pytest.mark.parametrize("implementation", ["keras", "block"])
def test_a_cell_trained_on_the_shared_template_matches_it_trained_alone(tiny, monkeypatch, implementation):
    """The loop trains through one compiled template per architecture: a cell trained
    there after another cell gets exactly the curves, weights and metrics it gets trained
    alone on its own model (fresh optimizer state, its own weights, nothing carried over)."""
    from sinelstm.experiment import train

    cfg = tiny.replace(
        hidden=8, length=120, batch_size=32, epochs=6, patience=6, implementation=implementation
    )
    monkeypatch.setattr(train, "_TRAINEES", {})
    monkeypatch.setattr(train, "shareable", lambda model: False)
    alone = run_experiment(cfg, keep_model=True)
    assert train._TRAINEES == {}
    monkeypatch.setattr(train, "shareable", models.shareable)
    run_experiment(cfg.replace(seed=5))  # trains the template first, with other weights
    run_experiment(cfg.replace(window=12))  # another input shape: a template of its own
    shared = run_experiment(cfg, keep_model=True)
    assert len(train._TRAINEES) == 2
    assert all(shared.model is not trainee for trainee, _, _ in train._TRAINEES.values())
    assert shared.training.history == alone.training.history
    for expected, got in zip(alone.model.get_weights(), shared.model.get_weights(), strict=True):
        np.testing.assert_array_equal(expected, got)
    assert same(metric_values(alone.metrics), metric_values(shared.metrics))
    np.testing.assert_array_equal(alone.forecast, shared.forecast)


def test_dropout_trains_on_the_template_as_on_its_own_model(tiny, monkeypatch):
    """A model that draws random numbers in training (dropout): its seed state goes into the
    template with its weights, so its masks are its own, not the template's last cell's."""
    import keras

    from sinelstm.experiment import train
    from sinelstm.experiment.models import compile_model

    cfg = tiny.replace(epochs=3, patience=3, batch_size=16)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(40, cfg.window, 1)).astype("float32")
    targets = rng.normal(size=(40, 1)).astype("float32")

    def model(seed):
        keras.utils.set_random_seed(seed)
        layers = [keras.Input((cfg.window, 1)), keras.layers.LSTM(4, dropout=0.3), keras.layers.Dense(1)]
        return compile_model(keras.Sequential(layers), cfg)

    monkeypatch.setattr(train, "_TRAINEES", {})
    monkeypatch.setattr(train, "shareable", lambda model: False)
    alone = model(1)
    expected = train.train(alone, inputs, targets, cfg).history
    monkeypatch.setattr(train, "shareable", models.shareable)
    train.train(model(2), inputs, targets, cfg)
    again = model(1)
    assert train.train(again, inputs, targets, cfg).history == expected
    assert len(train._TRAINEES) == 1
    for one, other in zip(alone.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(one, other)


def test_predict_and_compiled_engines_agree_on_a_trained_model(tiny):
    result = run_experiment(tiny.replace(hidden=16, epochs=5), keep_model=True)
    history = result.series[-tiny.window :]
    by_predict = rollout(result.model, history, tiny.horizon, "predict")
    np.testing.assert_allclose(result.forecast, by_predict, atol=ENGINE_TOL, rtol=0)
    assert np.ptp(by_predict) > 0  # a forecast that moves, not a constant


def test_predict_engine_config_runs(tiny):
    result = run_experiment(tiny.replace(engine="predict", horizon=5))
    assert result.config.engine == "predict" and result.timings["forecast_s"] > 0


JAX_CHILD = """
import json, sys
import numpy as np
from sinelstm.experiment.config import ExperimentConfig
from sinelstm.experiment.run import run_experiment
from sinelstm.experiment.forecast import rollout
cfg = ExperimentConfig(**json.loads(sys.argv[1]))
result = run_experiment(cfg, keep_model=True)
by_predict = rollout(result.model, result.series[-cfg.window:], cfg.horizon, "predict")
again = run_experiment(cfg).metrics
import keras
print(json.dumps({"backend": keras.backend.backend(),
                  "engine_diff": float(np.abs(by_predict - result.forecast).max()),
                  "same": again["forecast_rmse"] == result.metrics["forecast_rmse"],
                  "rmse": result.metrics["forecast_rmse"]}))
"""


def test_jax_backend_runs_and_agrees(tiny):
    pytest.importorskip("jax")
    config = json.dumps(dataclasses.asdict(tiny.replace(hidden=16, epochs=5)))
    done = subprocess.run(
        [sys.executable, "-c", JAX_CHILD, config],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert report["engine_diff"] <= ENGINE_TOL
    assert report["same"] and math.isfinite(report["rmse"])
