"""Whether early stopping read from a budgeted run's checkpoints is early stopping trained
alone: the cells two science runs share (the same cell_key: config and seed), one run
reading its early-stopped cells from the budgeted run, the other training them on their
own, every metric in units of the gate's reproduction tolerance. The budgets of both
runs were trained alike, so their distance is the two hosts' own; early stopping's
should be no larger.

    git show 3423836:results/latest-science.csv > /tmp/round3-science.csv
    python docs/early_stopping_check.py results/latest-science.csv /tmp/round3-science.csv
"""

from __future__ import annotations

import math
import sys

from sinelstm.sweep.grid import BUDGET_PATIENCE
from sinelstm.sweep.rows import METRIC_COLUMNS
from sinelstm.sweep.store import read_results
from sinelstm.verdict.rules import ReproductionRules

EXACT = ("epochs_run", "best_epoch")


def main(new_path: str, old_path: str) -> None:
    rules = ReproductionRules()
    new, old = (read_results(path) for path in (new_path, old_path))
    new, old = (frame[(frame["status"] == "ok") & (frame["model"] == "lstm")] for frame in (new, old))
    both = new.merge(old, on="cell_key", suffixes=("", "_old"))
    for name, rows in (
        ("early stopping", both[both["patience"].astype(int) < BUDGET_PATIENCE]),
        ("budgets", both[both["patience"].astype(int) >= BUDGET_PATIENCE]),
    ):
        same = {c: int((rows[c].astype(float) == rows[f"{c}_old"].astype(float)).sum()) for c in EXACT}
        worst, where = 0.0, ""
        for metric in (m for m in METRIC_COLUMNS if m not in EXACT + rules.exact and f"{m}_old" in rows):
            for value, before, cell in zip(rows[metric], rows[f"{metric}_old"], rows["cell"], strict=True):
                value, before = float(value), float(before)
                if not (math.isfinite(value) and math.isfinite(before)):
                    continue
                share = abs(value - before) / rules.tolerance(before, metric)
                if share > worst:
                    worst, where = share, f"{metric}, {cell}"
        print(
            f"{name}: {len(rows)} cells in both; "
            + ", ".join(f"{c} equal in {n}" for c, n in same.items())
            + f"; largest move {worst:.3f} of the tolerance ({where or 'none'})"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
