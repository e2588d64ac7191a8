"""The history store: one CSV, append-only, of every run's per-config, per-seed summaries
of what the gate judges (the declared `history` columns), keyed by commit, dirty flag,
time, machine and stack. One short row per (config, seed), so that it can
live in git; raw timings stay in the results CSV. Appends are whole-or-nothing under the
results store's lock; a torn last line is set aside, never read. Results are data:
written with the csv module, read with pandas, never evaluated (docs/history.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import warnings
from pathlib import Path

from sinelstm.sweep.columns import COLUMNS, TIMING
from sinelstm.sweep.grid import GRIDS, Grid
from sinelstm.sweep.rows import cell_key
from sinelstm.sweep.store import ResultsLock, _append, _format, header_line, read_results, repair_torn_tail

HISTORY_SCHEMA_VERSION = 2
STACK_COLUMNS = ("python", "numpy", "tensorflow", "keras", "backend")
KEY_COLUMNS = (
    ("history_schema", "commit", "dirty", "utc_time", "run_id", "grid", "machine")
    + STACK_COLUMNS
    + ("status", "note", "config", "seed")
)
# What the gate judges, as declared (sinelstm.sweep.columns: `history`): metrics,
# canaries and same-run speed ratios. Columns are read by name: an older history reads
# with a newer column empty, and gains it on its next append (version 1 had no `flat`).
HISTORY_METRICS = tuple(c.name for c in COLUMNS if c.history and c.kind != TIMING)
TEXT_METRICS = tuple(c.name for c in COLUMNS if c.history and c.value == "text")
RATIO_COLUMNS = tuple(c.name for c in COLUMNS if c.history and c.kind == TIMING)
HISTORY_COLUMNS = KEY_COLUMNS + HISTORY_METRICS + RATIO_COLUMNS
FLAGS = tuple(c.name for c in COLUMNS if c.history and c.value == "flag")
KNOWN_VERSIONS = ("1", str(HISTORY_SCHEMA_VERSION))


def _readable(names: list[str]) -> bool:
    """Whether a header is a history's: the key columns, then any of the measured ones
    (those missing were declared after it was written)."""
    return names[: len(KEY_COLUMNS)] == list(KEY_COLUMNS) and set(names) <= set(HISTORY_COLUMNS)


# What a results file must hold to enter the history. The canaries and the floor ratio
# came later inside schema 4: a file without them reads with them empty, as read_results
# fills in what schemas 2 and 3 lacked.
REQUIRED_RESULTS = ("run_id", "status", "cell", "cell_key", "seed") + tuple(
    name for name in HISTORY_METRICS if name not in TEXT_METRICS
)
# Ten significant digits: far inside the reproduction tolerance (1e-4 of the value), and
# shorter than repr.
DIGITS = 10
SKIPPED = "skipped"


class HistoryError(ValueError):
    """A history command's expected failure (bad input, an unreadable history): one line, exit 2."""


def grid_label(grid: Grid) -> str:
    """The grid's name where its cells are the named grid's, else the name and a hash of its
    cells' keys (quick~1a2b3c4d): equal labels ran equal cells, so series never mix grids."""
    name = grid.name.split("+")[0]
    cells = grid.cells()
    if name in GRIDS and cells == GRIDS[name].cells():
        return name
    digest = hashlib.sha256("\n".join(cell_key(cell) for cell in cells).encode()).hexdigest()[:8]
    return f"{name}~{digest}"


def _value(value: object) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.{DIGITS}g}"
    return _format(value)


def _line(values: dict[str, object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_value(values.get(c)) for c in HISTORY_COLUMNS])
    return buffer.getvalue()


def _check_writable(history: Path, upgrade: bool = False) -> None:
    """Refuse to append to a file that is not a history of a known version (by its header);
    with upgrade, rewrite an older version's file as this one's first."""
    if not history.is_file() or history.stat().st_size == 0:
        return
    with open(history, newline="") as handle:
        first = handle.readline()
    if first == header_line(HISTORY_COLUMNS):
        return
    names = next(csv.reader([first]), [])
    if _readable(names):
        if upgrade:
            _upgrade_file(history)
        return
    if "history_schema" in names:
        raise HistoryError(
            f"{history}: a history of another schema (this sinelstm writes version "
            f"{HISTORY_SCHEMA_VERSION}); write to a new --history file"
        )
    raise HistoryError(f"{history}: not a sinelstm history file (no history_schema column)")


def _append_lines(history: Path, lines: list[str]) -> None:
    history = Path(history)
    with ResultsLock(history, wait=60):
        _check_writable(history, upgrade=True)
        _append(history, header_line(HISTORY_COLUMNS), lines)


