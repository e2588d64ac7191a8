"""The regression gate: a run against a pinned baseline, quality and timing judged apart.

Quality metrics are compared per config as the median over seeds, each with
its own direction and tolerance (sinelstm.verdict.rules). Cells are matched
one to one by their readable name: a cell missing on either side, a crashed
cell or a newly diverged seed fails by name. Absolute timings are judged only
against a baseline from the same machine fingerprint; the compiled engine's
speed-up over the predict engine, a ratio measured inside one run, is judged
everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sinelstm.sweep.grid import config_name
from sinelstm.sweep.rows import config_differences
from sinelstm.sweep.store import ResultsError, read_results
from sinelstm.verdict.rules import GateConfig, MetricRule, TimingRules

VERSION_COLUMNS = ("python", "numpy", "tensorflow", "keras", "backend", "cpu")


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
    """Rows by their cell's readable name."""
    return {row["cell"]: row for row in frame.to_dict("records")}


def _group(rows: dict[str, dict]) -> dict[str, list[dict]]:
    """Rows by config: the cell's name without its seed."""
    groups: dict[str, list[dict]] = {}
    for row in rows.values():
        groups.setdefault(config_name(row["cell"]), []).append(row)
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
        changed = config_differences(base, cur) if cur["cell_key"] != base["cell_key"] else []
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
