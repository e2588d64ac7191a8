"""Measurements that need a process of their own: training on a given backend and thread
count, and a whole grid's peak memory. Each is a plain function run in a spawned process
(the backend and thread count are fixed per process, before Keras is imported)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from sinelstm.experiment.config import ExperimentConfig
from sinelstm.runtime import SINGLE_THREAD_ENV


def _train_child(spec: dict) -> dict:
    """In a fresh process: train spec's config, timing each epoch and measuring the best
    product rate (numpy's sgemm, TensorFlow's matmul) at the training shape right after it."""
    if spec["threads"] == 1 and hasattr(os, "sched_setaffinity"):
        # As a grid worker runs: one core (its one-thread environment came with the process).
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import keras

    from sinelstm.experiment.data import noisy_sine
    from sinelstm.experiment.floor import best_product_probe
    from sinelstm.experiment.models import build_model, compile_model
    from sinelstm.experiment.seeding import set_seed
    from sinelstm.experiment.train import train
    from sinelstm.experiment.windows import make_windows

    cfg = ExperimentConfig(**spec["config"])
    set_seed(cfg.seed)
    inputs, targets = make_windows(noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed), cfg.window)
    model = build_model(cfg)
    if spec["jit"] is not None:
        compile_model(model, cfg, jit_compile=spec["jit"])
    probe, rates = best_product_probe(cfg), []
    result = train(model, inputs, targets, cfg, after_epoch=lambda: rates.append(probe()))
    return {
        "backend": keras.backend.backend(),
        "epochs": result.epochs_run,
        "first_epoch_s": result.epoch_seconds[0],
        "epoch_s": result.epoch_seconds[1:],
        "sgemm_gflops": rates[1:],
    }


def _members_child(spec: dict) -> dict:
    """In a fresh process on one core: train spec's config's first `members` seeds together
    (the batched trainer), timing each epoch and measuring the best product rate right after."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import numpy as np

    from sinelstm.experiment.batched import train_batched
    from sinelstm.experiment.data import noisy_sine
    from sinelstm.experiment.floor import best_product_probe
    from sinelstm.experiment.models import build_model
    from sinelstm.experiment.seeding import set_seed
    from sinelstm.experiment.windows import make_windows

    cfgs = [ExperimentConfig(**spec["config"]).replace(seed=seed) for seed in range(spec["members"])]
    models, windows = [], []
    for cfg in cfgs:
        set_seed(cfg.seed)
        windows.append(make_windows(noisy_sine(cfg.length, cfg.period, cfg.noise, cfg.seed), cfg.window))
        models.append(build_model(cfg))
    inputs = np.stack([one[0] for one in windows])  # (members, n_windows, window, 1)
    targets = np.stack([one[1] for one in windows])  # (members, n_windows, 1)
    probe, rates = best_product_probe(cfgs[0]), []
    results = train_batched(models, inputs, targets, cfgs, after_epoch=lambda: rates.append(probe()))
    seconds = results[0].epoch_seconds  # each member's share: the batch's epoch over the members
    return {"first_epoch_s": seconds[0], "epoch_s": seconds[1:], "sgemm_gflops": rates[1:]}


def time_members(cfg: ExperimentConfig, members: int, epochs: int = 16) -> dict:
    """A member's share of each epoch when `members` seeds of cfg train together (the batched
    trainer) on one core with one thread, in a fresh process, each epoch paired with the best
    product rate measured right after it, as time_training pairs them."""
    config = cfg.replace(epochs=epochs, patience=epochs + 1, trainer="batched")
    spec = {"config": config.__dict__, "members": members}
    env = {**SINGLE_THREAD_ENV, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return _in_fresh_process(_members_child, spec, env=env)


def _in_fresh_process(function, *args, env: dict[str, str | None]):
    """function(*args) in a spawned process started with env laid over this one's (None
    removes a variable): in force before the child imports anything, numpy included.
    Returns its value, or raises RuntimeError with its error."""
    from concurrent.futures import ProcessPoolExecutor

    saved = dict(os.environ)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        future = pool.submit(function, *args)  # the process starts here, with this environment
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - reported in one line by the caller.
        raise RuntimeError(f"{function.__name__} failed: {type(error).__name__}: {error}") from None
    finally:
        pool.shutdown()


def time_training(
    cfg: ExperimentConfig,
    backend: str,
    jit: bool | None,
    trainer: str = "loop",
    threads: int = 0,
    implementation: str = "fused",
    epochs: int = 16,
) -> dict:
    """Per-epoch seconds of training on one backend, in a fresh process (the backend is
    fixed per process), each epoch followed by a measurement of the best product rate at
    the training shape in that same process: epoch_s[i] pairs with sgemm_gflops[i].
    threads=1 runs as a grid worker does (one core, one thread); 0 uses every core.
    Early stopping is off so every run has the same epochs."""
    config = cfg.replace(epochs=epochs, patience=epochs + 1, trainer=trainer, implementation=implementation)
    spec = {"config": config.__dict__, "jit": jit, "threads": threads, "backend": backend}
    one_thread = {name: value for name, value in SINGLE_THREAD_ENV.items()}
    every_core = {name: None for name in SINGLE_THREAD_ENV if name != "TF_CPP_MIN_LOG_LEVEL"}
    env = {
        **(one_thread if threads == 1 else every_core),
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    return _in_fresh_process(_train_child, spec, env=env)


def _grid_child(config: dict, cells: int, executor: str) -> None:
    from sinelstm.sweep.executors import EXECUTORS
    from sinelstm.sweep.runner import run_grid

    base = ExperimentConfig(**config)
    with tempfile.TemporaryDirectory() as folder:
        run_grid(
            [base.replace(seed=seed) for seed in range(cells)],
            Path(folder) / "grid.csv",
            executor=EXECUTORS[executor](),
        )


def _tree_rss_mb(process) -> float:
    """Resident memory, MB, of a process and all its descendants now."""
    import psutil

    total = 0
    for one in [process, *process.children(recursive=True)]:
        try:
            total += one.memory_info().rss
        except psutil.Error:
            continue  # the process ended while we looked
    return total / 2**20


def grid_peak_rss_mb(cfg: ExperimentConfig, cells: int, executor: str = "processes") -> float:
    """Peak resident memory, MB, of a whole grid run of `cells` seeds of cfg in a fresh
    process: the driver and its workers together, sampled every 50 ms."""
    import psutil

    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_grid_child, args=(cfg.__dict__, cells, executor))
    child.start()
    watched, peak = psutil.Process(child.pid), 0.0
    while child.is_alive():
        try:
            peak = max(peak, _tree_rss_mb(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"memory run failed (exit code {child.exitcode})")
    return peak
