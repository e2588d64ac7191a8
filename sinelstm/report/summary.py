"""The gate's verdict in the size of a pull-request comment (at most 4 KB).

The full gate table (RUN.gate.md) lists every metric of every config; the summary
keeps what a reviewer reads first: the verdict, the failed and changed metrics only,
one row per config (its key metrics, its tier, its verdict), and the details folded.
It is plain GitHub markdown, ready for $GITHUB_STEP_SUMMARY or a PR comment, and its
figure links resolve inside a CI artifact of the results folder (paths relative to the
summary) or under an absolute URL given with --link-base.
"""

from __future__ import annotations

from pathlib import Path

from sinelstm.sweep.columns import COLUMNS
from sinelstm.sweep.grid import config_name
from sinelstm.sweep.store import read_results
from sinelstm.verdict.result import GateResult

MAX_BYTES = 4096
MAX_LISTED = 8  # failures or changes listed by name; the rest are counted
MAX_LINE = 180
KEY_METRICS = tuple((column.name, column.summary) for column in COLUMNS if column.summary)
FAILED = {"worse", "differs", "missing", "crashed", "diverged"}
CHANGED = {"better"}


def summary_path(results: Path) -> Path:
    """results/latest.csv -> results/latest.summary.md, beside the gate table."""
    return Path(results).with_suffix(".summary.md")


def _clip(text: str) -> str:
    """A listed line cut to MAX_LINE, but never inside a command (in backticks) a reader
    is to copy and run."""
    if len(text) <= MAX_LINE or "`sinelstm " in text:
        return text
    return text[: MAX_LINE - 1] + "…"


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    lines = [f"**{title}** ({len(items)}):", ""] + [f"- {_clip(item)}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"- … and {len(items) - MAX_LISTED} more (see the gate table)")
    return lines + [""]


def _config_rows(results: Path, gate: GateResult) -> list[tuple[str, list[str], bool]]:
    """(config, cells of its table row, whether it failed), failed configs first."""
    frame = read_results(results)
    frame = frame[frame["status"] == "ok"].assign(config=lambda f: f["cell"].map(config_name))
    verdicts: dict[str, set[str]] = {}
    for comparison in gate.comparisons:
        verdicts.setdefault(config_name(comparison.config), set()).add(comparison.verdict)
    failed_names = {config_name(f.split(":", 1)[0]) for f in gate.failures}
    rows = []
    for config in sorted(set(frame["config"]) | set(verdicts)):
        seeds = frame[frame["config"] == config]
        values = [
            form.format(seeds[metric].median()) if len(seeds) and seeds[metric].notna().any() else "-"
            for metric, form in KEY_METRICS
        ]
        seen = verdicts.get(config, set())
        failed = config in failed_names or bool(seen & FAILED)
        verdict = "**failed**" if failed else "better" if seen & CHANGED else "ok"
        tier = gate.tiers[config].name if config in gate.tiers else "-"
        rows.append((config, [config, str(len(seeds)), *values, tier, verdict], failed))
    return sorted(rows, key=lambda row: (not row[2], row[0]))


def _table(rows: list[list[str]]) -> list[str]:
    header = ["config", "seeds", *(f"{m} (median)" for m, _ in KEY_METRICS), "tier", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def figure_links(report_figures: Path | None, base: Path, link_base: str | None) -> list[str]:
    """Markdown links to the report's figures: under link_base (an absolute URL) when given,
    else relative to the summary's folder (they resolve inside an artifact of that folder)."""
    if report_figures is None or not report_figures.is_dir():
        return []
    links = []
    for png in sorted(report_figures.glob("*.png")):
        relative = png.relative_to(base).as_posix()
        target = f"{link_base.rstrip('/')}/{relative}" if link_base else relative
        links.append(f"[{png.stem}]({target})")
    return links


def gate_summary(
    gate: GateResult,
    results: Path,
    baseline: Path,
    report: Path | None = None,
    link_base: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> str:
    """The summary's markdown, at most max_bytes (UTF-8): table rows of passing configs are
    dropped, and counted, until it fits."""
    results = Path(results)
    verdict = "✅ PASSED" if gate.passed else f"❌ FAILED ({len(gate.failures)} failures)"
    tiers = [t.name for t in gate.tiers.values()]
    tier_counts = ", ".join(f"{tiers.count(n)} {n}" for n in sorted(set(tiers))) or "none judged"
    head = [
        f"### sinelstm gate: {verdict}",
        "",
        f"`{results.name}` against `{baseline}`; configs by tier: {tier_counts}.",
        "",
    ]
    changed = [
        f"{c.config} {c.metric}: {c.baseline} -> {c.current} ({c.change})"
        for c in gate.comparisons
        if c.verdict in CHANGED
    ]
    head += _listed("Failed", gate.failures) + _listed("Better than the baseline", changed)

    base = results.parent
    figures = report.with_name(report.stem + "_figures") if report is not None else None
    details = ["<details><summary>Details</summary>", ""]
    details += _listed("Warnings", gate.warnings) + _listed("Notes", gate.notes)
    details += [f"Every metric of every config: `{results.with_suffix('.gate.md').name}`."]
    if report is not None:
        details.append(f"The report: `{Path(report).name}`.")
    links = figure_links(figures, base, link_base)
    if links:
        details.append("Figures: " + " · ".join(links))
    details += ["", "</details>", ""]

    folded = [
        "<details><summary>Details</summary>",
        "",
        f"Warnings, notes and every metric of every config: `{results.with_suffix('.gate.md').name}`.",
        "",
        "</details>",
        "",
    ]
    rows = _config_rows(results, gate)
    # Passing rows go first, then the folded lists, until the summary fits.
    for detail in (details, folded):
        for shown in range(len(rows), -1, -1):
            table = _table([cells for _, cells, _ in rows[:shown]])
            if shown < len(rows):
                table.append(f"| … {len(rows) - shown} more configs | | | | | | |")
            text = "\n".join(head + table + [""] + detail)
            if len(text.encode()) <= max_bytes:
                return text
    return text
