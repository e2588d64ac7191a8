"""Run the mutation suite: every planted regression and benign variation through CI's quick
gate, judged twice (as CI judges it, and with the statistical tier forced).

    python -m mutations                 # all of them; writes results/mutations.md and .csv
    python -m mutations --only validation-leak,rerun
    python -m mutations --fast          # CI's subset
    python -m mutations --benign        # the quality gates' false alarms (mutations/benign.py)

Each variant runs in a copy of the package (sinelstm/, bench/, pyproject.toml) put first
on PYTHONPATH, against the committed quick baseline. Exit status 0 when every mutant was
caught and no benign variation failed, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mutations.benign import GATES, main_benign, read_rows, write_rows
from mutations.catalog import AA, BENIGN, FAST, MUTANTS, PATHS, TIMING, TIMING_BENIGN, Variant
from sinelstm.verdict.speed import TIMINGS, hodges_lehmann

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "results" / "baseline-quick.csv"
PATHS_BASELINE = ROOT / "results" / "baseline-paths.csv"


def baseline_of(grid: str, env: dict) -> Path:
    """The committed baseline a gate run of `grid` is judged against, by its backend."""
    suffix = "-jax" if env.get("KERAS_BACKEND") == "jax" else ""
    return ROOT / "results" / f"baseline-{grid}{suffix}.csv"


@dataclass
class Outcome:
    variant: Variant
    caught: bool  # CI's gate (tier auto) failed
    caught_statistical: bool  # the same run, judged with the statistical tier forced
    first_failure: str
    seconds: float
    error: str = ""  # the run itself went wrong (neither passed nor failed the gate)
    failures: list[str] | None = None  # every failure the gate named (with keep_failures)


def plant(variant: Variant, folder: Path) -> Path:
    """A copy of the package in folder with the variant's change made; returns the copy."""
    copy = folder / "copy"
    for name in ("sinelstm", "bench"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    if variant.path:
        target = copy / "sinelstm" / variant.path
        text = target.read_text()
        if text.count(variant.old) != 1:
            raise SystemExit(f"mutations: {variant.name}: its line is not (once) in sinelstm/{variant.path}")
        target.write_text(text.replace(variant.old, variant.new))
    return copy


def clean_environment() -> dict[str, str]:
    """This process's environment without pytest-xdist's worker variables (under `pytest -n`
    they would make the gate's own pytest a worker, and pytest-benchmark disables itself) and
    without SINELSTM_HISTORY: a planted regression's run goes into a history beside its own
    results, never into the one CI keeps."""
    dropped = ("PYTEST_XDIST", "PYTEST_CURRENT_TEST", "SINELSTM_HISTORY")
    return {name: value for name, value in os.environ.items() if not name.startswith(dropped)}


# Cores handed to the variants run at once (main fills it when --jobs > 1 and there are as many
# cores): each run computes on a core of its own, so two runs never share one. Unpinned, two
# quick grids of two workers each on 2 cores made a benign rerun fail the quick gate's
# compiled-engine speed-up rule (a same-run timing ratio) in one of three CI runs.
FREE_CORES: queue.Queue[int] = queue.Queue()
PINNED = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); os.execv(sys.argv[2], sys.argv[2:])"


def pin_cores(jobs: int) -> bool:
    """Give each of `jobs` concurrent runs a core of its own, where the OS lets us and there
    are enough; returns whether it did."""
    while not FREE_CORES.empty():  # a queue left from an earlier call (the tests call main)
        FREE_CORES.get_nowait()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if jobs < 2 or len(cores) < jobs:
        return False
    for core in cores[:jobs]:
        FREE_CORES.put(core)
    return True


def on_a_core_of_its_own(command: list[str]) -> tuple[list[str], int | None]:
    """The command, run on a free core where main pinned the runs (and that core), else as is."""
    if not PINNING:
        return command, None
    core = FREE_CORES.get()
    return [sys.executable, "-c", PINNED, str(core), *command], core


PINNING = False


