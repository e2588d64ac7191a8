"""results/README.md's index (sinelstm index): every committed results file with its size,
rows, grid and commits, recomputed here from the files themselves."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sinelstm.cli import main
from sinelstm.workflow.index import BEGIN, END, index_lines

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_index_is_the_committed_files_own(committed_results):
    text = (committed_results / "README.md").read_text()
    assert BEGIN in text and END in text
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    stale = "results/README.md's index is stale: run `sinelstm index`"
    assert block == "\n".join(index_lines(committed_results)), stale


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], capture_output=True, check=True)


def test_index_writes_checks_and_refuses(tmp_path, capsys):
    from helpers import row

    from sinelstm.sweep.store import append_rows

    folder = tmp_path / "results"
    folder.mkdir()
    _git(tmp_path, "init", "-q")
    append_rows(folder / "latest-quick.csv", [row(seed=0), row(seed=1)])
    (folder / "notes.md").write_text("x" * 2048)
    (folder / "untracked.csv").write_text("a\n1\n")
    (folder / "README.md").write_text(f"# results\n\nprose\n\n{BEGIN}\nold claim\n{END}\n\nmore prose\n")
    _git(tmp_path, "add", "results/latest-quick.csv", "results/notes.md", "results/README.md")
    assert main(["index", str(folder), "--check"]) == 1
    assert main(["index", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert text.startswith("# results\n\nprose\n\n") and text.endswith("\n\nmore prose\n")
    assert "old claim" not in text and "untracked.csv" not in text
    assert "| `notes.md` | 2.0 KB |  |  |  |" in text
    from sinelstm.sweep.rows import SCHEMA_VERSION

    assert "| `latest-quick.csv` |" in text and f"| 2 (schema {SCHEMA_VERSION}) | quick |" in text
    assert "In all: 2 committed files besides this README" in text
    assert main(["index", str(folder), "--check"]) == 0
    (folder / "notes.md").write_text("y")
    assert main(["index", str(folder), "--check"]) == 1
    (folder / "README.md").write_text("# results, no markers\n")
    capsys.readouterr()
    assert main(["index", str(folder)]) == 2
    assert "results-index" in capsys.readouterr().err
