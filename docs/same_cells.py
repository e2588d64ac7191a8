"""How far the same cells run two ways are apart: cells of two results files that differ
in one config field only (the trainer: seeds trained together against alone; the
implementation: the block kernel against Keras' LSTM), paired by every other field and
the seed, every metric in units of the gate's reproduction tolerance (1 = the most the
gate's reproduction tier lets a metric move): the largest, and how many cells are beyond 1.

    python docs/same_cells.py FIELD NEW_VALUE NEW.csv OLD_VALUE OLD.csv [OLD.csv ...]
    python docs/same_cells.py trainer batched results/latest-science.csv loop results/latest.csv
    python docs/same_cells.py implementation block BLOCK.csv keras results/latest.csv

A cell in several OLD files is taken from the first; a canary an older schema did not
record is compared where both rows have it (the counts say how many).
"""

from __future__ import annotations

import sys
from functools import partial

import pandas as pd

from sinelstm.experiment.config import CONFIG_FIELDS
from sinelstm.sweep.rows import METRIC_COLUMNS
from sinelstm.sweep.store import read_results
from sinelstm.verdict.rules import ReproductionRules

EXACT = ("epochs_run", "best_epoch", "diverged", "data_checksum", "metrics_checksum")


def main(field: str, new_value: str, new_path: str, old_value: str, *old_paths: str) -> None:
    if field not in CONFIG_FIELDS or not old_paths:
        raise SystemExit(__doc__)
    rules = ReproductionRules()
    keys = [name for name in CONFIG_FIELDS if name != field]
    new = read_results(new_path)
    new = new[(new["status"] == "ok") & (new[field].astype(str) == new_value)]
    old = pd.concat([read_results(path) for path in old_paths])
    old = old[(old["status"] == "ok") & (old[field].astype(str) == old_value)].drop_duplicates(
        keys, keep="first"
    )
    for frame in (new, old):
        frame["hidden"] = pd.to_numeric(frame["hidden"], errors="coerce").fillna(0).astype(int)
        frame["implementation"] = frame["implementation"].fillna("").astype(str)  # "" where n/a
    pairs = new.merge(old, on=keys, suffixes=("_new", "_old"))
    counts = pairs.groupby("model").size().to_dict()
    print(f"{len(pairs)} cells in both ({field} {new_value} against {old_value}): {counts}")
    rows = []
    for model, group in pairs.groupby("model"):
        row = {"model": model, "cells": len(group)}
        for metric in METRIC_COLUMNS:
            both = group[group[f"{metric}_new"].notna() & group[f"{metric}_old"].notna()]
            a, b = both[f"{metric}_new"], both[f"{metric}_old"]
            if metric in EXACT or a.dtype == object:
                row[metric] = f"{int((a.astype(str) != b.astype(str)).sum())} of {len(both)} differ"
                continue
            tolerance = partial(rules.tolerance, metric=metric)
            units = (a.astype(float) - b.astype(float)).abs() / b.astype(float).abs().map(tolerance)
            beyond = int((units > 1).sum())
            row[metric] = f"{units.max():.3f}" + (f" ({beyond} beyond)" if beyond else "")
        rows.append(row)
    print(pd.DataFrame(rows).set_index("model").T.to_markdown())


if __name__ == "__main__":
    main(*sys.argv[1:])
