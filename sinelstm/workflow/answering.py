"""The science answer written into a document (the README) between its markers, from the
results CSV, so that every number the document quotes is the CSV's."""

from __future__ import annotations

from pathlib import Path

from sinelstm.workflow.options import UsageError


def check_answer_target(target: Path, flag: str = "--answer-into") -> None:
    """Refuse (exit 2), before any work, a document without the answer markers."""
    from sinelstm.analysis.answer import BEGIN, END, answer_block

    try:
        text = Path(target).read_text()
    except OSError as error:
        raise UsageError(f"{flag}: cannot read {str(target)!r}: {error.strerror or error}") from None
    if answer_block(text) is None:
        raise UsageError(f"{flag}: {str(target)!r} has no {BEGIN} ... {END} block to fill")


def write_answer_into(results: Path, target: Path) -> str:
    """Replace the answer block in target with the answer computed from results; return it."""
    from sinelstm.analysis.answer import answer, replace_answer
    from sinelstm.analysis.frames import with_keys
    from sinelstm.sweep.store import read_results

    text = answer(with_keys(read_results(Path(results))))
    target = Path(target)
    target.write_text(replace_answer(target.read_text(), text))
    return text
