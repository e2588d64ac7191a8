"""The two tiers that judge a config's quality: reproduction (every seed, every metric,
within the numerics' tolerance) and statistical (median and majority of seeds, within
each metric's tolerance). Each returns, in words, the smallest change it could detect."""

from __future__ import annotations

import math

import numpy as np

from sinelstm.sweep.columns import HEADLINE, METRIC_COLUMNS
from sinelstm.verdict.result import Comparison, GateResult, fmt
from sinelstm.verdict.rules import GateConfig, MetricRule


def _missing_in(rows: list[dict], metric: str) -> bool:
    return all(_nan(row.get(metric)) for row in rows)


def _nan(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def reproduce(config: str, cur: list[dict], base: list[dict], gate: GateConfig, result: GateResult) -> str:
    """Every metric and canary of every seed matches its baseline within the reproduction
    tolerance; a difference either way fails, naming cell, seed, metric and both values."""
    rules = gate.reproduction
    by_seed = {row["seed"]: row for row in base}
    same = 0
    for metric in METRIC_COLUMNS:
        if _missing_in(base, metric) and not _missing_in(cur, metric):
            result.notes.append(f"{config}: {metric} is not in the baseline (an older schema); not compared")
            continue
        differing = []
        for row in cur:
            before, after = by_seed[row["seed"]][metric], row[metric]
            if not rules.same(metric, before, after):
                differing.append((row, before, after))
        for row, before, after in differing:
            direction = gate.direction_of(metric)
            way = _which_way(direction, before, after)
            result.fail(
                f"{row['cell']}: {metric} {fmt(before)} -> {fmt(after)} ({way}; reproduction tier, "
                f"tolerance {_tolerance_text(rules, metric, before)})"
            )
        if not differing:
            same += 1
            continue
        result.comparisons.append(
            Comparison(
                config,
                metric,
                ", ".join(fmt(r[metric]) for r in base),
                ", ".join(fmt(row[metric]) for row in cur),
                "",
                "differs",
            )
        )
    # What matched is one line a config; only what differs is listed metric by metric.
    result.comparisons.append(
        Comparison(config, f"{same} metrics and canaries", "", "", f"{len(cur)} seeds", "same")
    )
    baseline_value = (
        float(np.nanmedian([float(r[HEADLINE]) for r in base])) if not _missing_in(base, HEADLINE) else 0
    )
    tolerance = rules.tolerance(baseline_value, HEADLINE)
    return f"any change beyond {tolerance:.2g} in {HEADLINE}, in any one seed (and every metric)"


def _tolerance_text(rules, metric: str, before) -> str:
    if metric in rules.exact or isinstance(before, str) or _nan(before):
        return "exact"
    return f"{rules.tolerance(float(before), metric):.2g}"


def _which_way(rule: MetricRule | None, before, after) -> str:
    if rule is None or _nan(before) or _nan(after) or isinstance(before, str):
        return "changed"
    return "worse" if rule.badness(after) > rule.badness(before) else "better"


def aggregate(rule: MetricRule, rows: list[dict]) -> tuple[float, float]:
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


def statistical(config: str, cur: list[dict], base: list[dict], gate: GateConfig, result: GateResult) -> str:
    """Per metric rule: the median over seeds must not be worse than the baseline's beyond
    the tolerance, nor may a majority of the seeds be (each against its own seed's
    baseline, paired by seed: same data, same initial weights)."""
    by_seed = {row["seed"]: row for row in base}
    needed = len(cur) // 2 + 1
    for rule in gate.rules:
        rule = gate.rule_for(config, rule.metric)
        judge_median(config, rule, cur, base, result)
        if rule.aggregate == "sum":
            continue
        worse = [
            row["seed"]
            for row in cur
            if row["seed"] in by_seed
            and rule.badness(row[rule.metric]) - rule.badness(by_seed[row["seed"]][rule.metric])
            > rule.tolerance(float(by_seed[row["seed"]][rule.metric] or 0))
        ]
        if len(worse) >= needed:
            result.suspect(
                config,
                rule.metric,
                f"{config}: {rule.metric} worse beyond its tolerance in {len(worse)} of {len(cur)} seeds "
                f"(seeds {', '.join(map(str, worse))}; statistical tier)",
            )
    # Every gated metric's smallest detectable worsening, at the baseline's median.
    sizes = []
    for rule in gate.rules:
        rule = gate.rule_for(config, rule.metric)
        if rule.aggregate == "sum":
            sizes.append(f"{rule.metric} +1")
            continue
        _, median = aggregate(rule, base)
        sizes.append(f"{rule.metric} {rule.tolerance(median):.2g}")
    return f"worse by more than ({', '.join(sizes)}) in the median or in {needed} of {len(cur)} seeds"


def judge_median(config: str, rule: MetricRule, cur: list, base: list, result: GateResult) -> None:
    cur_bad, cur_raw = aggregate(rule, cur)
    base_bad, base_raw = aggregate(rule, base)
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
        result.suspect(
            config,
            rule.metric,
            f"{config}: {rule.metric} regressed: {label} {fmt(base_raw)} -> {fmt(cur_raw)} "
            f"over {len(cur)} seeds ({rule.direction} is better"
            + (f", target {rule.target:g}" if rule.direction == "target" else "")
            + "; statistical tier)",
        )
    result.comparisons.append(Comparison(config, rule.metric, fmt(base_raw), fmt(cur_raw), change, verdict))
