"""The process environment a cell computes in: Keras backend, thread counts, log levels.

One place for what must be set before TensorFlow or JAX is first imported, shared by
the CLI, the process workers, Ray tasks and the perf bench's child processes. It
imports nothing of sinelstm's and nothing heavy.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

BACKENDS = ("tensorflow", "jax")

# Environment of a single-threaded worker, set before TensorFlow or JAX is imported.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
# Variables a worker inherits from its driver, so that it computes as the driver would
# (and logs as the driver asked: SINELSTM_VERBOSE, set by -v).
INHERITED = (
    "KERAS_BACKEND",
    "SINELSTM_VERBOSE",
    "JAX_COMPILATION_CACHE_DIR",
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
)


class BackendError(ValueError):
    """A backend that cannot be used here: printed as one line, exit status 2."""


def select_backend(name: str | None) -> str:
    """Set KERAS_BACKEND before Keras is first imported; refuse what is not installed."""
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name not in BACKENDS:
        raise BackendError(f"--backend: got {name!r}; expected one of {', '.join(BACKENDS)}")
    if importlib.util.find_spec(name) is None:
        raise BackendError(
            f"--backend: {name} is not installed; install it with pip install -e '.[jax]'"
            if name == "jax"
            else "--backend: tensorflow is not installed; pip install -e ."
        )
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != name:
        raise BackendError(f"--backend: Keras is already loaded with another backend than {name}")
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if name == "jax":
        # Every new Keras model compiles its train step anew; with JAX's persistent
        # cache the cells of one config after the first, in any worker, load it instead.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sinelstm" / "jax"
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    return name


def backend() -> str:
    """The Keras backend this process uses (or will, once Keras is imported)."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def worker_env() -> dict[str, str]:
    """The environment of a one-thread worker: single-threaded, the driver's backend, and
    the driver's own XLA flags before the single-thread ones, which win (an instruction-set
    cap, --xla_cpu_max_isa, reaches every worker)."""
    env = dict(SINGLE_THREAD_ENV)
    env["KERAS_BACKEND"] = backend()
    env.update({name: os.environ[name] for name in INHERITED if name in os.environ})
    own = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if flag not in env["XLA_FLAGS"].split()]
    env["XLA_FLAGS"] = " ".join([*own, env["XLA_FLAGS"]])
    return env


def become_worker(core: int | None = None, load: bool = True) -> None:
    """Make this process a one-thread worker: pin it to `core` (where the OS allows) and
    set the environment, before numpy, TensorFlow or JAX start any thread; then (unless
    told not to: a pool initializer loads after releasing its lock) load the backend,
    its native log lines silenced (unless -v)."""
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    raise_priority()
    os.environ.update(worker_env())
    if load:
        preload_backend()


# How far a worker lowers its nice value, where the OS lets it (root, or CAP_SYS_NICE), so
# that a busy neighbour at normal priority takes little of its core.
NICE = 15


def raise_priority(nice: int = NICE) -> int:
    """Lower this process's nice value by `nice` where allowed; returns the value it runs at.
    (The A/B's workers do the same in sweep/abworker.py, which imports nothing of ours.)"""
    try:
        return os.nice(-nice)
    except OSError:
        return os.nice(0)


def exit_with_parent(interval: float = 0.25) -> None:
    """End this worker process once its parent is gone (it is then re-parented): a worker
    whose driver was killed stops at once instead of computing on for nobody. A daemon
    thread polls the parent's pid; it works whichever thread started the worker (Linux's
    parent-death signal follows the starting thread, which a pool's manager can outlive)."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="sinelstm-exit-with-parent", daemon=True).start()


def preload_backend() -> None:
    """Load the backend quietly now; a failure is left for the cell's own import to raise
    again, where it is recorded as the cell's error."""
    try:
        load_backend_quietly()
    except Exception:  # noqa: BLE001 - raised again by the cell's own import
        pass


def verbose() -> bool:
    return os.environ.get("SINELSTM_VERBOSE", "") not in ("", "0")


def load_backend_quietly() -> None:
    """Import Keras (and so its backend) with the process's stderr file descriptor sent to
    a scratch file, unless -v. TensorFlow 2.21 writes its oneDNN and CPU-feature lines
    through absl before any log level applies (TF_CPP_MIN_LOG_LEVEL=3 does not stop them),
    once per process: around a progress bar they are noise. Whatever was written is
    replayed if the import fails, so a broken install still says why."""
    if verbose() or "keras" in sys.modules:
        if "keras" not in sys.modules:
            _import_backend()
        return
    import tempfile

    try:
        scratch = tempfile.TemporaryFile()
    except OSError:  # nowhere to put the lines: let them through rather than fail
        _import_backend()
        return
    sys.stderr.flush()
    with scratch:
        saved = os.dup(2)
        try:
            os.dup2(scratch.fileno(), 2)
            _import_backend()
        except BaseException:
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _import_backend() -> None:
    """Keras, and TensorFlow wherever it is installed: a JAX-backend cell imports it too
    (tf.data, the engines), and it logs on its first import whichever backend runs."""
    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow  # noqa: F401
    import keras  # noqa: F401
