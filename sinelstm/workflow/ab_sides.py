"""`sinelstm ab`: a grid run by two revisions in one job, judged for speed and for results.

The sides (a commit, a folder, or the working tree, each copied alike), the run
(sinelstm.sweep.ab_pairs), the speed verdict per config and timing metric
(sinelstm.verdict.speed), the results each side gave compared at the reproduction tier
(both sides run on this one stack), and the files: the pairs as CSV, the full table and
a PR-sized summary as markdown.
"""

from __future__ import annotations

import compileall
import contextlib
import csv
import io
import math
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sinelstm.git import GitError, git, git_bytes
from sinelstm.sweep.ab_pairs import SIDES, ABError, Pair, Side
from sinelstm.verdict.pairs import ABRun, timing
from sinelstm.verdict.speed import TIMINGS, Acceptance, SpeedVerdict

# Reviewed slowdowns, committed like a baseline; one applies to the A/B of the diff that
# adds it (a row the base's copy of the file does not hold).
ACCEPTED = Path("results/speed-accepted.csv")
ACCEPTED_COLUMNS = ("config", "metric", "up_to", "reason")
ACCEPT_SLACK = 0.05  # an acceptance allows its run's interval top and this much more


class SpeedConfigError(ValueError):
    """A broken [tool.sinelstm.gate.ab] or acceptance file: one line, exit status 2."""


# What a side's copy holds: the package its workers import, the stack files the report
# compares, and the acceptances the verdict reads.
COPIED = ("sinelstm", "pyproject.toml", "constraints.txt", str(ACCEPTED))


def commit_of(repo: Path, rev: str) -> str | None:
    """The full sha of rev, or None where it names no commit here."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") or None
    except GitError:
        return None


@contextlib.contextmanager
def sides(repo: Path | None, base: str | None, head: str | None) -> Iterator[tuple[Side, Side]]:
    """Both sides of the A/B, made alike: each a fresh copy of COPIED in one temporary folder
    (`.../base`, `.../head`: paths, and so environments, of one length), byte-compiled
    before any worker starts. A spec is a folder holding a sinelstm package, a git revision,
    or None for the working tree (what git would commit: tracked and untracked files, not
    ignored ones). Neither side is the tree the driver runs in, so neither has warm caches,
    compiled bytecode or a path of its own."""
    with tempfile.TemporaryDirectory(prefix="sinelstm-ab-") as scratch:
        made = []
        for name, spec in zip(SIDES, (base, head), strict=True):
            tree = Path(scratch) / name
            label = _copy_side(repo, spec, name, tree)
            if not (tree / "sinelstm" / "__init__.py").is_file():
                raise ABError(f"{name.upper()}: {label} holds no sinelstm package")
            compileall.compile_dir(tree / "sinelstm", quiet=2)
            made.append(Side(name, tree, label))
        yield made[0], made[1]


def _copy_side(repo: Path | None, spec: str | None, name: str, tree: Path) -> str:
    """Copy a side's files into tree; returns its label."""
    folder = Path(spec) if spec is not None else None
    if folder is not None and folder.is_dir() and (folder / "sinelstm" / "__init__.py").is_file():
        files = [path.relative_to(folder) for path in _files_under(folder)]
        _copy(folder, files, tree)
        return str(folder)
    if repo is None:
        raise ABError(
            f"{name.upper()}: {spec or 'the working tree'} needs a git checkout; run sinelstm ab inside one"
        )
    if spec is None:
        listed = git(repo, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", *COPIED)
        files = [Path(path) for path in sorted(set(listed.split("\0"))) if path and (repo / path).is_file()]
        _copy(repo, files, tree)
        return "working tree"
    sha = commit_of(repo, spec)
    if sha is None:
        raise ABError(
            f"{name.upper()}: {spec!r} is neither a commit of {repo} nor a folder holding sinelstm/"
        )
    present = git(repo, "ls-tree", "--name-only", sha, "--", *COPIED).split()
    if "sinelstm" not in present:
        raise ABError(f"{name.upper()}: {sha[:10]} holds no sinelstm package")
    try:
        archive = git_bytes(repo, "archive", "--format=tar", sha, "--", *present)
    except GitError as error:
        raise ABError(f"{name.upper()}: {sha[:10]}: {error}") from None
    tree.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 on: no path out of the tree
                tar.extractall(tree, filter="data")
            else:
                tar.extractall(tree, members=[m for m in tar if m.isfile() or m.isdir()])
    except (tarfile.TarError, OSError) as error:
        raise ABError(f"{name.upper()}: {sha[:10]}: cannot copy its files: {error}") from None
    return sha[:10]


def _files_under(folder: Path) -> list[Path]:
    """A folder side's files among COPIED, without bytecode."""
    found = []
    for name in COPIED:
        path = folder / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return found


def _copy(source: Path, files: list[Path], tree: Path) -> None:
    for relative in files:
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, tree / relative)


def read_acceptances(path: Path) -> tuple[Acceptance, ...]:
    if not path.is_file():
        return ()
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != ACCEPTED_COLUMNS:
            raise SpeedConfigError(f"{path}: expected the columns {', '.join(ACCEPTED_COLUMNS)}")
        try:
            return tuple(
                Acceptance(row["config"], row["metric"], float(row["up_to"]), row["reason"]) for row in reader
            )
        except (TypeError, ValueError) as error:
            raise SpeedConfigError(f"{path}: line {reader.line_num}: {error}") from None


def new_acceptances(base: Side, head: Side) -> tuple[Acceptance, ...]:
    """The acceptances the head adds to the base's: only these apply to this A/B."""
    before = set(read_acceptances(base.tree / ACCEPTED))
    return tuple(a for a in read_acceptances(head.tree / ACCEPTED) if a not in before)


def write_acceptances(
    verdicts: list[SpeedVerdict], reason: str, path: Path, slack: float = ACCEPT_SLACK
) -> int:
    """Accept every slower verdict up to its interval's top plus the slack, appended with
    the reason; returns how many."""
    slower = [v for v in verdicts if v.verdict == "slower"]
    fresh = not path.is_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if fresh:
            writer.writerow(ACCEPTED_COLUMNS)
        for v in slower:
            writer.writerow([v.config, v.metric, f"{v.high * (1 + slack):.3f}", reason.strip()])
    return len(slower)


def write_pairs(pairs: list[Pair], path: Path) -> None:
    """The pairs as CSV (one row a pair, each timing of both sides): what the verdict is
    computed from, kept beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["config", "cell", "seed", "repeat", "core", "first"]
            + [f"{name}_{metric}" for metric in TIMINGS for name in SIDES]
            + ["base_error", "head_error"]
        )
        for pair in sorted(pairs, key=lambda p: (p.config, p.cell.seed, p.repeat)):
            writer.writerow(
                [pair.config, pair.name, pair.cell.seed, pair.repeat, pair.core, pair.first]
                + [_csv_number(timing(pair, name, metric)) for metric in TIMINGS for name in SIDES]
                + [pair.outcomes[name].error for name in SIDES]
            )


def _csv_number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"


def write(run: ABRun, out: Path) -> list[Path]:
    """out (the pairs CSV), and beside it OUT.md (the full table) and OUT.summary.md."""
    from sinelstm.report.ab_table import markdown

    write_pairs(run.pairs, out)
    full, summary = out.with_suffix(".md"), out.with_suffix(".summary.md")
    full.write_text(markdown(run))
    summary.write_text(markdown(run, summary=True))
    return [out, full, summary]
