"""The gate's verdict as markdown: the failures, warnings and notes, then every comparison."""

from __future__ import annotations

from pathlib import Path

from sinelstm.verdict.judge import GateResult


def gate_table(result: GateResult) -> str:
    """The markdown table: config, metric, baseline, current, change, verdict."""
    from tabulate import tabulate

    rows = [(c.config, c.metric, c.baseline, c.current, c.change, c.verdict) for c in result.comparisons]
    return tabulate(
        rows,
        headers=["config", "metric", "baseline", "current", "change", "verdict"],
        tablefmt="github",
        disable_numparse=True,
    )


def gate_markdown(result: GateResult, current: Path, baseline: Path) -> str:
    verdict = "PASSED" if result.passed else f"FAILED ({len(result.failures)} failures)"
    lines = [f"# Gate: {verdict}", "", f"`{current}` against `{baseline}`.", ""]
    for title, items in (("Failures", result.failures), ("Warnings", result.warnings)):
        if items:
            lines += [f"## {title}", ""] + [f"- {item}" for item in items] + [""]
    if result.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in result.notes] + [""]
    lines += ["## Comparison", "", gate_table(result), ""]
    return "\n".join(lines)
