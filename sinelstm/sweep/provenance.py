"""Where a result came from: time, code version, software versions, machine."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

PROVENANCE_COLUMNS = (
    "utc_time",
    "git_commit",
    "git_dirty",
    "python",
    "numpy",
    "tensorflow",
    "keras",
    "backend",
    "cpu",
    "cpu_count",
    "threads",
    "machine",
    "host",
)


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parents[2]  # the checkout that holds the package
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def git_commit() -> str:
    """This checkout's commit ("" outside git), without importing Keras or TensorFlow."""
    return _git("rev-parse", "HEAD")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def compute_threads() -> int:
    """Threads a cell computes with: the cores it may run on, or fewer where the worker's
    environment caps TensorFlow's thread pool (the process and Ray executors set 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cap = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    return min(cores, int(cap)) if cap.isdigit() and int(cap) > 0 else cores


def machine_fingerprint(cpu: str, cpu_count: int, threads: int) -> str:
    """A short hash of what makes timings comparable: CPU model, cores, threads, OS, arch."""
    text = "|".join([cpu, str(cpu_count), str(threads), platform.system(), platform.machine()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _installed_version(*names: str) -> str:
    """The version of the first installed distribution of names, without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return ""


@functools.lru_cache(maxsize=1)
def _static() -> dict[str, object]:
    import keras
    import numpy

    tf_version = _installed_version("tensorflow-cpu", "tensorflow")
    threads = compute_threads()
    commit = _git("rev-parse", "HEAD")
    # The code's state, not the results folder's: a run moves its own earlier results
    # aside, and that must not mark the code as changed.
    dirty = (
        bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!results")) if commit else ""
    )
    cpu = cpu_model()
    cpu_count = os.cpu_count() or 0
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "tensorflow": tf_version,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "cpu": cpu,
        "cpu_count": cpu_count,
        "threads": threads,
        "machine": machine_fingerprint(cpu, cpu_count, threads),
        "host": socket.gethostname(),
    }


def provenance() -> dict[str, object]:
    """The provenance columns of a result row, with the current UTC time."""
    utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"utc_time": utc, **_static()}
