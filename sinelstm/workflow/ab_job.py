"""`sinelstm ab` as a job: both sides copied alike, the grid run in rounds taking turns on
the same cores, the speed verdict and the results compared, the files written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sinelstm.git import GitError, repo_root
from sinelstm.sweep.grid import Grid
from sinelstm.workflow import ab_sides
from sinelstm.workflow.gating import PRINTED, Output
from sinelstm.workflow.options import check_writable, load_gate

DEFAULT_REPEATS = 4
DEFAULT_MAX_REPEATS = 16
DEFAULT_BUDGET = 480.0  # seconds past which no further round starts
DEFAULT_OUT = Path("results/latest-ab.csv")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


@dataclass(frozen=True)
class ABOptions:
    grid: Grid
    base: str = "HEAD^1"  # a commit or a folder
    head: str | None = None  # None: the working tree
    repeats: int = DEFAULT_REPEATS
    max_repeats: int = DEFAULT_MAX_REPEATS
    budget: float = DEFAULT_BUDGET
    streams: int | None = None  # cells at once, one a core (None: every core)
    threads: int = 1
    env: tuple[tuple[str, str], ...] = ()
    out: Path = DEFAULT_OUT
    gate_config: str | None = None
    accept: str | None = None  # a reason: accept every slower timing
    skip_without_base: bool = False
    output: Output = PRINTED


@dataclass(frozen=True)
class ABOutcome:
    passed: bool
    ran: bool = True  # False: no base to run (skip_without_base)


def run_ab(options: ABOptions) -> ABOutcome:
    """Run the A/B, print its table and headline, write its files; passed where no timing
    is slower past the threshold or underpowered and every cell ran on both sides (or
    where the slower timings were accepted)."""
    from sinelstm.report.ab_table import headline, markdown
    from sinelstm.sweep.ab_pairs import cores
    from sinelstm.verdict.pairs import Rounds, run_rounds

    echo, verbosity = options.output.echo, options.output.verbosity
    cells = options.grid.cells()
    gate = load_gate(options.gate_config)
    check_writable(options.out.parent)
    try:
        repo = repo_root()
    except GitError:  # outside a git checkout: both sides must be folders
        repo = None
    if options.skip_without_base and not _base_exists(repo, options.base):
        echo(
            f"sinelstm ab: no A/B: {options.base} names no commit here (a shallow clone or the first commit)"
        )
        return ABOutcome(passed=True, ran=False)
    env, streams = dict(options.env), options.streams
    if options.threads > 1:
        env.update({name: str(options.threads) for name in THREAD_VARIABLES}, XLA_FLAGS="")
        streams = streams or max(1, len(cores(None)) // options.threads)
    with ab_sides.sides(repo, options.base, options.head) as (base, head):
        echo(f"A/B: {len(cells)} cells x {options.repeats} repeats x 2 sides on {len(cores(streams))} "
             f"stream(s): base {base.label}, head {head.label}")  # fmt: skip
        done = []

        def on_pair(pair) -> None:
            done.append(pair)
            if verbosity > 0:
                echo(f"[{len(done)}] {pair.name} repeat {pair.repeat}")

        run = run_rounds(
            base, head, options.grid.name, cells,
            Rounds(options.repeats, options.max_repeats, options.budget),
            streams=streams, threads=options.threads, env=env, logs=options.out.with_suffix(".logs"),
            rules=gate.speed, reproduction=gate.reproduction, echo=echo,
            accepted=ab_sides.new_acceptances(base, head), on_pair=on_pair,
        )  # fmt: skip
        written = ab_sides.write(run, options.out)
    if verbosity >= 0:
        echo(markdown(run, summary=verbosity == 0))
    echo(headline(run))
    if options.accept:
        count = ab_sides.write_acceptances(run.verdicts, options.accept, ab_sides.ACCEPTED)
        echo(f"{ab_sides.ACCEPTED}: accepted {count} slower timings ({options.accept.strip()})")
        return ABOutcome(passed=True)
    echo("wrote " + ", ".join(str(path) for path in written))
    return ABOutcome(passed=run.passed)


def _base_exists(repo: Path | None, base: str) -> bool:
    return Path(base).is_dir() or (repo is not None and ab_sides.commit_of(repo, base) is not None)
