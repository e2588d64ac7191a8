"""MkDocs hook (mkdocs.yml): the site's generated pages, and the files it borrows from the
checkout.

It adds the pages site_generated.py writes (the home page, the CLI reference, the metrics and
the grids), serves the committed reports under ``results/`` as pages, and copies in every file
they or the docs pages link to (figures, CSVs, the CI workflow). Links are written relative to
the file they come from in the checkout (``../results/REPORT.md`` in ``docs/gate.md``,
``docs/article-2017-fit.png`` in the README) and rewritten to the site's own paths, so the same
markdown reads right on GitHub and in the site. A link to nothing is left for MkDocs to report
(``mkdocs build --strict`` fails on it).
"""

from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel
from site_generated import PAGES  # beside this file: MkDocs puts its folder on sys.path to load it

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
ORIGIN = {src_uri: origin for src_uri, (_, origin) in PAGES.items()}
LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
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


# --- MkDocs events -------------------------------------------------------------------


def on_files(files: Files, config) -> Files:
    # The site documents this checkout: sinelstm is imported from it (installed or not, as in
    # tox -e docs), like the files read beside it. Here, not at import: MkDocs restores sys.path
    # once it has loaded a hook.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sources: dict[str, str] = {}
    for src_uri, (make, _) in PAGES.items():
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
