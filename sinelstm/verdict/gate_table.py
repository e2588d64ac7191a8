"""The gate's verdict as markdown: the failures, warnings and notes, then every comparison."""

from __future__ import annotations

from pathlib import Path

from sinelstm.verdict.result import GateResult


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
    if result.tiers:
        lines += ["## Tiers", "", tier_table(result), ""]
    lines += ["## Comparison", "", gate_table(result), ""]
    return "\n".join(lines)


def tier_table(result: GateResult) -> str:
    """Per config: which tier judged it, why, on how many seeds, and the smallest change it
    could have detected."""
    from tabulate import tabulate

    rows = [(config, t.name, t.seeds, t.detects, t.why) for config, t in sorted(result.tiers.items())]
    return tabulate(
        rows,
        headers=["config", "tier", "seeds", "smallest change it detects", "why this tier"],
        tablefmt="github",
        disable_numparse=True,
    )
