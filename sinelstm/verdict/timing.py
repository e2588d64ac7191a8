"""The timing gate: ratios measured inside each cell (an epoch over its floor), judged on
any machine; absolute timings, judged only against baseline rows from the same machine
fingerprint; and the compiled engine's speed-up over the predict loop."""

from __future__ import annotations

import math

import numpy as np

from sinelstm.verdict.result import Comparison, GateResult
from sinelstm.verdict.result import fmt as _fmt
from sinelstm.verdict.rules import TimingRules


def judge_timing(cur_groups: dict, base_groups: dict, timing: TimingRules, result: GateResult):
    judge_ratios(cur_groups, base_groups, timing, result)
    judge_absolute(cur_groups, base_groups, timing, result)


def _median(rows: list[dict], metric: str) -> float:
    values = np.asarray([r.get(metric) for r in rows], dtype=float)
    return float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan


def judge_ratios(cur_groups: dict, base_groups: dict, timing: TimingRules, result: GateResult):
    """Per config, the median of each same-run ratio must not grow by more than its
    tolerance: a 2x slower epoch doubles its floor ratio on any machine. Configs whose
    epochs are shorter than timing.min_epoch_s are too short to time and are not judged."""
    short, threads = [], set()
    for config in sorted(set(cur_groups) & set(base_groups)):
        cur_rows, base_rows = cur_groups[config], base_groups[config]
        # The floor (a matrix product) and the epoch (many small ops) gain differently from more
        # compute threads: ratios compare only at the baseline's thread count.
        other_threads = _threads(cur_rows) != _threads(base_rows)
        for metric, tolerance in timing.ratios.items():
            cur, base = _median(cur_rows, metric), _median(base_rows, metric)
            if math.isnan(base) or math.isnan(cur):
                continue  # not measured (a classical model, or an older baseline)
            epoch = min(_median(cur_rows, "s_per_epoch"), _median(base_rows, "s_per_epoch"))
            if other_threads:
                threads.add((", ".join(_threads(base_rows)), ", ".join(_threads(cur_rows))))
                verdict = "not judged"
            elif epoch < timing.min_epoch_s:
                short.append(config)
                verdict = "not judged"
            elif cur > base * (1 + tolerance):
                verdict = "worse"
                result.fail(
                    f"{config}: {metric} grew: median {_fmt(base)} -> {_fmt(cur)} "
                    f"(+{cur / base - 1:.0%}, over {tolerance:.0%}; a ratio measured inside each cell, "
                    "judged on any machine)"
                )
            else:
                verdict = "within"
            change = f"{cur / base - 1:+.0%}" if base > 0 else ""
            result.comparisons.append(Comparison(config, metric, _fmt(base), _fmt(cur), change, verdict))
    if short:
        result.notes.append(
            f"epoch ratios not judged for {len(set(short))} configs whose epochs are under "
            f"{timing.min_epoch_s * 1000:.0f} ms (too short to time)"
        )
    for base, cur in sorted(threads):
        result.warnings.append(
            f"epoch ratios not judged: this run computed with {cur} thread(s) a cell, the baseline "
            f"with {base} (a floor and an epoch scale differently with threads)"
        )


def _threads(rows: list[dict]) -> list[str]:
    return sorted({str(r.get("threads")) for r in rows})


def judge_absolute(cur_groups: dict, base_groups: dict, timing: TimingRules, result: GateResult):
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


def judge_speedup(cur_rows: dict, base_rows: dict, timing: TimingRules, result: GateResult):
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
