"""The history's page: per gated metric, each config's series over commits, the change
points the detector found (the first commit after each shift, its size and direction),
the commits that could not run, and what a run costs the history in bytes."""

from __future__ import annotations

import re
from pathlib import Path

from sinelstm.history.commits import baseline_commits, first_parent_order, subjects
from sinelstm.history.detect import SERIES_KEY, detect, ratio_rules, series, skipped
from sinelstm.history.history_csv import SKIPPED, read_history, run_size
from sinelstm.history.trend_figures import trend_figure
from sinelstm.verdict.rules import GateConfig


def _number(value: float) -> str:
    return f"{value:.4g}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_")


def build_history_report(repo: Path, history_path: Path, out: Path, gate: GateConfig):
    """Write the page to out and its figures beside it (OUT_figures/); return the markdown
    and the change points (ChangePoint) it lists."""
    history = read_history(history_path)
    order = first_parent_order(repo)
    frame = series(history, order, gate)
    changes = detect(history, order, gate, frame)
    figures = out.with_name(out.stem + "_figures")
    size, runs = run_size(history_path)
    measured = history[history["status"] != SKIPPED]
    on_line = measured["commit"].isin(set(order))
    lines = [
        "# History",
        "",
        _opening(measured, order, runs),
        "",
        f"The history file `{history_path}` holds {size / 1024:.1f} KB for {runs} runs"
        + (
            f": {size / runs / 1024:.1f} KB a run, {size / max(len(measured), 1):.0f} bytes a cell."
            if runs
            else "."
        ),
        "Drawn and searched: clean runs of commits on this checkout's first-parent line, in that "
        "order; each (grid, stack) apart. "
        f"Left out: {int(measured['dirty'].sum())} rows of dirty runs, "
        f"{int((~on_line).sum())} rows of commits off the line.",
        "",
        "## Change points",
        "",
        "Found by ruptures' PELT (l2 cost, penalty twice BIC's) on each series of per-commit medians, "
        "in units of the gate's tolerance: the reproduction tolerance for a metric (one stack: seeded "
        "runs repeat), the statistical one for the timing ratios; a shift "
        "within it is not listed "
        "(sinelstm/history/detect.py says why).",
        "",
    ]
    names = subjects(repo, sorted({change.commit for change in changes}))
    if changes:
        lines += [
            "| grid | config | metric | first commit after | before | after | size | tolerance | direction |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for change in sorted(changes, key=lambda c: (c.position, c.grid, c.config, c.metric)):
            lines.append(
                f"| {change.grid} | {change.config} | {change.metric} | `{change.commit[:10]}` "
                f"{names.get(change.commit, '')} | {_number(change.before)} | {_number(change.after)} | "
                f"{change.size:+.3g} | {change.tolerance:.3g} | {change.direction} |"
            )
    else:
        lines.append("None found.")
    lines += ["", "## Trends", ""]
    baselines = set(baseline_commits(repo))
    metrics = [rule.metric for rule in (*gate.rules, *ratio_rules(gate))]
    if frame.empty:
        lines.append("No clean run of a commit on this line yet: nothing to draw.")
    else:
        figures.mkdir(parents=True, exist_ok=True)
    stacks = {stack: number for number, stack in enumerate(sorted(frame["stack"].unique()), 1)}
    written = []
    for (grid, stack), group in frame.groupby(list(SERIES_KEY[:2]), sort=True):
        lines += [f"### grid {grid}, stack {stacks[stack]}", "", f"Stack {stacks[stack]}: {stack}.", ""]
        for metric in metrics:
            one = group[group["metric"] == metric]
            if one.empty:
                continue
            name = f"{_slug(grid)}-stack{stacks[stack]}-{metric}.png"
            marked = [c for c in changes if (c.grid, c.stack, c.metric) == (grid, stack, metric)]
            heading = f"{metric}, grid {grid}"
            drawn = trend_figure(one, metric, order, baselines, marked, figures / name, heading)
            for index, part in enumerate(drawn, 1):  # more configs than a figure holds: every part
                alt = metric if len(drawn) == 1 else f"{metric}, part {index} of {len(drawn)}"
                lines += [f"![{alt}]({figures.name}/{part.name})", ""]
            written += drawn
    if figures.is_dir():  # a figure this page no longer draws (another split, a metric gone)
        for stale in set(figures.glob("*.png")) - set(written):
            stale.unlink()
    lines += _skipped_section(repo, history)
    text = "\n".join(lines).rstrip() + "\n"
    out.write_text(text)
    return text, changes


def _opening(measured, order: list[str], runs: int) -> str:
    """The page's first sentence: how much history, from which machines and stacks."""
    if measured.empty:
        return "The history is empty: run `sinelstm history run` or a bench."
    commits = measured["commit"].nunique()
    machines = sorted(set(measured["machine"]) - {""})
    stacks = sorted(
        {
            f"{r['backend']} (TensorFlow {r['tensorflow']}, Keras {r['keras']}, numpy {r['numpy']}, "
            f"Python {r['python']})"
            for r in measured.to_dict("records")
        }
    )
    return (
        f"{runs} runs of {commits} commits on {len(machines)} machine(s) "
        f"({', '.join(machines) or 'unknown'}), stack {'; '.join(stacks)}."
    )


def _skipped_section(repo: Path, history) -> list[str]:
    reasons = skipped(history)
    if not reasons:
        return []
    names = subjects(repo, sorted(reasons))
    lines = [
        "## Commits that could not run the grid",
        "",
        "| commit | subject | reason |",
        "| --- | --- | --- |",
    ]
    for sha, reason in reasons.items():
        lines.append(f"| `{sha[:10]}` | {names.get(sha, '')} | {reason.replace('|', '/')} |")
    return lines + [""]
