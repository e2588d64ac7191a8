"""The jobs on one run or one results file: run a config, report, compare against a
baseline, accept a run as the baseline, index the results folder."""

from __future__ import annotations

from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.workflow.answering import check_answer_target, write_answer_into
from sinelstm.workflow.confirming import confirm_suspects, recorded_rerun
from sinelstm.workflow.gating import PRINTED, Output, announce, judge, write_gate_table
from sinelstm.workflow.options import (
    baseline_for,
    check_same_grid,
    check_writable,
    grid_of_run,
    load_gate,
    report_path_for,
)
from sinelstm.workflow.runs import write_run


def run_one(cfg: ExperimentConfig, out: Path, output: Output = PRINTED) -> list[str]:
    """Train, forecast and measure one config; its artifacts written to out (their names)."""
    from sinelstm.experiment.run import run_experiment
    from sinelstm.report.tables import metrics_table
    from sinelstm.runtime import load_backend_quietly
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS

    load_backend_quietly()
    check_writable(out)
    result = run_experiment(cfg)
    names = write_run(out, result)
    output.echo(metrics_table({**result.metrics, **result.timings}, METRIC_COLUMNS + TIMING_COLUMNS))
    output.echo(f"wrote {out}/{', '.join(names)}")
    return names


def report(
    results: Path,
    baseline: Path | None = None,
    out: Path | None = None,
    gate_config: str | None = None,
    answer_into: Path | None = None,
    output: Output = PRINTED,
) -> Path:
    """The report of a results CSV (with the verdict where a baseline is given), and the
    science answer written into answer_into; the report's path. The gate's own files are
    compare's and bench's to write."""
    from sinelstm.report.markdown import build_report
    from sinelstm.sweep.store import locked, read_results

    gate = load_gate(gate_config) if baseline is not None else None
    out = out or report_path_for(results)
    check_writable(out.parent)
    if answer_into is not None:
        check_answer_target(answer_into)
    with locked(results):
        for path in (results, baseline):
            if path is not None:
                read_results(path)  # an unreadable file is bad input (2)
        result = None
        if baseline is not None:
            result = judge(results, baseline, gate, write=False)
            confirm_suspects(result, results, baseline, gate, recorded_rerun(results), lambda line: None)
        build_report(results, out, result, baseline)
        if answer_into is not None:
            write_answer_into(results, answer_into)
    output.echo(f"report: {out}" + (f"; answer: {answer_into}" if answer_into else ""))
    return out


def compare(
    run: Path,
    baseline: Path | None = None,
    gate_config: str | None = None,
    tier: str = "auto",
    output: Output = PRINTED,
):
    """Judge a run against its baseline (its own by default); the gate table and the summary
    written beside the run. Returns the GateResult."""
    from sinelstm.report.markdown import describes
    from sinelstm.sweep.store import locked, read_results

    gate = load_gate(gate_config)
    baseline = baseline or baseline_for(run)
    check_same_grid(grid_of_run(run), baseline)
    with locked(run):  # not read while a run still writes it (a baseline is only ever replaced whole)
        for path in (run, baseline):
            read_results(path)  # an unreadable file is bad input (2), not a failed gate
        result = judge(run, baseline, gate, tier=tier, write=False)
        # The bench's rerun of a suspected statistical failure, where it made one for this run.
        confirm_suspects(result, run, baseline, gate, recorded_rerun(run), output.echo)
        write_gate_table(result, run, baseline)
        # The summary links the run's report figures where its report was written from it.
        report = report_path_for(run)
        announce(result, run, baseline, report if describes(report, run) else None, output)
    return result


def accept(
    run: Path,
    reason: str,
    baseline: Path | None = None,
    configs: tuple[str, ...] = (),
    other_grid: bool = False,
    output: Output = PRINTED,
) -> int:
    """Replace the run's baseline (or the rows of the configs matching `configs`) by the
    run's rows, the reason recorded beside it; how many rows."""
    from sinelstm.verdict.baseline import accept_baseline

    baseline = baseline or baseline_for(run)
    if not other_grid:
        check_same_grid(grid_of_run(run), baseline, "--other-grid accepts it anyway")
    count = accept_baseline(run, baseline, reason, configs)
    output.echo(f"{baseline}: accepted {count} rows from {run} ({reason.strip()})")
    return count


def index(folder: Path, check: bool = False, output: Output = PRINTED) -> bool:
    """results/README.md's index of the committed results files, written (or, with check,
    compared); whether it was up to date."""
    from sinelstm.workflow.index import write_index

    readme = folder / "README.md"
    if check:
        fresh = write_index(folder, readme, check=True)
        output.echo(f"{readme}: index {'up to date' if fresh else 'stale: run sinelstm index'}")
        return fresh
    write_index(folder, readme)
    output.echo(f"index: {readme}")
    return True
