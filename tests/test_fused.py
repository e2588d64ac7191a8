"""The fused and block LSTMs: the same function and the same gradients as keras.layers.LSTM."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from helpers import row

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.sweep.rows import SCHEMA_VERSION
from sinelstm.sweep.store import read_results

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from sinelstm.experiment import fused  # noqa: E402
from sinelstm.experiment.fused import BlockLSTM, FusedLSTM  # noqa: E402
from sinelstm.experiment.models import build_model, rollout_model  # noqa: E402

# float32 sums in another order: outputs agree to ~1e-7, gradients to ~1e-6 of their scale.
TOL = 1e-5


LAYERS = {"fused": FusedLSTM, "block": BlockLSTM}


def pair(units: int, steps: int, inputs: int = 1, seed: int = 0, layer=FusedLSTM, **options):
    """A keras.layers.LSTM and a FusedLSTM (or `layer`) with the same (random, non-trivial) weights."""
    rng = np.random.default_rng(seed)
    reference = keras.layers.LSTM(units, **options)
    reference.build((None, steps, inputs))
    reference.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in reference.get_weights()])
    candidate = layer(units, **options)
    candidate.build((None, steps, inputs))
    candidate.set_weights(reference.get_weights())
    return reference, candidate


def output_and_gradients(layer, x, weights, training=True):
    """The layer's output and the gradients of a weighted sum of it, w.r.t. x and every weight."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=training)
        loss = tf.reduce_sum((out[0] if isinstance(out, (list, tuple)) else out) * weights)
    grads = tape.gradient(loss, [x] + [w.value for w in layer.trainable_weights])
    return out, grads


def close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max()) <= TOL * max(1.0, float(np.abs(a).max()))


def test_schema_1_files_read_as_model_fit_on_one_step_windows(tmp_path):
    """A schema-1 file (before trainer and train_rollout existed) trained with model.fit."""
    rows = [row(seed=0), row(seed=1)]
    path = tmp_path / "old.csv"
    dropped = ("implementation", "cell", "cell_key", "trainer", "train_rollout")
    columns = [name for name in rows[0] if name not in dropped]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for values in rows:
            writer.writerow({**values, "schema_version": 1})
    frame = read_results(path)
    assert list(frame["trainer"]) == ["fit", "fit"] and list(frame["train_rollout"]) == [1, 1]
    assert list(frame["implementation"]) == ["keras", "keras"]
    assert list(frame["cell"]) == [r["cell"] for r in rows]
    # Not the loop trainer's cells: another config, so another key.
    assert list(frame["cell_key"]) != [r["cell_key"] for r in rows]


@pytest.mark.parametrize("implementation, training", [("fused", True), ("block", True), ("block", False)])
@pytest.mark.parametrize(
    "batch, steps, units, inputs",
    [(7, 5, 6, 1), (3, 1, 4, 1), (1, 2, 3, 2), (16, 25, 32, 1), (5, 50, 8, 3)],
)
def test_fused_training_pass_matches_keras_lstm(batch, steps, units, inputs, implementation, training):
    reference, candidate = pair(units, steps, inputs, layer=LAYERS[implementation])
    x = np.random.default_rng(1).normal(size=(batch, steps, inputs)).astype("float32")
    weights = tf.constant(np.random.default_rng(2).normal(size=units).astype("float32"))
    assert candidate.fuses(training=training)
    out_ref, grads_ref = output_and_gradients(reference, x, weights, training)
    out_new, grads_new = output_and_gradients(candidate, x, weights, training)
    assert close(out_ref, out_new)
    names = ["inputs", "kernel", "recurrent_kernel", "bias"]
    for name, expected, got in zip(names, grads_ref, grads_new, strict=True):
        assert close(expected, got), name
        if not (name == "recurrent_kernel" and steps == 1):  # one step never uses it
            assert np.abs(np.asarray(expected)).max() > 0, name  # a gradient there to compare


def test_the_training_pass_runs_the_fused_code(monkeypatch):
    calls = []
    original = fused.fused_lstm
    monkeypatch.setattr(fused, "fused_lstm", lambda *args: calls.append(1) or original(*args))
    _, candidate = pair(4, 3)
    x = np.zeros((2, 3, 1), dtype="float32")
    candidate(x, training=False)
    assert calls == []  # inference is Keras' own code
    candidate(x, training=True)
    assert calls == [1]


def test_block_runs_its_kernel_in_training_and_inference(monkeypatch):
    calls = []
    original = fused.block_lstm
    monkeypatch.setattr(fused, "block_lstm", lambda *args: calls.append(1) or original(*args))
    _, candidate = pair(4, 3, layer=BlockLSTM)
    x = np.zeros((2, 3, 1), dtype="float32")
    candidate(x, training=False)
    candidate(x, training=True)
    assert calls == [1, 1]


@pytest.mark.parametrize("with_h", [True, False], ids=["h-and-c", "c-only"])
def test_block_state_gradient_flows_back(with_h):
    """return_state: a loss on the last cell state c_T (with h_T, or alone: no gradient
    reaches h) reaches the weights as Keras' does."""
    reference, candidate = pair(5, 4, layer=BlockLSTM, return_state=True)
    x = tf.constant(np.random.default_rng(3).normal(size=(3, 4, 1)).astype("float32"))
    grads = []
    for layer in (reference, candidate):
        with tf.GradientTape() as tape:
            _, h, c = layer(x, training=True)
            loss = tf.reduce_sum(c * c) + (tf.reduce_sum(h) if with_h else 0.0)
        grads.append(tape.gradient(loss, [w.value for w in layer.trainable_weights]))
    for expected, got in zip(*grads, strict=True):
        assert close(expected, got) and np.abs(np.asarray(expected)).max() > 0


