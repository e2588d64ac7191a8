"""The planted regressions and the benign variations.

Each mutant is one realistic code change: a file under sinelstm/, a line as it is, and
the line as a careless commit would leave it. The suite refuses a mutant whose line is
no longer in the code, so the catalog cannot drift away from what it claims to test.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # what part of the experiment it touches
    what: str  # one line for the report
    path: str = ""  # the file changed, relative to sinelstm/
    old: str = ""
    new: str = ""
    env: dict = field(default_factory=dict)  # a benign variation's environment
    driver: str = "pytest"  # pytest (CI's gate), local (sinelstm bench --executor local: 2 threads) or ab
    benign: bool = False
    runs: int = 1  # times the variant is run (a timing variant's detection rate needs several)
    flags: tuple[str, ...] = ()  # extra flags of its command (sinelstm ab's --threads, --env)
    neighbours: int = 0  # busy-loop processes kept running beside it for its whole length
    quota: float = 0.0  # cores of CPU time the run may use (a cgroup quota; 0: none)
    same_tree: bool = False  # an A/B of one copy of the code against itself
    # An A/A of this checkout as sinelstm ab names it: (BASE, HEAD), WORKING_TREE for the
    # working tree as HEAD (no argument), "." for it as a folder; () for planted copies.
    sides: tuple = ()


WORKING_TREE = None


# Runs of each planted slowdown: the 20% ones must be caught 10 times in 10, the 40% ones
# 5 in 5; the 10% rate is stated.
RUNS = {0.1: 5, 0.2: 10, 0.4: 5}


def _sleep_in_epoch(fraction: float) -> Variant:
    """An epoch made slower by a sleep proportional to its own time (numerics unchanged)."""
    return Variant(
        f"epoch-slower-{round(fraction * 100)}", "training speed (A/B)",
        f"every epoch sleeps {fraction:.0%} of its own time (numerics unchanged)",
        "experiment/train.py", "        seconds.append(time.perf_counter() - start)",
        f"        time.sleep({fraction} * (time.perf_counter() - start))\n"
        "        seconds.append(time.perf_counter() - start)",
        driver="ab", runs=RUNS[fraction],
    )  # fmt: skip


def _sleep_in_forecast(fraction: float) -> Variant:
    """The compiled forecast made slower by a sleep proportional to its own time."""
    return Variant(
        f"forecast-slower-{round(fraction * 100)}", "engine speed (A/B)",
        f"every compiled rollout sleeps {fraction:.0%} of its own time (numerics unchanged)",
        "experiment/forecast.py", "        forecast = _compiled_rollout(model, histories, horizon)",
        "        import time\n\n        started = time.perf_counter()\n"
        "        forecast = _compiled_rollout(model, histories, horizon)\n"
        f"        time.sleep({fraction} * (time.perf_counter() - started))",
        driver="ab", runs=RUNS[fraction],
    )  # fmt: skip


MUTANTS = (
    Variant("noise-doubled", "data", "the data's noise is twice the article's",
            "experiment/data.py", "rng.uniform(-noise, noise, size=length)", "rng.uniform(-2 * noise, 2 * noise, size=length)"),
    Variant("noise-seed-shifted", "data", "the noise generator is seeded with seed + 1",
            "experiment/data.py", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng(seed + 1)"),
    Variant("window-leaks-target", "windows", "each window is shifted by one and holds its own target",
            "experiment/windows.py", "sliding_window_view(series[: len(series) - steps], window)",
            "sliding_window_view(series[1 : len(series) - steps + 1], window)"),
    Variant("hidden-halved", "model", "the recurrent layer gets half the units asked for",
            "experiment/models.py", "layer(cfg.hidden),", "layer(max(1, cfg.hidden // 2)),"),
    Variant("tanh-head", "model", "the linear output activation became tanh",
            "experiment/models.py", 'keras.layers.Activation("linear"),', 'keras.layers.Activation("tanh"),'),
    Variant("learning-rate-tripled", "training", "Adam's learning rate is three times the config's",
            "experiment/models.py", "Adam(learning_rate=cfg.learning_rate)", "Adam(learning_rate=3 * cfg.learning_rate)"),
    Variant("no-shuffle", "training", "the training windows are no longer shuffled each epoch",
            "experiment/train.py", "order = rng.permutation(n_train)", "order = np.arange(n_train)"),
    Variant("validation-leak", "early stopping", "early stopping's validation windows overlap the last 10 training windows",
            "experiment/train.py", "x_val, y_val = inputs[n_train:], targets[n_train:]",
            "x_val, y_val = inputs[n_train - 10 :], targets[n_train - 10 :]"),
    Variant("patience-off-by-one", "early stopping", "early stopping waits one epoch more than its patience",
            "experiment/train.py", "stop = wait >= cfg.patience and epoch > 0", "stop = wait > cfg.patience and epoch > 0"),
    Variant("forecast-starts-early", "forecast", "the forecast starts from the window one step early (the article's quirk)",
            "experiment/run.py", "return trained.series[-trained.config.window :]",
            "return trained.series[-trained.config.window - 1 : -1]"),
    Variant("decay-from-ends", "metrics", "decay_per_period from the first and last period only",
            "experiment/metrics.py", "return float(math.exp(slope))",
            "return float((amplitudes[-1] / amplitudes[0]) ** (1 / (len(amplitudes) - 1)))"),
    Variant("amplitude-as-peak", "metrics", "a period's amplitude is its peak, not half its range",
            "experiment/metrics.py", "return (chunks.max(axis=1) - chunks.min(axis=1)) / 2.0",
            "return np.abs(chunks).max(axis=1)"),
    Variant("engine-loses-xla", "engine speed", "the rollout loop is no longer XLA-compiled (6.6x slower a step at hidden 64)",
            "experiment/forecast.py", "return tf.function(body, jit_compile=True)", "return tf.function(body)"),
    Variant("epoch-evaluates-twice", "training speed", "a debugging evaluate() left in every epoch",
            "experiment/train.py", "        current = float(np.average(val_losses, weights=val_weights))",
            "        model.evaluate(x_train, y_train, verbose=0)\n"
            "        current = float(np.average(val_losses, weights=val_weights))"),
    Variant("epochs-cap-halved", "config", "the default epoch cap fell from 100 to 50",
            "experiment/config.py", "epochs: int = 100", "epochs: int = 50"),
)  # fmt: skip

BENIGN = (
    Variant("rerun", "benign", "the same code, run again", benign=True),
    Variant("onednn-off", "benign", "TensorFlow's oneDNN kernels off (another numerics path)",
            env={"TF_ENABLE_ONEDNN_OPTS": "0"}, benign=True),
    Variant("two-threads", "benign", "every cell on two compute threads (sinelstm bench --executor local)",
            driver="local", benign=True),
)  # fmt: skip

# Paths the README's grids run and the quick grid does not: each planted where only the
# paths grid's cells reach it, and judged by CI's paths gate (sinelstm bench --grid paths
# against results/baseline-paths.csv).
PATHS = (
    Variant("ar-loses-intercept", "path: ar", "the AR model's predictions lost their intercept",
            "experiment/classical.py", "@ self.coef + self.intercept", "@ self.coef", driver="paths"),
    Variant("seasonal-period-short", "path: seasonal-naive", "seasonal-naive repeats a period one sample short",
            "experiment/classical.py", "self.season = max(1, int(round(cfg.period)))",
            "self.season = max(1, int(round(cfg.period)) - 1)", driver="paths"),
    Variant("cnn1d-fewer-filters", "path: cnn1d", "the 1D-CNN's first layer has 20 filters, not the published 30",
            "experiment/models.py", 'keras.layers.Conv1D(30, 2, padding="same", activation="relu"),',
            'keras.layers.Conv1D(20, 2, padding="same", activation="relu"),', driver="paths"),
    Variant("gru-builds-lstm", "path: gru", "the gru kind builds an LSTM (a copy-paste slip)",
            "experiment/models.py", 'gru = _recurrent("GRU")', 'gru = _recurrent("LSTM")', driver="paths"),
    Variant("block-bias-no-gradient", "path: block kernel", "the block kernel's bias gets no gradient",
            "experiment/fused.py", "d_weights[:inputs], d_weights[inputs:], d_bias",
            "d_weights[:inputs], d_weights[inputs:], tf.zeros_like(d_bias)", driver="paths"),
    Variant("batched-shared-shuffle", "path: batched trainer", "every member of a batch shuffles as its first does",
            "experiment/batched.py", "orders = np.stack([generator.permutation(n_train) for generator in generators])",
            "orders = np.stack([generators[0].permutation(n_train) for _ in generators])", driver="paths"),
    Variant("remedy-one-step-short", "path: remedy", "the remedy's training rollout runs one step short",
            "experiment/models.py", "    for _ in range(cfg.train_rollout):", "    for _ in range(cfg.train_rollout - 1):",
            driver="paths"),
    Variant("metrics-assume-period-100", "path: period 300", "the forecast metrics assume the article's period",
            "experiment/run.py", "**forecast_metrics(forecast, truth, cfg.period),",
            "**forecast_metrics(forecast, truth, 100.0),", driver="paths"),
    Variant("batch-size-hard-coded", "path: batch 600", "the loop trainer's batches are the article's 300, whatever the config",
            "experiment/train.py", "batches = [order[i : i + cfg.batch_size] for i in range(0, n_train, cfg.batch_size)]",
            "batches = [order[i : i + 300] for i in range(0, n_train, 300)]", driver="paths"),
    Variant("checkpoint-one-epoch-early", "path: budgets (loop)", "a budget's checkpoint is handed on an epoch before its cap",
            "experiment/train.py", "if stop or mark.reached(epoch + 1, wait)]:",
            "if stop or mark.reached(epoch + 2, wait)]:", driver="paths"),
    Variant("checkpoint-without-weights", "path: budgets (batched)", "a checkpoint forecasts before the members' weights are written back",
            "experiment/batched.py", "        stacked.write_back()\n        fit_s = clock.elapsed() / members",
            "        fit_s = clock.elapsed() / members", driver="paths"),
)  # fmt: skip

# The speed A/B's power (sinelstm ab, head against an unchanged copy, on the quick grid):
# slowdowns of the epoch and of the compiled forecast at 10%, 20% and 40%, and benign runs
# of unchanged code in five conditions. Never run beside each other (their timings would
# share the cores), and never in the fast subset.
TIMING = tuple(
    maker(fraction) for fraction in (0.1, 0.2, 0.4) for maker in (_sleep_in_epoch, _sleep_in_forecast)
)
TIMING_BENIGN = (
    Variant("ab-identical", "benign (A/B)", "two copies of the same code", driver="ab", benign=True, runs=3),
    Variant("ab-rerun", "benign (A/B)", "one folder named as both sides", driver="ab", benign=True, runs=3,
            same_tree=True),
    Variant("ab-two-threads", "benign (A/B)", "both sides' workers on two compute threads, unpinned",
            driver="ab", benign=True, runs=3, flags=("--threads", "2")),
    Variant("ab-onednn-off", "benign (A/B)", "TensorFlow's oneDNN kernels off on both sides", driver="ab",
            benign=True, runs=3, flags=("--env", "TF_ENABLE_ONEDNN_OPTS=0")),
    Variant("ab-noisy-neighbour", "benign (A/B)", "two busy-loop processes beside the run for its whole length",
            driver="ab", benign=True, runs=3, neighbours=2),
    Variant("ab-cpu-quota", "benign (A/B)", "a CPU quota of 1.5 cores (cgroup) over the whole run", driver="ab",
            benign=True, runs=3, quota=1.5),
)  # fmt: skip
# A/A runs of this checkout (clean at HEAD) as CI and a user name its sides: two commits,
# the working tree as the head, and the working tree as the base (the sides swapped).
AA = (
    Variant("aa-commits", "A/A", "HEAD against HEAD (two commits)", driver="ab", benign=True, runs=10,
            sides=("HEAD", "HEAD")),
    Variant("aa-working-head", "A/A", "the working tree against HEAD (sinelstm ab HEAD)", driver="ab",
            benign=True, runs=10, sides=("HEAD", WORKING_TREE)),
    Variant("aa-working-base", "A/A", "HEAD against the checkout as a folder (sinelstm ab . HEAD)", driver="ab",
            benign=True, runs=10, sides=(".", "HEAD")),
)  # fmt: skip

# CI's fast subset: two of the regressions the old gate missed, and a benign rerun.
FAST = ("validation-leak", "forecast-starts-early", "rerun")
