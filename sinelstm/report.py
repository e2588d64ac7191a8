"""The markdown report: verdict, results table, baseline comparison, findings and figures.

It reads the results CSV (and the series CSV beside it) and nothing else:
no model, no training. Every number and every sentence comes from the
data, so two reports from the same files are identical byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sinelstm.config import config_of
from sinelstm.data import clean_sine, noisy_sine
from sinelstm.gate import GateConfig, GateResult, compare
from sinelstm.grid import cell_id, config_id, is_cell_id
from sinelstm.metrics import period_amplitudes
from sinelstm.plots import pyplot
from sinelstm.results import SERIES_COLUMNS, ResultsError, read_results, series_path
from sinelstm.science import CONFIG_KEYS, is_science, science_section

MAX_CHARS = 60_000
MAX_TABLE_ROWS = 60  # configs listed in full; the rest are summarised
MAX_PLOTTED = 12  # configs drawn in the per-config figures
# A config: every axis but the seed (hidden is 0 where it does not apply).
KEYS = CONFIG_KEYS
# Configs drawn as the article's two figures, when the grid has them.
ARTICLE_CELLS = {
    "article-2017": dict(model="lstm", window=25, length=201, hidden=300, train_rollout=1),
    "article-2020": dict(model="lstm", window=50, length=601, hidden=300, train_rollout=1),
}

# (column, header, digits)
TABLE_METRICS = [
    ("fit_rmse_clean", "fit RMSE", 3),
    ("forecast_rmse", "forecast RMSE", 3),
    ("forecast_rmse_p1", "RMSE 1st period", 3),
    ("amp_ratio", "amp ratio", 3),
    ("decay_per_period", "decay/period", 3),
    ("phase_drift", "period drift", 2),
    ("epochs_run", "epochs", 0),
    ("fit_s", "fit s", 1),
    ("forecast_ms_per_step", "forecast ms/step", 3),
]
MARKERS = {"better": "better ✅", "worse": "worse ❌", "within": "within ≈", "n/a": "n/a"}


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    figures: Path


def report_paths(markdown: Path) -> ReportPaths:
    markdown = Path(markdown)
    return ReportPaths(markdown, markdown.with_name(markdown.stem + "_figures"))


def config_label(group: pd.DataFrame) -> str:
    """The config's name (as the gate writes it) from any of its rows."""
    return config_id(config_of(group.iloc[0]))


def configs(ok: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(config name, its rows) in axis order: model, window, length, hidden, remedy."""
    return [(config_label(group), group) for _, group in ok.groupby(KEYS, sort=True)]


def with_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with hidden n/a read as 0 and each row's cell name, so that it groups by KEYS."""
    frame = frame.copy()
    frame["hidden"] = pd.to_numeric(frame["hidden"], errors="coerce").fillna(0).astype(int)
    frame["cell"] = [cell_id(config_of(row)) for row in frame.to_dict("records")]
    return frame


def article_lstm(ok: pd.DataFrame) -> pd.DataFrame:
    """The rows of the article's own model and training (LSTM, one-step training)."""
    return ok[(ok["model"] == "lstm") & (ok["train_rollout"] == 1)]


def summarise(values, digits: int) -> str:
    """'median ± half-range', with [min–max] added when the spread is wide; '(k n/a)' counts
    the values that could not be computed."""
    values = pd.to_numeric(pd.Series(values), errors="coerce")
    finite = values[np.isfinite(values)]
    if finite.empty:
        return "–"
    median = float(finite.median())
    low, high = float(finite.min()), float(finite.max())
    half = (high - low) / 2
    text = f"{median:.{digits}f} ± {half:.{digits}f}"
    if half > 0.25 * abs(median) and half > 10 ** (-digits):
        text += f" [{low:.{digits}f}–{high:.{digits}f}]"
    missing = len(values) - len(finite)
    return text + (f" ({missing} n/a)" if missing else "")


def provenance_sentence(frame: pd.DataFrame) -> str:
    def values(column):
        return ", ".join(sorted(set(frame[column].dropna().astype(str)))) or "unknown"

    commits = sorted(set(frame["git_commit"].fillna("").astype(str)))
    dirty = frame["git_dirty"].astype(str).str.lower().eq("true").any()
    commit = ", ".join(c[:10] for c in commits if c) or "no git checkout"
    machines = frame["machine"].nunique()
    where = f"1 machine ({values('cpu')}; compute threads per cell: {values('threads')})"
    if machines > 1:
        hosts = frame.groupby("machine")["host"].first()
        where = f"{machines} machines ({values('cpu')}; hosts {', '.join(sorted(map(str, hosts)))})"
    return (
        f"These numbers come from {len(frame)} cells (run {values('run_id')}) on {where}, "
        f"with Python {values('python')}, numpy {values('numpy')}, "
        f"TensorFlow {values('tensorflow')} and Keras {values('keras')} "
        f"({values('backend')} backend), at commit {commit}{' with local changes' if dirty else ''}."
    )


def results_table(ok: pd.DataFrame) -> tuple[str, int]:
    from tabulate import tabulate

    rows = []
    groups = configs(ok)
    for label, group in groups[:MAX_TABLE_ROWS]:
        row = [label, str(len(group))]
        for column, _, digits in TABLE_METRICS:
            row.append(summarise(group[column], digits))
        diverged = int(group["diverged"].astype(str).str.lower().eq("true").sum())
        row.insert(8, str(diverged))
        rows.append(row)
    headers = ["config", "seeds"] + [header for _, header, _ in TABLE_METRICS]
    headers.insert(8, "diverged")
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), len(groups)


