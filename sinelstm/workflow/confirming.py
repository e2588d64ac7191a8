"""A suspected statistical-tier failure rerun with more seeds before it is reported.

The bench (sinelstm bench on its executor, pytest bench in its process) reruns each
suspected config with new seeds into RUN.rerun.csv and names the run it was made for in
RUN.rerun.csv.of (the SHA-256 of the run's CSV); compare and report reuse that file when it
names the run as it is now, and otherwise say the failures were not rerun. Which run a rerun
belongs to is read from the files' contents, never their modification times (a fresh clone
or a copy sets those as it likes). The verdict on all the seeds is sinelstm.verdict.confirm's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sinelstm.verdict.rules import GateConfig

# cells to run -> the results CSV they were recorded in
Rerun = Callable[[list], Path]


def rerun_path(current: Path) -> Path:
    return Path(current).with_suffix(".rerun.csv")


def stamp_path(current: Path) -> Path:
    return Path(str(rerun_path(current)) + ".of")


def _run_stamp(current: Path) -> str:
    import hashlib

    digest = hashlib.sha256(Path(current).read_bytes()).hexdigest()
    return f"rerun of {Path(current).name} sha256:{digest}\n"


def stamp_rerun(current: Path) -> None:
    """Name the run (by the SHA-256 of its CSV as it is now) that RUN.rerun.csv was made for."""
    stamp_path(current).write_text(_run_stamp(current))


def seed_runner(current: Path, executor_factory) -> Rerun:
    """The bench's rerun: the cells run on a fresh executor into RUN.rerun.csv, stamped
    with the run it was made for."""
    from sinelstm.sweep.runner import run_grid

    def rerun(cells: list) -> Path:
        stamp_path(current).unlink(missing_ok=True)  # a rerun cut short names no run
        run_grid(cells, rerun_path(current), executor=executor_factory())
        stamp_rerun(current)
        return rerun_path(current)

    return rerun


def recorded_rerun(current: Path) -> Rerun | None:
    """compare's and report's rerun: RUN.rerun.csv when its stamp names the run as it is now
    (the bench that ran it made it), refused when it lacks a cell asked for; None when there
    is none for this run. Decided by the files' contents only, whatever their times."""
    from sinelstm.sweep.rows import cell_key
    from sinelstm.sweep.store import ResultsError, read_results

    path = rerun_path(current)
    stamp = stamp_path(current)
    if not path.is_file() or not stamp.is_file() or stamp.read_text() != _run_stamp(current):
        return None

    def rerun(cells: list) -> Path:
        recorded = set(read_results(path)["cell_key"])
        missing = [cell for cell in cells if cell_key(cell) not in recorded]
        if missing:
            raise ResultsError(f"{path} holds no rerun of {len(missing)} of the {len(cells)} cells needed")
        return path

    return rerun


def confirm_suspects(
    result,
    current: Path,
    baseline: Path,
    gate: GateConfig,
    rerun: Rerun | None,
    echo,
    only: set[str] | None = None,
) -> None:
    """Rerun each config whose statistical-tier failures are suspected with as many new
    seeds as it had in the run, plus one (seeds above every seed of the run and the
    baseline), and judge it again on every seed. Without a rerun, or when the rerun cannot
    be made, the failures stand and a note says why."""
    from sinelstm.sweep.grid import config_name
    from sinelstm.sweep.rows import config_of
    from sinelstm.sweep.store import read_results
    from sinelstm.verdict.confirm import reconsider

    if not result.suspects:
        return
    configs = sorted(result.suspects)
    if rerun is None:
        result.notes.append(
            f"statistical-tier failures of {', '.join(configs)} were not rerun with more seeds "
            "(sinelstm bench and pytest bench rerun them before reporting)"
        )
        return
    frames = read_results(current), read_results(baseline)
    picked = [[r for r in frame.to_dict("records") if only is None or r["cell"] in only] for frame in frames]
    first = max(int(frame["seed"].max()) for frame in frames) + 1
    cur = {c: [r for r in picked[0] if r["status"] == "ok" and config_name(r["cell"]) == c] for c in configs}
    cells = [
        config_of(cur[c][0]).replace(seed=first + i)
        for c in configs
        if cur[c]
        for i in range(len(cur[c]) + 1)
    ]
    echo(f"gate: rerunning {', '.join(configs)} with more seeds to confirm a statistical failure")
    try:
        rows = read_results(rerun(cells)).to_dict("records")
    except Exception as error:  # noqa: BLE001 - the verdict stands; the reason is kept
        result.notes.append(f"statistical-tier failures of {', '.join(configs)} not rerun: {error}")
        return
    new_seeds = {cell.seed for cell in cells}
    for config in configs:
        extra = [r for r in rows if config_name(r["cell"]) == config and r["seed"] in new_seeds]
        for crashed in (r for r in extra if r["status"] != "ok"):
            result.fail(
                f"{crashed['cell']}: crashed in the rerun: {crashed.get('error') or 'no error recorded'}"
            )
        ok = [r for r in extra if r["status"] == "ok"]
        if not ok:
            result.notes.append(f"{config}: the rerun finished no cell; its statistical-tier failures stand")
            continue
        base = [r for r in picked[1] if r["status"] == "ok" and config_name(r["cell"]) == config]
        reconsider(result, config, cur[config] + ok, base, gate)
