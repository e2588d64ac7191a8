"""Whether two runs of the same grid gave identical rows: every cell of one in the other,
with the same value in every metric and canary column (no tolerance). For a change that
must not move a result (a refactor): run the grid before and after, on one host.

    python docs/identical_rows.py BEFORE.csv AFTER.csv

Prints the cells and values compared and any that differ; exit 1 where one does.
"""

from __future__ import annotations

import sys

import pandas as pd

from sinelstm.sweep.columns import METRIC_COLUMNS
from sinelstm.sweep.store import read_results


def differences(before: pd.DataFrame, after: pd.DataFrame) -> tuple[int, int, list[str]]:
    """(cells compared, values compared, one line per cell missing or value that differs)."""
    old, new = before.set_index("cell"), after.set_index("cell")
    lines = [f"{cell}: only in one run" for cell in sorted(set(old.index) ^ set(new.index))]
    cells = sorted(set(old.index) & set(new.index))
    columns = [c for c in METRIC_COLUMNS if c in old.columns and c in new.columns]
    for cell in cells:
        for column in columns:
            a, b = old.at[cell, column], new.at[cell, column]
            if not (a == b or (pd.isna(a) and pd.isna(b))):
                lines.append(f"{cell}: {column} {a} -> {b}")
    return len(cells), len(cells) * len(columns), lines


def main(before: str, after: str) -> int:
    cells, values, lines = differences(read_results(before), read_results(after))
    print(f"{cells} cells, {values} metric and canary values compared: {len(lines)} differ")
    for line in lines:
        print(line)
    return 1 if lines else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
