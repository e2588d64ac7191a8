"""The result row's measured columns, each declared once: its unit, how the gate judges it,
whether the history keeps it, how the report and the PR summary print it. The row's
column lists, the history's columns, the report's and summary's tables and the gate's
default rules all follow from COLUMNS; pyproject.toml may override the rules."""

from __future__ import annotations

from dataclasses import dataclass

METRIC, CANARY, TIMING = "metric", "canary", "timing"


@dataclass(frozen=True)
class Column:
    name: str
    unit: str  # "" where the value has none (a ratio, a flag, a hash)
    kind: str = METRIC  # metric | canary | timing
    value: str = "number"  # number | flag (True/False) | text (a hash)
    direction: str = ""  # lower | higher | target: the statistical tier's rule ("" none)
    abs_tol: float = 0.0  # the rule's default tolerance (pyproject.toml may override it)
    rel_tol: float = 0.0
    target: float = 1.0
    aggregate: str = "median"  # median over seeds, or sum (a count)
    exact: bool = False  # the reproduction tier compares it exactly (counts, flags, hashes)
    scale: float = 0.0  # the reproduction tier's relative tolerance reads |value| as at least this
    history: bool = False  # the history keeps it
    report: str = ""  # its header in the report's results table ("" not shown)
    digits: int = 3  # ... and the digits it prints there
    summary: str = ""  # its format in the PR summary's row per config ("" not shown)
    headline: bool = False  # the metric whose detectable change the gate quotes per config


def _rule(direction: str, abs_tol: float, rel_tol: float = 0.0, target: float = 1.0) -> dict:
    return {"direction": direction, "abs_tol": abs_tol, "rel_tol": rel_tol, "target": target, "history": True}


# The tolerances come from measured seed-to-seed variation (results/README.md, "The
# statistical tier's tolerances"); they apply where a run does not reproduce its baseline.
COLUMNS = (
    Column("epochs_run", "epochs", exact=True, history=True, report="epochs", digits=0),
    Column("best_epoch", "epochs", exact=True, history=True),
    Column("train_loss", "MSE"),
    Column("val_loss", "MSE"),
    Column("steps_run", "optimizer steps"),
    Column("loss_drift", ""),  # the training loss's fall over the last max(100, 10%) of the steps
    Column("fit_rmse_clean", "data units", **_rule("lower", 0.01, 0.5), report="fit RMSE"),
    Column("fit_rmse_noisy", "data units", **_rule("lower", 0.01, 0.5)),
    Column(
        "forecast_rmse",
        "data units",
        **_rule("lower", 0.15, 0.5),
        report="forecast RMSE",
        summary="{:.3g}",
        headline=True,
    ),  # fmt: skip
    Column("forecast_rmse_p1", "data units", **_rule("lower", 0.1, 0.5), report="RMSE 1st period"),
    Column("amp_first", "data units"),
    Column("amp_last", "data units"),
    Column("amp_ratio", "", **_rule("target", 0.25), report="amp ratio", summary="{:.2f}"),
    Column("decay_per_period", "", **_rule("target", 0.1), report="decay/period"),
    Column("forecast_mean", "data units", **_rule("target", 0.1, target=0.0)),
    # Steps mean something against a period (the article's is 100 steps), not against 0:
    # a drift near 0 keeps a tolerance of 1e-4 periods.
    Column("period_est", "steps", scale=100.0),
    Column(
        "phase_drift",
        "steps",
        **_rule("target", 3.0, 0.5, target=0.0),
        scale=100.0,
        report="period drift",
        digits=2,
    ),  # fmt: skip
    Column(
        "diverged",
        "",
        value="flag",
        direction="lower",
        aggregate="sum",
        exact=True,
        history=True,
        report="diverged",
    ),  # fmt: skip
    Column("flat", "", value="flag", exact=True, history=True),  # the last period holds no wave
    # Canaries, compared exactly where the run reproduces: the data, the untrained model,
    # the metric functions.
    Column("data_checksum", "", CANARY, "text", exact=True, history=True),
    Column("init_weights", "", CANARY),
    Column("metrics_checksum", "", CANARY, "text", exact=True, history=True),
    Column("fit_s", "s", TIMING, report="fit s", digits=1),
    Column("fit_warmup_s", "s", TIMING),
    Column("s_per_epoch", "s", TIMING, summary="{:.3g}"),
    Column("forecast_s", "s", TIMING),
    Column("forecast_warmup_s", "s", TIMING),
    Column("forecast_ms_per_step", "ms", TIMING, report="forecast ms/step"),
    Column("forecast_cv", "", TIMING),
    Column("predict_ms_per_step", "ms", TIMING),
    # Ratios measured inside one run, which compare across machines: the history keeps them.
    Column("engine_speedup", "", TIMING, history=True),
    Column("floor_gflops", "GFLOP/s", TIMING),  # best product rate at the training shape, after training
    Column("epoch_floor_ratio", "", TIMING, history=True),  # s_per_epoch over the epoch's FLOPs at that rate
)
BY_NAME = {column.name: column for column in COLUMNS}
METRIC_COLUMNS = tuple(c.name for c in COLUMNS if c.kind != TIMING)
TIMING_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == TIMING)
EXACT = tuple(c.name for c in COLUMNS if c.exact)
SCALE = {c.name: c.scale for c in COLUMNS if c.scale}
GATED = tuple(c for c in COLUMNS if c.direction)  # the statistical tier's default rules
HEADLINE = next(c.name for c in COLUMNS if c.headline)
