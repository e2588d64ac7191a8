"""results/README.md's index of the committed results files (sinelstm index): per file its
size, row count, grid and the commits its rows name, and the folder's total, computed from
the files git tracks there, between the README's markers, so that the README never claims
a file, a size or a commit its files do not carry (tests/test_results_index.py checks it)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sinelstm.git import GitError, git
from sinelstm.workflow.options import UsageError, grid_of_baseline, grid_of_run

BEGIN = "<!-- results-index:begin: written by `sinelstm index`; edit the prose outside it -->"
END = "<!-- results-index:end -->"
MAX_COMMITS = 4  # commits listed by name; more are counted, the first and last named


def tracked_files(folder: Path) -> list[str]:
    """The files git tracks under folder (and that are there), relative to it, sorted."""
    folder = Path(folder)
    try:
        listed = git(folder, "ls-files", "-z", "--", ".")
    except GitError as error:
        raise UsageError(f"{folder}: not in a git checkout; the index lists committed files") from error
    return sorted(name for name in listed.split("\0") if name and (folder / name).is_file())


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def _commits(values: list[str]) -> str:
    names = list(dict.fromkeys(value[:7] for value in values if value))
    if len(names) <= MAX_COMMITS:
        return ", ".join(f"`{name}`" for name in names)
    return f"{len(names)} commits (`{names[0]}` ... `{names[-1]}`)"


def _csv_facts(path: Path) -> tuple[str, str, str]:
    """(rows, grid, commits) of a CSV: its data rows (and their schema versions); the grid its
    rows or its name say; the commits its rows name (git_commit, or commit), marked where a row
    was of a dirty tree."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        records = list(reader)
        columns = reader.fieldnames or []
    commit_column = next((c for c in ("git_commit", "commit") if c in columns), None)
    commits = _commits([r[commit_column] for r in records]) if commit_column else ""
    dirty = next((c for c in ("git_dirty", "dirty") if c in columns), None)
    if commits and dirty and any(r[dirty].strip().lower() in ("true", "1") for r in records):
        commits += " (some rows dirty)"
    if "grid" in columns:
        grid = ", ".join(sorted({r["grid"] for r in records if r["grid"]}))
    elif path.name.endswith(".series.csv"):
        grid = grid_of_run(path.with_name(path.name[: -len(".series.csv")] + ".csv")) or ""
    elif path.name.startswith("baseline"):
        grid = grid_of_baseline(path) or ""
    elif "cell_key" in columns:
        grid = grid_of_run(path) or ""
    else:
        grid = ""
    count = str(len(records))
    if "schema_version" in columns:
        versions = sorted({r["schema_version"] for r in records if r["schema_version"]}, key=int)
        count += f" (schema {', '.join(versions)})" if versions else ""
    return count, grid, commits


def _json_facts(path: Path) -> tuple[str, str, str]:
    """A grid record (RUN.grid.json): its grid and the commit it ran at; pytest-benchmark's
    JSON: the commit it ran at."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        return "", "", ""
    if not path.name.endswith(".grid.json"):
        info = data.get("commit_info")
        return "", "", _commits([str(info.get("id") or "")]) if isinstance(info, dict) else ""
    run = path.with_name(path.name[: -len(".grid.json")] + ".csv")
    grid = str(data.get("grid") or "").split("+")[0] or grid_of_run(run) or ""
    return "", grid, _commits([str(data.get("commit") or "")])


def index_lines(folder: Path) -> list[str]:
    """The index's markdown: one row per file (a subfolder's files as one row), the total."""
    folder = Path(folder)
    # The README that holds the index is left out: its size changes as the index is written.
    names = [name for name in tracked_files(folder) if name != "README.md"]
    rows, folders, total = [], {}, 0
    for name in names:
        path = folder / name
        size = path.stat().st_size
        total += size
        if "/" in name:
            top = name.split("/")[0] + "/"
            count, bytes_ = folders.get(top, (0, 0))
            folders[top] = (count + 1, bytes_ + size)
            continue
        facts = ("", "", "")
        if name.endswith(".csv"):
            facts = _csv_facts(path)
        elif name.endswith(".json"):
            facts = _json_facts(path)
        rows.append((name, _kb(size), *facts))
    for top, (count, size) in folders.items():
        rows.append((top, _kb(size), f"{count} files", "", ""))
    rows.sort(key=lambda item: item[0])
    lines = [
        BEGIN,
        "",
        "| file | size | rows | grid | commits its rows name |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    lines += ["| `{}` | {} | {} | {} | {} |".format(*row) for row in rows]
    lines += [
        "",
        f"In all: {len(names)} committed files besides this README, {total / 1024 / 1024:.2f} MB "
        f"({total} bytes); a folder's row counts its files together, and a local run's ignored "
        "files (`.gitignore`) are not counted.",
        "",
        END,
    ]
    return lines


def replace_index(text: str, lines: list[str], where: str = "results/README.md") -> str:
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        raise UsageError(f"{where} has no {BEGIN} ... {END} block to fill")
    return text[:begin] + "\n".join(lines) + text[end + len(END) :]


def write_index(folder: Path, readme: Path | None = None, check: bool = False) -> bool:
    """Write the index into folder/README.md (or readme) between its markers; with check,
    write nothing and return whether the README's index is the files' as they are now."""
    readme = Path(readme) if readme else Path(folder) / "README.md"
    try:
        text = readme.read_text()
    except OSError as error:
        raise UsageError(f"cannot read {readme}: {error.strerror or error}") from None
    new = replace_index(text, index_lines(folder), str(readme))
    if check:
        return new == text
    if new != text:
        readme.write_text(new)
    return True
