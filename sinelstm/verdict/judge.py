"""The regression gate: a run against a pinned baseline, in one of two tiers per config.

Cells are matched by name. A cell missing on either side, crashed, newly diverged, or with
a config that differs from its baseline's fails by name. Then each config is judged in a
tier: reproduction where the stack matches the baseline's (every metric and canary of every
seed within the reproduction tolerance; any difference, worse or better, fails), and
statistical elsewhere (per metric, the median over seeds and a majority of the seeds no
worse than the baseline's beyond the metric's tolerance). Timings: sinelstm.verdict.timing.
"""

from __future__ import annotations

from pathlib import Path

from sinelstm.sweep.grid import config_name
from sinelstm.sweep.rows import config_differences
from sinelstm.sweep.store import ResultsError, read_results
from sinelstm.verdict.result import Comparison, GateResult, Tier
from sinelstm.verdict.rules import GateConfig
from sinelstm.verdict.tiers import reproduce, statistical
from sinelstm.verdict.timing import judge_speedup, judge_timing

REPRODUCTION, STATISTICAL = "reproduction", "statistical"
# What tells two hosts' kernels apart (sinelstm.sweep.provenance): named in the gate's notes
# where the run's differ from the baseline's, judged by neither tier.
HOST_COLUMNS = ("cpu_id", "isa", "isa_cap", "onednn", "threads")
TIERS = ("auto", STATISTICAL)
__all__ = ["Comparison", "GateResult", "Tier", "compare"]


def _keyed(frame) -> dict[str, dict]:
    """Rows by their cell's readable name."""
    return {row["cell"]: row for row in frame.to_dict("records")}


def _group(rows: dict[str, dict]) -> dict[str, list[dict]]:
    """Rows by config: the cell's name without its seed, seeds in order."""
    groups: dict[str, list[dict]] = {}
    for name in sorted(rows, key=lambda name: rows[name]["seed"]):
        groups.setdefault(config_name(name), []).append(rows[name])
    return groups


def stack_differences(current, baseline, columns) -> list[str]:
    """'column: baseline values -> run values' for each stack column that differs."""
    differences = []
    for column in columns:
        cur = sorted(set(current[column].dropna().astype(str)))
        base = sorted(set(baseline[column].dropna().astype(str)))
        if cur != base:
            differences.append(f"{column} {', '.join(base) or '-'} -> {', '.join(cur) or '-'}")
    return differences


def compare(
    current_path: Path,
    baseline_path: Path,
    gate: GateConfig,
    only: set[str] | None = None,
    tier: str = "auto",
) -> GateResult:
    """Judge a run against a baseline; every failure is named in result.failures.

    With `only`, the cells outside it are left out of both sides (a run of selected
    cells); a selected cell missing from either side still fails. tier="statistical"
    judges every config statistically, whatever the stack.
    """
    result = GateResult()
    try:
        current = read_results(current_path)
        baseline = read_results(baseline_path)
    except ResultsError as error:
        result.fail(f"could not compare: {error}")
        return result

    cur_rows, base_rows = _keyed(current), _keyed(baseline)
    if only is not None:
        cur_rows = {k: r for k, r in cur_rows.items() if k in only}
        base_rows = {k: r for k, r in base_rows.items() if k in only}
        for key in sorted(only - set(cur_rows) - set(base_rows)):
            result.fail(f"{key}: selected, but in neither this run nor the baseline")
        result.notes.append(f"gate restricted to the {len(only)} selected cells")
    _check_cells(cur_rows, base_rows, result)

    stack = stack_differences(current, baseline, gate.reproduction.stack)
    for difference in stack:
        result.warnings.append(f"stack differs from the baseline's: {difference}")
    host = stack_differences(current, baseline, [c for c in HOST_COLUMNS if c in current and c in baseline])
    if host:
        result.notes.append(f"host differs from the baseline's: {'; '.join(host)}")
    ok_cur = {k: r for k, r in cur_rows.items() if r["status"] == "ok" and k in base_rows}
    ok_base = {k: r for k, r in base_rows.items() if r["status"] == "ok" and k in cur_rows}
    cur_groups, base_groups = _group(ok_cur), _group(ok_base)
    for config in sorted(set(cur_groups) & set(base_groups)):
        cur, base = cur_groups[config], base_groups[config]
        if tier == STATISTICAL:
            chosen, why = STATISTICAL, "forced (--tier statistical)"
        elif stack:
            chosen, why = STATISTICAL, "the stack differs: " + "; ".join(stack)
        else:
            chosen, why = REPRODUCTION, "same stack as the baseline"
        judge = reproduce if chosen == REPRODUCTION else statistical
        detects = judge(config, cur, base, gate, result)
        result.tiers[config] = Tier(chosen, why, len(cur), detects)
    if any(t.name == REPRODUCTION for t in result.tiers.values()) and not result.passed:
        result.notes.append(
            "a reproduction-tier difference means the baseline no longer describes the experiment; "
            f"if the change is intended: `sinelstm baseline accept {current_path} --baseline {baseline_path} "
            '--reason "..."`'
        )
    if gate.timing is None:
        result.notes.append(
            "timings not judged against the baseline here: sinelstm ab judges speed, head against base"
        )
    else:
        judge_timing(cur_groups, base_groups, gate.timing, result)
        judge_speedup(ok_cur, ok_base, gate.timing, result)
    return result


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
        if cur["cell_key"] != base["cell_key"]:
            changed = ", ".join(config_differences(base, cur))
            result.fail(
                f"{key}: config differs from the baseline's: {changed} (the baseline ran another experiment)"
            )
            result.comparisons.append(Comparison(key, "config", "", "", changed, "differs"))
        if bool(cur["diverged"]) and not bool(base["diverged"]):
            result.fail(f"{key}: diverged (its baseline did not)")
            result.comparisons.append(Comparison(key, "diverged", "False", "True", "", "diverged"))
