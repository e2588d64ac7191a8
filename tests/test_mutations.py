"""The mutation suite's own checks: its catalog matches the code, and CI's fast subset is
caught (and its benign rerun is not) by the quick gate."""

from __future__ import annotations

from pathlib import Path

from mutations.catalog import BENIGN, FAST, MUTANTS, PATHS, TIMING, TIMING_BENIGN

ROOT = Path(__file__).resolve().parent.parent


def test_every_planted_line_is_in_the_code_once():
    for mutant in MUTANTS + PATHS + TIMING:
        text = (ROOT / "sinelstm" / mutant.path).read_text()
        assert text.count(mutant.old) == 1, mutant.name
        assert mutant.new != mutant.old


def test_the_suite_covers_every_part_of_the_experiment():
    kinds = {mutant.kind for mutant in MUTANTS}
    assert len(MUTANTS) >= 12 and len(BENIGN) >= 3
    assert kinds >= {"data", "windows", "model", "training", "early stopping", "forecast", "metrics",
                     "engine speed", "training speed"}  # fmt: skip
    assert set(FAST) <= {v.name for v in MUTANTS + BENIGN}


def test_the_speed_and_paths_suites_cover_what_ci_claims():
    # Slowdowns of the epoch and of the compiled forecast at 10, 20 and 40%: 10 runs of each
    # 20% one, 5 of each 40% one; at least 15 benign runs over five conditions; none in CI's
    # fast subset (timing runs must never share the machine).
    runs = {v.name: v.runs for v in TIMING}
    assert runs["epoch-slower-20"] >= 10 and runs["forecast-slower-20"] >= 10
    assert runs["epoch-slower-40"] >= 5 and runs["forecast-slower-40"] >= 5
    assert {"epoch-slower-10", "forecast-slower-10"} <= set(runs)
    assert sum(v.runs for v in TIMING_BENIGN) >= 15 and len(TIMING_BENIGN) >= 5
    assert not set(FAST) & {v.name for v in TIMING + TIMING_BENIGN}
    # Every path of the paths grid has a regression planted on it.
    paths = {v.kind for v in PATHS}
    assert {"path: ar", "path: seasonal-naive", "path: cnn1d", "path: gru", "path: block kernel"} <= paths
    assert {"path: batched trainer", "path: remedy", "path: period 300", "path: batch 600"} <= paths


# CI runs the fast subset itself (`tox -e mutations`: the quick grid three times, so not in the
# unit tests); these hold its verdict to what the env's exit status must say.
def test_the_fast_subset_fails_when_a_planted_regression_passes_or_a_rerun_fails(tmp_path, monkeypatch):
    import mutations.__main__ as suite

    def judged(missed: str = "", alarmed: str = ""):
        def run_one(variant):
            caught = variant.name == alarmed if variant.benign else variant.name != missed
            return suite.Outcome(variant, caught, caught, "window25: worse" if caught else "", 1.0)

        monkeypatch.setattr(suite, "run_one", run_one)
        out = tmp_path / f"{missed or alarmed or 'all'}.md"
        return suite.main(["--fast", "--out", str(out)]), out.read_text()

    status, text = judged()
    assert status == 0 and "caught **2 of 2** planted regressions with **0 false alarms in 1**" in text
    assert judged(missed="validation-leak")[0] == 1
    assert judged(missed="forecast-starts-early")[0] == 1
    assert judged(alarmed="rerun")[0] == 1
    assert set(FAST) == {"validation-leak", "forecast-starts-early", "rerun"}


def test_a_planted_run_never_writes_into_cis_history(monkeypatch):
    from mutations.__main__ import clean_environment

    monkeypatch.setenv("SINELSTM_HISTORY", "/ci/history.csv")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    env = clean_environment()
    assert "SINELSTM_HISTORY" not in env and "PYTEST_XDIST_WORKER" not in env and "PATH" in env
    tox = (ROOT / "tox.ini").read_text()
    envs = [name.strip() for name in tox.split("env_list =")[1].splitlines()[0].split(",")]
    assert "python -m mutations --fast" in tox and "mutations" in envs


def test_variants_run_at_once_each_compute_on_a_core_of_their_own(monkeypatch):
    import os
    import subprocess
    import sys

    import mutations.__main__ as suite

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        assert not suite.pin_cores(2)
        return
    monkeypatch.setattr(suite, "PINNING", suite.pin_cores(2))
    assert suite.PINNING and not suite.pin_cores(len(cores) + 1)  # too few cores: no pinning
    monkeypatch.setattr(suite, "PINNING", suite.pin_cores(2))
    seen = []
    for _ in range(2):
        probe = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
        command, core = suite.on_a_core_of_its_own(probe)
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        seen.append((done.stdout.strip(), core))
    assert seen == [(f"[{cores[0]}]", cores[0]), (f"[{cores[1]}]", cores[1])]


def test_clopper_pearson_at_the_ends_worked_by_hand():
    from mutations.__main__ import clopper_pearson

    # All runs caught: the lower bound solves p^n = 0.025; none: (1 - p)^n = 0.025.
    low, high = clopper_pearson(10, 10)
    assert abs(low - 0.025 ** (1 / 10)) < 1e-9 and high == 1.0
    low, high = clopper_pearson(0, 15)
    assert low == 0.0 and abs(high - (1 - 0.025 ** (1 / 15))) < 1e-9
    # 3 of 5, both tails: P(X >= 3 | p_low) = P(X <= 3 | p_high) = 0.025.
    low, high = clopper_pearson(3, 5)
    assert 0.146 < low < 0.148 and 0.946 < high < 0.948


