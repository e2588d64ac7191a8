"""The results store: a CSV of rows and a series file of curves, appended safely,
locked while written, and read back checked.

Results are data: rows are written with the csv module and read with pandas,
never pickled or evaluated. A row lands whole or not at all: each goes down in
one checked write and is flushed; a last line without its newline (a crash or
a full disk mid-write) is found on open, set aside, and never read as a cell.
A cell's curves are written before its row, so a row on disk always has its
curves (a kill in between leaves curves without a row: the cell is unfinished).
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from pathlib import Path

from sinelstm.experiment import kinds
from sinelstm.sweep.columns import METRIC_COLUMNS, TIMING_COLUMNS
from sinelstm.sweep.rows import COLUMNS, KEY_COLUMNS, SCHEMA_VERSION, UPGRADABLE_VERSIONS, cell_key, config_of

# The per-step curves behind the figures, one file beside each results CSV:
# in-sample one-step predictions (kind "fit") and the forecast (kind "forecast"),
# keyed by the row's cell_key.
SERIES_COLUMNS = ("cell_key", "kind", "x", "value")


class ResultsError(Exception):
    """A results file that cannot be read, written or trusted."""


def series_path(results: Path) -> Path:
    return Path(results).with_suffix(".series.csv")


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


def header_line(columns=COLUMNS) -> str:
    return ",".join(columns) + "\n"


def _write_all(fd: int, data: bytes, path: Path) -> None:
    """Write every byte or raise: os.write may write less than it was given."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(f"wrote 0 of {len(view)} bytes")
        view = view[written:]


def repair_torn_tail(path: Path) -> int:
    """Cut a last line that lacks its newline (a write cut short) and keep it beside the
    file as NAME.torn, with a warning; return the bytes cut. A torn line is never a cell."""
    path = Path(path)
    if not path.is_file():
        return 0
    with open(path, "rb") as handle:
        data = handle.read()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    torn = data[keep:]
    with open(str(path) + ".torn", "ab") as handle:
        handle.write(torn + b"\n")
    os.truncate(path, keep)
    warnings.warn(
        f"{path}: its last line was cut short ({len(torn)} bytes, no newline); "
        f"set aside in {path.name}.torn and not counted",
        stacklevel=2,
    )
    return len(torn)


