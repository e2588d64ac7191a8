"""The gate's rules: the declared ones (sinelstm.sweep.columns), overridden by
[tool.sinelstm.gate] in a pyproject.toml and checked before anything runs: the
reproduction tier's stack and tolerance, per-metric directions and tolerances for the
statistical tier, and the timing rules."""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from sinelstm.sweep.columns import EXACT, GATED, METRIC_COLUMNS, SCALE, TIMING_COLUMNS
from sinelstm.verdict.speed import TIMINGS, SpeedRules

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
class ReproductionRules:
    """Where a run's stack matches its baseline's, seeded runs repeat: every metric of every
    seed must then match within a tolerance sized from measured numerics (results/README.md)."""

    # The provenance columns that must match for a run to reproduce its baseline.
    stack: tuple[str, ...] = ("python", "numpy", "tensorflow", "keras", "backend")
    abs_tol: float = 1e-4  # a difference within abs_tol + rel_tol * |baseline| is the same
    rel_tol: float = 1e-4
    # Metrics and canaries that must match exactly (counts, flags, checksums): as declared.
    exact: tuple[str, ...] = EXACT
    scale: dict = field(default_factory=lambda: dict(SCALE))  # metric -> least |baseline|, as declared

    def same(self, metric: str, baseline, current) -> bool:
        missing = [_is_missing(v) for v in (baseline, current)]
        if all(missing):
            return True
        if any(missing):
            return False
        if metric in self.exact or isinstance(baseline, str) or isinstance(current, str):
            return str(baseline) == str(current) or _number(baseline) == _number(current)
        return abs(float(current) - float(baseline)) <= self.tolerance(float(baseline), metric)

    def tolerance(self, baseline: float, metric: str = "") -> float:
        return self.abs_tol + self.rel_tol * max(abs(baseline), self.scale.get(metric, 0.0))


@dataclass(frozen=True)
class TimingRules:
    metrics: tuple[str, ...] = ("s_per_epoch", "forecast_ms_per_step")
    rel_tol: float = 0.5  # slower by more than this fraction, and outside the spread
    # ... and by at least this much in the metric's own unit (a minimum effect size: a
    # small model's rollout is so short that load alone moves it far).
    min_abs: dict = field(default_factory=dict)
    # Ratios measured inside each cell (an epoch over its floor), judged on any machine:
    # metric -> how much larger the config's median may grow, as a fraction.
    ratios: dict = field(default_factory=lambda: {"epoch_floor_ratio": 0.5})
    min_epoch_s: float = 0.005  # epochs shorter than this are too short to time
    # Compiled vs predict, measured in the same run, per backend: the predict loop's
    # overhead differs by backend (docs/layout.md, design notes).
    min_engine_speedup: dict = field(default_factory=lambda: {"tensorflow": 80.0})
    speedup_rel_tol: float = 0.5  # and no more than this fraction below the baseline's


@dataclass(frozen=True)
class GateConfig:
    rules: tuple[MetricRule, ...]
    overrides: tuple[tuple[str, MetricRule], ...] = ()  # (config-id pattern, rule)
    timing: TimingRules | None = TimingRules()  # None: timings are not judged (bench --no-timing-gate)
    reproduction: ReproductionRules = ReproductionRules()
    speed: SpeedRules = SpeedRules()  # the A/B's ([tool.sinelstm.gate.ab])

    def rule_for(self, config: str, metric: str) -> MetricRule:
        for pattern, rule in self.overrides:
            if rule.metric == metric and fnmatch.fnmatchcase(config, pattern):
                return rule
        return next(rule for rule in self.rules if rule.metric == metric)

    def direction_of(self, metric: str) -> MetricRule | None:
        return next((rule for rule in self.rules if rule.metric == metric), None)


def _is_missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _rule(metric: str, spec: dict, where: str) -> MetricRule:
    known = {"direction", "abs_tol", "rel_tol", "target", "aggregate"}
    if metric not in METRIC_COLUMNS:
        raise GateConfigError(
            f"{where}: unknown metric {metric!r}; expected one of {', '.join(METRIC_COLUMNS)}"
        )
    unknown = set(spec) - known - {"match", "metric"}
    if unknown:
        raise GateConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    direction = spec.get("direction")
    if direction not in DIRECTIONS:
        raise GateConfigError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
    if spec.get("aggregate", "median") not in ("median", "sum"):
        raise GateConfigError(f"{where}: aggregate must be median or sum")
    for key in ("abs_tol", "rel_tol", "target"):
        if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], int | float)):
            raise GateConfigError(f"{where}: {key} must be a number, got {spec[key]!r}")
    return MetricRule(metric=metric, **{k: v for k, v in spec.items() if k in known})


