"""False alarms of the quality gates, measured as catches are: unchanged code through CI's
quick and paths gates, on TensorFlow and JAX, under benign conditions that change the
host's numerics (oneDNN off or on, XLA capped at an instruction set), the threads, or
nothing (a rerun). Each run is a row of results/mutations-benign.csv naming its host and
the settings its result rows recorded; the rates go between markers in mutations.md.

    python -m mutations --benign                       # every gate, 18 runs each
    python -m mutations --benign --gates paths,paths-jax
    python -m mutations --benign --gates quick --conditions neighbours,cpu-quota --runs 4
"""

from __future__ import annotations

import csv
import dataclasses
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mutations.catalog import Variant

GATES = ("quick", "quick-jax", "paths", "paths-jax")
RUNS = 18  # benign runs a gate: 0 false alarms in 18 bounds the rate under 19% (Clopper-Pearson, 95%)
TIMING_WORDS = ("s_per_epoch", "forecast_ms_per_step", "epoch_floor_ratio", "engine_speedup", "speed-up")


@dataclass(frozen=True)
class Condition:
    name: str
    what: str
    env: dict = field(default_factory=dict)
    runs: int = 3
    threads: int = 1  # 2: the cells compute on both cores (--executor local, run alone)
    neighbours: int = 0  # busy-loop processes beside the run (run alone)
    quota: float = 0.0  # cores of CPU time the run may use, a cgroup quota (run alone)

    @property
    def alone(self) -> bool:
        """Run with nothing of the suite's beside it: it uses both cores, or loads them."""
        return self.threads > 1 or bool(self.neighbours) or bool(self.quota)