def _append(path: Path, header: str, lines: list[str]) -> None:
    """Append lines whole or not at all: a failed write (a full disk) is cut back to the
    file's size before it, so no half line is ever left behind."""
    path = Path(path)
    repair_torn_tail(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size > 0:
            check_header(path, header)
        data = ("" if size else header) + "".join(lines)
        try:
            _write_all(fd, data.encode(), path)
            os.fsync(fd)
        except OSError as error:
            os.ftruncate(fd, size)
            raise ResultsError(
                f"{path}: could not append ({error.strerror or error}); nothing was written"
            ) from None
    finally:
        os.close(fd)


def append_rows(path: Path, rows: list[dict[str, object]]) -> None:
    """Append rows to path (the header first if the file is new or empty), flushed to disk."""
    _append(path, header_line(), [format_row(row) for row in rows])


def append_series(path: Path, key: str, curves: dict[str, tuple[int, object]]) -> None:
    """Append one cell's curves (kind -> (first x, values)) to the series file, flushed."""
    lines = [
        f"{key},{kind},{first + step},{float(value)!r}\n"
        for kind, (first, values) in curves.items()
        for step, value in enumerate(values)
    ]
    _append(path, header_line(SERIES_COLUMNS), lines)


class ResultsLock:
    """An exclusive lock on a results file (filelock, flock underneath), for writers and for
    readers that must see a finished file. Refuses after `wait` seconds (0: at once). The
    lock file stays on disk: deleting it would let two processes hold "the" lock at once."""

    def __init__(self, path: Path, wait: float = 0):
        from filelock import FileLock

        self.path = Path(str(path) + ".lock")
        self._lock = FileLock(self.path, timeout=wait, preserve_lock_file=True)

    def __enter__(self) -> ResultsLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise ResultsError(
                f"{self.path.name[:-5]} is being written by another sinelstm run "
                f"(lock {self.path}); wait for it to finish or choose another --out"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


def locked(*paths: Path):
    """One context that holds the results lock of each existing file among paths (each
    once): a reader that must not see a file while a run is still writing it."""
    from contextlib import ExitStack

    stack = ExitStack()
    for path in dict.fromkeys(Path(p).resolve() for p in paths):
        if path.is_file():
            stack.enter_context(ResultsLock(path))
    return stack


def latest_lines(path: Path) -> bytes:
    """The file's header and, for each cell_key, its last row, as written (a retry's row
    supersedes the failed one): what a baseline keeps of a run."""
    with open(path, newline="") as handle:
        records = list(csv.reader(handle))
    header, rows = records[0], records[1:]
    key = header.index("cell_key")
    last = {row[key]: index for index, row in enumerate(rows)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(row for index, row in enumerate(rows) if last[row[key]] == index)
    return buffer.getvalue().encode()


def check_header(path: Path, header: str | None = None) -> None:
    with open(path, newline="") as handle:
        first = handle.readline()
    if first != (header or header_line()):
        raise ResultsError(
            f"{path}: its header is not this version's schema ({SCHEMA_VERSION}); write to a new file"
        )


def read_results(path: Path, required: tuple[str, ...] = COLUMNS):
    """A checked DataFrame of a results CSV: exists, parses, right schema version and
    columns, no short rows. Older schemas are upgraded; every reader sees only the
    latest row of each cell (a retry supersedes a failed row)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    text = path.read_bytes()
    if text and not text.endswith(b"\n"):
        raise ResultsError(f"{path}: its last line is cut short (no newline); resume the run to set it aside")
    try:
        frame = pd.read_csv(path, dtype={"git_commit": str, "error": str, "run_id": str, "cell_key": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ResultsError(f"{path}: not a readable CSV ({first})") from None
    if "schema_version" not in frame.columns:
        raise ResultsError(f"{path}: no schema_version column; not a sinelstm results file")
    if frame.empty:
        raise ResultsError(f"{path}: a header and no rows")
    numbers = pd.to_numeric(frame["schema_version"], errors="coerce")
    if numbers.isna().any():
        raise ResultsError(f"{path}: a schema_version that is not a number; not a sinelstm results file")
    versions = sorted(set(numbers.astype(int)))
    if len(versions) != 1 or versions[0] not in (SCHEMA_VERSION, *UPGRADABLE_VERSIONS):
        raise ResultsError(
            f"{path}: schema version {', '.join(map(str, versions)) or 'missing'}, "
            f"this sinelstm reads version {SCHEMA_VERSION} "
            f"(and upgrades {', '.join(map(str, UPGRADABLE_VERSIONS))})"
        )
    if versions[0] != SCHEMA_VERSION:
        frame = _upgrade(frame, versions[0])
    for column in METRIC_COLUMNS + TIMING_COLUMNS:  # declared since the file was written: empty
        if column not in frame.columns:
            frame[column] = float("nan")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ResultsError(f"{path}: missing columns: {', '.join(missing)}")
    short = frame["status"].isna() | frame["cell_key"].isna() | frame["run_id"].isna()
    if short.any():
        line = int(short.to_numpy().nonzero()[0][0]) + 2
        raise ResultsError(f"{path}: line {line} is a short row (no status, cell_key or run_id)")
    return latest_rows(frame)


def latest_rows(frame):
    """The last row of each cell_key, in file order: a retry supersedes a failed row."""
    return frame[~frame["cell_key"].duplicated(keep="last")].reset_index(drop=True)


def _upgrade(frame, version: int):
    """A schema-1 to -4 frame as this schema: what the older code ran filled in (rows.py
    says what each schema added), cell and cell_key computed."""
    frame = frame.copy()
    if version == 1:
        for column, value in (("trainer", "fit"), ("train_rollout", 1)):
            if column not in frame.columns:
                at = frame.columns.get_loc("epochs") + 1 if "epochs" in frame else len(frame.columns)
                frame.insert(at, column, value)
        version = 2
    if version == 2 and "implementation" not in frame.columns and "model" in frame:
        frame.insert(
            frame.columns.get_loc("trainer") + 1 if "trainer" in frame else len(frame.columns),
            "implementation",
            [kinds.default_implementation(model) for model in frame["model"]],
        )
    from sinelstm.sweep.grid import cell_id

    if version < 4:
        configs = [config_of(row) for row in frame.to_dict("records")]
        frame.insert(frame.columns.get_loc("error") + 1, KEY_COLUMNS[0], [cell_id(c) for c in configs])
        frame.insert(frame.columns.get_loc("cell") + 1, KEY_COLUMNS[1], [cell_key(c) for c in configs])
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = float("nan")  # measured only from the schema that added it on
    frame["schema_version"] = SCHEMA_VERSION
    return frame[list(COLUMNS)]


def read_series(path: Path, results=None):
    """The series file's curves, or None where there is none. An old file keyed by cell
    name is rekeyed through `results` (its cells' names and keys)."""
    import pandas as pd

    if not Path(path).is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype={"cell_key": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ResultsError(f"{path}: not a readable series file ({first})") from None
    if list(frame.columns) == ["cell", "kind", "x", "value"] and results is not None:
        # Schema 3 and older: keyed by the cell's name, whose remedy part was "rollout".
        names = [str(name).replace("-train_rollout", "-rollout") for name in results["cell"]]
        keys = dict(zip(names, results["cell_key"], strict=True))
        frame = frame.assign(cell=frame["cell"].map(keys)).rename(columns={"cell": "cell_key"})
        frame = frame.dropna(subset=["cell_key"])
    if list(frame.columns) != list(SERIES_COLUMNS):
        raise ResultsError(f"{path}: not a sinelstm series file (columns {list(frame.columns)})")
    # A cell killed between its curves and its row, then rerun, wrote its curves twice:
    # the last ones are the ones its row belongs to.
    return frame.drop_duplicates(subset=["cell_key", "kind", "x"], keep="last")