def _upgrade_file(history: Path) -> None:
    """A history with fewer columns rewritten with this version's, the missing ones empty;
    the file is replaced whole (a temporary file renamed over it, with its mode), never
    left half written. A torn last line is set aside first, as an append does."""
    import os
    import tempfile

    repair_torn_tail(history)
    records = [record for record in csv.reader(io.StringIO(history.read_text())) if record]
    header = records[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(header):
            raise HistoryError(f"{history}: line {number} has {len(record)} fields, not {len(header)}")
        values = dict(zip(header, record, strict=True))
        values["history_schema"] = str(HISTORY_SCHEMA_VERSION)
        writer.writerow([values.get(name, "") for name in HISTORY_COLUMNS])
    fd, temporary = tempfile.mkstemp(dir=history.parent, prefix=f".{history.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, history.stat().st_mode & 0o777)
        os.replace(temporary, history)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def append_run(
    results: Path, history: Path, grid: str, *, commit: str | None = None, dirty: bool | None = None
) -> int:
    """Append a results CSV's cells to the history, one row per (config, seed); return the
    rows appended. `grid` is the run's grid_label. commit and dirty default to the rows'
    provenance (a run in a temporary worktree of a commit passes them: it knows). The
    results are read with read_results: older schemas upgraded, unknown ones refused by
    name (ResultsError), never misread."""
    from sinelstm.sweep.grid import config_name

    frame = read_results(results, required=REQUIRED_RESULTS)
    # A resumed run's results file repeats the cells an earlier append kept: each
    # (commit, run, config, seed) is kept once.
    _check_writable(Path(history))
    old = read_history(history)
    columns = ("commit", "run_id", "config")
    kept = set(zip(*(old[name].astype(str) for name in columns), old["seed"], strict=True))
    lines = []
    for row in frame.to_dict("records"):
        sha = commit or _text(row.get("git_commit"))
        if (sha, _text(row.get("run_id")), config_name(row["cell"]), int(row["seed"])) in kept:
            continue
        values = {
            "history_schema": HISTORY_SCHEMA_VERSION,
            "commit": sha,
            "dirty": _text(row.get("git_dirty")) if dirty is None else dirty,
            "utc_time": _text(row.get("utc_time")),
            "run_id": _text(row.get("run_id")),
            "grid": grid,
            "machine": _text(row.get("machine")),
            **{name: _text(row.get(name)) for name in STACK_COLUMNS},
            "status": row["status"],
            "note": _text(row.get("error"))[:120],
            "config": config_name(row["cell"]),
            "seed": int(row["seed"]),
        }
        if row["status"] == "ok":
            values.update({name: _metric(row.get(name)) for name in HISTORY_METRICS + RATIO_COLUMNS})
        lines.append(_line(values))
    _append_lines(history, lines)
    return len(lines)


def append_skip(history: Path, commit: str, grid: str, reason: str) -> None:
    """Record that a commit's code could not run the grid, with its one-line reason, so that
    a resumed run does not try it again."""
    from datetime import UTC, datetime

    values = {
        "history_schema": HISTORY_SCHEMA_VERSION,
        "commit": commit,
        "dirty": False,
        "utc_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "grid": grid,
        "status": SKIPPED,
        "note": " ".join(reason.split())[:200],
    }
    _append_lines(history, [_line(values)])


def _text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _metric(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return bool(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def read_history(path: Path):
    """The history as a DataFrame, checked: its schema version (an unknown one refused by
    name), its columns, its numbers. A torn last line (a kill mid-append) is left out with a
    warning; the next append sets it aside. An absent file is an empty history."""
    import pandas as pd

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        warnings.warn(f"{path}: its last line was cut short; not read", stacklevel=2)
        data = data[: data.rfind(b"\n") + 1]
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise HistoryError(f"{path}: not a readable CSV ({first})") from None
    if "history_schema" not in frame.columns:
        raise HistoryError(f"{path}: no history_schema column; not a sinelstm history file")
    versions = sorted(set(frame["history_schema"]))
    if not set(versions) <= set(KNOWN_VERSIONS):
        raise HistoryError(
            f"{path}: history schema version {', '.join(versions)}; "
            f"this sinelstm reads versions {', '.join(KNOWN_VERSIONS)}"
        )
    if not _readable(list(frame.columns)):
        missing = [c for c in KEY_COLUMNS if c not in frame.columns]
        strange = [c for c in frame.columns if c not in HISTORY_COLUMNS]
        raise HistoryError(
            f"{path}: columns differ from history schema {HISTORY_SCHEMA_VERSION}"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + (f" (unknown: {', '.join(strange)})" if strange else "")
        )
    for name in HISTORY_COLUMNS:  # written before it was declared: empty
        if name not in frame.columns:
            frame[name] = ""
    frame = frame[list(HISTORY_COLUMNS)].assign(history_schema=str(HISTORY_SCHEMA_VERSION))
    return _typed(frame, path)


def _typed(frame, path: Path):
    """Numbers as numbers, flags as booleans: a value that is neither is refused by name."""
    import pandas as pd

    frame = frame.copy()
    flags = {"True": 1.0, "False": 0.0, "": float("nan")}
    for column in ("dirty", *FLAGS):
        odd = sorted(set(frame[column]) - set(flags))
        if odd:
            raise HistoryError(f"{path}: {column} {odd[0]!r} is not True or False")
        frame[column] = frame[column].map(flags)
    frame["dirty"] = frame["dirty"] == 1.0
    for column in ("seed", *[c for c in HISTORY_METRICS + RATIO_COLUMNS if c not in TEXT_METRICS]):
        if column in FLAGS:
            continue
        try:
            frame[column] = pd.to_numeric(frame[column].replace("", float("nan")))
        except (ValueError, TypeError):
            raise HistoryError(f"{path}: column {column} holds a value that is not a number") from None
    return frame


def run_size(path: Path) -> tuple[int, int]:
    """(bytes, runs) of a history file: its size per run is what keeping it in git costs."""
    frame = read_history(path)
    runs = frame.loc[frame["status"] != SKIPPED, "run_id"].nunique()
    return (Path(path).stat().st_size if Path(path).is_file() else 0), int(runs)
