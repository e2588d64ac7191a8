"""`sinelstm ab`: the arguments, parsed and handed to sinelstm.workflow.ab."""

from __future__ import annotations

import argparse
from pathlib import Path

from sinelstm import workflow
from sinelstm.cli.options import add_backend_flag, add_command, output_of

DEFAULT_OUT = "results/latest-ab.csv"
DEFAULT_REPEATS = 4
DEFAULT_MAX_REPEATS = 16
DEFAULT_BUDGET = 480.0


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def environment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise ValueError(text)
    return name, value


def add_ab_command(commands) -> None:
    ab = add_command(
        commands,
        "ab",
        "run a grid on two revisions in one job and judge head against base",
        "Run a grid's cells with the base's code and with the head's, taking turns on the same "
        "cores (each cell on both sides back to back, A B then B A), on this install's stack. "
        "Judge each config's timings (epoch, forecast step, compile and warm-up, cell wall) by "
        "the head/base ratio's interval, and list every metric the head changes. Exit status: "
        "0 passed, 1 a timing slower past the threshold or underpowered, or a cell a side could "
        "not run, 2 bad input.",
        cmd_ab,
    )
    ab.add_argument("base", nargs="?", default="HEAD^1", help="commit or folder of the base (HEAD^1)")
    ab.add_argument("head", nargs="?", help="commit or folder of the head (default: the working tree)")
    workflow.add_grid_options(ab.add_argument, default_grid="ab")
    ab.add_argument(
        "--repeats",
        type=positive_int,
        default=DEFAULT_REPEATS,
        help=f"runs of each cell on each side ({DEFAULT_REPEATS}): a config's pairs are its seeds x repeats",
    )
    ab.add_argument(
        "--max-repeats",
        type=positive_int,
        default=DEFAULT_MAX_REPEATS,
        help="where a config's verdict is underpowered or inconclusive after a round, run its cells "
        f"another --repeats times, up to this many in all ({DEFAULT_MAX_REPEATS})",
    )
    ab.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        help=f"seconds past which no further round starts ({DEFAULT_BUDGET:g})",
    )
    ab.add_argument("--streams", type=positive_int, help="cells run at once, one per core (every core)")
    ab.add_argument(
        "--threads", type=positive_int, default=1, help="compute threads of each worker (1; more: unpinned)"
    )
    ab.add_argument(
        "--env",
        type=environment,
        action="append",
        metavar="NAME=VALUE",
        help="an environment variable of both sides' workers (repeatable), e.g. TF_ENABLE_ONEDNN_OPTS=0",
    )
    ab.add_argument("-o", "--out", default=DEFAULT_OUT, help=f"the pairs CSV ({DEFAULT_OUT}); .md beside it")
    ab.add_argument("--gate-config", help="pyproject.toml with [tool.sinelstm.gate.ab]")
    ab.add_argument(
        "--accept",
        metavar="REASON",
        help="accept every slower timing of this run, up to its interval's top plus 5%%, into "
        "results/speed-accepted.csv with REASON (commit it with the change that slows)",
    )
    ab.add_argument(
        "--skip-without-base",
        action="store_true",
        help="where BASE names no commit (a shallow clone, the first commit), say so and exit 0",
    )
    add_backend_flag(ab)


def cmd_ab(args: argparse.Namespace) -> int:
    from sinelstm.history.commits import repo_root
    from sinelstm.history.store import HistoryError
    from sinelstm.report.ab import headline, markdown
    from sinelstm.runtime import select_backend
    from sinelstm.sweep.ab import cores
    from sinelstm.verdict.pairs import Rounds, run_rounds
    from sinelstm.workflow import ab

    select_backend(args.backend)
    grid = workflow.grid_from_options(args)
    cells = grid.cells()
    gate_path = workflow.find_gate_config(args.gate_config)
    rules = ab.speed_rules(gate_path)
    reproduction = workflow.load_gate(args.gate_config).reproduction
    out = Path(args.out)
    workflow.check_writable(out.parent)
    output = output_of(args)
    try:
        repo = repo_root()
    except HistoryError:  # outside a git checkout: both sides must be folders
        repo = None
    is_folder = Path(args.base).is_dir()
    if not is_folder and (repo is None or ab.commit_of(repo, args.base) is None) and args.skip_without_base:
        print(f"sinelstm ab: no A/B: {args.base} names no commit here (a shallow clone or the first commit)")
        return 0
    env = dict(args.env or ())
    streams = args.streams
    if args.threads > 1:
        threads = str(args.threads)
        env.update({name: threads for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                "TF_NUM_INTRAOP_THREADS")})  # fmt: skip
        env["XLA_FLAGS"] = ""
        streams = streams or max(1, len(cores(None)) // args.threads)
    with ab.sides(repo, args.base, args.head) as (base, head):
        output.echo(
            f"A/B: {len(cells)} cells x {args.repeats} repeats x 2 sides on {len(cores(streams))} stream(s): "
            f"base {base.label}, head {head.label}"
        )
        done = []

        def on_pair(pair) -> None:
            done.append(pair)
            if output.verbosity > 0:
                print(f"[{len(done)}] {pair.name} repeat {pair.repeat}")

        run = run_rounds(
            base,
            head,
            grid.name,
            cells,
            Rounds(args.repeats, args.max_repeats, args.budget),
            streams=streams,
            threads=args.threads,
            env=env,
            logs=out.with_suffix(".logs"),
            rules=rules,
            reproduction=reproduction,
            echo=output.echo,
            accepted=ab.new_acceptances(base, head),
            on_pair=on_pair,
        )
        written = ab.write(run, out)
    if output.verbosity >= 0:
        print(markdown(run, summary=output.verbosity == 0))
    print(headline(run))
    if args.accept:
        count = ab.write_acceptances(run.verdicts, args.accept, ab.ACCEPTED)
        print(f"{ab.ACCEPTED}: accepted {count} slower timings ({args.accept.strip()})")
        return 0
    print("wrote " + ", ".join(str(path) for path in written))
    return 0 if run.passed else 1