def run_gate(variant: Variant, folder: Path, keep_failures: bool = False) -> Outcome:
    copy = plant(variant, folder)
    out = folder / "latest-quick.csv"
    env = {**clean_environment(), "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3", **variant.env}
    config = ["--gate-config", str(copy / "pyproject.toml")]
    gate = ["--baseline", str(baseline_of("quick", variant.env)), *config]
    if variant.driver == "paths":  # CI's paths gate, on its own baseline
        out = folder / "latest-paths.csv"
        gate = ["--baseline", str(baseline_of("paths", variant.env)), *config]
        command = [sys.executable, "-m", "sinelstm", "bench", "--grid", "paths", "--no-timing-gate",
                   "--out", str(out), *gate, *variant.flags]  # fmt: skip
    elif variant.driver == "local":
        command = [sys.executable, "-m", "sinelstm", "bench", "--grid", "quick", "--executor", "local",
                   "--out", str(out), *gate]  # fmt: skip
    else:
        command = [sys.executable, "-m", "pytest", str(copy / "bench"), "--benchmark-only", "--grid", "quick",
                   "-q", "-p", "no:cacheprovider", "--results", str(out), *gate]  # fmt: skip
    command, core = on_a_core_of_its_own(command)
    start = time.monotonic()
    try:
        with burdened(variant) as enter:
            done = subprocess.run(
                command, capture_output=True, text=True, env=env, cwd=folder, timeout=1200, preexec_fn=enter
            )
    except subprocess.SubprocessError as error:  # past its time, or it could not enter its quota
        return Outcome(variant, False, False, "", time.monotonic() - start, error=str(error).splitlines()[0])
    finally:
        if core is not None:
            FREE_CORES.put(core)
    seconds = time.monotonic() - start
    failures = re.findall(r"sinelstm: gate failed: (.*)", done.stdout)
    if done.returncode not in (0, 1) or (done.returncode == 1 and not failures):
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return Outcome(variant, False, False, "", seconds, error=" | ".join(tail))
    if keep_failures:  # a benign run's every failure, not judged again statistically
        return Outcome(variant, done.returncode == 1, False, failures[0] if failures else "", seconds,
                       failures=failures)  # fmt: skip
    # The same run, judged with the statistical tier forced, by the unchanged judge.
    statistical = subprocess.run(
        [sys.executable, "-m", "sinelstm", "compare", str(out), *gate, "--tier", "statistical"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=folder,
    )  # fmt: skip
    if statistical.returncode not in (0, 1):
        return Outcome(variant, done.returncode == 1, False, "", seconds, error=statistical.stderr.strip())
    first = failures[0] if failures else ""
    return Outcome(variant, done.returncode == 1, statistical.returncode == 1, first, seconds)


@dataclass
class Trial:
    """One run of a timing variant through sinelstm ab."""

    variant: Variant
    caught: bool  # the A/B failed (for a benign variant: a false alarm)
    first_failure: str
    seconds: float
    error: str = ""
    pairs: list[dict] = dataclasses.field(default_factory=list)  # the run's pairs CSV rows


def run_ab(variant: Variant, folder: Path) -> Trial:
    """sinelstm ab on CI's A/B grid under the variant's load: an unchanged copy of the code as
    the base, the planted copy as the head (the same copy for a benign variant of one tree),
    or, for an A/A, this checkout's sides as the variant names them."""
    out = folder / "ab.csv"
    if variant.sides:
        named = [str(ROOT) if spec == "." else spec for spec in variant.sides if spec is not None]
        cwd = ROOT
    else:
        base = plant(Variant("unchanged", "benign", "the code as it is"), folder / "base")
        named = [str(base), str(base if variant.same_tree else plant(variant, folder / "head"))]
        cwd = folder
    command = [
        sys.executable,
        "-m",
        "sinelstm",
        "ab",
        *named,
        "--grid",
        "ab",
        "-q",
        "-o",
        str(out),
        *variant.flags,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.monotonic()
    try:
        with burdened(variant) as enter:
            done = subprocess.run(
                command, capture_output=True, text=True, env=env, cwd=cwd, timeout=1800, preexec_fn=enter
            )
    except subprocess.SubprocessError as error:  # past its time, or it could not enter its quota
        return Trial(variant, False, "", time.monotonic() - start, error=str(error).splitlines()[0])
    seconds = time.monotonic() - start
    if done.returncode not in (0, 1):
        return Trial(variant, False, "", seconds, error=(done.stderr.strip().splitlines() or ["?"])[-1])
    headline = [line for line in done.stdout.splitlines() if line.startswith("A/B ")]
    pairs = read_rows(out, PAIR_COLUMNS) if out.is_file() else []
    return Trial(variant, done.returncode == 1, headline[-1] if headline else "", seconds, pairs=pairs)


def _clean_at_head() -> str:
    """Why this checkout's working tree is not HEAD for the A/B's files ("" where it is)."""
    from sinelstm.workflow.ab_sides import COPIED

    done = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", *COPIED],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return f"the working tree differs from HEAD: {done.stdout.split()[-1]}" if done.stdout.strip() else ""


@contextlib.contextmanager
def burdened(variant: Variant) -> Iterator[Callable[[], None] | None]:
    """The variant's load for as long as its run: busy-loop neighbours at normal priority,
    and a CPU quota (a cgroup of its own, v2 cpu.max or v1 cfs quota). Yields the function
    that puts the run's process into the quota's cgroup as it starts (None without one)."""
    group = _quota_group(variant.quota) if variant.quota else None
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(variant.neighbours)]
    try:
        yield (lambda: (group / "cgroup.procs").write_text(str(os.getpid()))) if group else None
    finally:
        for process in busy:
            process.kill()
            process.wait()
        if group is not None and not _remove_group(group):
            print(f"mutations: warning: could not remove {group}", file=sys.stderr)


def _quota_group(cores: float) -> Path:
    """A new cgroup whose processes share `cores` cores of CPU time per 100 ms period."""
    period = 100_000
    for parent, files in (
        (Path("/sys/fs/cgroup"), "cpu.max"),
        (Path("/sys/fs/cgroup/cpu"), "cpu.cfs_quota_us"),
    ):
        if not (parent / "cgroup.procs").is_file() or not os.access(parent, os.W_OK):
            continue
        group = parent / f"sinelstm-quota-{os.getpid()}"
        try:
            group.mkdir(exist_ok=True)
            if files == "cpu.max":
                (group / "cpu.max").write_text(f"{round(cores * period)} {period}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(period))
                (group / "cpu.cfs_quota_us").write_text(str(round(cores * period)))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    raise SystemExit(
        "mutations: error: cannot make a cgroup with a CPU quota here (needs a writable cgroup fs)"
    )


def _remove_group(group: Path) -> bool:
    for _ in range(50):  # its last process may take a moment to leave
        try:
            group.rmdir()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def run_timing(variant: Variant) -> Iterator[Trial]:
    """The variant's runs, one after another (never beside another timing run), each
    handed on as it ends (the caller writes its row then: a stopped suite keeps it)."""
    for number in range(variant.runs):
        with tempfile.TemporaryDirectory(prefix=f"ab-{variant.name}-") as folder:
            trial = run_ab(variant, Path(folder))
        mark = "failed" if trial.caught else "passed"
        error = f"; ERROR {trial.error}" if trial.error else ""
        where = f"{variant.name} [{number + 1}/{variant.runs}]"
        print(f"{where}: the A/B {mark} ({trial.seconds:.0f} s){error}", flush=True)
        yield trial


def clopper_pearson(hits: int, runs: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a rate hits/runs, by bisection on the binomial tail."""
    from math import comb

    def tail_at_least(p: float, k: int) -> float:
        return sum(comb(runs, i) * p**i * (1 - p) ** (runs - i) for i in range(k, runs + 1))

    def solve(f, target: float) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
        return (lo + hi) / 2

    alpha = (1 - confidence) / 2
    low = 0.0 if hits == 0 else solve(lambda p: tail_at_least(p, hits), alpha)
    high = 1.0 if hits == runs else solve(lambda p: tail_at_least(p, hits + 1), 1 - alpha)
    return low, high


SECTIONS = ("paths-gate", "benign", "ab-power")  # parts of mutations.md measured on their own, in this order


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def sections_of(text: str) -> dict[str, str]:
    """The marked sections of a mutations.md, by name (markers included)."""
    found = {}
    for name in SECTIONS:
        begin, end = markers(name)
        if begin in text and end in text:
            found[name] = begin + text.split(begin, 1)[1].split(end, 1)[0] + end
    return found


def write_markdown(markdown: Path, head: str | None = None, **sections: str) -> None:
    """mutations.md: the gate's table (head, or the file's own), then each section, the ones
    given replacing the file's own."""
    old = markdown.read_text() if markdown.exists() else ""
    if head is None:
        head = old.split("<!-- ", 1)[0] if "<!-- " in old else old
    kept = {**sections_of(old), **{name.replace("_", "-"): text for name, text in sections.items()}}
    parts = [head.rstrip("\n")] + [kept[name] for name in SECTIONS if name in kept]
    markdown.write_text("\n\n".join(part for part in parts if part) + "\n")


def power_sentence(rows: list[dict]) -> str:
    """The A/B's measured power in one sentence, from the rows of results/mutations-ab.csv:
    what the README quotes (tests/test_quoted.py recomputes it). On unchanged code a
    verdict "faster" is as wrong as a red one, and an inconclusive one passes: both counted."""

    def rate(name: str) -> str:
        runs = [row["caught"] == "True" for row in rows if row["variant"] == name]
        return f"{sum(runs)} of {len(runs)}"

    benign = [row for row in rows if row["benign"] == "True"]
    red = sum(row["caught"] == "True" for row in benign)
    unsure = sum(" inconclusive" in row["headline"] for row in benign)
    faster = sum(" faster" in row["headline"] for row in benign)
    return (
        f"a 20% slower epoch in {rate('epoch-slower-20')} runs and a 20% slower compiled forecast in "
        f"{rate('forecast-slower-20')}; at 40%, {rate('epoch-slower-40')} and {rate('forecast-slower-40')}; "
        f"at 10%, {rate('epoch-slower-10')} and {rate('forecast-slower-10')}. "
        f"On unchanged code it was red in {red} of {len(benign)} runs; in {unsure} a verdict was "
        f"inconclusive (which passes), and in {faster} one called a timing faster"
    )


AB_COLUMNS = ("variant", "benign", "caught", "seconds", "headline", "error", "commit", "host")
# A run's pairs (sinelstm ab's CSV), kept for the A/A bias: results/mutations-ab-pairs.csv.
PAIR_COLUMNS = (
    *("config", "cell", "seed", "repeat", "core", "first"),
    *(f"{side}_{metric}" for metric in TIMINGS for side in ("base", "head")),
    *("base_error", "head_error"),
)
KEPT_PAIR_COLUMNS = ("variant", "run", "commit", *PAIR_COLUMNS)


def code_commit() -> str:
    """The commit whose sinelstm/ the runs measure ("+dirty" where the package differs from it)."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)

    sha = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    return sha + ("" if git("diff", "--quiet", "HEAD", "--", "sinelstm").returncode == 0 else "+dirty")


def read_ab_rows(path: Path) -> list[dict]:
    """The A/B power rows already measured (results/mutations-ab.csv), each with its commit."""
    return read_rows(path, AB_COLUMNS)


def write_ab_rows(path: Path, rows: list[dict]) -> None:
    write_rows(path, rows, AB_COLUMNS)


def this_host() -> str:
    """This machine as the rows name it: CPU vendor family/model and its widest instruction set."""
    from sinelstm.sweep.provenance import cpu_flags, cpu_id, host_isa

    return f"{cpu_id()} ({host_isa(cpu_flags())})"


def trial_row(trial: Trial, commit: str) -> dict:
    return {"variant": trial.variant.name, "benign": str(trial.variant.benign), "caught": str(trial.caught),
            "seconds": f"{trial.seconds:.1f}", "headline": trial.first_failure, "error": trial.error,
            "commit": commit, "host": this_host()}  # fmt: skip


def timing_report(rows: list[dict], markdown: Path) -> str:
    """The A/B's measured power: per variant the runs it failed, with the rate's exact
    interval and the commit the runs measured, between markers in the markdown (the gate's
    table stays as it was)."""
    catalog = {v.name: v for v in TIMING + TIMING_BENIGN + AA}
    begin, end = markers("ab-power")
    minutes = sum(float(row["seconds"]) for row in rows) / 60
    lines = [
        begin,
        "## The speed A/B's power: planted slowdowns and benign runs",
        "",
        "Each run is `sinelstm ab BASE HEAD --grid ab` (CI's A/B step) with an unchanged copy of the code as "
        "the base and the variant as the head (an A/A names this checkout's sides as its row says), the runs "
        "one after another, never beside another timing run. "
        f"Command: `python -m mutations --timing` (`--only NAME,...` reruns some); {len(rows)} runs, "
        f"{minutes:.0f} min of runs in all.",
        "",
        "| variant | what changed | A/B failed | rate | 95% interval (Clopper-Pearson) | runs with a verdict "
        "inconclusive / faster | s a run | code at | host |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in [n for n in catalog if any(row["variant"] == n for row in rows)]:
        group = [row for row in rows if row["variant"] == name]
        hits = sum(row["caught"] == "True" for row in group)
        low, high = clopper_pearson(hits, len(group))
        word = "false alarms" if catalog[name].benign else "caught"
        errors = sum(bool(row["error"]) for row in group)
        note = f" ({errors} errors)" if errors else ""
        seconds = sum(float(row["seconds"]) for row in group) / len(group)
        commits = ", ".join(sorted({row["commit"] or "?" for row in group}))
        hosts = "; ".join(sorted({row["host"] or "not recorded" for row in group}))
        unsure = sum(" inconclusive" in row["headline"] for row in group)
        faster = sum(" faster" in row["headline"] for row in group)
        lines.append(
            f"| {name} | {catalog[name].what} | {hits} of {len(group)} ({word}){note} | "
            f"{hits / len(group):.0%} | [{low:.0%}, {high:.0%}] | {unsure} / {faster} | {seconds:.0f} | "
            f"{commits} | {hosts} |"
        )
    lines += bias_lines(read_rows(markdown.with_name("mutations-ab-pairs.csv"), KEPT_PAIR_COLUMNS), catalog)
    lines.append(end)
    section = "\n".join(lines)
    write_markdown(markdown, ab_power=section)
    return section


def bias_lines(pairs: list[dict], catalog: dict) -> list[str]:
    """The A/A bias: per benign variant, config and timing, head/base over every pair of its
    runs (Hodges-Lehmann, 95% signed-rank interval), and how many of its runs' own intervals
    (one a config) held 1.0: on identical code a "faster" interval is as wrong as a slower."""
    import math

    import numpy as np

    benign = [
        name for name in catalog if catalog[name].benign and any(row["variant"] == name for row in pairs)
    ]
    if not benign:
        return []
    lines = [
        "",
        "The same-code runs' pairs (results/mutations-ab-pairs.csv): head/base per timing over every "
        "pair of a variant's runs, and how many of the runs' own 95% intervals (one per run and "
        "config) held 1.0 (identical code: an interval wholly above or below 1.0 is an error either way).",
        "",
        "| variant | config | timing | pairs (runs) | head/base, all pairs | 95% interval | "
        "run intervals holding 1.0 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def logs(group: list[dict], metric: str) -> np.ndarray:
        values = []
        for row in group:
            try:
                base, head = float(row[f"base_{metric}"]), float(row[f"head_{metric}"])
            except ValueError:
                continue
            if base > 0 and head > 0:
                values.append(math.log(head / base))
        return np.asarray(values)

    for name in benign:
        mine = [row for row in pairs if row["variant"] == name]
        for config in sorted({row["config"] for row in mine}):
            group = [row for row in mine if row["config"] == config]
            runs = sorted({row["run"] for row in group}, key=int)
            for metric, words in TIMINGS.items():
                estimate, low, high, _ = hodges_lehmann(logs(group, metric))
                held, judged = 0, 0
                for run in runs:
                    _, one_low, one_high, _ = hodges_lehmann(
                        logs([r for r in group if r["run"] == run], metric)
                    )
                    judged += not math.isnan(one_low)  # a run too short for an interval says nothing
                    held += bool(one_low <= 0.0 <= one_high)
                lines.append(
                    f"| {name} | {config} | {words} | {len(logs(group, metric))} ({len(runs)}) | "
                    f"{math.exp(estimate):.3f} | [{math.exp(low):.3f}, {math.exp(high):.3f}] | "
                    f"{held} of {judged} |"
                )
    return lines


def run_one(variant: Variant) -> Outcome:
    with tempfile.TemporaryDirectory(prefix=f"mutant-{variant.name}-") as folder:
        outcome = run_gate(variant, Path(folder))
    mark = "caught" if outcome.caught else "PASSED the gate"
    error = f"; ERROR {outcome.error}" if outcome.error else ""
    print(f"{variant.name}: {mark} ({outcome.seconds:.0f} s){error}")
    return outcome


def report(outcomes: list[Outcome], markdown: Path) -> str:
    mutants = [o for o in outcomes if not o.variant.benign]
    benign = [o for o in outcomes if o.variant.benign]
    caught = sum(o.caught for o in mutants)
    caught_stat = sum(o.caught_statistical for o in mutants)
    alarms = sum(o.caught for o in benign)
    alarms_stat = sum(o.caught_statistical for o in benign)
    lines = [
        "# The gate's power: planted regressions and benign variations",
        "",
        "CI's quick gate (`pytest bench --benchmark-only --grid quick`) caught "
        f"**{caught} of {len(mutants)}** "
        f"planted regressions with **{alarms} false alarms in {len(benign)}** benign variations; with the "
        f"statistical tier forced (`sinelstm compare --tier statistical`, the same runs) it caught "
        f"{caught_stat} of {len(mutants)} with {alarms_stat} false alarms. Command: `python -m mutations`.",
        "",
        "| variant | kind | what changed | CI's gate | statistical tier forced | first failure |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def verdict(hit: bool, expected: bool) -> str:
        return ("failed" if hit else "passed") + (" ✅" if hit == expected else " ❌")

    for o in outcomes:
        expected = not o.variant.benign
        first = o.error and f"error: {o.error}" or o.first_failure.replace("|", "/")
        lines.append(
            f"| {o.variant.name} | {o.variant.kind} | {o.variant.what} | {verdict(o.caught, expected)} | "
            f"{verdict(o.caught_statistical, expected)} | {first[:160]} |"
        )
    text = "\n".join(lines) + "\n"
    if all(o.variant.driver == "paths" for o in outcomes):  # the paths gate's own section
        begin, end = markers("paths-gate")
        text = text.replace(
            "# The gate's power: planted regressions and benign variations",
            "## The paths gate's power: a regression planted on each path",
            1,
        )
        text = text.replace(
            "CI's quick gate (`pytest bench --benchmark-only --grid quick`)",
            "CI's paths gate (`sinelstm bench --grid paths`, against `results/baseline-paths.csv`)",
            1,
        )
        text = text.replace("Command: `python -m mutations`.", "Command: `python -m mutations --paths`.")
        write_markdown(markdown, paths_gate=f"{begin}\n{text.rstrip()}\n{end}")
        return text
    write_markdown(markdown, head=text)
    with open(markdown.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["variant", "kind", "benign", "caught", "caught_statistical", "seconds", "first_failure", "error"]
        )
        for o in outcomes:
            writer.writerow([o.variant.name, o.variant.kind, o.variant.benign, o.caught, o.caught_statistical,
                             f"{o.seconds:.1f}", o.first_failure, o.error])  # fmt: skip
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated variant names")
    parser.add_argument("--fast", action="store_true", help=f"CI's subset: {', '.join(FAST)}")
    parser.add_argument(
        "--out", default=str(ROOT / "results" / "mutations.md"), help="(results/mutations.md)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="variants run at once (2)")
    parser.add_argument(
        "--timing", action="store_true", help="the speed A/B's slowdowns and benign runs (one at a time)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="with --timing or --only: runs of each variant; with --benign: of each condition",
    )
    parser.add_argument(
        "--merge",
        metavar="CSV",
        help="take the A/B power rows of another mutations-ab.csv (their variants' rows replaced)",
    )
    parser.add_argument(
        "--earlier-commit",
        default="",
        help="with --only: the commit that kept rows without a commit column measured (their file's)",
    )
    parser.add_argument(
        "--paths", action="store_true", help="a regression on each path, through CI's paths gate"
    )
    parser.add_argument(
        "--benign", action="store_true", help="the quality gates' false alarms under benign conditions"
    )
    parser.add_argument("--gates", help=f"with --benign: comma-separated, of {', '.join(GATES)} (all)")
    parser.add_argument("--conditions", help="with --benign: comma-separated condition names (all)")
    args = parser.parse_args(argv)
    if args.benign:

        def pin(jobs: int) -> None:
            global PINNING
            PINNING = pin_cores(jobs)

        return main_benign(args, run_gate, clopper_pearson, markers, write_markdown, code_commit, pin)
    timing = {v.name: v for v in TIMING + TIMING_BENIGN + AA}
    if args.merge:  # rows measured elsewhere replace the kept rows of their variants; no run
        path = Path(args.out).with_name("mutations-ab.csv")
        incoming = read_ab_rows(Path(args.merge))
        names = {row["variant"] for row in incoming}
        kept = [row for row in read_ab_rows(path) if row["variant"] not in names]
        for row in kept:
            row["commit"] = row["commit"] or args.earlier_commit
        write_ab_rows(path, kept + incoming)
        print(timing_report(kept + incoming, Path(args.out)))
        return 0
    if args.timing or (args.only and set(args.only.split(",")) <= set(timing)):
        names = args.only.split(",") if args.only else list(timing)
        # Rows of the variants run again are replaced; each run's row is written as it ends.
        path = Path(args.out).with_name("mutations-ab.csv")
        rows = [row for row in read_ab_rows(path) if row["variant"] not in names]
        for row in rows:  # rows of a file written before its commit column: the commit the caller names
            row["commit"] = row["commit"] or args.earlier_commit
        unclean = _clean_at_head() if any(timing[name].sides for name in names) else ""
        if unclean:
            print(
                f"mutations: error: an A/A of this checkout needs it clean at HEAD: {unclean}",
                file=sys.stderr,
            )
            return 2
        pairs_path = path.with_name("mutations-ab-pairs.csv")
        kept_pairs = [row for row in read_rows(pairs_path, KEPT_PAIR_COLUMNS) if row["variant"] not in names]
        commit, trials = code_commit(), []
        for name in names:
            variant = timing[name] if not args.runs else dataclasses.replace(timing[name], runs=args.runs)
            for number, trial in enumerate(run_timing(variant)):
                trials.append(trial)
                rows.append(trial_row(trial, commit))
                write_ab_rows(path, rows)
                run = {"variant": name, "run": str(number), "commit": commit}
                kept_pairs += [{**run, **pair} for pair in trial.pairs]
                write_rows(pairs_path, kept_pairs, KEPT_PAIR_COLUMNS)
        print(timing_report(rows, Path(args.out)))
        wrong = [t for t in trials if t.error or t.caught == t.variant.benign]
        return 1 if wrong else 0
    every = {v.name: v for v in MUTANTS + PATHS + BENIGN}
    if args.paths:
        names = [v.name for v in PATHS]
    else:
        names = (
            FAST if args.fast else args.only.split(",") if args.only else [v.name for v in MUTANTS + BENIGN]
        )
    unknown = [name for name in names if name not in every]
    if unknown:
        print(f"mutations: error: unknown variants: {', '.join(unknown)}", file=sys.stderr)
        return 2
    global PINNING
    PINNING = pin_cores(args.jobs)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run_one, [every[name] for name in names]))
    print(report(outcomes, Path(args.out)))
    wrong = [o for o in outcomes if o.error or o.caught == o.variant.benign]
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
