"""The command line's exit statuses, one set for every command."""

EXIT_PASSED = 0  # done, the gate passed, or the commit was found
EXIT_GATE_FAILED = 1  # the gate failed, an index is stale, or no commit moved
EXIT_BAD_INPUT = 2  # a bad argument or an unreadable file: one line
EXIT_INTERNAL = 3  # a bug: one line (--debug shows its traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C


def status(passed: bool) -> int:
    return EXIT_PASSED if passed else EXIT_GATE_FAILED
