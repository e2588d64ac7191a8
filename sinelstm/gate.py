"""The regression gate: a run against a pinned baseline, quality and timing judged apart.

Quality metrics are compared per config as the median over seeds, each with
its own direction and tolerance (pyproject.toml, [tool.sinelstm.gate]).
Cells are matched one to one: a cell missing on either side, a crashed cell
or a newly diverged seed fails by name. Absolute timings are judged only
against a baseline from the same machine fingerprint; the compiled engine's
speed-up over the predict engine, a ratio measured inside one run, is judged
everywhere.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sinelstm.config import CONFIG_FIELDS, config_of
from sinelstm.grid import cell_id, config_id
from sinelstm.results import ResultsError, read_results

DIRECTIONS = ("lower", "higher", "target")
VERSION_COLUMNS = ("python", "numpy", "tensorflow", "keras", "backend", "cpu")


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
        raise ResultsError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    direction = spec.get("direction")
    if direction not in DIRECTIONS:
        raise ResultsError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
    if spec.get("aggregate", "median") not in ("median", "sum"):
        raise ResultsError(f"{where}: aggregate must be median or sum")
    return MetricRule(metric=metric, **{k: v for k, v in spec.items() if k in known})


def load_gate_config(path: Path) -> GateConfig:
    """[tool.sinelstm.gate] of a pyproject.toml."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())["tool"]["sinelstm"]["gate"]
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such gate configuration file") from None
    except (KeyError, tomllib.TOMLDecodeError) as error:
        raise ResultsError(f"{path}: no readable [tool.sinelstm.gate] table ({error})") from None
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
            raise ResultsError(f"{where}: metric must be one of {', '.join(base)}")
        merged = {**vars(base[metric]), **spec}
        merged.pop("metric"), merged.pop("match", None)
        overrides.append((spec.get("match", "*"), _rule(metric, merged, where)))
    timing = TimingRules(**table.get("timing", {}))
    return GateConfig(rules=rules, overrides=tuple(overrides), timing=timing)


@dataclass
class Comparison:
    config: str
    metric: str
    baseline: str
    current: str
    change: str
    verdict: str  # better | within | worse | missing | crashed | diverged | not judged | n/a


@dataclass
class GateResult:
    comparisons: list[Comparison] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.4g}"


def _keyed(frame) -> dict[str, dict]:
    rows = {}
    for row in frame.to_dict("records"):
        rows[cell_id(config_of(row))] = row
    return rows


