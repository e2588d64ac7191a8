"""The one way sinelstm calls git: a command's output, or git's own last line of error as
a GitError (exit status 2 at the command line)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitError(ValueError):
    """git failed, timed out or is missing: one line."""


def git_bytes(repo: Path, *args: str, timeout: float = 120) -> bytes:
    """`git -C repo ARGS`'s standard output, as bytes (an archive)."""
    try:
        command = ["git", "-C", str(repo), *args]
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        raise GitError(f"git {args[0]}: {error}") from None
    if done.returncode != 0:
        message = (done.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
        raise GitError(f"git {' '.join(args[:2])}: {message}")
    return done.stdout


def git(repo: Path, *args: str, timeout: float = 120) -> str:
    """`git -C repo ARGS`'s standard output as text, stripped."""
    return git_bytes(repo, *args, timeout=timeout).decode(errors="replace").strip()


def repo_root(start: Path | None = None) -> Path:
    """The top of the checkout that holds start (the working directory)."""
    return Path(git(Path(start or Path.cwd()), "rev-parse", "--show-toplevel"))
