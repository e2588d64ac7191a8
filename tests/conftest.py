import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _one_core_per_xdist_worker() -> None:
    """Under pytest-xdist (pytest -n N), each worker computes on one core of its own: gwK on
    the K-th core this run may use (round robin past the last). Whatever a test starts (a
    process pool, an A/B's workers, a Ray head, a sinelstm subprocess) inherits that core,
    and sizes itself to it (a pool of as many workers as cores: one), so N test workers never
    compute on more than N cores at once. Set before numpy, TensorFlow or JAX size their
    thread pools (they read this affinity). No test's outcome depends on it: pool workers
    and sinelstm's grid cells compute with one thread anyway, and one thread against two
    gave identical metrics (pyproject.toml's reproduction tier)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit() or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    core = {cores[int(worker[2:]) % len(cores)]}
    # Every thread of the process (execnet's too): a thread started later inherits its
    # starter's affinity, and a child process its forking thread's.
    threads = [int(tid) for tid in os.listdir("/proc/self/task")] if os.path.isdir("/proc/self/task") else [0]
    for thread in threads:
        try:
            os.sched_setaffinity(thread, core)
        except OSError:  # it ended while we looked
            pass


_one_core_per_xdist_worker()

import pytest  # noqa: E402

from sinelstm.experiment.config import ExperimentConfig  # noqa: E402


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: a run without xdist does not know it
def pytest_xdist_auto_num_workers(config):
    """pytest -n auto: one worker per core this run may use (its CPU affinity, as each worker
    is pinned above), not psutil's count of the machine's cores."""
    given = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def pytest_collection_modifyitems(items):
    """The tests marked slow first (a stable sort, so each keeps its place among its kind).
    Under pytest-xdist a worker takes its next test as it finishes one: a long test collected
    late would start near the end and run alone, the other core idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# What the main job (`sinelstm bench`) rewrites in results/, as the README's table says.
MAIN_JOB_OUTPUTS = ("latest.csv", "latest.series.csv", "latest.gate.md", "latest.summary.md",
                    "latest.grid.json", "REPORT.md", "REPORT_figures/", "history.csv")  # fmt: skip


@pytest.fixture(scope="session")
def committed_results(tmp_path_factory):
    """results/'s tracked files, with the main job's outputs as committed at HEAD, for the tests
    that hold a committed page to the committed data: a user who ran the main job (it rewrites
    results/latest.csv and REPORT.md and appends to history.csv, as the README says) and then the
    tests must not see those tests fail over their own run. Every other tracked file is the
    working tree's, so a result changed with its page is checked before it is committed. The copy
    is a git repository of its own (the index lists tracked files). Without git: results/ as is."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    def git(*args: str, cwd: Path = root) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True)

    try:
        listed = git("ls-files", "-z", "results")
    except OSError:  # no git
        return root / "results"
    if listed.returncode != 0 or not listed.stdout:
        return root / "results"
    folder = tmp_path_factory.mktemp("committed")
    for name in listed.stdout.decode().split("\0"):
        if not name:
            continue
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        inside = name.removeprefix("results/")
        if inside.startswith(MAIN_JOB_OUTPUTS):
            shown = git("show", f"HEAD:{name}")
            if shown.returncode == 0:
                target.write_bytes(shown.stdout)
                continue
        if (root / name).is_file():
            shutil.copyfile(root / name, target)
    git("init", "-q", cwd=folder)
    git("add", "-f", "results", cwd=folder)
    return folder / "results"


# A config that trains in about a second: the whole pipeline, none of the cost.
TINY = ExperimentConfig(length=60, window=8, hidden=4, epochs=3, patience=2, horizon=30)


@pytest.fixture
def tiny() -> ExperimentConfig:
    return TINY
