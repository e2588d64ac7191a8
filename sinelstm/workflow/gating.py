"""Gate, then report: the run judged once (its suspected statistical failures rerun with
more seeds first), its verdict written to the gate table, the summary and the report
alike; and the run kept in the history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sinelstm.sweep import grid as grids
from sinelstm.verdict.rules import GateConfig
from sinelstm.workflow.confirming import Rerun, confirm_suspects
from sinelstm.workflow.options import history_path_for, report_path_for


@dataclass(frozen=True)
class Output:
    """Where a job's messages go and how many: verbosity -1 (-q) the verdict and the files
    written; 0 the PR-sized summary as well; 1 (-v) the full gate table too."""

    echo: Callable[[str], None] = print
    verbosity: int = 0
    link_base: str | None = None  # absolute URL the summary's figure links start with


PRINTED = Output()  # every message printed, at the default verbosity


def judge(
    current: Path,
    baseline: Path,
    gate: GateConfig,
    only: set[str] | None = None,
    tier: str = "auto",
    write: bool = True,
):
    """Judge a run against its baseline (tier "auto", or "statistical" for every config)
    and write the gate table beside the run (unless write is false); return the GateResult."""
    from sinelstm.verdict.judge import compare

    result = compare(current, baseline, gate, only, tier)
    if write:
        write_gate_table(result, current, baseline)
    return result


def write_gate_table(result, current: Path, baseline: Path) -> None:
    from sinelstm.verdict.gate_table import gate_markdown

    current.with_suffix(".gate.md").write_text(gate_markdown(result, current, baseline))


def announce(result, current: Path, baseline: Path, report: Path | None, output: Output) -> None:
    """Write the summary (RUN.summary.md) and tell the verdict, as much as output asks for."""
    from sinelstm.report.summary import gate_summary, summary_path
    from sinelstm.verdict.gate_table import gate_markdown

    summary = gate_summary(result, current, baseline, report, output.link_base)
    summary_path(current).write_text(summary)
    if output.verbosity > 0:
        output.echo(gate_markdown(result, current, baseline))
    elif output.verbosity == 0:
        output.echo(summary)
    if output.verbosity >= 0:
        for warning in result.warnings:
            output.echo(f"sinelstm: warning: {warning}")
    for failure in result.failures:
        output.echo(f"sinelstm: gate failed: {failure}")
    verdict = "passed" if result.passed else f"FAILED ({len(result.failures)} failures)"
    table = current.with_suffix(".gate.md")
    output.echo(f"gate {verdict}; table in {table}, summary in {summary_path(current)}")


def gate_and_report(
    current: Path,
    baseline: Path | None,
    gate: GateConfig | None,
    only: set[str] | None = None,
    output: Output = Output(),
    report: Path | None = None,
    tier: str = "auto",
    rerun: Rerun | None = None,
) -> int:
    """Judge the run once (when a baseline and rules are given), write the report with the
    same verdict, then the gate table and the summary; 0 passed (or not judged), 1 failed."""
    from sinelstm.report.markdown import build_report

    judged = baseline is not None and gate is not None
    result = judge(current, baseline, gate, only, tier, write=False) if judged else None
    if result is not None:
        confirm_suspects(result, current, baseline, gate, rerun, output.echo, only)
        write_gate_table(result, current, baseline)
    out = Path(report) if report else report_path_for(current)
    build_report(current, out, result, baseline if result is not None else None)
    if result is not None:
        announce(result, current, baseline, out, output)
    output.echo(f"report: {out}")
    return 0 if result is None or result.passed else 1


def record_history(results: Path, grid: grids.Grid, output: Output = Output()) -> None:
    """Append a finished run's per-config summaries to the history beside it. A history that
    cannot take them (another schema, an unwritable file) is a warning: the run's results
    are written already, and the gate still judges them."""
    from sinelstm.history.history_csv import HistoryError, append_run, grid_label
    from sinelstm.sweep.store import ResultsError

    history = history_path_for(results)
    try:
        count = append_run(results, history, grid_label(grid))
    except (HistoryError, ResultsError, OSError) as error:
        output.echo(f"sinelstm: warning: history not appended: {error}")
        return
    if output.verbosity >= 0:
        output.echo(f"history: {count} rows appended to {history}")
