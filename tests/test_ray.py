"""The Ray executor, against a real local Ray head on loopback (started and stopped here)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from sinelstm.runtime import SINGLE_THREAD_ENV  # noqa: E402
from sinelstm.sweep.grid import cell_id  # noqa: E402
from sinelstm.sweep.rows import METRIC_COLUMNS  # noqa: E402
from sinelstm.verdict.judge import compare  # noqa: E402
from sinelstm.verdict.rules import load_gate_config  # noqa: E402

# One Ray head for the module (ray_head): CI runs it serially (tox -e ray); under pytest -n
# --dist loadgroup one xdist worker runs the whole module, since a second head beside it would
# also be stopped by the first's `ray stop --force`.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
ROOT = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """A Ray head with 2 CPUs on 127.0.0.1, its own temp dir and its own auth token;
    stopped after the module. The token reaches every client (this process and the
    sinelstm runs it starts) through RAY_AUTH_MODE/RAY_AUTH_TOKEN, as on a real cluster,
    so no token left in ~/.ray by an earlier local Ray run gets in the way."""
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    saved = {name: os.environ.get(name) for name in auth}
    os.environ.update(auth)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run(
        [RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def bench(*args, env=None):
    return [sys.executable, "-m", "sinelstm", "bench", "--no-gate", *args]


def run(cmd, cwd, env=None):
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def by_cell(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame["cell"] = [
        f"w{w}-h{h}-s{s}" for w, h, s in zip(frame["window"], frame["hidden"], frame["seed"], strict=True)
    ]
    return frame.set_index("cell").sort_index()


def test_the_quick_grid_on_ray_computes_what_the_local_executor_does(ray_head, tmp_path):
    run(
        bench(
            "--grid",
            "quick",
            "--length",
            "201",
            "--epochs",
            "5",
            "--executor",
            "ray",
            "--ray-address",
            ray_head,
            "--out",
            "ray.csv",
        ),
        tmp_path,
    )
    # The local executor with the same one thread per cell that the Ray workers get.
    local = bench("--grid", "quick", "--length", "201", "--epochs", "5", "--executor", "local")
    local += ["--out", "local.csv"]
    run(local, tmp_path, SINGLE_THREAD_ENV)
    on_ray, local = by_cell(tmp_path / "ray.csv"), by_cell(tmp_path / "local.csv")
    assert len(on_ray) == len(local) == 4 and list(on_ray.index) == list(local.index)
    assert set(on_ray["status"]) == {"ok"} and set(on_ray["threads"]) == {1}
    pd.testing.assert_frame_equal(on_ray[list(METRIC_COLUMNS)], local[list(METRIC_COLUMNS)])
    assert on_ray["host"].nunique() == 1  # one node: provenance is the node's own


# A driver of its own (a fresh process, so that Ray reads the head's token from the
# environment): the tiny grid's three cells on the head, the job raising on seed 1.
FAILING_DRIVER = """
import sys
import helpers
from ray import cloudpickle
from sinelstm.experiment.config import ExperimentConfig
from sinelstm.sweep.ray import RayExecutor
from sinelstm.sweep.runner import run_grid

cloudpickle.register_pickle_by_value(helpers)  # the workers cannot import tests/helpers.py
tiny = ExperimentConfig(length=60, window=8, hidden=4, epochs=3, patience=2, horizon=30)
cells = [tiny.replace(seed=s) for s in (0, 1, 2)]
run_grid(cells, "ray.csv", executor=RayExecutor(address=sys.argv[1]), job=helpers.job_raising_on_seed_one)
"""


def test_a_failing_task_is_a_failed_cell_and_fails_the_gate(ray_head, tmp_path, tiny):
    import helpers

    baseline = helpers.write(
        tmp_path, "base.csv", [helpers.row(window=8, hidden=4, length=60, seed=s) for s in (0, 1, 2)]
    )
    tests = str(Path(__file__).resolve().parent)
    run([sys.executable, "-c", FAILING_DRIVER, ray_head], tmp_path, {"PYTHONPATH": tests})
    out = tmp_path / "ray.csv"
    rows = pd.read_csv(out).set_index("seed").sort_index()
    assert list(rows["status"]) == ["ok", "failed", "ok"]
    assert "raised inside the task on seed 1" in rows.loc[1, "error"]
    result = compare(out, baseline, load_gate_config(ROOT / "pyproject.toml"))
    assert not result.passed
    assert any(f.startswith(f"{cell_id(tiny.replace(seed=1))}: crashed") for f in result.failures)


def test_killing_the_driver_then_resume_completes_without_duplicates(ray_head, tmp_path):
    args = [
        "--grid",
        "quick",
        "--length",
        "201",
        "--epochs",
        "5",
        "--seed",
        "0-2",
        "--executor",
        "ray",
        "--ray-address",
        ray_head,
    ]
    driver = subprocess.Popen(bench(*args, "--out", "r.csv"), cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and driver.poll() is None:
        if (tmp_path / "r.csv").exists() and len((tmp_path / "r.csv").read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    assert driver.poll() is None, "the sweep ended before it could be killed"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    before = pd.read_csv(tmp_path / "r.csv")
    assert 1 <= len(before) < 6
    run(bench(*args, "--out", "r.csv", "--resume"), tmp_path)
    after = pd.read_csv(tmp_path / "r.csv")
    keys = list(zip(after["window"], after["seed"], strict=True))
    assert len(after) == 6 and len(set(keys)) == 6 and set(after["status"]) == {"ok"}
    assert after["run_id"].nunique() == 2


def test_ray_missing_is_one_line(tmp_path, monkeypatch, capsys):
    from sinelstm.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    assert main(["bench", "--grid", "quick", "--executor", "ray", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e '.[ray]'" in err[0]
    assert not (tmp_path / "x.csv").exists()