def _section(cls, table: dict, where: str, columns: tuple[str, ...] = ()):
    """A rules dataclass from its TOML table: unknown keys and wrong types refused by name."""
    defaults = cls()
    names = {f.name for f in fields(cls)}
    unknown = set(table) - names
    if unknown:
        raise GateConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    values = {}
    for key, value in table.items():
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise GateConfigError(f"{where}: {key} must be a list of strings, got {value!r}")
            value = tuple(value)
        elif isinstance(default, dict):
            if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
                raise GateConfigError(f"{where}: {key} must be a table of numbers, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise GateConfigError(f"{where}: {key} must be a number, got {value!r}")
        values[key] = value
    for key in ("metrics", "ratios", "min_abs"):
        named = values.get(key, ())
        strangers = [name for name in named if columns and name not in columns]
        if strangers:
            raise GateConfigError(f"{where}: {key}: unknown columns {', '.join(strangers)}")
    return cls(**values)


def declared_rules() -> dict[str, dict]:
    """The statistical tier's rule of each metric that declares a direction."""
    keys = ("direction", "abs_tol", "rel_tol", "target", "aggregate")
    return {column.name: {key: getattr(column, key) for key in keys} for column in GATED}


def _speed_rules(spec: dict, path: Path) -> SpeedRules:
    """[tool.sinelstm.gate.ab]: the A/B's speed rules; the defaults where it has none."""
    where = f"{path}: [tool.sinelstm.gate.ab]"
    spec = dict(spec)
    known = {"threshold", "margin", "confidence", "thresholds", "informational"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise GateConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    thresholds = spec.pop("thresholds", {})
    bad = sorted(set(thresholds) | set(spec.get("informational", ())) - set(TIMINGS))
    if bad:
        raise GateConfigError(f"{where}: not A/B timings: {', '.join(bad)}; expected {', '.join(TIMINGS)}")
    try:
        rules = SpeedRules(
            threshold=float(spec.get("threshold", SpeedRules.threshold)),
            margin=float(spec.get("margin", SpeedRules.margin)),
            confidence=float(spec.get("confidence", SpeedRules.confidence)),
            thresholds=tuple((k, float(v)) for k, v in thresholds.items()),
            informational=tuple(spec.get("informational", ())),
        )
    except (TypeError, ValueError) as error:
        raise GateConfigError(f"{where}: {error}") from None
    if not (0 < rules.threshold < 1 and 0 <= rules.margin < 1 and 0.5 < rules.confidence < 1):
        raise GateConfigError(f"{where}: threshold, margin or confidence out of range")
    return rules


def load_gate_config(path: Path) -> GateConfig:
    """The declared rules, each overridden by [tool.sinelstm.gate] of a pyproject.toml (a
    table of its metrics.NAME keys; a metric with no declared rule needs a direction),
    checked: unknown metrics, keys or types, or no metric rules at all, are refused in one
    line."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())["tool"]["sinelstm"]["gate"]
    except FileNotFoundError:
        raise GateConfigError(f"{path}: no such gate configuration file") from None
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as error:
        raise GateConfigError(f"{path}: no readable [tool.sinelstm.gate] table ({error})") from None
    specs = declared_rules()
    for metric, spec in table.get("metrics", {}).items():
        if not isinstance(spec, dict):
            raise GateConfigError(f"[tool.sinelstm.gate.metrics.{metric}]: must be a table, got {spec!r}")
        if metric in METRIC_COLUMNS and metric not in specs and "direction" not in spec:
            raise GateConfigError(
                f"[tool.sinelstm.gate.metrics.{metric}]: {metric} has no declared rule; give its direction"
            )
        specs[metric] = {**specs.get(metric, {}), **spec}
    where = "[tool.sinelstm.gate.metrics.{}]"
    rules = tuple(_rule(metric, spec, where.format(metric)) for metric, spec in specs.items())
    if not rules:
        raise GateConfigError(
            f"{path}: [tool.sinelstm.gate.metrics] has no rules; the gate would judge nothing"
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
    timing = _section(TimingRules, table.get("timing", {}), "[tool.sinelstm.gate.timing]", TIMING_COLUMNS)
    reproduction = _section(
        ReproductionRules, table.get("reproduction", {}), "[tool.sinelstm.gate.reproduction]"
    )
    speed = _speed_rules(table.get("ab", {}), path)
    return GateConfig(rules, tuple(overrides), timing, reproduction, speed)
