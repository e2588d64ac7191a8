"""Accepting a baseline: the one explicit, reviewable act that writes it."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sinelstm.sweep.store import ResultsError, latest_lines, locked, read_results


def accept_baseline(run: Path, baseline: Path, reason: str) -> int:
    """Replace the whole baseline with a run's rows (the latest row of each cell); record why
    in baseline + '.reason'.

    Refuses a run with crashed cells or an empty reason, and a run or baseline that
    another sinelstm run is writing. The files are replaced atomically, so a failure
    leaves the old baseline as it was. Returns the number of rows accepted.
    """
    if not reason.strip():
        raise ResultsError("--reason: give the reason for the new baseline")
    with locked(run, baseline):
        return _accept(Path(run), Path(baseline), reason)


def _accept(run: Path, baseline: Path, reason: str) -> int:
    frame = read_results(run)
    failed = frame[frame["status"] != "ok"]
    if len(failed):
        raise ResultsError(f"{run}: {len(failed)} crashed cells; a baseline must have none")
    baseline.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run_ids = ", ".join(sorted(set(frame["run_id"].astype(str))))
    note = (
        f"accepted: {stamp}\nfrom: {run}\nrun_id: {run_ids}\nrows: {len(frame)}\nreason: {reason.strip()}\n"
    )
    header = run.read_text().split("\n", 1)[0].split(",")
    _atomic_write(baseline, latest_lines(run) if "cell_key" in header else run.read_bytes())
    _atomic_write(Path(str(baseline) + ".reason"), note.encode())
    return len(frame)


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
