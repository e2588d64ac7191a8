import numpy as np
import pytest

from sinelstm.experiment.windows import make_windows


def test_windows_of_a_counting_series():
    # series 0..5, window 3: inputs [0,1,2], [1,2,3], [2,3,4]; targets 3, 4, 5.
    inputs, targets = make_windows(np.arange(6.0), 3)
    assert inputs.shape == (3, 3, 1)
    assert targets.shape == (3, 1)
    np.testing.assert_array_equal(inputs[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(targets[:, 0], [3, 4, 5])
    assert inputs.dtype == np.float32 and targets.dtype == np.float32


def test_article_window_count():
    # The article: 201 samples, maxlen 25 -> 176 windows (its g has 176 rows).
    inputs, targets = make_windows(np.zeros(201), 25)
    assert inputs.shape == (176, 25, 1) and targets.shape == (176, 1)


@pytest.mark.parametrize("window", [0, 6, 7])
def test_window_out_of_range_is_rejected(window):
    with pytest.raises(ValueError, match="window must be"):
        make_windows(np.arange(6.0), window)


def test_multi_step_targets_follow_each_window():
    # series 0..5, window 2, 3 steps: [0,1] -> 2,3,4 and [1,2] -> 3,4,5.
    inputs, targets = make_windows(np.arange(6.0), 2, steps=3, dtype=np.float64)
    np.testing.assert_array_equal(inputs[:, :, 0], [[0, 1], [1, 2]])
    np.testing.assert_array_equal(targets, [[2, 3, 4], [3, 4, 5]])
    assert inputs.dtype == np.float64


def test_too_many_steps_are_rejected():
    with pytest.raises(ValueError, match="steps must be"):
        make_windows(np.arange(6.0), 3, steps=4)
