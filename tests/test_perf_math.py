"""The perf bench's arithmetic: FLOP counts and the interleaved floor ratio (no timing here)."""

from __future__ import annotations

import pytest

from sinelstm.experiment import floor
from sinelstm.experiment.config import epoch_flops, preset
from sinelstm.experiment.floor import sgemm_probe, training_shape
from sinelstm.perf.measurements import floor_figures

MAX_FLOOR_RATIO = 1.5  # bench/test_perf.py's target


def test_epoch_flops_of_the_article_2017_shape():
    # 158 training windows x 25 steps x 2 * 302 * 1200, three times (forward, two backward).
    assert epoch_flops(preset("article-2017")) == pytest.approx(3 * 158 * 25 * 2 * 302 * 1200)
    assert training_shape(preset("article-2017")) == (158, 302, 1200)


def test_floor_ratio_pairs_each_epoch_with_its_own_sgemm_rate():
    cfg = preset("article-2017")
    flops = epoch_flops(cfg)
    # The machine halves its speed half-way: epochs and sgemm slow down together,
    # so every epoch is 1.2x its own floor, though the medians alone would not say so.
    sgemm = [100.0] * 5 + [50.0] * 6
    epochs = [1.2 * flops / (rate * 1e9) for rate in sgemm]
    figures = floor_figures(cfg, epochs, sgemm)
    assert figures["floor_ratio"] == pytest.approx(1.2)
    assert figures["floor_ratio_cv"] == pytest.approx(0.0, abs=1e-12)
    assert figures["sgemm_cv"] > 0.3  # and the drift is reported


def test_a_slow_epoch_fails_the_floor_target():
    """The target's check can fail: 2x the floor is over 1.5x."""
    cfg = preset("article-2017")
    sgemm = [120.0] * 6
    epochs = [2.0 * epoch_flops(cfg) / (rate * 1e9) for rate in sgemm]
    assert floor_figures(cfg, epochs, sgemm)["floor_ratio"] > MAX_FLOOR_RATIO


def test_sgemm_probe_measures_a_rate():
    probe = sgemm_probe(preset("article-2017"), products=2)
    assert probe() > 0


def _fixed(rate: float):
    """A product whose every probe reports `rate` GFLOP/s, whatever it is asked to time."""
    return lambda cfg, products=40: lambda: rate


def test_the_floor_rate_is_the_faster_products(monkeypatch):
    # numpy's sgemm at 130 GFLOP/s, TensorFlow's matmul at 183 (the AMD EPYC of issue 16):
    # the floor is the faster, 183, whichever order they come in.
    cfg = preset("article-2017")
    monkeypatch.setattr(floor, "PRODUCTS", (_fixed(130.0), _fixed(183.0)))
    assert floor.floor_gflops(cfg, epoch_s=0.1) == 183.0
    assert floor.best_product_probe(cfg)() == 183.0
    monkeypatch.setattr(floor, "PRODUCTS", (_fixed(183.0), _fixed(130.0)))
    assert floor.floor_gflops(cfg, epoch_s=0.1) == 183.0


def test_without_tensorflow_the_floor_is_numpys(monkeypatch):
    monkeypatch.setattr(floor, "PRODUCTS", (_fixed(130.0), lambda cfg, products=40: None))
    assert floor.floor_gflops(preset("article-2017"), epoch_s=0.1) == 130.0


def test_the_floor_takes_each_products_median():
    # numpy's probes 100, 300, 120 (median 120), TensorFlow's 110, 115, 500 (median 115):
    # one fast probe of TensorFlow's does not make it the faster product.
    assert floor.best_of([[100.0, 300.0, 120.0], [110.0, 115.0, 500.0]]) == 120.0