def test_the_benign_set_runs_every_gate_18_times_under_conditions_the_host_has():
    from mutations.benign import GATES, conditions, variant_of

    avx2_only = {"sse4_2", "avx", "avx2", "fma"}
    for backend in ("tensorflow", "jax"):
        chosen = conditions(backend, avx2_only)
        assert sum(c.runs for c in chosen) == 18 and min(c.runs for c in chosen) >= 2
        names = {c.name for c in chosen}
        assert {"rerun", "two-threads", "isa-avx2", "isa-avx"} <= names
        assert "isa-avx512" not in names  # a cap only emulates down: none above the host's
        assert ({"onednn-on", "onednn-off"} <= names) == (backend == "tensorflow")
    assert "isa-avx512" in {c.name for c in conditions("jax", avx2_only | {"avx512f"})}
    threads = next(c for c in conditions("jax", avx2_only) if c.name == "two-threads")
    assert [variant_of(g, threads).driver for g in GATES] == ["local", "local", "paths", "paths"]
    assert variant_of("paths-jax", threads).flags == ("--executor", "local")
    capped = next(c for c in conditions("jax", avx2_only) if c.name == "isa-avx2")
    expected = {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2", "KERAS_BACKEND": "jax"}
    assert variant_of("quick-jax", capped).env == expected


def test_a_benign_false_alarm_fails_the_command_and_is_counted_apart_from_timing(tmp_path, monkeypatch):
    import mutations.__main__ as suite
    import mutations.benign as benign

    def run_gate(variant, folder, keep_failures=False):
        failures = []
        if variant.name == "paths:onednn-off":
            failures = ["window25-length201-hidden64-seed0: decay_per_period 0.9 -> nan (changed)"]
        if variant.name.startswith("quick:"):
            failures = ["window25-length201-hidden64: epoch_floor_ratio grew: median 2 -> 5"]
        return suite.Outcome(variant, bool(failures), False, "", 1.0, failures=failures)

    monkeypatch.setattr(suite, "run_gate", run_gate)
    monkeypatch.setattr(benign, "cpu_flags", lambda: {"avx", "avx2"})
    out = tmp_path / "mutations.md"
    status = suite.main(["--benign", "--gates", "quick,paths", "--out", str(out), "--jobs", "1"])
    rows = benign.read_rows(out.with_name("mutations-benign.csv"))
    assert status == 1 and len(rows) == 2 * 18
    paths = [row for row in rows if row["gate"] == "paths"]
    assert sum(row["failed"] == "True" for row in paths) == 2  # the onednn-off runs
    quick = [row for row in rows if row["gate"] == "quick"]
    assert all(row["failed"] == "False" and row["failed_timing"] == "True" for row in quick)
    text = out.read_text()
    assert "| quick | 18 | 0 | 0% | [0%, 19%] | 18 |" in text
    assert "| paths | 18 | 2 | 11% |" in text
    assert suite.main(["--benign", "--gates", "nope", "--out", str(out)]) == 2


def test_the_quick_gates_timing_rules_also_run_beside_load():
    from mutations.benign import conditions, variant_of

    timed = {c.name: c for c in conditions("tensorflow", {"avx", "avx2"}, timed=True)}
    assert sum(c.runs for c in timed.values()) == 18
    assert timed["neighbours"].alone and timed["cpu-quota"].alone and not timed["rerun"].alone
    loaded = variant_of("quick", timed["cpu-quota"])
    assert (loaded.quota, variant_of("quick", timed["neighbours"]).neighbours) == (1.5, 2)
    assert "neighbours" not in {c.name for c in conditions("tensorflow", {"avx"})}  # paths judges no timing


def test_a_cpu_quota_holds_a_busy_loop_to_its_share_of_time(tmp_path):
    """The benign condition's cgroup: a process in it gets 0.5 core of CPU time, not one."""
    import subprocess
    import sys
    import time

    import pytest

    import mutations.__main__ as suite
    from mutations.catalog import Variant

    try:
        with suite.burdened(Variant("q", "benign", "", quota=0.5)) as enter:
            start = time.monotonic()
            spin = "import time, os\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass\n"
            spin += "print(os.times().user)"
            command = [sys.executable, "-c", spin]
            done = subprocess.run(command, capture_output=True, text=True, preexec_fn=enter)
            wall = time.monotonic() - start
    except SystemExit as error:
        pytest.skip(str(error))
    assert 0.1 < float(done.stdout) < 0.7 * wall  # a busy loop alone takes its whole wall time


def test_the_aa_bias_table_counts_intervals_holding_one_either_way():
    import mutations.__main__ as suite
    from mutations.catalog import AA

    rows = []
    for run, shift in enumerate((1.0, 1.0, 1.3)):  # the third run's head is 30% slower
        for k in range(8):
            jitter = 1 + 0.01 * (k % 4 - 1.5)
            row = {"variant": "aa-commits", "run": str(run), "config": "c"}
            for metric in suite.TIMINGS:
                row[f"base_{metric}"], row[f"head_{metric}"] = "1.0", str(shift * jitter)
            rows.append(row)
    lines = suite.bias_lines(rows, {v.name: v for v in AA})
    epoch = next(line for line in lines if "| epoch |" in line)
    assert "| aa-commits | c | epoch | 24 (3) |" in epoch and epoch.endswith("| 2 of 3 |")
