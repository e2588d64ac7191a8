"""The article's toy problem: a noisy sine wave."""

from __future__ import annotations

import numpy as np


def clean_sine(x: np.ndarray, period: float) -> np.ndarray:
    """The noise-free sine at positions x."""
    return np.sin(2.0 * np.pi * np.asarray(x, dtype=np.float64) / period)


def noisy_sine(length: int, period: float, noise: float, seed: int) -> np.ndarray:
    """sin(2*pi*x/period) + U(-noise, +noise) for x = 0 .. length-1, seeded.

    The noise comes from its own generator, so the series depends on the seed
    alone and not on anything else drawn from numpy's global state.
    """
    rng = np.random.default_rng(seed)
    x = np.arange(length)
    return clean_sine(x, period) + rng.uniform(-noise, noise, size=length)
