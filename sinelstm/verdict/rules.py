"""The gate's rules: per-metric directions and tolerances, timing rules, read from
[tool.sinelstm.gate] in a pyproject.toml and checked before anything runs."""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DIRECTIONS = ("lower", "higher", "target")


class GateConfigError(ValueError):
    """A gate configuration that cannot be read or used: one line, exit status 2."""


@dataclass(frozen=True)
class MetricRule:
    metric: str
    direction: str  # lower | higher | target: which way is better
    abs_tol: float = 0.0  # a change smaller than this never fails
    rel_tol: float = 0.0  # ... nor one smaller than this fraction of the baseline
    target: float = 1.0  # for direction = target: better the closer to this
    aggregate: str = "median"  # median over seeds, or sum (for counts such as diverged)

    def badness(self, value: float) -> float:
        """How bad a value is, larger is worse; NaN (could not be computed) is the worst."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.inf
        value = float(value)
        if self.direction == "lower":
            return value
        if self.direction == "higher":
            return -value
        return abs(value - self.target)

    def tolerance(self, baseline: float) -> float:
        scale = abs(baseline - self.target) if self.direction == "target" else abs(baseline)
        return max(self.abs_tol, self.rel_tol * scale if math.isfinite(scale) else 0.0)


@dataclass(frozen=True)
class TimingRules:
    metrics: tuple[str, ...] = ("s_per_epoch", "forecast_ms_per_step")
    rel_tol: float = 0.5  # slower by more than this fraction, and outside the spread
    # ... and by at least this much in the metric's own unit (a minimum effect size:
    # a 400-step rollout of a small model takes milliseconds, where load alone moves it 2x).
    min_abs: dict = field(default_factory=dict)
    # Compiled vs predict, measured in the same run, per backend: the predict loop's
    # overhead differs (about 100 ms a step on TensorFlow, 6 ms on JAX).
    min_engine_speedup: dict = field(default_factory=lambda: {"tensorflow": 80.0})
    speedup_rel_tol: float = 0.5  # and no more than this fraction below the baseline's


@dataclass(frozen=True)
class GateConfig:
    rules: tuple[MetricRule, ...]
    overrides: tuple[tuple[str, MetricRule], ...] = ()  # (config-id pattern, rule)
    timing: TimingRules = TimingRules()

    def rule_for(self, config: str, metric: str) -> MetricRule:
        for pattern, rule in self.overrides:
            if rule.metric == metric and fnmatch.fnmatchcase(config, pattern):
                return rule
        return next(rule for rule in self.rules if rule.metric == metric)


def _rule(metric: str, spec: dict, where: str) -> MetricRule:
    known = {"direction", "abs_tol", "rel_tol", "target", "aggregate"}
    unknown = set(spec) - known - {"match", "metric"}
    if unknown:
        raise GateConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    direction = spec.get("direction")
    if direction not in DIRECTIONS:
        raise GateConfigError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
    if spec.get("aggregate", "median") not in ("median", "sum"):
        raise GateConfigError(f"{where}: aggregate must be median or sum")
    return MetricRule(metric=metric, **{k: v for k, v in spec.items() if k in known})


def load_gate_config(path: Path) -> GateConfig:
    """[tool.sinelstm.gate] of a pyproject.toml."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())["tool"]["sinelstm"]["gate"]
    except FileNotFoundError:
        raise GateConfigError(f"{path}: no such gate configuration file") from None
    except (KeyError, tomllib.TOMLDecodeError) as error:
        raise GateConfigError(f"{path}: no readable [tool.sinelstm.gate] table ({error})") from None
    rules = tuple(
        _rule(metric, spec, f"[tool.sinelstm.gate.metrics.{metric}]")
        for metric, spec in table.get("metrics", {}).items()
    )
    base = {rule.metric: rule for rule in rules}
    overrides = []
    for number, spec in enumerate(table.get("overrides", [])):
        where = f"[[tool.sinelstm.gate.overrides]] #{number + 1}"
        metric = spec.get("metric")
        if metric not in base:
            raise GateConfigError(f"{where}: metric must be one of {', '.join(base)}")
        merged = {**vars(base[metric]), **spec}
        merged.pop("metric"), merged.pop("match", None)
        overrides.append((spec.get("match", "*"), _rule(metric, merged, where)))
    timing = TimingRules(**table.get("timing", {}))
    return GateConfig(rules=rules, overrides=tuple(overrides), timing=timing)
