"""The committed science results, the report and the README's answer are one grid run:
every quoted number recomputed from the CSV, and the package that made the rows the
package here, or the README says it is not."""

from __future__ import annotations

import re
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


# Said in the README's science section while the rows predate the package that ships them.
STALE = "sinelstm/ has changed since these rows were made"
# ... and where code that makes rows changed, the commit that was shown to give identical rows
# (docs/identical_rows.py on the quick and paths grids, before and after; docs/science.md).
IDENTICAL = r"a refactor that gave identical rows at ([0-9a-f]{7,40})"


def test_the_rows_come_from_a_clean_commit_and_a_later_package_says_so(science):
    """The rows name one clean commit. Where sinelstm/ has changed since, the README says
    so and names that commit (a rerun at the shipping code removes the sentence)."""
    commits = sorted(set(science["git_commit"].astype(str)))
    assert len(commits) == 1, f"the rows name several commits: {commits}"
    assert not science["git_dirty"].astype(str).str.lower().eq("true").any(), "rows from a changed tree"
    if _git("rev-parse", "HEAD").returncode != 0:
        pytest.skip("not a git checkout")
    if _git("cat-file", "-e", f"{commits[0]}^{{commit}}").returncode != 0:
        pytest.skip(f"{commits[0]} is not in this (shallow) clone")
    diff = _git("diff", "--name-only", commits[0], "HEAD", "--", "sinelstm/")
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert diff.returncode == 0
    assert f"`sinelstm/` at {commits[0][:7]}" in readme, "the README does not name the rows' commit"
    if not diff.stdout.strip():
        assert STALE not in readme
        return
    assert STALE in readme and f"`sinelstm/` at {commits[0][:7]}" in readme, diff.stdout
    # What changed since reads rows and never makes them, or since a commit where a change that
    # must not move a result (a refactor) was shown to give identical rows: the rows are the
    # shipping code's.
    verified = re.search(IDENTICAL, readme)
    if verified:
        since = verified.group(1)
        assert _git("merge-base", "--is-ancestor", commits[0], since).returncode == 0, since
        diff = _git("diff", "--name-only", since, "HEAD", "--", "sinelstm/")
    reads = ("sinelstm/analysis/", "sinelstm/report/")
    makes = [path for path in diff.stdout.split() if not path.startswith(reads)]
    assert makes == [], f"code that makes rows changed since the rows were made: {makes}"


def test_read_at_the_amplitude_resolution_the_rows_give_the_same_answer(science):
    """The rows predate FLAT_AMPLITUDE: their first and last amplitudes read at it (under it:
    0, and the ratio with them) leave the README's answer as it is."""
    from sinelstm.experiment.metrics import FLAT_AMPLITUDE

    resolved = science.copy()
    for column in ("amp_first", "amp_last"):
        resolved[column] = resolved[column].where(resolved[column] >= FLAT_AMPLITUDE, 0.0)
    ratio = resolved["amp_last"] / resolved["amp_first"].where(resolved["amp_first"] > 0)
    resolved["amp_ratio"] = ratio.where(science["amp_ratio"].notna())
    resolved["flat"] = resolved["amp_last"] == 0
    assert answer(resolved) == answer(science)


def test_every_cell_of_the_science_grid_finished(science):
    from sinelstm.sweep.grid import cell_id, make_grid

    expected = {cell_id(cell) for cell in make_grid("science").cells()}
    ok = set(science.loc[science["status"] == "ok", "cell"])
    assert expected - ok == set(), f"{len(expected - ok)} cells missing or failed"


def test_identical_rows_finds_a_moved_value_and_a_missing_cell():
    import sys

    sys.path.insert(0, str(ROOT / "docs"))
    from identical_rows import differences

    before = pd.DataFrame({"cell": ["a", "b"], "forecast_rmse": [0.1, 0.2], "flat": [False, False]})
    assert differences(before, before.copy())[2] == []
    after = before.copy()
    after.loc[1, "forecast_rmse"] = 0.2000001
    assert differences(before, after)[2] == ["b: forecast_rmse 0.2 -> 0.2000001"]
    assert differences(before, after.iloc[:1])[2] == ["b: only in one run"]
