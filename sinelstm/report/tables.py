"""Tables: a run's metrics for the terminal, and the report's results and baseline tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sinelstm.analysis.frames import configs
from sinelstm.sweep.columns import COLUMNS
from sinelstm.sweep.grid import is_cell_id
from sinelstm.verdict.result import GateResult

MAX_TABLE_ROWS = 60  # configs listed in full; the rest are summarised

# The report's columns, as declared: (column, header, digits); a count (aggregate sum) prints
# its total over seeds.
TABLE_METRICS = [(c.name, c.report, c.digits) for c in COLUMNS if c.report]
COUNTS = {c.name: c.value for c in COLUMNS if c.aggregate == "sum"}


MARKERS = {
    "better": "better ✅",
    "worse": "worse ❌",
    "within": "within ≈",
    "differs": "differs ❌",
    "n/a": "n/a",
}


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def metrics_table(values: dict[str, object], names) -> str:
    """The named values of a run (its metrics and timings), one per line, for the terminal."""
    from tabulate import tabulate

    return tabulate([(name, format_value(values.get(name))) for name in names], headers=["metric", "value"])


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
            if COUNTS.get(column) == "flag":
                row.append(str(int(group[column].astype(str).str.lower().eq("true").sum())))
            elif column in COUNTS:
                row.append(f"{pd.to_numeric(group[column], errors='coerce').sum():.{digits}f}")
            else:
                row.append(summarise(group[column], digits))
        rows.append(row)
    headers = ["config", "seeds"] + [header for _, header, _ in TABLE_METRICS]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), len(groups)


def baseline_section(gate: GateResult) -> str:
    """Per config: the tier that judged it, and what changed against the baseline (metrics
    beyond their tolerance or differing from it, slower timings); configs with nothing to
    report are counted, not listed."""
    from tabulate import tabulate

    notable = ("better", "worse", "differs", "not judged")
    changes: dict[str, list[str]] = {}
    for c in gate.comparisons:
        if is_cell_id(c.config) or c.verdict not in notable:
            continue
        marker = MARKERS.get(c.verdict, c.verdict)
        changes.setdefault(c.config, []).append(f"{c.metric} {c.baseline} → {c.current} {marker}")
    if not gate.tiers:
        return "No config could be compared with the baseline."
    rows = [
        [config, tier.name, "; ".join(changes.get(config, [])) or "nothing changed beyond its tolerance"]
        for config, tier in sorted(gate.tiers.items())
        if config in changes or len(gate.tiers) <= MAX_TABLE_ROWS
    ]
    text = tabulate(
        rows, headers=["config", "tier", "what changed"], tablefmt="github", disable_numparse=True
    )
    if len(rows) < len(gate.tiers):
        quiet = len(gate.tiers) - len(rows)
        text += f"\n\n{quiet} configs with nothing changed beyond their tolerance are not listed."
    return text
