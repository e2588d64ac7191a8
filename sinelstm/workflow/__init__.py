"""The jobs the CLI and the pytest plugin run, end to end, each a function of typed options:
bench (bench_job), the A/B (ab_job), the history (history_jobs), one run or results file
(results_jobs); and what they share: where files go and the grid a user asked for
(options), gate-then-report (gating), a grid's wall time against its floor (timing)."""

from sinelstm.workflow.answering import check_answer_target, write_answer_into
from sinelstm.workflow.confirming import confirm_suspects, recorded_rerun, seed_runner
from sinelstm.workflow.gating import (
    Output,
    announce,
    gate_and_report,
    judge,
    record_history,
    write_gate_table,
)
from sinelstm.workflow.grid_wall import GridWall, executor_workers, forget_grid, report_grid
from sinelstm.workflow.options import (
    BASE_OPTIONS,
    IMPLEMENTATION_HELP,
    Choices,
    UsageError,
    add_grid_options,
    add_training_flags,
    axis_flags_given,
    baseline_for,
    check_same_grid,
    check_writable,
    default_paths,
    find_gate_config,
    grid_from_options,
    grid_of_run,
    history_path_for,
    load_gate,
    make_executor,
    model_choices,
    report_path_for,
)
from sinelstm.workflow.runs import write_run

__all__ = [
    "BASE_OPTIONS",
    "IMPLEMENTATION_HELP",
    "Choices",
    "Output",
    "UsageError",
    "add_grid_options",
    "add_training_flags",
    "axis_flags_given",
    "announce",
    "baseline_for",
    "check_answer_target",
    "check_same_grid",
    "check_writable",
    "confirm_suspects",
    "default_paths",
    "executor_workers",
    "find_gate_config",
    "GridWall",
    "forget_grid",
    "gate_and_report",
    "grid_from_options",
    "grid_of_run",
    "history_path_for",
    "judge",
    "load_gate",
    "make_executor",
    "model_choices",
    "record_history",
    "recorded_rerun",
    "report_grid",
    "report_path_for",
    "seed_runner",
    "write_answer_into",
    "write_gate_table",
    "write_run",
]
