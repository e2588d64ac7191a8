"""The distribution-free intervals, the sign test and Holm's correction, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sinelstm.analysis.intervals import (
    holm,
    median_interval,
    order_statistic_rank,
    rank_sentence,
    sign_test_p,
)


def test_ten_seeds_give_the_2nd_to_9th_ordered_value_at_97_9_percent():
    # P(Binomial(10, 1/2) <= 1) = (1 + 10) / 1024, so coverage = 1 - 22/1024 = 0.978515625;
    # k = 3 would cover 1 - 2 (1 + 10 + 45) / 1024 = 0.890625 < 0.95.
    assert order_statistic_rank(10) == (2, 1 - 22 / 1024)
    assert rank_sentence(10) == "n=10: 2nd to 9th ordered value, 97.9% coverage"
    estimate = median_interval(np.arange(10, 0, -1.0))  # 10, 9, ..., 1 in any order
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (5.5, 2.0, 9.0, 10)
    assert estimate.at_95 and estimate.text() == "5.50 [2.00, 9.00] n=10"


def test_five_seeds_have_no_95_percent_interval():
    # Even min to max covers only 1 - 2/32 = 93.75%.
    assert order_statistic_rank(5) == (0, 0.0)
    assert rank_sentence(5) == "n=5: no 95% interval exists (min to max covers 93.8%)"
    estimate = median_interval([-0.56, -0.68, -0.59, 0.40, -0.14])
    assert (estimate.low, estimate.high, estimate.coverage) == (-0.68, 0.40, 1 - 2 / 32)
    assert not estimate.at_95 and not estimate.excludes_zero
    assert estimate.text(signed=True) == "-0.56 [-0.68, +0.40] n=5*"


def test_the_sign_test_is_exact():
    # 9 of 10 positive: p = 2 P(B(10, 1/2) <= 1) = 22/1024.
    assert sign_test_p([1.0] * 9 + [-1.0]) == pytest.approx(22 / 1024)
    # 5 of 5 positive: p = 2/32, never below 0.05 at n=5.
    assert sign_test_p([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(2 / 32)
    # Zeros carry no sign and are dropped; nothing left gives p = 1.
    assert sign_test_p([0.0, 0.0, math.nan]) == 1.0
    assert sign_test_p([0.0, 0.3, 0.2]) == pytest.approx(2 / 4)


def test_holm_by_hand():
    # Sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1: 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.5.
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.6, 0.6]) == [1.0, 1.0]
    assert holm([]) == []
