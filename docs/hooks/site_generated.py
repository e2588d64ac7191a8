"""The site's generated pages (docs/hooks/site_pages.py adds them): each from the code or
the one page that holds its text, so that nothing is typed twice.

- ``index.md``: the README's introduction and its "Set up and go" section, verbatim;
- ``cli.md``: the command-line reference, from ``sinelstm.cli.parser.build_parser()``;
- ``metrics.md``: every metric and timing column of a result row (``METRIC_COLUMNS``,
  ``TIMING_COLUMNS``), its meaning (the table in ``docs/running.md``, else the column's
  comment in ``sinelstm/sweep/rows.py``), how the gate judges it (``pyproject.toml``), and
  the docstrings of ``sinelstm/experiment/metrics.py``;
- ``grids.md``: the named grids' table of ``docs/gate.md``, its cell counts checked
  against ``sinelstm.sweep.grid.GRIDS``.

Links are written as from ``docs/`` (the home page: from the checkout's root, as in the
README); site_pages points them at the site's paths. A column without a meaning or a grid
count that disagrees stops the build.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import re
import tokenize
import tomllib
from contextlib import contextmanager
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
HELP_WIDTH = "100"


# --- the README's home page ----------------------------------------------------------


def _sections(markdown: str) -> dict[str, str]:
    """The text before the first '## ' heading (key ''), and each '## ' section by title."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.M)
    sections = {"": parts[0]}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip()] = f"## {title.strip()}{body}"
    return sections


def home_page() -> str:
    sections = _sections((ROOT / "README.md").read_text())
    if "Set up and go" not in sections:
        raise PluginError("README.md has no '## Set up and go' section for the home page")
    return (
        sections[""].rstrip()
        + "\n\n"
        + sections["Set up and go"].rstrip()
        + "\n\n"
        + "## Read on\n\n"
        + "The menu holds the rest: the grids and the metrics, the gate, the speed A/B, the "
        + "history and the reliability pages, the committed reports with their figures, and the "
        + "command-line reference, generated from the parser. This page is the README's first "
        + "sections, taken from it when the site is built.\n"
    )


# --- the command-line reference ------------------------------------------------------


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser, one-line help) of every subcommand, depth first, in the parser's order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, summaries.get(name) or ""
                yield from commands(sub, (*path, name))


@contextmanager
def _help_width():
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def anchor(path: tuple[str, ...]) -> str:
    """The heading id of a command's section (MkDocs' slug of 'sinelstm history find')."""
    return "-".join(("sinelstm", *path))


