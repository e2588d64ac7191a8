"""One side's worker of an A/B run: a process that imports that side's own sinelstm and runs
the cells it is sent, one at a time, on the core it is pinned to.

The driver (sinelstm.sweep.ab_pairs) starts it as `python -c SOURCE` with the side's tree first on
PYTHONPATH, so `import sinelstm` is that side's code. This file imports only the standard
library, and of the side's package only what every revision has: ExperimentConfig and
sweep.runner.run_cell. It speaks newline-delimited JSON on a private copy of stdout: first
{"fields": [...], "package": path} or {"error": "..."}; then, per {"config": {...}, "run_id":
"...", "speedup": bool}, one {"row": {...}, "cell_s": seconds} or {"error": "..."}.
"""

import dataclasses
import json
import os
import sys
import time


def main() -> int:
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the side's code prints goes to the log, not the channel
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        channel.write(json.dumps(message, default=_plain) + "\n")
        channel.flush()

    _exit_with_parent()
    core = os.environ.get("SINELSTM_AB_CORE", "")
    if core and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(core)})
    priority = _raise_priority(int(os.environ.get("SINELSTM_AB_NICE", "0") or 0))
    try:
        from sinelstm.experiment.config import ExperimentConfig
        from sinelstm.sweep.runner import run_cell

        try:
            from sinelstm.runtime import load_backend_quietly

            load_backend_quietly()
        except ImportError:  # an older side: its cell imports the backend itself
            pass
    except Exception as error:  # noqa: BLE001 - the side cannot run cells: said once, in one line.
        send({"error": f"{type(error).__name__}: {error}"})
        return 1
    fields = [f.name for f in dataclasses.fields(ExperimentConfig)]
    package = os.path.realpath(os.path.dirname(sys.modules["sinelstm"].__file__))
    send({"fields": fields, "nice": priority, "package": package})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            _forecast_rounds(request.get("forecast_rounds"))
            cfg = ExperimentConfig(**{k: v for k, v in request["config"].items() if k in fields})
            start = time.perf_counter()
            try:
                result = run_cell(cfg, request["run_id"], speedup=bool(request.get("speedup")))
            except TypeError:  # a side whose run_cell times no speed-up
                result = run_cell(cfg, request["run_id"])
            cell_s = time.perf_counter() - start
            send({"row": dict(result.row), "cell_s": cell_s})
        except Exception as error:  # noqa: BLE001 - the cell's outcome, sent to the driver.
            send({"error": f"{type(error).__name__}: {error}"})
    return 0


def _raise_priority(nice: int) -> int:
    """Lower this worker's nice value by `nice` where allowed (root, or CAP_SYS_NICE), so
    that processes beside the run at normal priority take little of its core. Returns the
    nice value it runs at."""
    if nice > 0:
        try:
            return os.nice(-nice)
        except OSError:
            pass
    return os.nice(0)


def _exit_with_parent() -> None:
    """End this worker once the driver is gone (a daemon thread polls the parent's pid):
    a killed A/B leaves nothing computing."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _forecast_rounds(rounds) -> None:
    """Time the compiled forecast `rounds` times after its warm-up, where the side's code
    keeps its round counts in sinelstm.experiment.run.DEFAULT_FORECAST_ROUNDS (a short
    rollout: more rounds steady its median for little time; docs/layout.md)."""
    if not rounds:
        return
    try:
        from sinelstm.experiment import run
    except ImportError:
        return
    table = getattr(run, "DEFAULT_FORECAST_ROUNDS", None)
    if isinstance(table, dict) and "compiled" in table:
        table["compiled"] = int(rounds)


def _plain(value):
    """numpy scalars and other non-JSON values as plain numbers or text."""
    try:
        return value.item()
    except AttributeError:
        return str(value)


if __name__ == "__main__":
    raise SystemExit(main())
