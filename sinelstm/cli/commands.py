"""What each command does, given its parsed arguments; each returns its exit status."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sinelstm import workflow
from sinelstm.cli.options import config_from_args, output_of
from sinelstm.runtime import select_backend

EXIT_PASSED, EXIT_GATE_FAILED = 0, 1


def cmd_run(args: argparse.Namespace) -> int:
    from sinelstm.runtime import load_backend_quietly

    select_backend(args.backend)
    cfg = config_from_args(args)
    load_backend_quietly()
    out = Path(args.out)
    workflow.check_writable(out)

    from sinelstm.experiment.run import run_experiment
    from sinelstm.report.tables import metrics_table
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS

    result = run_experiment(cfg)
    names = workflow.write_run(out, result)
    print(metrics_table({**result.metrics, **result.timings}, METRIC_COLUMNS + TIMING_COLUMNS))
    print(f"wrote {out}/{', '.join(names)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from sinelstm.runtime import backend
    from sinelstm.sweep.runner import resumable, run_grid
    from sinelstm.sweep.store import ResultsLock, read_results

    select_backend(args.backend)
    grid = workflow.grid_from_options(args)
    latest, baseline = workflow.default_paths(grid.name, backend())
    out = Path(args.out) if args.out else latest
    baseline = None if args.no_gate else Path(args.baseline) if args.baseline else baseline
    # Everything that can be checked is checked before the grid runs: the gate's rules,
    # the baseline, the output, the executor.
    gate = None if args.no_gate else workflow.load_gate(args.gate_config)
    if gate is not None and args.no_timing_gate:
        import dataclasses

        gate = dataclasses.replace(gate, timing=None)
    if baseline is not None:
        workflow.check_same_grid(grid.name, baseline)
        read_results(baseline)
    workflow.check_writable(out.parent, "--out")
    executor = workflow.make_executor(args.executor, args.ray_address, args.cell_timeout)
    cells = grid.cells()
    if args.resume:
        resumable(out, cells)  # refuses another experiment's file in one line, before the progress bar
    start = time.perf_counter()
    output = output_of(args)
    # The results file is this run's from its first cell to the last file judged from it:
    # a second run on the same --out is refused, not read half-written by the gate. The lock
    # is taken before the progress bar is drawn: a refusal is one line, never under a bar.
    with ResultsLock(out):
        if not args.resume:
            workflow.forget_grid(out)
        wall = workflow.GridWall(out, grid.name, workflow.executor_workers(executor, len(cells)), args.resume)
        bar = tqdm(
            total=len(cells),
            desc=f"grid {grid.name}",
            unit="cell",
            file=sys.stderr,
            disable=output.verbosity < 0,
        )
        with bar:

            def on_row(row):
                bar.set_postfix_str(f"{row['status']} {row['cell']}")
                bar.update(1)
                wall.tick()

            run_grid(
                cells,
                out,
                resume=args.resume,
                executor=executor,
                speedup_cell=grid.speedup_cell(),
                on_row=on_row,
                lock_held=True,
            )
            bar.total = bar.n
        print(f"{len(cells)} cells ({grid.name} grid) in {time.perf_counter() - start:.0f} s -> {out}")
        workflow.report_grid(out, wall, len(cells), print)
        workflow.record_history(out, grid, output)
        rerun = workflow.seed_runner(
            out, lambda: workflow.make_executor(args.executor, args.ray_address, args.cell_timeout)
        )
        return workflow.gate_and_report(out, baseline, gate, output=output, tier=args.tier, rerun=rerun)


def cmd_report(args: argparse.Namespace) -> int:
    """The report carries the verdict (when a baseline is given); the gate's own files are
    compare's and bench's to write."""
    from sinelstm.report.markdown import build_report
    from sinelstm.sweep.store import locked, read_results

    results = Path(args.results)
    baseline = Path(args.baseline) if args.baseline else None
    gate = workflow.load_gate(args.gate_config) if baseline is not None else None
    out = Path(args.out) if args.out else workflow.report_path_for(results)
    workflow.check_writable(out.parent)
    if args.answer_into:
        workflow.check_answer_target(Path(args.answer_into))
    with locked(results):
        for path in (results, baseline):
            if path is not None:
                read_results(path)  # an unreadable file is bad input (2)
        result = None
        if baseline is not None:
            result = workflow.judge(results, baseline, gate, write=False)
            rerun = workflow.recorded_rerun(results)
            workflow.confirm_suspects(result, results, baseline, gate, rerun, lambda line: None)
        build_report(results, out, result, baseline)
        if args.answer_into:
            workflow.write_answer_into(results, Path(args.answer_into))
    print(f"report: {out}" + (f"; answer: {args.answer_into}" if args.answer_into else ""))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from sinelstm.sweep.store import locked, read_results

    run, gate = Path(args.run), workflow.load_gate(args.gate_config)
    baseline = Path(args.baseline) if args.baseline else workflow.baseline_for(run)
    workflow.check_same_grid(workflow.grid_of_run(run), baseline)
    with locked(run):  # not read while a run still writes it (a baseline is only ever replaced whole)
        for path in (run, baseline):
            read_results(path)  # an unreadable file is bad input (2), not a failed gate
        output = output_of(args)
        result = workflow.judge(run, baseline, gate, tier=args.tier, write=False)
        # The bench's rerun of a suspected statistical failure, where it made one for this run.
        workflow.confirm_suspects(result, run, baseline, gate, workflow.recorded_rerun(run), output.echo)
        workflow.write_gate_table(result, run, baseline)
        # The summary links the run's report figures where its report was written from it.
        from sinelstm.report.markdown import describes

        report = workflow.report_path_for(run)
        workflow.announce(result, run, baseline, report if describes(report, run) else None, output)
    return EXIT_PASSED if result.passed else EXIT_GATE_FAILED


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    from sinelstm.verdict.baseline import accept_baseline

    baseline = Path(args.baseline) if args.baseline else workflow.baseline_for(Path(args.run))
    if not args.other_grid:
        workflow.check_same_grid(
            workflow.grid_of_run(Path(args.run)), baseline, "--other-grid accepts it anyway"
        )
    count = accept_baseline(Path(args.run), baseline, args.reason, tuple(args.config or ()))
    print(f"{baseline}: accepted {count} rows from {args.run} ({args.reason.strip()})")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    """results/README.md's index of the committed results files; --check: 1 where it is stale."""
    from sinelstm.workflow.index import write_index

    folder = Path(args.folder)
    readme = folder / "README.md"
    if args.check:
        fresh = write_index(folder, readme, check=True)
        print(f"{readme}: index {'up to date' if fresh else 'stale: run sinelstm index'}")
        return EXIT_PASSED if fresh else EXIT_GATE_FAILED
    write_index(folder, readme)
    print(f"index: {readme}")
    return EXIT_PASSED
