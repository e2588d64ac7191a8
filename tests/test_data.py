import numpy as np

from sinelstm.experiment.data import clean_sine, noisy_sine


def test_clean_sine_quarter_points():
    # sin(2*pi*x/100) at x = 0, 25, 50, 75 is 0, 1, 0, -1.
    np.testing.assert_allclose(clean_sine(np.array([0, 25, 50, 75]), 100), [0, 1, 0, -1], atol=1e-12)


def test_noise_is_bounded_and_seeded():
    series = noisy_sine(201, 100.0, 0.05, seed=3)
    noise = series - clean_sine(np.arange(201), 100.0)
    assert series.shape == (201,)
    assert np.all(np.abs(noise) <= 0.05)
    assert noise.std() > 0.02  # uniform(-0.05, 0.05) has std 0.0289.
    np.testing.assert_array_equal(series, noisy_sine(201, 100.0, 0.05, seed=3))
    assert not np.array_equal(series, noisy_sine(201, 100.0, 0.05, seed=4))


def test_zero_noise_is_the_clean_sine():
    np.testing.assert_array_equal(noisy_sine(50, 20.0, 0.0, seed=0), clean_sine(np.arange(50), 20.0))
