"""The committed science results, the report and the README's answer are one grid run at
the code that ships them: every quoted number recomputed from the CSV, and the package
that made the rows the package here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sinelstm.analysis.answer import answer, answer_block
from sinelstm.analysis.frames import with_keys
from sinelstm.sweep.store import read_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results" / "latest-science.csv"


@pytest.fixture(scope="module")
def science() -> pd.DataFrame:
    return with_keys(read_results(RESULTS))


def test_the_readmes_answer_is_the_committed_science_results(science):
    assert answer_block((ROOT / "README.md").read_text()) == answer(science)


def test_the_science_report_holds_the_same_answer_and_describes_the_csv(science):
    from sinelstm.report.markdown import describes

    report = ROOT / "results" / "REPORT-science.md"
    assert describes(report, RESULTS), "REPORT-science.md was not made from latest-science.csv"
    assert answer_block(report.read_text()) == answer(science)


def test_every_line_of_the_science_section_is_recomputed_from_the_csv(science):
    from sinelstm.report.science import read_pilot, science_section

    report = (ROOT / "results" / "REPORT-science.md").read_text()
    ok = science[science["status"] == "ok"]
    missing = [line for line in science_section(ok, read_pilot(RESULTS)) if line and line not in report]
    assert missing == [], missing[:3]


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def test_the_rows_come_from_this_package_at_a_clean_commit(science):
    commits = sorted(set(science["git_commit"].astype(str)))
    assert len(commits) == 1, f"the rows name several commits: {commits}"
    assert not science["git_dirty"].astype(str).str.lower().eq("true").any(), "rows from a changed tree"
    if _git("rev-parse", "HEAD").returncode != 0:
        pytest.skip("not a git checkout")
    if _git("cat-file", "-e", f"{commits[0]}^{{commit}}").returncode != 0:
        pytest.skip(f"{commits[0]} is not in this (shallow) clone")
    diff = _git("diff", "--stat", commits[0], "HEAD", "--", "sinelstm/")
    assert diff.returncode == 0 and diff.stdout == "", f"sinelstm/ changed since {commits[0]}:\n{diff.stdout}"


def test_every_cell_of_the_science_grid_finished(science):
    from sinelstm.sweep.grid import cell_id, make_grid

    expected = {cell_id(cell) for cell in make_grid("science").cells()}
    ok = set(science.loc[science["status"] == "ok", "cell"])
    assert expected - ok == set(), f"{len(expected - ok)} cells missing or failed"