@pytest.mark.parametrize(
    "options",
    [
        {"return_sequences": True},
        {"go_backwards": True},
        {"dropout": 0.5},
        {"activation": "relu"},
        {"use_bias": False},
    ],
    ids=lambda options: next(iter(options)),
)
@pytest.mark.parametrize("implementation", LAYERS)
def test_what_it_does_not_cover_runs_keras_code(options, implementation):
    reference, candidate = pair(5, 4, layer=LAYERS[implementation], **options)
    assert not candidate.fuses(training=True)
    if "dropout" in options:
        return  # random masks: nothing to compare
    x = np.random.default_rng(3).normal(size=(3, 4, 1)).astype("float32")
    assert close(reference(x, training=True), candidate(x, training=True))


@pytest.mark.parametrize("implementation", LAYERS)
def test_an_initial_state_runs_keras_code(implementation):
    reference, candidate = pair(5, 4, layer=LAYERS[implementation])
    x = np.random.default_rng(3).normal(size=(3, 4, 1)).astype("float32")
    state = [tf.ones((3, 5)), tf.ones((3, 5)) * 0.5]
    assert not candidate.fuses(initial_state=state, training=True)
    expected = reference(x, initial_state=state, training=True)
    assert close(expected, candidate(x, initial_state=state, training=True))


@pytest.mark.parametrize("implementation", LAYERS)
def test_return_state_gives_the_last_state(implementation):
    reference, candidate = pair(5, 4, layer=LAYERS[implementation], return_state=True)
    x = np.random.default_rng(3).normal(size=(3, 4, 1)).astype("float32")
    for expected, got in zip(reference(x, training=True), candidate(x, training=True), strict=True):
        assert close(expected, got)


def twin_models(cfg: ExperimentConfig, implementation: str = "fused"):
    """The article's model built with Keras' LSTM and with `implementation`, with the same weights."""
    keras.utils.set_random_seed(cfg.seed)
    reference = build_model(cfg.replace(implementation="keras"))
    candidate = build_model(cfg.replace(implementation=implementation))
    candidate.set_weights(reference.get_weights())
    return reference, candidate


def test_build_model_picks_the_implementation(tiny):
    reference, candidate = twin_models(tiny)
    assert type(reference.layers[0]) is keras.layers.LSTM
    assert type(candidate.layers[0]) is FusedLSTM
    assert type(twin_models(tiny, "block")[1].layers[0]) is BlockLSTM
    assert build_model(tiny.replace(model="gru")).layers[0].__class__ is keras.layers.GRU


@pytest.mark.parametrize("implementation", LAYERS)
def test_training_follows_keras_lstm_step_by_step(tiny, implementation):
    """Adam on the same batches: the two models' losses and weights stay together."""
    cfg = tiny.replace(hidden=16, window=12)
    reference, candidate = twin_models(cfg, implementation)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, cfg.window, 1)).astype("float32")
    y = rng.normal(size=(20, 1)).astype("float32")
    for _ in range(5):
        loss_ref = float(reference.train_on_batch(x, y))
        loss_new = float(candidate.train_on_batch(x, y))
        assert abs(loss_ref - loss_new) <= TOL * max(1.0, abs(loss_ref))
    for expected, got in zip(reference.get_weights(), candidate.get_weights(), strict=True):
        assert np.abs(expected - got).max() <= 1e-4


@pytest.mark.parametrize("implementation", LAYERS)
def test_the_remedy_gets_gradients_through_fed_back_predictions(tiny, implementation):
    """The rollout model feeds predictions back as inputs: the fused input gradient counts."""
    cfg = tiny.replace(hidden=8, train_rollout=3)
    reference, candidate = twin_models(cfg, implementation)
    x = tf.constant(np.random.default_rng(0).normal(size=(6, cfg.window, 1)).astype("float32"))
    grads = []
    for model in (reference, candidate):
        rolled = rollout_model(model, cfg)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(rolled(x, training=True)))
        grads.append(tape.gradient(loss, [w.value for w in model.trainable_weights]))
    for expected, got in zip(*grads, strict=True):
        assert close(expected, got)


def test_non_lstm_models_have_no_implementation():
    assert ExperimentConfig(model="gru").implementation == ""
    assert ExperimentConfig(model="ar").implementation == ""
    assert ExperimentConfig(model="lstm", implementation="keras").implementation == "keras"


def test_schema_2_files_read_as_keras_implementation(tmp_path):
    """A schema-2 results file (before the column existed) ran keras.layers.LSTM everywhere."""
    rows = [row(seed=0), row(model="ar", seed=0)]
    path = tmp_path / "old.csv"
    columns = [name for name in rows[0] if name not in ("implementation", "cell", "cell_key")]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for values in rows:
            writer.writerow({**values, "schema_version": 2})
    frame = read_results(path, required=("model", "implementation"))
    assert list(frame["implementation"].fillna("")) == ["keras", ""]
    assert set(frame["schema_version"]) == {SCHEMA_VERSION}
    # Upgraded rows get their cell's name and key, as a new run writes them.
    assert list(frame["cell_key"]) == [r["cell_key"] for r in rows]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--implementation", "cudnn"], "--implementation: invalid choice: 'cudnn'"),
        (["run", "--backend", "jax", "--implementation", "fused"], "runs on the tensorflow backend, not jax"),
        (["run", "--backend", "jax", "--implementation", "block"], "block LSTM runs on the tensorflow"),
        (
            ["bench", "--backend", "jax", "--implementation", "fused"],
            "runs on the tensorflow backend, not jax",
        ),
    ],
)
def test_bad_implementation_is_one_line(argv, message, tmp_path):
    if "jax" in argv:
        pytest.importorskip("jax")
    done = subprocess.run(
        [sys.executable, "-m", "sinelstm", *argv, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
