"""The documentation site (mkdocs.yml, docs/hooks/site_pages.py): it builds in strict mode,
its generated pages are the code's, the committed reports show their figures, and no page of
docs/ is left out of its navigation."""

from __future__ import annotations

import argparse
import configparser
import html
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sinelstm.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
NOT_INSTALLED = "mkdocs or mkdocs-material is not installed: pip install -c constraints.txt -e '.[docs]'"


def _subcommands(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subcommands(sub, (*path, name))


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once for this module as CI builds it (tox -e docs)."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip(NOT_INSTALLED)
    out = tmp_path_factory.mktemp("site")
    args = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert build.returncode == 0, build.stderr[-4000:]
    assert "WARNING" not in build.stderr, build.stderr
    return out


def test_the_cli_reference_lists_every_subcommand_and_flag_of_the_parser(site):
    page = site / "cli" / "index.html"
    raw, text = page.read_text(), _text(page)
    commands = list(_subcommands(build_parser()))
    assert len(commands) >= 7
    for path, sub in commands:
        name = " ".join(("sinelstm", *path))
        assert f'id="{name.replace(" ", "-")}"' in raw, f"{name}: no section"
        assert f"usage: {name}" in text, f"{name}: no usage"
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in text, f"{name} {flag}: not in the reference"


def test_the_metrics_page_explains_every_column_of_a_row(site):
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS

    raw = (site / "metrics" / "index.html").read_text()
    assert [c for c in (*METRIC_COLUMNS, *TIMING_COLUMNS) if f"<code>{c}</code>" not in raw] == []


def test_the_committed_reports_render_with_their_figures(site):
    for report in ("REPORT-science", "REPORT", "HISTORY"):
        source = (ROOT / "results" / f"{report}.md").read_text()
        figures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", source)
        page = site / "results" / report / "index.html"
        images = re.findall(r'<img [^>]*src="([^"]+)"', page.read_text())
        assert figures and len(images) == len(figures), report
        assert [src for src in images if not (page.parent / src).resolve().is_file()] == []
        # "n=5*" (too few seeds for an interval) stays text: never an emphasis between two of them.
        assert len(re.findall(r"n=\d+\*", _text(page))) == len(re.findall(r"n=\d+\*", source))


def test_the_home_page_gives_the_readmes_two_commands(site):
    setup = (ROOT / "README.md").read_text().split("## Set up and go", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```\n(.+?)\n```$", setup, flags=re.M)
    assert len(commands) == 2 and all("pip install" in command for command in commands)
    home = _text(site / "index.html")
    assert all(command in home for command in commands)
    assert (site / "article-2017-fit.png").is_file()  # the README's figures, linked from docs/


def _nav_pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_in_docs_is_in_the_nav():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True and config["site_dir"] == "site"
    nav = _nav_pages(config["nav"])
    docs = ROOT / "docs"
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md") if "hooks" not in p.parts}
    assert sorted(pages - set(nav)) == []
    assert len(nav) == len(set(nav))


def test_the_docs_env_installs_the_docs_extra_at_its_pins():
    """tox -e docs skips installing sinelstm, so it names the docs extra's packages itself:
    the same packages, plus numpy (the parser's one import beside the standard library)."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    assert "docs" in [env.strip() for env in tox["tox"]["env_list"].split(",")]
    deps = set(tox["testenv:docs"]["deps"].split())
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["docs"]
    names = {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0] for requirement in extra}
    assert deps == names | {"numpy"}
    pins = {line.split("==")[0].lower() for line in (ROOT / "constraints.txt").read_text().splitlines()}
    assert deps <= pins
