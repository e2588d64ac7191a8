"""How far seeds trained together (the batched trainer) are from the same seeds trained
alone (the loop trainer): every metric of every cell the two results files share by
config (all fields but the trainer) and seed, in units of the gate's reproduction
tolerance (1 = the most the gate's reproduction tier lets a metric move): the largest, and
how many cells are beyond 1.

    python docs/batched_vs_loop.py BATCHED.csv LOOP.csv [LOOP.csv ...]

A cell in several loop files is taken from the first; a canary an older schema did not
record is compared where both rows have it (the counts say how many).
"""

from __future__ import annotations

import sys

import pandas as pd

from sinelstm.experiment.config import CONFIG_FIELDS
from sinelstm.sweep.rows import METRIC_COLUMNS
from sinelstm.sweep.store import read_results
from sinelstm.verdict.rules import ReproductionRules

EXACT = ("epochs_run", "best_epoch", "diverged", "data_checksum", "metrics_checksum")


def main(batched: str, *loops: str) -> None:
    rules = ReproductionRules()
    keys = [name for name in CONFIG_FIELDS if name != "trainer"]
    together = read_results(batched)
    together = together[(together["status"] == "ok") & (together["trainer"] == "batched")]
    alone = pd.concat([read_results(path) for path in loops])
    alone = alone[(alone["status"] == "ok") & (alone["trainer"] == "loop")].drop_duplicates(
        keys, keep="first"
    )
    for frame in (together, alone):
        frame["hidden"] = pd.to_numeric(frame["hidden"], errors="coerce").fillna(0).astype(int)
        frame["implementation"] = frame["implementation"].fillna("").astype(str)  # "" where n/a
    pairs = together.merge(alone, on=keys, suffixes=("_batched", "_alone"))
    print(f"{len(pairs)} cells in both: {pairs.groupby('model').size().to_dict()}")
    rows = []
    for model, group in pairs.groupby("model"):
        row = {"model": model, "cells": len(group)}
        for metric in METRIC_COLUMNS:
            both = group[group[f"{metric}_batched"].notna() & group[f"{metric}_alone"].notna()]
            a, b = both[f"{metric}_batched"], both[f"{metric}_alone"]
            if metric in EXACT or a.dtype == object:
                row[metric] = f"{int((a.astype(str) != b.astype(str)).sum())} of {len(both)} differ"
                continue
            units = (a.astype(float) - b.astype(float)).abs() / b.astype(float).abs().map(rules.tolerance)
            beyond = int((units > 1).sum())
            row[metric] = f"{units.max():.3f}" + (f" ({beyond} beyond)" if beyond else "")
        rows.append(row)
    print(pd.DataFrame(rows).set_index("model").T.to_markdown())


if __name__ == "__main__":
    main(*sys.argv[1:])
