import math

import pytest

from sinelstm.experiment.config import PRESETS, ConfigError, ExperimentConfig, preset, split_sizes


def test_presets_are_the_articles_runs():
    assert PRESETS["article-2017"] == ExperimentConfig(period=100, length=201, window=25, hidden=300)
    # The 2020 run: toy_problem(T=300) still drew a period-100 sine, 601 samples.
    a20 = preset("article-2020")
    assert (a20.period, a20.length, a20.window, a20.hidden) == (100, 601, 50, 300)


def test_split_is_keras_floor():
    # Keras: split_at = floor(n * (1 - split)); 176 windows at 0.1 -> 158 / 18.
    assert split_sizes(176, 0.1) == (158, 18)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"window": 0}, "window"),
        ({"window": 201}, "window"),
        ({"hidden": 0}, "hidden"),
        ({"noise": -0.1}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"noise": math.inf}, "noise"),
        ({"horizon": 0}, "horizon"),
        ({"validation_split": 0.0}, "validation_split"),
        ({"validation_split": 1.0}, "validation_split"),
        ({"validation_split": 1e-17}, "validation_split"),  # leaves no validation window
        ({"length": 10, "window": 8, "validation_split": 0.9}, "validation_split"),
        ({"period": 0.0}, "period"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"engine": "fast"}, "engine"),
        ({"model": "transformer"}, "model"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_values_name_their_field(changes, field):
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig().replace(**changes).validate()
    assert caught.value.field == field
    assert caught.value.flag == "--" + field.replace("_", "-")


def test_unknown_preset():
    with pytest.raises(ConfigError, match="article-2017"):
        preset("article-2019")


def test_a_grid_off_tensorflow_runs_keras_lstm_in_place_of_the_block_kernel():
    from sinelstm.sweep.grid import make_grid

    assert {cell.implementation for cell in make_grid("default").cells()} == {"block"}
    on_jax = make_grid("default", backend="jax")
    assert on_jax.name == "default" and {cell.implementation for cell in on_jax.cells()} == {"keras"}
    assert {cell.implementation for cell in make_grid("science", backend="jax").cells()} == {"keras", ""}
    assert {cell.implementation for cell in make_grid("quick", backend="jax").cells()} == {"keras"}
