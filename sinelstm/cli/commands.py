"""Each command's handler: its parsed arguments mapped to a job's options, the job's result
mapped to an exit status. The jobs themselves are sinelstm.workflow's."""

from __future__ import annotations

import argparse
from pathlib import Path

from sinelstm import workflow
from sinelstm.cli.exits import EXIT_PASSED, status
from sinelstm.cli.flags import config_from_args, output_of
from sinelstm.runtime import select_backend
from sinelstm.workflow import UsageError, ab_job, bench_job, history_jobs, results_jobs


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def cmd_run(args: argparse.Namespace) -> int:
    select_backend(args.backend)
    results_jobs.run_one(config_from_args(args), Path(args.out), output_of(args))
    return EXIT_PASSED


def cmd_bench(args: argparse.Namespace) -> int:
    from sinelstm.runtime import backend

    select_backend(args.backend)
    options = bench_job.BenchOptions(
        grid=workflow.grid_from_options(args),
        out=_path(args.out),
        baseline=_path(args.baseline),
        gate=not args.no_gate,
        timing_gate=not args.no_timing_gate,
        gate_config=args.gate_config,
        executor=args.executor,
        ray_address=args.ray_address,
        cell_timeout=args.cell_timeout,
        resume=args.resume,
        tier=args.tier,
        output=output_of(args),
    )
    return status(bench_job.run_bench(options, backend()).passed)


def cmd_report(args: argparse.Namespace) -> int:
    results, baseline, out = Path(args.results), _path(args.baseline), _path(args.out)
    results_jobs.report(results, baseline, out, args.gate_config, _path(args.answer_into), output_of(args))
    return EXIT_PASSED


def cmd_compare(args: argparse.Namespace) -> int:
    run, baseline = Path(args.run), _path(args.baseline)
    return status(results_jobs.compare(run, baseline, args.gate_config, args.tier, output_of(args)).passed)


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    configs = tuple(args.config or ())
    results_jobs.accept(
        Path(args.run), args.reason, _path(args.baseline), configs, args.other_grid, output_of(args)
    )
    return EXIT_PASSED


def cmd_index(args: argparse.Namespace) -> int:
    """results/README.md's index of the committed results files; --check: 1 where it is stale."""
    return status(results_jobs.index(Path(args.folder), args.check, output_of(args)))


def cmd_ab(args: argparse.Namespace) -> int:
    select_backend(args.backend)
    options = ab_job.ABOptions(
        grid=workflow.grid_from_options(args),
        base=args.base,
        head=args.head,
        repeats=args.repeats,
        max_repeats=args.max_repeats,
        budget=args.budget,
        streams=args.streams,
        threads=args.threads,
        env=tuple(args.env or ()),
        out=Path(args.out),
        gate_config=args.gate_config,
        accept=args.accept,
        skip_without_base=args.skip_without_base,
        output=output_of(args),
    )
    return status(ab_job.run_ab(options).passed)


def cmd_history_run(args: argparse.Namespace) -> int:
    own = args.grid_from == "commit"
    if own and workflow.axis_flags_given(args):
        raise UsageError("--grid-from commit runs each commit's own grid: axis flags do not apply")
    grid = workflow.grid_from_options(args)
    history_jobs.run(
        args.rev_range, grid, Path(args.history), args.resume, own, args.timeout, output_of(args)
    )
    return EXIT_PASSED


def cmd_history_report(args: argparse.Namespace) -> int:
    history_jobs.history_report(Path(args.history), Path(args.out), args.gate_config, output_of(args))
    return EXIT_PASSED


def cmd_history_find(args: argparse.Namespace) -> int:
    """0: found; 1: the last commit did not move."""
    grid, history = workflow.grid_from_options(args), Path(args.history)
    found = history_jobs.find(
        args.rev_range,
        args.metric,
        args.config,
        grid,
        history,
        args.gate_config,
        args.timeout,
        output_of(args),
    )
    return status(found.first is not None)
