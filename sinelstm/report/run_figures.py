"""The article's two figures of one run (in-sample fit, fed-back forecast), headless."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sinelstm.experiment.config import ExperimentConfig


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


MAX_PNG_BYTES = 250_000  # every committed figure stays under this (tests/test_report.py)


def save_png(fig, path: Path, dpi: float = 100, **savefig) -> None:
    """The figure as a small PNG: rendered at dpi, its colours reduced to an adaptive
    palette of 256 (line plots use far fewer; the antialiased edges keep their shades) and
    the file compressed with PIL's optimize: about a third of the bytes of matplotlib's
    RGBA PNG, the same pixels to the eye. No metadata (no version stamp), so the same
    figure gives the same bytes."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, **savefig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.load()
    if image.mode == "RGBA" and image.getextrema()[3][0] == 255:
        image = image.convert("RGB")  # opaque: the alpha channel carries nothing
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, format="PNG", optimize=True)


def config_title(cfg: ExperimentConfig) -> str:
    return (
        f"{cfg.model} hidden={cfg.hidden}, window={cfg.window}, length={cfg.length}, "
        f"period={cfg.period:g}, seed={cfg.seed}"
    )


def fit_figure(cfg: ExperimentConfig, series: np.ndarray, fit_predictions: np.ndarray, path: Path):
    """The data and the in-sample one-step predictions over it (the article's first figure)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=100)
    ax.plot(np.arange(len(series)), series, color="tab:blue", lw=1.2, label="data (noisy sine)")
    fit_x = np.arange(cfg.window, cfg.window + len(fit_predictions))
    ax.plot(fit_x, fit_predictions, color="tab:red", lw=1.4, label="one-step prediction")
    ax.set(xlabel="x (sample)", ylabel="value", title=f"In-sample fit: {config_title(cfg)}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def forecast_figure(
    cfg: ExperimentConfig,
    series: np.ndarray,
    fit_predictions: np.ndarray,
    forecast: np.ndarray,
    truth: np.ndarray,
    path: Path,
):
    """Data, in-sample fit and the autoregressive forecast over the true continuation."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=100)
    x_future = np.arange(cfg.length, cfg.length + len(forecast))
    ax.plot(np.arange(len(series)), series, color="tab:blue", lw=1.2, label="data (noisy sine)")
    fit_x = np.arange(cfg.window, cfg.window + len(fit_predictions))
    ax.plot(fit_x, fit_predictions, color="tab:red", lw=1.2, label="one-step prediction")
    ax.plot(x_future, truth, color="0.6", lw=1.0, ls="--", label="true continuation")
    ax.plot(x_future, forecast, color="tab:green", lw=1.6, label="forecast (fed back)")
    ax.axvline(cfg.length - 0.5, color="0.3", lw=0.8, ls=":")
    ax.set(xlabel="x (sample)", ylabel="value", title=f"Forecast: {config_title(cfg)}")
    bound = max(1.3, float(np.nanmax(np.abs(forecast[np.isfinite(forecast)]), initial=0)) * 1.05)
    ax.set_ylim(-min(bound, 4.0), min(bound, 4.0))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=4, frameon=False)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
