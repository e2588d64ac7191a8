"""The markdown report: verdict, results table, baseline comparison, findings and figures.

It reads the results CSV (and the series CSV beside it) and the gate's verdict, and
nothing else: no model, no training. Every number and every sentence comes from the
data, so two reports from the same files are identical byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sinelstm.analysis.answer import BEGIN, END, answer, judged_arms
from sinelstm.analysis.frames import with_keys
from sinelstm.report.figures import (
    MAX_PLOTTED,
    amplitude_chart,
    article_figures,
    fit_time_chart,
    forecast_fan,
)
from sinelstm.report.findings import findings
from sinelstm.report.science import figure_arms, is_science, read_pilot, science_section
from sinelstm.report.science_figures import draw_science_figures
from sinelstm.report.tables import MAX_TABLE_ROWS, baseline_section, provenance_sentence, results_table
from sinelstm.sweep import gridtime
from sinelstm.sweep.store import read_results, read_series, series_path
from sinelstm.verdict.result import GateResult

MAX_CHARS = 60_000
FLOOR_FORMULA = (
    "The floor: every ok cell's training FLOPs (epochs_run x train_rollout x its kind's FLOPs "
    "per epoch; the LSTM's `3 x windows x window x 2 x (hidden+2) x 4 x hidden`, windows being "
    "the training windows, the recurrent kinds' with their own gate count, the 1D-CNN's by its "
    "layers) at that cell's `floor_gflops` (the faster of numpy's sgemm and TensorFlow's matmul "
    "at its training shape, measured in its own process after training), summed and divided by "
    "the cores the grid ran on. Classical cells have no FLOPs: 0 in the floor, their time in the wall."
)


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    figures: Path


def report_paths(markdown: Path) -> ReportPaths:
    markdown = Path(markdown)
    return ReportPaths(markdown, markdown.with_name(markdown.stem + "_figures"))


def grid_time_lines(results: Path, frame) -> list[str]:
    """The grid's floor and its wall time over it, from the grid record beside the results
    (written by the bench that ran them); the wall time is unknown where the record is
    missing, unreadable or of another run."""
    name = gridtime.record_path(results).name
    try:
        record, why = gridtime.read_record(results), None
    except gridtime.GridRecordError as error:
        record, why = None, f"the grid record is not valid ({error})"
    if record is None and why is None:
        why = f"no grid record (`{name}`) beside the CSV"
    if record is not None:
        commits = set(frame["git_commit"].fillna("").astype(str))
        if record.cells != len(frame) or record.commit not in commits:
            why = (
                f"the grid record (`{name}`: {record.cells} cells at commit {record.commit or '-'}) "
                f"is not of this CSV's run ({len(frame)} rows at {', '.join(sorted(commits)) or '-'})"
            )
            record = None
    floor = gridtime.grid_floor(frame, record.workers if record is not None else 1)
    sentence = gridtime.floor_sentence(floor, record.wall_s if record is not None else None)
    lines = [sentence[0].upper() + sentence[1:] + "."]
    if record is not None and record.parts > 1:
        lines[0] += f" The grid ran in {record.parts} parts (killed and resumed); the wall time sums them."
    if why is not None:
        lines[0] += f" The wall time is unknown: {why}; the floor is on one core."
    return lines + ["", FLOOR_FORMULA]


def build_report(
    results: Path, out: Path, gate_result: GateResult | None = None, baseline: Path | None = None
) -> str:
    """Write the report and its figures, with the gate's verdict against `baseline` where
    one was judged; return the markdown."""
    results = Path(results)
    frame = with_keys(read_results(results))
    series = read_series(series_path(results), frame)
    paths = report_paths(out)
    paths.figures.mkdir(parents=True, exist_ok=True)
    ok = frame[frame["status"] == "ok"]

    rel = paths.figures.name
    lines = ["# sinelstm benchmark report", "", provenance_sentence(frame), ""]
    lines += ["## Verdict", ""]
    if gate_result is None:
        lines += ["Not judged: no baseline was given.", ""]
    elif gate_result.passed:
        lines += [f"**PASSED** against `{baseline}`: no metric regressed beyond its tolerance.", ""]
    else:
        lines += [f"**FAILED** against `{baseline}` ({len(gate_result.failures)} failures):", ""]
        lines += [f"- {f}" for f in gate_result.failures[:40]]
        if len(gate_result.failures) > 40:
            lines.append(f"- ... and {len(gate_result.failures) - 40} more (see the gate table)")
        lines.append("")
    if gate_result is not None:
        lines += [f"> {w}" for w in gate_result.warnings[:10]] + [f"> {n}" for n in gate_result.notes]
        lines.append("")

    science = is_science(ok)
    if science:
        lines += ["## Why the amplitude decays", "", BEGIN, answer(frame), END, ""]
        lines += science_section(ok, read_pilot(results)) + [""]
        lines += [
            f"### {title}\n\n![{title}]({rel}/{name})\n"
            for title, name in draw_science_figures(
                judged_arms(ok), figure_arms(judged_arms(ok)), paths.figures
            )
        ]
    table, n_configs = results_table(ok)
    lines += [
        "## Results",
        "",
        "Median ± half the range over seeds, [min–max] where that spread is over a quarter "
        f"of the median. Full data: [`{results.name}`]({results.name}).",
        "",
        table,
        "",
    ]
    if n_configs > MAX_TABLE_ROWS:
        lines += [f"{n_configs - MAX_TABLE_ROWS} more configs are in the CSV.", ""]
    lines += ["## Wall time against the arithmetic floor", ""] + grid_time_lines(results, frame) + [""]
    if gate_result is not None:
        lines += ["## Against the baseline", "", baseline_section(gate_result), ""]
    lines += ["## Findings", ""] + [f"- {sentence}" for sentence in findings(ok, frame)] + [""]

    lines += ["## Figures", ""]
    if series is None:
        lines += [f"No series file (`{series_path(results).name}`) beside the CSV: no curves to draw.", ""]
    else:
        shown = min(MAX_PLOTTED, n_configs)
        limit = f" ({shown} of {n_configs} configs, the article's LSTM first)" if shown < n_configs else ""
        if forecast_fan(ok, series, paths.figures / "forecasts.png"):
            lines += [f"### Forecasts by config{limit}", "", f"![forecasts]({rel}/forecasts.png)", ""]
        if amplitude_chart(ok, series, paths.figures / "amplitude.png"):
            lines += [f"### Amplitude decay{limit}", "", f"![amplitude per period]({rel}/amplitude.png)", ""]
        for name, title in article_figures(ok, series, paths.figures):
            lines += [
                f"### The article's figures: {title}",
                "",
                f"![{name} fit]({rel}/{name}-fit.png)",
                "",
                f"![{name} forecast]({rel}/{name}-forecast.png)",
                "",
            ]
    if fit_time_chart(ok, paths.figures / "fit_time.png"):
        lines += ["### Training time", "", f"![fit time]({rel}/fit_time.png)", ""]

    markdown = "\n".join(lines)
    if len(markdown) > MAX_CHARS:
        markdown = markdown[: MAX_CHARS - 200] + "\n\n(Report cut at the pull-request comment limit.)\n"
    markdown += "\n" + report_stamp(results) + "\n"
    paths.markdown.write_text(markdown)
    return markdown


def report_stamp(results: Path) -> str:
    """The line that names the results a report was written from, by content (the SHA-256
    of the CSV): whether a report describes a run is then read from the two files, never
    from their modification times (which a fresh clone sets as it likes)."""
    import hashlib

    digest = hashlib.sha256(Path(results).read_bytes()).hexdigest()[:16]
    return f"<!-- sinelstm report of {Path(results).name} sha256:{digest} -->"


def describes(report: Path, results: Path) -> bool:
    """Whether a report was written from these results as they are now."""
    return report.is_file() and report_stamp(results) in report.read_text()
