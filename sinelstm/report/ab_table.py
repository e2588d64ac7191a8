"""An A/B run in markdown: the full table (RUN.md) and a PR-sized summary (RUN.summary.md),
and its one-line headline."""

from __future__ import annotations

import math

from sinelstm.verdict.pairs import ABRun
from sinelstm.verdict.result import fmt
from sinelstm.verdict.speed import TIMINGS, SpeedRules, SpeedVerdict

MARKS = {"slower": "❌ slower", "underpowered": "❌ underpowered", "faster": "✅ faster", "same": "✅ same",
         "inconclusive": "⚠️ inconclusive", "accepted": "✅ accepted"}  # fmt: skip


def verdict_table(verdicts: list[SpeedVerdict], rules: SpeedRules) -> str:
    """Config, timing, head/base ratio with its interval, the smallest detectable slowdown,
    the verdict."""
    lines = [
        "| config | timing | pairs | head/base | 95% interval | detects | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for v in verdicts:
        mark = MARKS[v.verdict] + (" (not gated)" if v.metric in rules.informational else "")
        note = f" ({v.reason})" if v.reason else ""
        interval = "n/a" if math.isnan(v.low) else f"[{v.low:.3f}, {v.high:.3f}]"
        detects = "n/a" if math.isnan(v.detectable) else f"+{v.detectable:.1%}"
        lines.append(
            f"| {v.config} | {TIMINGS[v.metric]} | {v.pairs} | {_ratio(v.ratio)} | {interval} | {detects} | "
            f"{mark}{note} |"
        )
    return "\n".join(lines)


def _ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def headline(run: ABRun) -> str:
    """The verdict in one line: what was judged, the counts of each verdict, and the least
    sensitive verdict's smallest detectable slowdown."""
    gated = [v for v in run.verdicts if v.metric not in run.rules.informational]
    counts = {name: sum(v.verdict == name for v in gated) for name in MARKS}
    said = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    worst = max((v.detectable for v in gated if not math.isnan(v.detectable)), default=math.nan)
    verdict = "passed" if run.passed else "FAILED"
    return (
        f"A/B {verdict}: {run.head.label} against {run.base.label}, {run.grid} grid, "
        f"{len(run.pairs)} pairs in {run.wall_s:.0f} s: {said or 'nothing judged'}; "
        f"slowdowns past {run.rules.threshold:.0%} fail; the least sensitive verdict detects "
        f"+{worst:.1%}"
    )


def markdown(run: ABRun, summary: bool = False) -> str:
    """The verdict, every failure, the timing table and the results the diff changes (the
    summary lists at most 20 of those)."""
    lines = [f"## Speed and results, head against base ({'passed' if run.passed else 'FAILED'})", ""]
    lines.append(
        f"Head {run.head.label} against base {run.base.label}: the {run.grid} grid, "
        f"up to {run.repeats} repeats of each cell on each side (another round for a config left "
        f"undecided), {run.streams} stream(s) (one per core, "
        f"the sides taking turns cell by cell, A B then B A), {len(run.pairs)} pairs in "
        f"{run.wall_s:.0f} s. Ratio: Hodges-Lehmann estimate of head/base over a config's pairs; "
        f"interval: Wilcoxon signed-rank, exact coverage >= {run.rules.confidence:.0%}. A slowdown "
        f"fails where its interval lies wholly above +{run.rules.threshold:.0%}; one that straddles "
        "it passes as inconclusive where the run could have seen "
        f"+{run.rules.threshold + run.rules.margin:.0%}, "
        "and is underpowered (fails) where it could not."
    )
    lines.append("")
    lines += [
        f"The workers ran at nice {run.nice}, above a neighbour's normal priority."
        if run.nice < 0
        else "The workers ran at normal priority (the OS refused a higher one): a busy neighbour "
        "takes a share of their cores, and the intervals widen.",
        "",
    ]
    if run.stack:
        lines += [
            f"The head changes the stack ({', '.join(run.stack)}): both sides ran on the head's, so "
            "what differs below is the code's doing, not the stack's.",
            "",
        ]
    if run.missing_fields:
        lines += [
            f"Config fields the base does not know (it ran its defaults): {', '.join(run.missing_fields)}.",
            "",
        ]
    for failure in run.failures:
        lines.append(f"- {failure}")
    if run.failures:
        lines.append("")
    lines += [verdict_table(run.verdicts, run.rules), ""]
    if run.differences:
        lines.append(
            f"Results this diff changes ({len(run.differences)}; one stack on both sides, compared at "
            "the reproduction tier; the committed-baseline gate judges whether they pass):"
        )
        lines.append("")
        lines += ["| cell | metric | base | head |", "| --- | --- | --- | --- |"]
        shown_differences = run.differences[:20] if summary else run.differences
        lines += [f"| {d.cell} | {d.metric} | {fmt(d.base)} | {fmt(d.head)} |" for d in shown_differences]
        if len(shown_differences) < len(run.differences):
            lines.append(f"| ... {len(run.differences) - len(shown_differences)} more | | | |")
    else:
        lines.append("Results: every metric and canary of every cell the same on both sides.")
    return "\n".join(lines) + "\n"
