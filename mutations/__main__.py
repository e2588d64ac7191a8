"""Run the mutation suite: every planted regression and benign variation through CI's quick
gate, judged twice (as CI judges it, and with the statistical tier forced).

    python -m mutations                 # all of them; writes results/mutations.md and .csv
    python -m mutations --only validation-leak,rerun
    python -m mutations --fast          # CI's subset

Each variant runs in a copy of the package (sinelstm/, bench/, pyproject.toml) put first
on PYTHONPATH, against the committed quick baseline. Exit status 0 when every mutant was
caught and no benign variation failed, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mutations.catalog import BENIGN, FAST, MUTANTS, Variant

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "results" / "baseline-quick.csv"


@dataclass
class Outcome:
    variant: Variant
    caught: bool  # CI's gate (tier auto) failed
    caught_statistical: bool  # the same run, judged with the statistical tier forced
    first_failure: str
    seconds: float
    error: str = ""  # the run itself went wrong (neither passed nor failed the gate)


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


def run_gate(variant: Variant, folder: Path) -> Outcome:
    copy = plant(variant, folder)
    out = folder / "latest-quick.csv"
    env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3", **variant.env}
    gate = ["--baseline", str(BASELINE), "--gate-config", str(copy / "pyproject.toml")]
    if variant.driver == "local":
        command = [sys.executable, "-m", "sinelstm", "bench", "--grid", "quick", "--executor", "local",
                   "--out", str(out), *gate]  # fmt: skip
    else:
        command = [sys.executable, "-m", "pytest", str(copy / "bench"), "--benchmark-only", "--grid", "quick",
                   "-q", "-p", "no:cacheprovider", "--results", str(out), *gate]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder, timeout=1200)
    seconds = time.monotonic() - start
    failures = re.findall(r"sinelstm: gate failed: (.*)", done.stdout)
    if done.returncode not in (0, 1) or (done.returncode == 1 and not failures):
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return Outcome(variant, False, False, "", seconds, error=" | ".join(tail))
    # The same run, judged with the statistical tier forced, by the unchanged judge.
    statistical = subprocess.run(
        [sys.executable, "-m", "sinelstm", "compare", str(out), *gate, "--tier", "statistical"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=folder,
    )  # fmt: skip
    if statistical.returncode not in (0, 1):
        return Outcome(variant, done.returncode == 1, False, "", seconds, error=statistical.stderr.strip())
    first = failures[0] if failures else ""
    return Outcome(variant, done.returncode == 1, statistical.returncode == 1, first, seconds)


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
    markdown.write_text(text)
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
    args = parser.parse_args(argv)
    every = {v.name: v for v in MUTANTS + BENIGN}
    names = FAST if args.fast else args.only.split(",") if args.only else list(every)
    unknown = [name for name in names if name not in every]
    if unknown:
        print(f"mutations: error: unknown variants: {', '.join(unknown)}", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run_one, [every[name] for name in names]))
    print(report(outcomes, Path(args.out)))
    wrong = [o for o in outcomes if o.error or o.caught == o.variant.benign]
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
