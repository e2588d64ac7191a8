"""Where a result came from: time, code version, software versions, machine."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
from datetime import UTC, datetime
from pathlib import Path

from sinelstm.git import GitError, git

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
    "cpu_id",  # vendor family/model: two hosts with one model name differ here
    "isa",  # the widest instruction set the CPU offers the kernels (XLA's names)
    "isa_cap",  # XLA's --xla_cpu_max_isa where XLA_FLAGS caps it, else empty
    "onednn",  # TensorFlow's oneDNN kernels: on or off; empty on another backend
    "cpu_count",
    "threads",
    "machine",
    "host",
)


def _git(*args: str) -> str:
    """git's output in the checkout that holds the package; "" outside one."""
    try:
        return git(Path(__file__).resolve().parents[2], *args, timeout=10)
    except GitError:
        return ""


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


# XLA's instruction-set levels (--xla_cpu_max_isa), widest last, each with the CPU flag that
# marks it in /proc/cpuinfo.
ISA_LEVELS = (
    ("SSE4_2", "sse4_2"),
    ("AVX", "avx"),
    ("AVX2", "avx2"),
    ("AVX512", "avx512f"),
    ("AVX512_VNNI", "avx512_vnni"),
    ("AVX512_BF16", "avx512_bf16"),
    ("AMX", "amx_tile"),
)
# The CPU features on which TensorFlow turns its oneDNN kernels on by default (x86 Linux).
ONEDNN_FEATURES = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def cpu_id() -> str:
    """'GenuineIntel 6/143': vendor, family and model, or the platform's machine name."""
    info = _cpuinfo()
    if "cpu family" in info:
        return f"{info.get('vendor_id', '?')} {info['cpu family']}/{info.get('model', '?')}"
    return platform.machine()


def cpu_flags() -> set[str]:
    return set(_cpuinfo().get("flags", "").split())


def host_isa(flags: set[str]) -> str:
    """The widest of XLA's instruction-set levels the CPU has ("" off x86)."""
    return next((name for name, flag in reversed(ISA_LEVELS) if flag in flags), "")


def isa_cap(xla_flags: str) -> str:
    """XLA's --xla_cpu_max_isa in an XLA_FLAGS value, upper-cased ("" where none)."""
    for flag in xla_flags.split():
        if flag.startswith("--xla_cpu_max_isa="):
            return flag.split("=", 1)[1].upper()
    return ""


def onednn_state(flags: set[str]) -> str:
    """Whether TensorFlow runs its oneDNN kernels: TF_ENABLE_ONEDNN_OPTS where set, else
    TensorFlow's own default (on where the CPU has one of ONEDNN_FEATURES); TensorFlow's
    own answer where it can give one."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except Exception:  # noqa: BLE001 - a broken install must not stop a row being written
        pass
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if value in ("0", "false"):
        return "off"
    if value in ("1", "true"):
        return "on"
    return "on" if flags & set(ONEDNN_FEATURES) else "off"


def compute_threads() -> int:
    """Threads a cell computes with: the cores it may run on, or fewer where the worker's
    environment caps TensorFlow's thread pool (the process and Ray executors set 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cap = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    return min(cores, int(cap)) if cap.isdigit() and int(cap) > 0 else cores


def machine_fingerprint(cpu: str, cpu_count: int, threads: int, *host: str) -> str:
    """A short hash of what makes timings comparable: CPU model, cores, threads, OS, arch,
    and the host's kernels (cpu_id, isa, isa_cap, onednn)."""
    text = "|".join([cpu, str(cpu_count), str(threads), platform.system(), platform.machine(), *host])
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
    flags = cpu_flags()
    host = {
        "cpu_id": cpu_id(),
        "isa": host_isa(flags),
        "isa_cap": isa_cap(os.environ.get("XLA_FLAGS", "")),
        "onednn": onednn_state(flags) if tf_version and keras.backend.backend() == "tensorflow" else "",
    }
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "tensorflow": tf_version,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "cpu": cpu,
        **host,
        "cpu_count": cpu_count,
        "threads": threads,
        "machine": machine_fingerprint(cpu, cpu_count, threads, *host.values()),
        "host": socket.gethostname(),
    }


def provenance() -> dict[str, object]:
    """The provenance columns of a result row, with the current UTC time."""
    utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"utc_time": utc, **_static()}