def cli_page() -> str:
    from sinelstm.cli.parser import build_parser

    parser = build_parser()
    found = list(commands(parser))
    lines = [
        "# Command-line reference",
        "",
        "Generated from `build_parser()` in `sinelstm/cli/parser.py` each time the site is built: "
        "every command and flag of the code the site was built from. `sinelstm COMMAND --help` "
        "prints the same text; exit codes are in [Reliability](reliability.md#exit-codes).",
        "",
        "| command | what it does |",
        "| --- | --- |",
    ]
    for path, _, summary in found:
        lines.append(f"| [`sinelstm {' '.join(path)}`](#{anchor(path)}) | {summary} |")
    with _help_width():
        sections = [((), parser)] + [(path, sub) for path, sub, _ in found]
        for path, sub in sections:
            title = " ".join(("sinelstm", *path))
            lines += ["", f"## {title}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(lines) + "\n"


# --- the metrics ---------------------------------------------------------------------


def _running_meanings() -> list[tuple[list[str], str]]:
    """The rows of docs/running.md's 'What the metrics mean' table: (columns, meaning)."""
    text = (ROOT / "docs/running.md").read_text()
    section = _sections(text).get("What the metrics mean", "")
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows.append((re.findall(r"`([a-z0-9_]+)`", cells[0]), cells[1]))
    return rows


def _column_comments() -> dict[str, str]:
    """The comment beside each column name in sinelstm/sweep/rows.py ("x",  # what x is)."""
    comments, last_string = {}, None
    source = (ROOT / "sinelstm/sweep/rows.py").read_text()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and token.string[0] in "'\"":  # a plain string, no f-string
            last_string = (token.start[0], ast.literal_eval(token.string))
        elif token.type == tokenize.COMMENT and last_string and last_string[0] == token.start[0]:
            comments[last_string[1]] = token.string.lstrip("# ").strip()
    return comments


def _gate_rule(column: str, gate: dict, metric_column: bool) -> str:
    """How the gate (pyproject.toml's [tool.sinelstm.gate]) judges a column."""
    rules = []
    if metric_column:  # the reproduction tier compares every metric and canary (verdict/tiers.py)
        exact = column in gate.get("reproduction", {}).get("exact", [])
        rules.append("reproduction: " + ("equal" if exact else "within its tolerance"))
    metric = gate.get("metrics", {}).get(column)
    if metric:
        if metric.get("direction") == "target":
            rules.append(f"statistical: distance from {metric['target']}")
        else:
            rules.append(f"statistical: {metric.get('direction', 'lower')} is better")
    timing = gate.get("timing", {})
    if column in timing.get("metrics", []):
        rules.append("timing: against the same machine's baseline")
    if column in timing.get("ratios", {}):
        rules.append("timing: on any machine")
    if column == "engine_speedup" and "min_engine_speedup" in timing:
        rules.append("timing: a floor per backend")
    return "; ".join(rules) or "reported only"


def declared_gate(gate: dict) -> dict:
    """pyproject.toml's gate over the rules and exact columns each metric declares."""
    from sinelstm.sweep.columns import EXACT
    from sinelstm.verdict.rules import declared_rules

    rules = declared_rules()
    for metric, spec in gate.get("metrics", {}).items():
        rules[metric] = {**rules.get(metric, {}), **spec}
    gate["metrics"] = rules
    gate.setdefault("reproduction", {}).setdefault("exact", list(EXACT))
    return gate


def metrics_page() -> str:
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS

    meanings = _running_meanings()
    comments = _column_comments()
    gate = declared_gate(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["sinelstm"]["gate"])
    lines = [
        "# Metrics",
        "",
        "Every metric and timing column of a result row, in the row's order (`METRIC_COLUMNS` and "
        "`TIMING_COLUMNS` in `sinelstm/sweep/rows.py`), with its meaning from "
        "[One run](running.md#what-the-metrics-mean) (or, for a column that page does not list yet, "
        "its comment in `rows.py`) and how [the gate](gate.md) judges it (`[tool.sinelstm.gate]` in "
        "`pyproject.toml`): its reproduction tier compares every metric and canary of every seed, its "
        "statistical tier the metrics it has a rule for, its timing checks the timings named. Generated "
        "when the site is built: a column without a meaning stops the build.",
    ]
    missing = []
    groups = (("Accuracy, decay and canaries", METRIC_COLUMNS, True), ("Timings", TIMING_COLUMNS, False))
    for title, columns, metric_columns in groups:
        lines += ["", f"## {title}", "", "| column | meaning | the gate |", "| --- | --- | --- |"]
        done: set[str] = set()
        for column in columns:
            if column in done:
                continue
            names, meaning = next(((n, text) for n, text in meanings if column in n), ([column], None))
            names = [name for name in names if name in columns]
            meaning = meaning or comments.get(column)
            if meaning is None:
                missing.append(column)
                continue
            done |= set(names)
            rules = {name: _gate_rule(name, gate, metric_columns) for name in names}
            if len(set(rules.values())) == 1:
                rule = rules[column]
            else:
                rule = "<br>".join(f"`{name}`: {text}" for name, text in rules.items())
            lines.append(f"| {', '.join(f'`{name}`' for name in names)} | {meaning} | {rule} |")
    if missing:
        raise PluginError(f"metrics.md: no meaning for {', '.join(missing)} (docs/running.md or rows.py)")
    lines += [
        "",
        "## The definitions in the code",
        "",
        "The functions of `sinelstm/experiment/metrics.py` (pure numpy) and their docstrings:",
    ]
    tree = ast.parse((ROOT / "sinelstm/experiment/metrics.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            args = ", ".join(arg.arg for arg in node.args.args)
            doc = ast.get_docstring(node) or ""
            lines += ["", f"### `{node.name}({args})`", "", "```text", doc, "```"]
    return "\n".join(lines) + "\n"


# --- the grids -----------------------------------------------------------------------


def grids_page() -> str:
    from sinelstm.sweep.grid import GRIDS

    section = _sections((ROOT / "docs/gate.md").read_text()).get("The named grids")
    if section is None:
        raise PluginError("docs/gate.md has no '## The named grids' section")
    blocks = [block.strip() for block in section.split("\n\n")]
    at = next(i for i, block in enumerate(blocks) if block.startswith("|"))
    table, after = blocks[at], blocks[at + 1]  # the table, and the paragraph on the axes below it
    counts = dict(re.findall(r"^\| `([a-z-]+)` \| (\d+) \|", table, flags=re.M))
    cells = {name: str(len(grid.cells())) for name, grid in GRIDS.items()}
    if counts != cells:
        raise PluginError(f"docs/gate.md's grid table {counts} is not the grids {cells}")
    return (
        "# The grids\n\n"
        "The named grids (`GRIDS` in `sinelstm/sweep/grid.py`), as "
        "[the gate's page](gate.md#the-named-grids) lists them; taken from there when the site is built, "
        "each grid's cell count checked against the code.\n\n" + table + "\n\n" + after + "\n"
    )


# Each generated page by its path in the site, and the folder of the checkout its links are
# written from.
PAGES = {
    "index.md": (home_page, ""),
    "cli.md": (cli_page, "docs"),
    "metrics.md": (metrics_page, "docs"),
    "grids.md": (grids_page, "docs"),
}