def baseline_section(gate: GateResult) -> str:
    from tabulate import tabulate

    quality = [c for c in gate.comparisons if c.metric not in ("cell", "status", "diverged")]
    by_config: dict[str, dict[str, str]] = {}
    metrics: list[str] = []
    for c in quality:
        if c.metric == "engine_speedup" or is_cell_id(c.config):
            continue
        if c.metric not in metrics:
            metrics.append(c.metric)
        marker = MARKERS.get(c.verdict, c.verdict)
        by_config.setdefault(c.config, {})[c.metric] = f"{c.baseline} → {c.current} {marker}"
    if not by_config:
        return "No config could be compared with the baseline."
    changed = {k: v for k, v in by_config.items() if any("within" not in x for x in v.values())}
    shown = changed if len(by_config) > MAX_TABLE_ROWS else by_config
    rows = [[config] + [cells.get(m, "") for m in metrics] for config, cells in sorted(shown.items())]
    text = tabulate(rows, headers=["config"] + metrics, tablefmt="github", disable_numparse=True)
    if shown is not by_config:
        text += f"\n\n{len(by_config) - len(shown)} configs within tolerance on every metric are not listed."
    return text


def _median(frame: pd.DataFrame, column: str) -> float:
    values = pd.to_numeric(frame[column], errors="coerce")
    values = values[np.isfinite(values)]
    return float(values.median()) if len(values) else math.nan


