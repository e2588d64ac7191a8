"""An axis flag's text, as typed, to the axis' values: integers and ranges, model kinds.
Each refuses what it cannot read by name (ConfigError), never drops it."""

from __future__ import annotations

from sinelstm.experiment import kinds
from sinelstm.experiment.config import ConfigError


def parse_ints(flag: str, text: str) -> tuple[int, ...]:
    """'25,50' or '0-4' or '0-2,7' -> a tuple of distinct ints in the given order. An empty
    part or a reversed range (5-2) is refused, never dropped."""
    values: list[int] = []
    for part in (piece.strip() for piece in text.split(",")):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise ConfigError(flag, text, f"{part!r} is not an integer or a range like 0-4") from None
        if last < first:
            raise ConfigError(flag, text, f"the range {part} runs backwards; write {last}-{first}")
        values.extend(range(first, last + 1))
    return tuple(dict.fromkeys(values))


def parse_models(flag: str, text: str) -> tuple[str, ...]:
    """'lstm,gru', 'all' (every registered kind) or 'package.module:function' -> model kinds."""
    if text.strip() == "all":
        return kinds.builtin_names()
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    for name in names:
        if kinds.lookup(name) is None:
            raise ConfigError(
                flag,
                name,
                f"expected 'all' or a comma-separated list of {', '.join(kinds.builtin_names())} "
                "or package.module:function",
            )
    return names
