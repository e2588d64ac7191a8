"""Accepting a baseline: the one explicit, reviewable act that writes it."""

from __future__ import annotations

import csv
import fnmatch
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sinelstm.sweep.grid import config_name
from sinelstm.sweep.store import ResultsError, latest_lines, locked, read_results


def accept_baseline(run: Path, baseline: Path, reason: str, configs: tuple[str, ...] = ()) -> int:
    """Replace the baseline with a run's rows (the latest row of each cell), or, with
    `configs` (config-name patterns), only the rows of the configs they match; record
    why in baseline + '.reason' (appended to, so every acceptance stays on record).

    Refuses a run with crashed cells, an empty reason, patterns that match no config of
    the run, and a run or baseline that another sinelstm run is writing. The files are
    replaced atomically, so a failure leaves the old baseline as it was. Returns the
    number of rows taken from the run.
    """
    if not reason.strip():
        raise ResultsError("--reason: give the reason for the new baseline")
    with locked(run, baseline):
        return _accept(Path(run), Path(baseline), reason, configs)


def _accept(run: Path, baseline: Path, reason: str, configs: tuple[str, ...]) -> int:
    frame = read_results(run)
    if configs:
        names = frame["cell"].map(config_name)
        chosen = names.map(lambda name: any(fnmatch.fnmatchcase(name, p) for p in configs))
        if not chosen.any():
            raise ResultsError(f"--config: {', '.join(configs)} matches no config of {run}")
        frame = frame[chosen]
    failed = frame[frame["status"] != "ok"]
    if len(failed):
        raise ResultsError(f"{run}: {len(failed)} crashed cells; a baseline must have none")
    baseline.parent.mkdir(parents=True, exist_ok=True)
    header = run.read_text().split("\n", 1)[0].split(",")
    if configs:
        data = _merge(run, baseline, set(frame["cell"]))
    else:
        data = latest_lines(run) if "cell_key" in header else run.read_bytes()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run_ids = ", ".join(sorted(set(frame["run_id"].astype(str))))
    scope = f"configs: {', '.join(configs)}\n" if configs else ""
    note = (
        f"accepted: {stamp}\nfrom: {run}\n{scope}run_id: {run_ids}\nrows: {len(frame)}\n"
        f"reason: {reason.strip()}\n"
    )
    reason_path = Path(str(baseline) + ".reason")
    earlier = reason_path.read_text() + "\n" if configs and reason_path.exists() else ""
    _atomic_write(baseline, data)
    _atomic_write(reason_path, (earlier + note).encode())
    return len(frame)


def _merge(run: Path, baseline: Path, cells: set[str]) -> bytes:
    """The baseline's rows with those of `cells` replaced by the run's (latest) rows."""
    run_lines, base_lines = latest_lines(run).decode(), latest_lines(baseline).decode()
    run_header, run_rows = run_lines.split("\n", 1)
    base_header, base_rows = base_lines.split("\n", 1)
    if run_header != base_header:
        raise ResultsError(f"{baseline}: another schema than {run}; accept the whole run first")
    column = run_header.split(",").index("cell")

    def keep(rows: str, inside: bool) -> list[str]:
        lines = [line for line in rows.splitlines() if line]
        return [line for line in lines if (next(csv.reader([line]))[column] in cells) == inside]

    return (
        run_header + "\n" + "".join(f"{line}\n" for line in keep(base_rows, False) + keep(run_rows, True))
    ).encode()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
