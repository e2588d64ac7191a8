"""The sinelstm command line: parses arguments and dispatches to the library.

Exit codes: 0 passed, 1 the gate failed, 2 bad input or an unreadable file,
3 an internal error (--debug shows its traceback), 130 interrupted.
"""

from __future__ import annotations

import os
import sys

from sinelstm.cli.exits import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED
from sinelstm.cli.parser import build_parser
from sinelstm.experiment.config import ConfigError
from sinelstm.git import GitError
from sinelstm.runtime import BackendError
from sinelstm.workflow import UsageError

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    from sinelstm.history.history_csv import HistoryError
    from sinelstm.sweep.ab_pairs import ABError
    from sinelstm.sweep.store import ResultsError
    from sinelstm.verdict.rules import GateConfigError
    from sinelstm.workflow.ab_sides import SpeedConfigError

    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "verbose", False):
            os.environ["SINELSTM_VERBOSE"] = "1"  # the workers inherit it
        return args.handler(args)
    except (
        UsageError,
        BackendError,
        ResultsError,
        GateConfigError,
        HistoryError,
        ABError,
        SpeedConfigError,
        GitError,
        OSError,
    ) as error:
        print(f"sinelstm: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConfigError as error:
        print(f"sinelstm: error: {error.flag}: got {error.got!r}; {error.accepts}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("sinelstm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: no tracebacks unless --debug.
        if debug:
            raise
        print(
            f"sinelstm: internal error: {type(error).__name__}: {error} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
