"""The results CSV: its schema, safe appends, a lock, and checked reading.

Results are data: rows are written with the csv module and read with
pandas, never pickled or evaluated.
"""

from __future__ import annotations

import csv
import fcntl
import io
import math
import os
from pathlib import Path

from sinelstm.config import CONFIG_FIELDS
from sinelstm.grid import cell_id
from sinelstm.provenance import PROVENANCE_COLUMNS

SCHEMA_VERSION = 3
# Schema 3 added the `implementation` column; every LSTM of a schema-2 file ran
# keras.layers.LSTM, so such a file reads as schema 3 with that value filled in.
UPGRADABLE_VERSION = 2

METRIC_COLUMNS = (
    "epochs_run",
    "best_epoch",
    "train_loss",
    "val_loss",
    "fit_rmse_clean",
    "fit_rmse_noisy",
    "forecast_rmse",
    "forecast_rmse_p1",
    "amp_first",
    "amp_last",
    "amp_ratio",
    "decay_per_period",
    "forecast_mean",
    "period_est",
    "phase_drift",
    "diverged",
)
TIMING_COLUMNS = (
    "fit_s",
    "fit_warmup_s",
    "s_per_epoch",
    "forecast_s",
    "forecast_warmup_s",
    "forecast_ms_per_step",
    "forecast_cv",
    "predict_ms_per_step",
    "engine_speedup",
)
COLUMNS = (
    ("schema_version", "run_id", "status", "error")
    + CONFIG_FIELDS
    + METRIC_COLUMNS
    + TIMING_COLUMNS
    + PROVENANCE_COLUMNS
)


# The per-step curves behind the figures, one file beside each results CSV:
# in-sample one-step predictions (kind "fit") and the forecast (kind "forecast").
SERIES_COLUMNS = ("cell", "kind", "x", "value")


def series_path(results: Path) -> Path:
    return Path(results).with_suffix(".series.csv")


class ResultsError(Exception):
    """A results file that cannot be read, written or trusted."""


def _format(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def format_row(row: dict[str, object]) -> str:
    """One CSV line in COLUMNS order; unknown keys are an error, missing ones empty."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ResultsError(f"row has columns outside the schema: {', '.join(sorted(unknown))}")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_format(row.get(c)) for c in COLUMNS])
    return buffer.getvalue()


def header_line() -> str:
    return ",".join(COLUMNS) + "\n"


def append_rows(path: Path, rows: list[dict[str, object]]) -> None:
    """Append rows to path (writing the header first if the file is new or empty).

    Each row goes down in one write to a file opened for appending and is
    flushed to disk before the call returns, so a killed run keeps every
    row written before it and never leaves half a line.
    """
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, header_line().encode())
        else:
            check_header(path)
        for row in rows:
            os.write(fd, format_row(row).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def append_series(path: Path, cfg, fit_predictions, forecast) -> None:
    """Append one cell's curves to the series file, in one write, flushed."""
    import numpy as np

    keys = cell_id(cfg)
    curves = (
        ("fit", cfg.window, np.asarray(fit_predictions, dtype=np.float64)),
        ("forecast", cfg.length, np.asarray(forecast, dtype=np.float64)),
    )
    lines = [
        f"{keys},{kind},{first + step},{float(value)!r}"
        for kind, first, values in curves
        for step, value in enumerate(values)
    ]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, (",".join(SERIES_COLUMNS) + "\n").encode())
        if lines:
            os.write(fd, ("\n".join(lines) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def check_header(path: Path) -> None:
    with open(path, newline="") as handle:
        first = handle.readline()
    if first != header_line():
        raise ResultsError(
            f"{path}: its header is not this version's schema ({SCHEMA_VERSION}); write to a new file"
        )


class ResultsLock:
    """An exclusive lock on a results file, held for a whole run; refuses, never waits."""

    def __init__(self, path: Path):
        self.path = Path(str(path) + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> ResultsLock:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise ResultsError(
                f"{self.path.name[:-5]} is being written by another sinelstm run "
                f"(lock {self.path}); wait for it to finish or choose another --out"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            self.path.unlink(missing_ok=True)


def read_results(path: Path, required: tuple[str, ...] = COLUMNS):
    """A checked DataFrame of a results CSV: exists, parses, right schema version and columns."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    try:
        frame = pd.read_csv(path, dtype={"git_commit": str, "error": str, "run_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ResultsError(f"{path}: not a readable CSV ({first})") from None
    if "schema_version" not in frame.columns:
        raise ResultsError(f"{path}: no schema_version column; not a sinelstm results file")
    versions = sorted(set(frame["schema_version"].dropna().astype(str)))
    if versions == [str(UPGRADABLE_VERSION)] and "implementation" not in frame.columns and "model" in frame:
        frame.insert(
            frame.columns.get_loc("trainer") + 1 if "trainer" in frame else len(frame.columns),
            "implementation",
            ["keras" if model == "lstm" else "" for model in frame["model"]],
        )
        frame["schema_version"] = SCHEMA_VERSION
        versions = [str(SCHEMA_VERSION)]
    if versions != [str(SCHEMA_VERSION)]:
        raise ResultsError(
            f"{path}: schema version {', '.join(versions) or 'missing'}, "
            f"this sinelstm reads version {SCHEMA_VERSION}"
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ResultsError(f"{path}: missing columns: {', '.join(missing)}")
    return frame
