"""MkDocs hook: the site's generated pages and the files it borrows from the checkout.

Nothing here is typed twice. At build time it writes

- ``index.md``: the README's introduction and its "Set up and go" section, verbatim;
- ``cli.md``: the command-line reference, from ``sinelstm.cli.parser.build_parser()``;
- ``metrics.md``: every metric and timing column of a result row (``METRIC_COLUMNS``,
  ``TIMING_COLUMNS``), its meaning (the table in ``docs/running.md``, else the column's
  comment in ``sinelstm/sweep/rows.py``), how the gate judges it (``pyproject.toml``), and
  the docstrings of ``sinelstm/experiment/metrics.py``;
- ``grids.md``: the named grids' table of ``docs/gate.md``, its cell counts checked
  against ``sinelstm.sweep.grid.GRIDS``;

and it serves the committed reports under ``results/`` as pages, with every file they or
the docs pages link to (figures, CSVs, the CI workflow) copied into the site. Links are
written relative to the file they come from in the checkout (``../results/REPORT.md`` in
``docs/gate.md``, ``docs/article-2017-fit.png`` in the README) and rewritten to the
site's own paths, so the same markdown reads right on GitHub and in the site.

A column without a meaning, a grid count that disagrees, or a link to nothing stops the
build (``mkdocs build --strict``).
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import posixpath
import re
import sys
import tokenize
import tomllib
from contextlib import contextmanager
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel

ROOT = Path(__file__).resolve().parents[2]

# The committed reports rendered as pages, by their path in the checkout (and the site).
REPORTS = (
    "results/REPORT-science.md",
    "results/REPORT.md",
    "results/HISTORY.md",
    "results/mutations.md",
    "results/README.md",
)
# Where a generated page's links are resolved from, in the checkout.
ORIGIN = {"index.md": "", "cli.md": "docs", "metrics.md": "docs", "grids.md": "docs"}
LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
HELP_WIDTH = "100"
SEED_MARK = re.compile(r"(\bn=\d+)\*")


# --- links ---------------------------------------------------------------------------


def site_uri(repo_path: str) -> str:
    """Where a file of the checkout lives in the site: docs/ at the root, results/ as it
    is, anything else under repo/."""
    if repo_path.startswith("docs/"):
        return repo_path[len("docs/") :]
    if repo_path.startswith("results/"):
        return repo_path
    return "repo/" + repo_path


def origin_of(src_uri: str) -> str:
    """The folder of the checkout a page's links are relative to."""
    if src_uri in ORIGIN:
        return ORIGIN[src_uri]
    if src_uri in REPORTS:
        return posixpath.dirname(src_uri)
    return posixpath.join("docs", posixpath.dirname(src_uri)).rstrip("/")


def _outside_fences(markdown: str, rewrite):
    """Apply rewrite to the text between fenced code blocks, which are left alone."""
    out, last = [], 0
    for fence in FENCE.finditer(markdown):
        out += [rewrite(markdown[last : fence.start()]), fence.group(0)]
        last = fence.end()
    return "".join([*out, rewrite(markdown[last:])])


def _local_targets(markdown: str):
    """(the link's whole match, target path, anchor) of every relative link."""
    found = []

    def collect(text):
        for match in LINK.finditer(text):
            target = match.group(2)
            if target.startswith(("http://", "https://", "mailto:", "#", "/")):
                continue
            path, _, anchor = target.partition("#")
            found.append((match, path, anchor))
        return text

    _outside_fences(markdown, collect)
    return found


def _resolve(origin: str, path: str) -> str | None:
    """A link's target as a path in the checkout, or None where it leaves the checkout."""
    resolved = posixpath.normpath(posixpath.join(origin, path))
    return None if resolved.startswith("..") else resolved


def rewrite_links(markdown: str, src_uri: str, files: Files) -> str:
    """Each relative link, written from the page's place in the checkout, pointed at its
    target's place in the site; a link to a file the site lacks is left for MkDocs to
    report."""
    origin, here = origin_of(src_uri), posixpath.dirname(src_uri)

    def one(match):
        target = match.group(2)
        if target.startswith(("http://", "https://", "mailto:", "#", "/")):
            return match.group(0)
        path, hash_, anchor = target.partition("#")
        repo_path = _resolve(origin, path)
        if repo_path is None or files.get_file_from_path(site_uri(repo_path)) is None:
            return match.group(0)
        new = posixpath.relpath(site_uri(repo_path), here or ".")
        return f"{match.group(1)}({new}{hash_}{anchor})"

    return _outside_fences(markdown, lambda text: LINK.sub(one, text))


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


def metrics_page() -> str:
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS

    meanings = _running_meanings()
    comments = _column_comments()
    gate = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["sinelstm"]["gate"]
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
    counts = dict(re.findall(r"^\| `([a-z]+)` \| (\d+) \|", table, flags=re.M))
    cells = {name: str(len(grid.cells())) for name, grid in GRIDS.items()}
    if counts != cells:
        raise PluginError(f"docs/gate.md's grid table {counts} is not the grids {cells}")
    return (
        "# The grids\n\n"
        "The named grids (`GRIDS` in `sinelstm/sweep/grid.py`), as "
        "[the gate's page](gate.md#the-named-grids) lists them; taken from there when the site is built, "
        "each grid's cell count checked against the code.\n\n" + table + "\n\n" + after + "\n"
    )


# --- MkDocs events -------------------------------------------------------------------


GENERATED = {"index.md": home_page, "cli.md": cli_page, "metrics.md": metrics_page, "grids.md": grids_page}


def on_files(files: Files, config) -> Files:
    # The site documents this checkout: sinelstm is imported from it (installed or not, as in
    # tox -e docs), like the files read beside it. Here, not at import: MkDocs restores sys.path
    # once it has loaded a hook.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sources: dict[str, str] = {}
    for src_uri, make in GENERATED.items():
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"docs/{src_uri} exists, but the site generates it: remove one")
        sources[src_uri] = make()
        files.append(File.generated(config, src_uri, content=sources[src_uri]))
    for report in REPORTS:
        sources[report] = (ROOT / report).read_text()
        files.append(File.generated(config, report, abs_src_path=str(ROOT / report)))
    for page in files.documentation_pages():
        if page.src_uri not in sources:
            sources[page.src_uri] = Path(page.abs_src_path).read_text()
    # Every file of the checkout a page links to, and the site lacks, is copied in.
    for src_uri, markdown in sources.items():
        for _, path, _ in _local_targets(markdown):
            repo_path = _resolve(origin_of(src_uri), path)
            if repo_path is None or not (ROOT / repo_path).is_file():
                continue
            uri = site_uri(repo_path)
            if files.get_file_from_path(uri) is None:
                copy = File.generated(
                    config, uri, abs_src_path=str(ROOT / repo_path), inclusion=InclusionLevel.INCLUDED
                )
                files.append(copy)
    return files


def escape_seed_marks(markdown: str) -> str:
    """The reports' "n=5*" (too few seeds for an interval) with its asterisk escaped, outside
    code: GitHub's CommonMark never opens emphasis at "*)", Python-Markdown does, and would set
    the text between two such marks in italics."""

    def outside_code(text):
        parts = re.split(r"(`+[^`]*`+)", text)
        return "".join(part if part.startswith("`") else SEED_MARK.sub(r"\1\\*", part) for part in parts)

    return _outside_fences(markdown, outside_code)


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    return escape_seed_marks(rewrite_links(markdown, page.file.src_uri, files))
