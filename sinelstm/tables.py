"""Plain-text tables of result rows for the terminal."""

from __future__ import annotations

import math

from sinelstm.results import METRIC_COLUMNS, TIMING_COLUMNS


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def metrics_table(row: dict[str, object]) -> str:
    """The metrics and timings of one row, one per line."""
    from tabulate import tabulate

    names = METRIC_COLUMNS + TIMING_COLUMNS
    return tabulate([(name, format_value(row.get(name))) for name in names], headers=["metric", "value"])
