"""What the gate found: each comparison, the tier that judged each config, the failures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Comparison:
    config: str
    metric: str
    baseline: str
    current: str
    change: str
    verdict: str  # better | within | same | differs | worse | missing | crashed | diverged | not judged | n/a


@dataclass
class Tier:
    name: str  # reproduction | statistical
    why: str  # why this tier
    seeds: int
    detects: str  # the smallest change it could have detected, in words


@dataclass
class GateResult:
    comparisons: list[Comparison] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tiers: dict[str, Tier] = field(default_factory=dict)  # config -> the tier that judged it
    # config -> its statistical-tier failures (metric, message), until a rerun with more
    # seeds confirms or withdraws them
    suspects: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def suspect(self, config: str, metric: str, message: str) -> None:
        """A statistical-tier failure: reported as it is unless a rerun of the config with
        more seeds is made (sinelstm.verdict.confirm), which confirms or withdraws it."""
        self.fail(message)
        self.suspects.setdefault(config, []).append((metric, message))


def fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
