"""Classical forecasters, in numpy: the baselines every network must be held against.

Each has the interface the rest of sinelstm uses for a model:
fit(inputs, targets, n_train), predict(inputs) -> (n,), and
rollout(histories, horizon) -> (batch, horizon). They work in float64.
"""

from __future__ import annotations

import numpy as np

from sinelstm.experiment.config import ExperimentConfig


class Classical:
    """A forecaster without Keras: fitted in one shot, no epochs."""

    def __init__(self, cfg: ExperimentConfig):
        self.window = cfg.window
        self.series: np.ndarray | None = None  # the observed series, rebuilt from the windows

    def fit(self, inputs: np.ndarray, targets: np.ndarray, n_train: int) -> None:
        """Fit on the first n_train windows; remember the whole series the windows cover."""
        # (n, window, 1), (n, 1): window i is series[i : i + window], its target series[i + window].
        self.series = np.concatenate([inputs[0, :, 0], targets[:, 0]]).astype(np.float64)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def rollout(self, histories: np.ndarray, horizon: int) -> np.ndarray:
        """Feed each prediction back, as the networks' forecast does."""
        current = np.array(histories, dtype=np.float64)
        forecast = np.empty((len(current), horizon))
        for step in range(horizon):
            forecast[:, step] = self.predict(current[:, :, None])
            current = np.concatenate([current[:, 1:], forecast[:, step : step + 1]], axis=1)
        return forecast


class AutoRegression(Classical):
    """y[t] = c + sum_k a_k y[t - window + k], least squares on the training windows.

    A noiseless sine obeys y[t] = 2 cos(w) y[t-1] - y[t-2]: an exact linear
    recurrence, so with noise-free data this forecasts the sine exactly.
    """

    def fit(self, inputs, targets, n_train):
        super().fit(inputs, targets, n_train)
        # (n_train, window + 1): the lags and a constant.
        design = np.concatenate([inputs[:n_train, :, 0], np.ones((n_train, 1))], axis=1).astype(np.float64)
        solution, *_ = np.linalg.lstsq(design, targets[:n_train, 0].astype(np.float64), rcond=None)
        self.coef, self.intercept = solution[:-1], solution[-1]

    def predict(self, inputs):
        return np.asarray(inputs, dtype=np.float64)[:, :, 0] @ self.coef + self.intercept


class Naive(Classical):
    """Repeat the last value."""

    def predict(self, inputs):
        return np.asarray(inputs, dtype=np.float64)[:, -1, 0]


class SeasonalNaive(Classical):
    """Repeat the last period: y[t] = y[t - m], m = the sine's period rounded to samples.

    When the window holds a whole period it is read from the window; otherwise
    from the observed series, so in-sample predictions must be of the fitted
    windows and the forecast must start at the end of the series.
    """

    def __init__(self, cfg: ExperimentConfig):
        super().__init__(cfg)
        self.season = max(1, int(round(cfg.period)))

    def predict(self, inputs):
        inputs = np.asarray(inputs, dtype=np.float64)[:, :, 0]
        if self.window >= self.season:
            return inputs[:, -self.season]
        n = len(inputs)
        if self.series is None or n != len(self.series) - self.window:
            raise ValueError("seasonal-naive with window < period predicts only the windows it was fitted on")
        # Target of window i is series[i + window]; a period earlier, or the last value before that exists.
        index = np.arange(self.window, self.window + n) - self.season
        return np.where(index >= 0, self.series[np.maximum(index, 0)], inputs[:, -1])

    def rollout(self, histories, horizon):
        histories = np.asarray(histories, dtype=np.float64)
        if self.window >= self.season:
            last_period = histories[:, -self.season :]
        else:
            if self.series is None or not np.allclose(histories, self.series[-self.window :], atol=1e-6):
                raise ValueError(
                    "seasonal-naive with window < period forecasts only from the end of its series"
                )
            last_period = np.broadcast_to(self.series[-self.season :], (len(histories), self.season))
        # (batch, horizon): the last period, repeated.
        return np.stack([np.resize(row, horizon) for row in last_period])