def findings(ok: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Sentences computed from the data; each changes when the numbers do."""
    out = []
    medians = {label: _median(group, "amp_ratio") for label, group in configs(ok)}
    keep = [k for k, v in medians.items() if np.isfinite(v) and abs(v - 1) <= 0.1]
    lose = [k for k, v in medians.items() if not (np.isfinite(v) and abs(v - 1) <= 0.1)]
    if keep:
        out.append(
            f"{len(keep)} of {len(medians)} configs keep their amplitude within 10% over the horizon "
            f"(median amp_ratio in [0.9, 1.1]): {', '.join(keep)}."
        )
    else:
        out.append(f"None of the {len(medians)} configs keeps its amplitude within 10% over the horizon.")
    if lose and keep:
        out.append(f"The other {len(lose)} do not: {', '.join(lose)}.")
    last = {label: _median(group, "amp_last") for label, group in configs(ok)}
    flat = [k for k, v in last.items() if np.isfinite(v) and v < 0.05]
    if flat:
        out.append(
            f"{len(flat)} configs end as a flat line, not a decaying wave (median amplitude of "
            f"the last period < 0.05): {', '.join(flat)}."
        )

    lstm = article_lstm(ok)
    windows, lengths = sorted(lstm["window"].unique()), sorted(lstm["length"].unique())
    if len(windows) >= 2 or len(lengths) >= 2:
        cells = {
            (w, n): _median(lstm[(lstm["window"] == w) & (lstm["length"] == n)], "amp_ratio")
            for w in windows
            for n in lengths
        }
        parts = [f"window {w} on {n} samples: {v:.2f}" for (w, n), v in cells.items() if np.isfinite(v)]
        out.append(
            "The article's LSTM: median amp_ratio over all hidden sizes and seeds, "
            "by window and data length: " + "; ".join(parts) + "."
        )
        if len(windows) >= 2 and len(lengths) >= 2:
            w0, w1, n0, n1 = windows[0], windows[-1], lengths[0], lengths[-1]
            window_effect = (cells[(w1, n0)] - cells[(w0, n0)], cells[(w1, n1)] - cells[(w0, n1)])
            length_effect = (cells[(w0, n1)] - cells[(w0, n0)], cells[(w1, n1)] - cells[(w1, n0)])
            out.append(
                f"Going from window {w0} to {w1} changes the median amp_ratio by "
                f"{window_effect[0]:+.2f} on {n0} samples and {window_effect[1]:+.2f} on {n1}; going "
                f"from {n0} to {n1} samples changes it by {length_effect[0]:+.2f} at window {w0} and "
                f"{length_effect[1]:+.2f} at window {w1}. The article's 2020 run changed both at once "
                f"(window {w0} on {n0} samples: {cells[(w0, n0)]:.2f}; window {w1} on {n1}: "
                f"{cells[(w1, n1)]:.2f})."
            )
        rmse = {
            (w, n): _median(lstm[(lstm["window"] == w) & (lstm["length"] == n)], "forecast_rmse")
            for w in windows
            for n in lengths
        }
        best = (
            min((v, k) for k, v in rmse.items() if np.isfinite(v))
            if any(np.isfinite(v) for v in rmse.values())
            else None
        )
        if best:
            out.append(
                "The article's LSTM has its lowest median forecast RMSE by window and data length, "
                f"{best[0]:.3f}, "
                f"at window {best[1][0]} on {best[1][1]} samples."
            )
    drift = _median(ok, "phase_drift")
    if np.isfinite(drift):
        out.append(
            f"The median forecast period is {abs(drift):.2f} steps {'shorter' if drift < 0 else 'longer'} "
            f"than the true one (median phase_drift {drift:+.2f})."
        )
    speed = ok[pd.to_numeric(ok["engine_speedup"], errors="coerce").notna()]
    for row in speed.to_dict("records"):
        out.append(
            f"The compiled forecast engine ran {float(row['engine_speedup']):.0f}x faster than the "
            f"article's model.predict loop ({float(row['forecast_ms_per_step']):.3f} vs "
            f"{float(row['predict_ms_per_step']):.1f} ms per step, "
            f"{row['cell']})."
        )
    diverged = int(ok["diverged"].astype(str).str.lower().eq("true").sum())
    failed = int((frame["status"] != "ok").sum())
    out.append(
        (f"{diverged} of {len(ok)} forecasts diverged." if diverged else "No forecast diverged.")
        + (f" {failed} cells crashed." if failed else "")
    )
    fit_total, forecast_total = float(ok["fit_s"].sum()), float(ok["forecast_s"].sum())
    warmup_total = float(ok["forecast_warmup_s"].sum())
    out.append(
        f"Training took {fit_total:.0f} s over all cells and forecasting {forecast_total:.1f} s "
        f"(plus {warmup_total:.0f} s of first-call compilation)."
    )
    predict_ms = pd.to_numeric(ok["predict_ms_per_step"], errors="coerce").dropna()
    if len(predict_ms):
        # The predict loop's cost per step is a fixed overhead, whatever the model's size.
        seed_way = fit_total + float(predict_ms.median()) / 1000 * float(ok["horizon"].sum())
        out.append(
            f"The article's way (the same training, then one model.predict call per forecast step "
            f"at the measured {float(predict_ms.median()):.1f} ms) would take about {seed_way:.0f} s "
            f"for these cells; their training and forecasting here took "
            f"{fit_total + forecast_total + warmup_total:.0f} s (summed over cells, before any "
            f"parallel workers divide it)."
        )
    return out


def read_series(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    if list(frame.columns) != list(SERIES_COLUMNS):
        raise ResultsError(f"{path}: not a sinelstm series file (columns {list(frame.columns)})")
    return frame


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=100, metadata={"Software": None})


def forecast_fan(ok: pd.DataFrame, series: pd.DataFrame, path: Path) -> bool:
    """Per config: every seed's forecast, the band of their spread, the median seed bold."""
    plt = pyplot()
    forecasts = series[series["kind"] == "forecast"]
    groups = configs(ok)[:MAX_PLOTTED]
    if not groups or forecasts.empty:
        return False
    columns = min(3, len(groups))
    rows = math.ceil(len(groups) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(5.2 * columns, 1.2 + 2.6 * rows), squeeze=False, sharey=True
    )
    for ax, (label, group) in zip(axes.flat, groups, strict=False):
        period = float(group["period"].iloc[0])
        curves = []
        for seed, cell in sorted(zip(group["seed"], group["cell"], strict=True)):
            one = forecasts[forecasts["cell"] == cell]
            if len(one):
                curves.append((seed, one["x"].to_numpy(), one["value"].to_numpy()))
        if not curves:
            continue
        x = curves[0][1]
        stack = np.vstack([np.clip(c[2], -3, 3) for c in curves if len(c[2]) == len(x)])
        ax.plot(x, clean_sine(x, period), color="0.55", lw=1, ls="--", label="truth")
        ax.fill_between(
            x, stack.min(axis=0), stack.max(axis=0), color="tab:green", alpha=0.2, label="seed range"
        )
        by_rmse = group.sort_values("forecast_rmse", na_position="last")
        median_seed = int(by_rmse["seed"].iloc[(len(by_rmse) - 1) // 2])
        for seed, xs, values in curves:
            bold = seed == median_seed
            ax.plot(
                xs,
                np.clip(values, -3, 3),
                color="tab:green" if bold else "tab:olive",
                lw=1.6 if bold else 0.6,
                alpha=1 if bold else 0.6,
                label=f"median seed ({seed})" if bold else None,
            )
        ax.set_title(f"{label} ({len(curves)} seeds)", fontsize=9)
        ax.set_xlabel("x (sample)")
        ax.set_ylabel("value")
        ax.set_ylim(-1.8, 1.8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Forecast of every seed over the true continuation", fontsize=12)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def amplitude_chart(ok: pd.DataFrame, series: pd.DataFrame, path: Path) -> bool:
    """Median amplitude per forecast period against period number, one line per config."""
    plt = pyplot()
    forecasts = series[series["kind"] == "forecast"]
    fig, ax = plt.subplots(figsize=(10, 5))
    # Colour: model and hidden size; line: data length (dashed = shortest); marker: window.
    colors = plt.get_cmap("tab10").colors
    kinds = sorted(set(zip(ok["model"], ok["hidden"], ok["train_rollout"], strict=True)))
    windows = sorted(ok["window"].unique())
    markers = ["o", "s", "^", "D", "v"]
    drawn = 0
    for label, group in configs(ok)[:MAX_PLOTTED]:
        first = group.iloc[0]
        window, length = first["window"], first["length"]
        kind = (first["model"], first["hidden"], first["train_rollout"])
        period = float(group["period"].iloc[0])
        per_seed = []
        for cell in group["cell"]:
            one = forecasts[forecasts["cell"] == cell]
            values = one["value"].to_numpy()
            if len(values) and np.all(np.isfinite(values)):
                per_seed.append(period_amplitudes(values, period))
        if not per_seed or not len(per_seed[0]):
            continue
        amplitudes = np.median(np.vstack(per_seed), axis=0)
        ax.plot(
            np.arange(1, len(amplitudes) + 1),
            amplitudes,
            color=colors[kinds.index(kind) % len(colors)],
            ls="-" if length == ok["length"].max() else "--",
            marker=markers[windows.index(window) % len(markers)],
            label=label,
        )
        drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.axhline(1.0, color="0.4", lw=0.8)
    ax.set(
        xlabel="forecast period k",
        ylabel="median amplitude a_k over seeds",
        title="Amplitude per forecast period (true: 1)\n"
        "colour: model and hidden size; dashed: shortest data; marker: window",
    )
    ax.set_xticks(range(1, int(ax.get_xlim()[1]) + 1))
    ax.grid(alpha=0.3)
    ax.legend(ncols=3, fontsize=8, loc="best")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def fit_time_chart(ok: pd.DataFrame, path: Path) -> bool:
    """Median fit time against hidden size, one line per recurrent model, window and data length."""
    ok = ok[ok["hidden"] > 0]
    if ok.empty:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    lines = ok.groupby(["model", "train_rollout", "window", "length"], sort=True)
    for (model, rollout, window, length), group in list(lines)[:MAX_PLOTTED]:
        times = group.groupby("hidden")["fit_s"].median()
        remedy = f" rollout {rollout}" if rollout > 1 else ""
        ax.plot(times.index, times.values, marker="o", label=f"{model}{remedy} w{window} L{length}")
    ax.set(xlabel="hidden units", ylabel="median fit time (s)", title="Training time against hidden size")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(ok["hidden"].unique()), labels=[str(h) for h in sorted(ok["hidden"].unique())])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


def article_figures(ok: pd.DataFrame, series: pd.DataFrame, folder: Path) -> list[tuple[str, str]]:
    """The article's two figures for the article presets' cells (seed with the lowest number)."""
    from sinelstm.plots import fit_figure, forecast_figure

    made = []
    for name, keys in ARTICLE_CELLS.items():
        match = ok[np.logical_and.reduce([ok[key] == value for key, value in keys.items()])]
        if match.empty:
            continue
        row = match.sort_values("seed").iloc[0]
        cfg = config_of(row)
        one = series[series["cell"] == row["cell"]]
        fit = one[one["kind"] == "fit"]["value"].to_numpy()
        forecast = one[one["kind"] == "forecast"]["value"].to_numpy()
        if not len(fit) or not len(forecast):
            continue
        data = noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed)
        truth = clean_sine(np.arange(cfg.length, cfg.length + len(forecast)), cfg.period)
        fit_figure(cfg, data, fit, folder / f"{name}-fit.png")
        forecast_figure(cfg, data, fit, forecast, truth, folder / f"{name}-forecast.png")
        made.append((name, f"{name} (seed {cfg.seed})"))
    return made


def build_report(
    results: Path, out: Path, baseline: Path | None = None, gate: GateConfig | None = None
) -> tuple[str, GateResult | None]:
    """Write the report and its figures; return the markdown and the gate result (if judged)."""
    results = Path(results)
    frame = with_keys(read_results(results))
    series = read_series(series_path(results))
    paths = report_paths(out)
    paths.figures.mkdir(parents=True, exist_ok=True)
    ok = frame[frame["status"] == "ok"]

    gate_result = None
    if baseline is not None and gate is not None:
        gate_result = compare(results, baseline, gate)

    rel = paths.figures.name
    lines = ["# sinelstm benchmark report", "", provenance_sentence(frame), ""]
    lines += ["## Verdict", ""]
    if gate_result is None:
        lines += ["Not judged: no baseline was given.", ""]
    elif gate_result.passed:
        lines += [f"**PASSED** against `{baseline}`: no metric regressed beyond its tolerance.", ""]
    else:
        lines += [f"**FAILED** against `{baseline}` ({len(gate_result.failures)} failures):", ""]
        lines += [f"- {f}" for f in gate_result.failures[:40]]
        if len(gate_result.failures) > 40:
            lines.append(f"- ... and {len(gate_result.failures) - 40} more (see the gate table)")
        lines.append("")
    if gate_result is not None:
        lines += [f"> {w}" for w in gate_result.warnings[:10]] + [f"> {n}" for n in gate_result.notes]
        lines.append("")

    table, n_configs = results_table(ok)
    lines += [
        "## Results",
        "",
        "Median ± half the range over seeds, [min–max] where that spread is over a quarter "
        f"of the median. Full data: [`{results.name}`]({results.name}).",
        "",
        table,
        "",
    ]
    if n_configs > MAX_TABLE_ROWS:
        lines += [f"{n_configs - MAX_TABLE_ROWS} more configs are in the CSV.", ""]
    if gate_result is not None:
        lines += ["## Against the baseline", "", baseline_section(gate_result), ""]
    lines += ["## Findings", ""] + [f"- {sentence}" for sentence in findings(ok, frame)] + [""]
    if is_science(ok):
        lines += ["## Why the amplitude decays", ""] + science_section(ok) + [""]

    lines += ["## Figures", ""]
    if series is None:
        lines += [f"No series file (`{series_path(results).name}`) beside the CSV: no curves to draw.", ""]
    else:
        shown = min(MAX_PLOTTED, n_configs)
        limit = f" (the first {shown} of {n_configs} configs)" if shown < n_configs else ""
        if forecast_fan(ok, series, paths.figures / "forecasts.png"):
            lines += [f"### Forecasts by config{limit}", "", f"![forecasts]({rel}/forecasts.png)", ""]
        if amplitude_chart(ok, series, paths.figures / "amplitude.png"):
            lines += ["### Amplitude decay", "", f"![amplitude per period]({rel}/amplitude.png)", ""]
        for name, title in article_figures(ok, series, paths.figures):
            lines += [
                f"### The article's figures: {title}",
                "",
                f"![{name} fit]({rel}/{name}-fit.png)",
                "",
                f"![{name} forecast]({rel}/{name}-forecast.png)",
                "",
            ]
    if fit_time_chart(ok, paths.figures / "fit_time.png"):
        lines += ["### Training time", "", f"![fit time]({rel}/fit_time.png)", ""]

    markdown = "\n".join(lines)
    if len(markdown) > MAX_CHARS:
        markdown = markdown[: MAX_CHARS - 200] + "\n\n(Report cut at the pull-request comment limit.)\n"
    paths.markdown.write_text(markdown)
    return markdown, gate_result
