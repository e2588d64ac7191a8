"""The result row: its schema, the one place rows are built, and the cell key.

Every row, finished or failed, is built here, and carries its cell's readable
name (`cell`) and `cell_key`, a hash of every config field: readers find cells
by key and never parse rows back into configs to do it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import traceback

from sinelstm.experiment.config import CONFIG_FIELDS, ExperimentConfig
from sinelstm.sweep.columns import METRIC_COLUMNS, TIMING_COLUMNS
from sinelstm.sweep.grid import cell_id
from sinelstm.sweep.provenance import PROVENANCE_COLUMNS, provenance

SCHEMA_VERSION = 6
# Older schemas that read as this one. 6 added `flat` and the host columns `cpu_id`, `isa`,
# `isa_cap`, `onednn` (empty: not recorded then; amplitudes then were not at the resolution);
# 5 added `steps_run` and `loss_drift` (empty: not
# measured then); 4 added `cell` and `cell_key` (computed from the
# config columns), the canaries and the floor columns (empty: not measured then); 3
# added `implementation` (every LSTM of a schema-2 file ran keras.layers.LSTM); 2 added
# `trainer` and `train_rollout` (schema-1 code trained every cell with model.fit, on
# one-step windows: trainer "fit", train_rollout 1).
UPGRADABLE_VERSIONS = (1, 2, 3, 4, 5)

KEY_COLUMNS = ("cell", "cell_key")
COLUMNS = (
    ("schema_version", "run_id", "status", "error")
    + KEY_COLUMNS
    + CONFIG_FIELDS
    + METRIC_COLUMNS
    + TIMING_COLUMNS
    + PROVENANCE_COLUMNS
)


def cell_key(cfg: ExperimentConfig) -> str:
    """A hash of every config field: two rows with the same key ran the same experiment."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_columns(cfg: ExperimentConfig) -> dict[str, object]:
    """A config as result-row columns; a field that does not apply to the model is empty (n/a)."""
    columns: dict[str, object] = dataclasses.asdict(cfg)
    if not cfg.uses_hidden:
        columns["hidden"] = ""
    return columns


def _head(cfg: ExperimentConfig, run_id: str, status: str, error: str) -> dict[str, object]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": status,
        "error": error,
        "cell": cell_id(cfg),
        "cell_key": cell_key(cfg),
        **config_columns(cfg),
    }


def ok_row(
    cfg: ExperimentConfig, run_id: str, metrics: dict[str, object], timings: dict[str, float]
) -> dict[str, object]:
    """The row of a finished cell: config, metrics, timings (speed-up columns included
    where measured), provenance."""
    unknown = (set(metrics) - set(METRIC_COLUMNS)) | (set(timings) - set(TIMING_COLUMNS))
    if unknown:
        raise ValueError(f"not result columns: {', '.join(sorted(unknown))}")
    return {**_head(cfg, run_id, "ok", ""), **metrics, **timings, **provenance()}


def failed_row(cfg: ExperimentConfig, run_id: str, error: BaseException | str) -> dict[str, object]:
    """The row of a cell that crashed, hung or was lost: its config, the error, no metrics."""
    if isinstance(error, BaseException):
        error = traceback.format_exception_only(type(error), error)[-1].strip()
    return {**_head(cfg, run_id, "failed", error[:500]), **provenance()}


def config_of(row) -> ExperimentConfig:
    """The config of a result row (a dict or a CSV record), each field cast to its type;
    an empty (n/a) hidden reads as 0, an empty implementation as "". For upgrading old
    files, naming the fields two rows differ in, and rerunning a row's config with other
    seeds; not for finding cells."""
    default = ExperimentConfig()
    values = {}
    for name in CONFIG_FIELDS:
        value = row[name]
        empty = value == "" or (isinstance(value, float) and math.isnan(value))
        if name == "hidden" and empty:
            value = 0
        elif name == "implementation" and empty:
            value = ""
        values[name] = type(getattr(default, name))(value)
    return ExperimentConfig(**values)


def config_differences(row, other) -> list[str]:
    """'field a -> b' for each config field in which two rows differ."""
    return [
        f"{name} {row[name]} -> {other[name]}"
        for name in CONFIG_FIELDS
        if _text(row[name]) != _text(other[name])
    ]


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