def conditions(backend: str, flags: set[str], timed: bool = False) -> list[Condition]:
    """The benign conditions of a backend on this host, RUNS runs in all: a cap at an
    instruction set only where the host has it (XLA refuses none, but emulates only down);
    oneDNN only on TensorFlow (JAX computes through XLA alone); and, for a gate that judges
    timings (`timed`: quick's), load beside it: two busy-loop neighbours, a CPU quota."""
    caps = [isa for isa, flag in (("AVX", "avx"), ("AVX2", "avx2"), ("AVX512", "avx512f")) if flag in flags]
    chosen = [
        Condition("rerun", "the same code, run again (the host's defaults)"),
        Condition("two-threads", "every cell on two compute threads", threads=2),
        *(Condition(f"isa-{c.lower()}", f"XLA capped at {c}", {"XLA_FLAGS": f"--xla_cpu_max_isa={c}"})
          for c in caps),
    ]  # fmt: skip
    if backend == "tensorflow":
        chosen += [
            Condition("onednn-off", "TensorFlow's oneDNN kernels off", {"TF_ENABLE_ONEDNN_OPTS": "0"}),
            Condition("onednn-on", "TensorFlow's oneDNN kernels on", {"TF_ENABLE_ONEDNN_OPTS": "1"}),
            Condition(
                "avx2-onednn-off",
                "XLA capped at AVX2 and oneDNN off (a host with AVX2 only)",
                {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2", "TF_ENABLE_ONEDNN_OPTS": "0"},
            ),
        ]
    if timed:
        chosen += [
            Condition(
                "neighbours", "two busy-loop processes beside the run, at normal priority", neighbours=2
            ),
            Condition("cpu-quota", "a CPU quota of 1.5 cores (cgroup) over the run", quota=1.5),
        ]
    per, extra = divmod(RUNS, len(chosen))  # RUNS in all, the first conditions one more
    return [dataclasses.replace(c, runs=per + (i < extra)) for i, c in enumerate(chosen)]


def variant_of(gate: str, condition: Condition) -> Variant:
    """The mutation suite's variant that runs `gate` under `condition` on unchanged code."""
    env = dict(condition.env)
    if gate.endswith("-jax"):
        env["KERAS_BACKEND"] = "jax"
    if gate.startswith("paths"):
        flags = ("--executor", "local") if condition.threads == 2 else ()
        return Variant(
            f"{gate}:{condition.name}",
            "benign",
            condition.what,
            env=env,
            driver="paths",
            benign=True,
            flags=flags,
        )
    driver = "local" if condition.threads == 2 else "pytest"
    return Variant(f"{gate}:{condition.name}", "benign", condition.what, env=env, driver=driver, benign=True,
                   neighbours=condition.neighbours, quota=condition.quota)  # fmt: skip


COLUMNS = (
    "gate",
    "condition",
    "failed",
    "failed_timing",
    "first_failure",
    "isa_cap",
    "onednn",
    "threads",
    "cpu",
    "cpu_id",
    "isa",
    "largest_move",
    "seconds",
    "commit",
    "error",
)
ROOT = Path(__file__).resolve().parent.parent


def largest_move(run: Path, baseline: Path) -> str:
    """The run's largest move from its baseline over every non-exact metric of every cell,
    as a share of the reproduction tolerance, and where ("0.03 (phase_drift, cell)")."""
    import math

    from sinelstm.sweep.columns import METRIC_COLUMNS
    from sinelstm.sweep.store import ResultsError, read_results
    from sinelstm.verdict.rules import ReproductionRules

    rules = ReproductionRules()
    try:
        cur, base = read_results(run), read_results(baseline)
    except ResultsError:
        return ""
    before = {row["cell"]: row for row in base.to_dict("records")}
    worst, where = 0.0, ""
    for row in cur.to_dict("records"):
        old = before.get(row["cell"])
        for metric in [m for m in METRIC_COLUMNS if m not in rules.exact] if old else []:
            try:
                a, b = float(old[metric]), float(row[metric])
            except (TypeError, ValueError):
                continue
            if math.isfinite(a) and math.isfinite(b) and abs(b - a) / rules.tolerance(a, metric) > worst:
                worst, where = abs(b - a) / rules.tolerance(a, metric), f"{metric}, {row['cell']}"
    return f"{worst:.3g} ({where})" if where else "0"


def settings(results: Path) -> dict[str, str]:
    """What the run's rows recorded: its host and the settings its kernels ran under."""
    try:
        with open(results, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        rows = []
    return {name: ",".join(sorted({row.get(name, "") for row in rows})) for name in COLUMNS[5:11]}


def measure(gate: str, condition: Condition, run_gate, commit: str) -> dict:
    """One benign run of `gate`: its row (a quality failure and a timing failure apart)."""
    variant = variant_of(gate, condition)
    grid = "paths" if gate.startswith("paths") else "quick"
    baseline = ROOT / "results" / f"baseline-{grid}{'-jax' if gate.endswith('-jax') else ''}.csv"
    with tempfile.TemporaryDirectory(prefix=f"benign-{gate}-") as folder:
        outcome = run_gate(variant, Path(folder), keep_failures=True)
        results = Path(folder) / f"latest-{grid}.csv"
        found = {**settings(results), "largest_move": largest_move(results, baseline)}
    failures = outcome.failures or []
    timing = [f for f in failures if any(word in f for word in TIMING_WORDS)]
    quality = [f for f in failures if f not in timing]
    return {
        "gate": gate,
        "condition": condition.name,
        "failed": str(bool(quality)),
        "failed_timing": str(bool(timing)),
        "first_failure": (quality or timing or [""])[0][:300],
        **found,
        "seconds": f"{outcome.seconds:.1f}",
        "commit": commit,
        "error": outcome.error,
    }


def run_all(
    gates: list[str], run_gate, commit: str, out: Path, flags: set[str], jobs: int, pin,
    only: set[str] | None = None, runs: int | None = None,
) -> list[dict]:  # fmt: skip
    """Every gate under every condition (those `only` names, `runs` times each where given):
    the one-thread runs `jobs` at once, each on a core of its own; the runs that use both
    cores or load them alone. Each row is written as its run ends; the rows of every gate
    and condition run again are replaced."""
    chosen = {
        g: [
            dataclasses.replace(c, runs=runs or c.runs)
            for c in conditions(
                "jax" if g.endswith("-jax") else "tensorflow", flags, timed=g.startswith("quick")
            )
            if only is None or c.name in only
        ]
        for g in gates
    }
    again = {(g, c.name) for g in gates for c in chosen[g]}
    rows = [row for row in read_rows(out) if (row["gate"], row["condition"]) not in again]
    plan = [(g, c) for g in gates for c in chosen[g] for _ in range(c.runs)]

    lock = threading.Lock()

    def one(item):
        gate, condition = item
        row = measure(gate, condition, run_gate, commit)
        with lock:  # one writer at a time: the file is rewritten whole after each run
            rows.append(row)
            write_rows(out, rows)
        mark = "FALSE ALARM" if row["failed"] == "True" else "passed"
        error = f" ERROR {row['error']}" if row["error"] else ""
        print(f"{gate} {condition.name}: {mark} ({row['seconds']} s){error}", flush=True)

    pin(jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, [item for item in plan if not item[1].alone]))
    pin(1)
    for item in [item for item in plan if item[1].alone]:
        one(item)
    return rows


def read_rows(path: Path, columns: tuple[str, ...] = COLUMNS) -> list[dict]:
    """The rows of one of the suite's CSVs (every column a string, "" where absent)."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{name: row.get(name) or "" for name in columns} for row in csv.DictReader(handle)]


def write_rows(path: Path, rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def section(rows: list[dict], clopper_pearson, begin: str, end: str) -> str:
    """The false-alarm rates per gate (pooled over its conditions) and per condition."""
    minutes = sum(float(row["seconds"] or 0) for row in rows) / 60
    lines = [
        begin,
        "## The quality gates' false alarms: unchanged code under benign conditions",
        "",
        "Each run is CI's gate command on unchanged code against its committed baseline (quick: "
        "`pytest bench --benchmark-only --grid quick`, the fast subset's own driver; paths: "
        "`sinelstm bench --grid paths --no-timing-gate`), on TensorFlow and JAX, under one benign "
        "condition; runs of one-thread conditions two at once, each on a core of its own. A quality "
        "failure is a false alarm; a timing rule's failure is counted apart (the speed issue's). "
        f"Command: `python -m mutations --benign`; {len(rows)} runs, {minutes:.0f} min of runs.",
        "",
        "| gate | runs | quality false alarms | rate | 95% interval (Clopper-Pearson) | timing-rule failures "
        "| conditions | host (CPU, family/model, ISA) | code at |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for gate in [g for g in GATES if any(row["gate"] == g for row in rows)]:
        group = [row for row in rows if row["gate"] == gate]
        alarms = sum(row["failed"] == "True" for row in group)
        timing = sum(row["failed_timing"] == "True" for row in group)
        low, high = clopper_pearson(alarms, len(group))
        names = sorted({row["condition"] for row in group})
        hosts = sorted({f"{row['cpu']}, {row['cpu_id']}, {row['isa']}" for row in group})
        commits = ", ".join(sorted({row["commit"] for row in group}))
        lines.append(
            f"| {gate} | {len(group)} | {alarms} | {alarms / len(group):.0%} | [{low:.0%}, {high:.0%}] | "
            f"{timing} | {', '.join(names)} | {'; '.join(hosts)} | {commits} |"
        )
    lines += [
        "",
        "Per condition, with the settings each run's rows recorded:",
        "",
        "| gate | condition | runs | false alarms | recorded isa_cap / onednn / threads | largest move "
        "(share of the tolerance) | first failure |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (gate, name), group in _grouped(rows):
        alarms = sum(row["failed"] == "True" for row in group)
        recorded = sorted(
            {f"{row['isa_cap'] or '-'} / {row['onednn'] or '-'} / {row['threads']}" for row in group}
        )
        first = next((row["first_failure"] for row in group if row["first_failure"]), "")
        moves = [row["largest_move"] for row in group if row["largest_move"]]
        largest = max(moves, key=lambda text: float(text.split()[0]), default="")
        lines.append(
            f"| {gate} | {name} | {len(group)} | {alarms} | {'; '.join(recorded)} | {largest} | "
            f"{re.sub(r'[|]', '/', first)[:140]} |"
        )
    lines.append(end)
    return "\n".join(lines)


def _grouped(rows: list[dict]):
    keys = list(dict.fromkeys((row["gate"], row["condition"]) for row in rows))
    return [(key, [row for row in rows if (row["gate"], row["condition"]) == key]) for key in keys]


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def main_benign(args, run_gate, clopper_pearson, markers, write_markdown, code_commit, pin_cores) -> int:
    gates = args.gates.split(",") if args.gates else list(GATES)
    unknown = [g for g in gates if g not in GATES]
    if unknown:
        print(
            f"mutations: error: --gates: unknown gates {', '.join(unknown)}; expected {', '.join(GATES)}",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out).with_name("mutations-benign.csv")
    started = time.monotonic()
    only = set(args.conditions.split(",")) if args.conditions else None
    known = {c.name for c in conditions("tensorflow", {"avx", "avx2", "avx512f"}, timed=True)}
    if only is not None and only - known:
        print(
            f"mutations: error: --conditions: unknown {', '.join(sorted(only - known))}; "
            f"expected {', '.join(sorted(known))}",
            file=sys.stderr,
        )
        return 2
    rows = run_all(gates, run_gate, code_commit(), out, cpu_flags(), args.jobs, pin_cores, only, args.runs)
    begin, end = markers("benign")
    text = section(rows, clopper_pearson, begin, end)
    write_markdown(Path(args.out), benign=text)
    print(text)
    print(f"{time.monotonic() - started:.0f} s")
    wrong = [row for row in rows if row["gate"] in gates and (row["failed"] == "True" or row["error"])]
    return 1 if wrong else 0


def rate_sentence(rows: list[dict], clopper_pearson) -> str:
    """The quality gates' measured false-alarm rate in one sentence, from the benign rows:
    what the README quotes (tests/test_quoted.py recomputes it from mutations-benign.csv)."""
    gates = [g for g in GATES if any(row["gate"] == g for row in rows)]
    counts = {g: [row["failed"] == "True" for row in rows if row["gate"] == g] for g in gates}
    alarms, runs = sum(sum(c) for c in counts.values()), sum(len(c) for c in counts.values())
    each = ", ".join(f"{g} {sum(c)} of {len(c)}" for g, c in counts.items())
    hosts = sorted({f"{row['cpu_id']} ({row['isa']})" for row in rows})
    _, pooled = clopper_pearson(alarms, runs)
    where = sorted({f"{row['gate']} {row['condition']}" for row in rows if row["failed"] == "True"})
    named = f"; every false alarm under {', '.join(where)}" if where else ""
    return (
        f"on unchanged code under benign conditions the quality gates failed {alarms} of {runs} runs "
        f"({each}; the rate is at most {pooled:.1%} at 95% confidence{named}), on {', '.join(hosts)}"
    )


def largest_sentence(rows: list[dict]) -> str:
    """The benign runs' largest move of any metric, as a share of the reproduction tolerance,
    and where it was (results/README.md quotes it; tests/test_quoted.py recomputes it)."""
    moved = [row for row in rows if row["largest_move"]]
    top = max(moved, key=lambda row: float(row["largest_move"].split()[0]))
    share, _, where = top["largest_move"].partition(" ")
    place = f" {where[:-1]}, {top['gate']} {top['condition']})" if where else ""
    return f"the largest move of any metric was {float(share):.2g} of the tolerance{place}"
