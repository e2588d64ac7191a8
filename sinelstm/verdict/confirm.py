"""A statistical-tier failure confirmed (or withdrawn) by a rerun with more seeds.

The statistical tier judges a config from few seeds, and one chaotic seed can carry a
median. So before such a failure is reported, the config is rerun with more seeds
(sinelstm.workflow.confirming) and judged on the median over all of them. The paired
majority rule does not apply: the new seeds have no baseline twin. A count (the diverged
seeds) is not re-judged: more seeds can only add to a total, so its failure stands.
"""

from __future__ import annotations

from dataclasses import replace

from sinelstm.sweep.grid import config_name
from sinelstm.verdict.result import GateResult
from sinelstm.verdict.rules import GateConfig
from sinelstm.verdict.tiers import judge_median

RERUN = "rerun"  # the verdict of a first-pass comparison a rerun replaced


def reconsider(result: GateResult, config: str, cur: list[dict], base: list[dict], gate: GateConfig) -> bool:
    """Replace a config's suspected failures (counts excepted) by the verdict of its medians
    over every seed in cur (the run's and the rerun's ok rows); return whether a failure was
    confirmed."""
    rules = [gate.rule_for(config, rule.metric) for rule in gate.rules]
    medians = {rule.metric for rule in rules if rule.aggregate != "sum"}
    kept = []
    for metric, message in result.suspects.pop(config, []):
        if metric in medians:
            result.failures.remove(message)
        else:
            kept.append(message)
    for comparison in result.comparisons:
        if config_name(comparison.config) == config and comparison.metric in medians:
            comparison.verdict = RERUN if comparison.verdict == "worse" else comparison.verdict
    again = GateResult()
    for rule in rules:
        if rule.metric in medians:
            judge_median(config, rule, cur, base, again)
    seeds = len(cur)
    result.comparisons += [replace(c, metric=f"{c.metric} ({seeds} seeds)") for c in again.comparisons]
    for failure in again.failures:
        result.fail(f"{failure}; confirmed by a rerun with {seeds} seeds")
    if not again.failures:
        result.warnings.append(
            f"{config}: the statistical tier's failure was not confirmed: over {seeds} seeds "
            "(the rerun's among them) every median is within its tolerance"
        )
    if config in result.tiers:
        tier = result.tiers[config]
        why = f"{tier.why}; rerun with {seeds} seeds to confirm a failure"
        result.tiers[config] = replace(tier, seeds=seeds, why=why)
    return bool(again.failures or kept)