def _group(rows: dict[str, dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows.values():
        groups.setdefault(config_id(config_of(row)), []).append(row)
    return groups


def _aggregate(rule: MetricRule, rows: list[dict]) -> tuple[float, float]:
    """(aggregated badness, aggregated raw value) over the ok rows of one config."""
    values = [row[rule.metric] for row in rows]
    if rule.aggregate == "sum":
        total = float(sum(bool(v) for v in values))
        return rule.badness(total), total
    badness = np.asarray([rule.badness(v) for v in values], dtype=np.float64)
    order = np.argsort(badness, kind="stable")
    middle = order[len(order) // 2] if len(order) % 2 else None
    if middle is not None:
        raw = values[middle]
        return float(badness[middle]), float(raw) if raw is not None else math.nan
    # Even count: the mean of the two middle values (NaN stays the worst).
    low, high = order[len(order) // 2 - 1], order[len(order) // 2]
    bad = float((badness[low] + badness[high]) / 2)
    raw = (float(values[low]) + float(values[high])) / 2
    return bad, raw


def compare(
    current_path: Path, baseline_path: Path, gate: GateConfig, only: set[str] | None = None
) -> GateResult:
    """Judge a run against a baseline; every failure is named in result.failures.

    With `only`, the cells outside it are left out of both sides (a run of
    selected cells); a selected cell missing from either side still fails.
    """
    result = GateResult()
    try:
        current = read_results(current_path)
        baseline = read_results(baseline_path)
    except ResultsError as error:
        result.fail(f"could not compare: {error}")
        return result

    _check_provenance(current, baseline, result)
    cur_rows, base_rows = _keyed(current), _keyed(baseline)
    if only is not None:
        cur_rows = {k: r for k, r in cur_rows.items() if k in only}
        base_rows = {k: r for k, r in base_rows.items() if k in only}
        for key in sorted(only - set(cur_rows) - set(base_rows)):
            result.fail(f"{key}: selected, but in neither this run nor the baseline")
        result.notes.append(f"gate restricted to the {len(only)} selected cells")
    _check_cells(cur_rows, base_rows, result)

    ok_cur = {k: r for k, r in cur_rows.items() if r["status"] == "ok" and k in base_rows}
    ok_base = {k: r for k, r in base_rows.items() if r["status"] == "ok" and k in cur_rows}
    cur_groups, base_groups = _group(ok_cur), _group(ok_base)
    for config in sorted(set(cur_groups) & set(base_groups)):
        for rule in gate.rules:
            rule = gate.rule_for(config, rule.metric)
            _judge_metric(config, rule, cur_groups[config], base_groups[config], result)
    _judge_timing(cur_groups, base_groups, gate.timing, result)
    _judge_speedup(ok_cur, ok_base, gate.timing, result)
    return result


def _check_provenance(current, baseline, result: GateResult) -> None:
    for column in VERSION_COLUMNS:
        cur = sorted(set(current[column].dropna().astype(str)))
        base = sorted(set(baseline[column].dropna().astype(str)))
        if cur != base:
            result.warnings.append(
                f"{column} differs from the baseline's: {', '.join(base) or '-'} (baseline) "
                f"vs {', '.join(cur) or '-'} (this run)"
            )


def _check_cells(cur_rows: dict, base_rows: dict, result: GateResult) -> None:
    for key in sorted(set(base_rows) - set(cur_rows)):
        result.fail(f"{key}: in the baseline but missing from this run")
        result.comparisons.append(Comparison(key, "cell", "present", "missing", "", "missing"))
    for key in sorted(set(cur_rows) - set(base_rows)):
        result.fail(f"{key}: in this run but not in the baseline (accept a new baseline)")
        result.comparisons.append(Comparison(key, "cell", "missing", "present", "", "missing"))
    for key in sorted(set(cur_rows) & set(base_rows)):
        cur, base = cur_rows[key], base_rows[key]
        if cur["status"] != "ok":
            result.fail(f"{key}: crashed: {cur.get('error') or 'no error recorded'}")
            result.comparisons.append(Comparison(key, "status", base["status"], "failed", "", "crashed"))
            continue
        changed = [
            f"{name} {base[name]} -> {cur[name]}"
            for name in CONFIG_FIELDS
            if str(cur[name]) != str(base[name])
        ]
        if changed:
            result.warnings.append(f"{key}: config differs from the baseline's: {', '.join(changed)}")
        if bool(cur["diverged"]) and not bool(base["diverged"]):
            result.fail(f"{key}: diverged (its baseline did not)")
            result.comparisons.append(Comparison(key, "diverged", "False", "True", "", "diverged"))


def _judge_metric(config: str, rule: MetricRule, cur: list, base: list, result: GateResult):
    cur_bad, cur_raw = _aggregate(rule, cur)
    base_bad, base_raw = _aggregate(rule, base)
    label = "median" if rule.aggregate == "median" else "total"
    if math.isinf(base_bad) and math.isinf(cur_bad):
        verdict, change = "n/a", ""
    elif math.isinf(base_bad):
        verdict, change = "better", "now computable"
    elif math.isinf(cur_bad):
        verdict, change = "worse", "no longer computable"
    else:
        delta = cur_bad - base_bad
        tolerance = rule.tolerance(base_raw)
        change = f"{cur_raw - base_raw:+.3g}"
        verdict = "worse" if delta > tolerance else "better" if delta < -tolerance else "within"
        if verdict == "worse":
            change += f" (tolerance {tolerance:.3g})"
    if verdict == "worse":
        result.fail(
            f"{config}: {rule.metric} regressed: {label} {_fmt(base_raw)} -> {_fmt(cur_raw)} "
            f"over {len(cur)} seeds ({rule.direction} is better"
            + (f", target {rule.target:g}" if rule.direction == "target" else "")
            + ")"
        )
    result.comparisons.append(Comparison(config, rule.metric, _fmt(base_raw), _fmt(cur_raw), change, verdict))


def _judge_timing(cur_groups: dict, base_groups: dict, timing: TimingRules, result: GateResult):
    """Absolute timings, per config, judged only between rows of the same machine
    fingerprint (a sweep over several machines is judged machine by machine)."""
    unjudged = []
    for config in sorted(set(cur_groups) & set(base_groups)):
        cur_rows, base_rows = cur_groups[config], base_groups[config]
        common = sorted({str(r["machine"]) for r in cur_rows} & {str(r["machine"]) for r in base_rows})
        if not common:
            unjudged.append(config)
        for metric in timing.metrics:
            cur_med = float(np.nanmedian(np.asarray([r[metric] for r in cur_rows], dtype=float)))
            base_med = float(np.nanmedian(np.asarray([r[metric] for r in base_rows], dtype=float)))
            change = f"{cur_med / base_med - 1:+.0%}" if base_med > 0 else ""
            verdict = "within" if common else "not judged"
            for machine in common:
                cur = np.asarray([r[metric] for r in cur_rows if str(r["machine"]) == machine], dtype=float)
                base = np.asarray([r[metric] for r in base_rows if str(r["machine"]) == machine], dtype=float)
                cur_m, base_m = float(np.nanmedian(cur)), float(np.nanmedian(base))
                # Slower only if beyond the tolerance, beyond the minimum effect and
                # outside the baseline's spread.
                if (
                    cur_m > base_m * (1 + timing.rel_tol)
                    and cur_m - base_m > timing.min_abs.get(metric, 0.0)
                    and np.nanmin(cur) > np.nanmax(base)
                ):
                    verdict = "worse"
                    on = f" on machine {machine}" if len(common) > 1 else ""
                    result.fail(
                        f"{config}: {metric} slower{on}: median {_fmt(base_m)} -> {_fmt(cur_m)} "
                        f"(over {timing.rel_tol:.0%}, over {timing.min_abs.get(metric, 0.0):g} "
                        "and outside the baseline's range)"
                    )
            result.comparisons.append(
                Comparison(config, metric, _fmt(base_med), _fmt(cur_med), change, verdict)
            )
    if unjudged:
        machines_cur = sorted({str(r["machine"]) for rows in cur_groups.values() for r in rows})
        machines_base = sorted({str(r["machine"]) for rows in base_groups.values() for r in rows})
        result.notes.append(
            f"absolute timings NOT judged for {len(unjudged)} of {len(set(cur_groups) & set(base_groups))} "
            f"configs: no baseline row from the same machine (baseline: {', '.join(machines_base) or '-'}; "
            f"this run: {', '.join(machines_cur) or '-'}); they are reported only"
        )


def _judge_speedup(cur_rows: dict, base_rows: dict, timing: TimingRules, result: GateResult):
    def measured(rows):
        return {k: r["engine_speedup"] for k, r in rows.items() if not _isnan(r["engine_speedup"])}

    cur, base = measured(cur_rows), measured(base_rows)
    for key in sorted(set(base) - set(cur)):
        result.fail(f"{key}: engine_speedup missing from this run (the baseline measured it)")
    for key in sorted(cur):
        value = float(cur[key])
        reasons = []
        floor = timing.min_engine_speedup.get(str(cur_rows[key]["backend"]), 0.0)
        if value < floor:
            reasons.append(f"below the floor of {floor:g}x")
        if key in base and value < float(base[key]) * (1 - timing.speedup_rel_tol):
            reasons.append(f"more than {timing.speedup_rel_tol:.0%} below the baseline's")
        verdict = "worse" if reasons else "within"
        if reasons:
            result.fail(f"{key}: compiled engine speed-up {value:.0f}x is {' and '.join(reasons)}")
        base_text = f"{float(base[key]):.0f}x" if key in base else "-"
        result.comparisons.append(Comparison(key, "engine_speedup", base_text, f"{value:.0f}x", "", verdict))


def _isnan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def gate_table(result: GateResult) -> str:
    """The markdown table: config, metric, baseline, current, change, verdict."""
    from tabulate import tabulate

    rows = [(c.config, c.metric, c.baseline, c.current, c.change, c.verdict) for c in result.comparisons]
    return tabulate(
        rows,
        headers=["config", "metric", "baseline", "current", "change", "verdict"],
        tablefmt="github",
        disable_numparse=True,
    )


def gate_markdown(result: GateResult, current: Path, baseline: Path) -> str:
    verdict = "PASSED" if result.passed else f"FAILED ({len(result.failures)} failures)"
    lines = [f"# Gate: {verdict}", "", f"`{current}` against `{baseline}`.", ""]
    for title, items in (("Failures", result.failures), ("Warnings", result.warnings)):
        if items:
            lines += [f"## {title}", ""] + [f"- {item}" for item in items] + [""]
    if result.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in result.notes] + [""]
    lines += ["## Comparison", "", gate_table(result), ""]
    return "\n".join(lines)
