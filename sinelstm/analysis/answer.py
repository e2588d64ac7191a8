"""The article's question answered for a newcomer, from the results alone: a table of at
most 12 arms (hidden size x data x window x training) and three takeaways. Nothing is
hard-coded: every verb follows the effects' signs, intervals and corrected tests, and each
sentence speaks of the slices it names only, so the README's answer is rewritten from the
CSV by a command (sinelstm report --answer-into)."""

from __future__ import annotations

import pandas as pd

from sinelstm.analysis.arm_tables import CLASSICAL, MEDIAN_DRIFT, MEDIAN_ERROR, arm_rows, table
from sinelstm.analysis.arms import Arm, median_steps, rows_of, with_arms
from sinelstm.analysis.effects import Effect, effects
from sinelstm.analysis.judged import with_judgement
from sinelstm.analysis.plan import EXPLORATORY, ROLLOUT, TARGET_POWER, equal_windows, test_budget
from sinelstm.experiment import kinds

BEGIN, END = "<!-- science-answer:begin -->", "<!-- science-answer:end -->"
MAX_ROWS = 12


def judged_arms(frame: pd.DataFrame) -> pd.DataFrame:
    """The ok rows, judged and with their arms."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    return with_arms(with_judgement(ok))


def answer_arms(judged: pd.DataFrame) -> list[Arm]:
    """The table's arms (those the data holds, at most MAX_ROWS): hidden 64 on the 2017 slice
    with early stopping, at the test budget B one-step and rollout, and at 4 B (equal
    compute); on the 2020 slice with early stopping, at equal windows seen, at B and at its
    largest budget; hidden 300 on both slices with early stopping and at its largest."""
    b = test_budget(judged)
    wanted = [Arm(64, 25, 201)]
    if b:
        wanted += [Arm(64, 25, 201, b), Arm(64, 25, 201, b, rollout=ROLLOUT), Arm(64, 25, 201, ROLLOUT * b)]
    wanted.append(Arm(64, 50, 601))
    if b:
        w = equal_windows(judged, b)
        wanted += ([Arm(64, 50, 601, w)] if w else []) + [Arm(64, 50, 601, b)]
    wanted += [Arm(64, 50, 601, steps) for steps in largest(judged, 64, 50, 601)]
    for window, length in ((25, 201), (50, 601)):
        wanted += [Arm(300, window, length)] + [
            Arm(300, window, length, s) for s in largest(judged, 300, window, length)
        ]
    present = set(judged["arm"])
    return [arm for arm in dict.fromkeys(wanted) if arm in present][:MAX_ROWS]


def largest(judged: pd.DataFrame, hidden: int, window: int, length: int) -> list[int]:
    """[the largest one-step budget of that config], or [] where it has none."""
    steps = [a.steps for a in set(judged["arm"]) if kinds.is_article(a.model) and a.rollout == 1 and a.steps
             and (a.hidden, a.window, a.length) == (hidden, window, length)]  # fmt: skip
    return [max(steps)] if steps else []


def _find(found: list[Effect], start: str) -> Effect | None:
    return next((e for e in found if e.spec.name.startswith(start)), None)


def _steps(judged: pd.DataFrame, arm: Arm) -> str:
    """'800 steps', or for the article's early stopping the steps it ran: 'early stopping
    (median 74 steps)'."""
    if arm.steps:
        return f"{arm.steps} steps"
    return f"early stopping (median {median_steps(rows_of(judged, arm)):.0f} steps)"


def _reading(effect: Effect | None) -> str:
    """'closer to the truth (-0.35 [-0.61, -0.12], 25/32 closer)' or 'no clear
    change (...)': the words from the corrected test and the seeds' direction."""
    if effect is None:
        return "not run"
    if effect.floor:
        return f"cannot be read ({effect.floor})"
    interval = effect.interval.text(2, signed=True).rsplit(" n=", 1)[0]
    stats = f"{interval}, {effect.improved}/{effect.n} closer"
    if effect.significant:
        return f"{'closer to' if effect.closer else 'further from'} the truth ({stats})"
    return f"no clear change ({stats})"


def _power(effects_: list[Effect | None]) -> str:
    """'Power 0.63 (64 seeds, exploratory).': the family's power at the smallest effect, and
    under TARGET_POWER the reading the plan gives it."""
    read = [e for e in effects_ if e is not None and not e.floor and e.n]
    if not read:
        return ""
    low, high = min(e.power for e in read), max(e.power for e in read)
    power = f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}-{high:.2f}"
    seeds = "/".join(map(str, sorted({e.n for e in read})))
    under = ", exploratory" if low < TARGET_POWER or read[0].spec.family == EXPLORATORY else ""
    return f"Power {power} ({seeds} seeds{under})."


def one_step_alone(judged: pd.DataFrame) -> tuple[int, int, int] | None:
    """(b, kept, n): the smallest one-step 2017 budget from which every larger budget keeps
    the amplitude in at least 90% of seeds, and the fewest seeds kept among those budgets."""
    steps = sorted(a.steps for a in set(judged["arm"]) if a == Arm(64, 25, 201, a.steps) and a.steps)
    counts = {b: rows_of(judged, Arm(64, 25, 201, b))["kept_amp"] for b in steps}
    holding = [b for b in steps if all(counts[c].mean() >= 0.9 for c in steps if c >= b)]
    if not holding:
        return None
    tail = [counts[c] for c in steps if c >= holding[0]]
    worst = min(tail, key=lambda k: k.mean())
    return holding[0], int(worst.sum()), len(worst)


def baselines(judged: pd.DataFrame) -> str:
    """How the best hidden-64 LSTM arm's median RMSE compares with AR's and seasonal-naive's
    on each slice, and what more training does to RMSE and phase on the 2020 slice."""
    parts = []
    for name, window, length in (("2017", 25, 201), ("2020", 50, 601)):
        arms = [a for a in set(judged["arm"]) if kinds.is_article(a.model) and a.hidden == 64
                and (a.window, a.length) == (window, length)]  # fmt: skip
        if not arms:
            continue
        medians = {a: rows_of(judged, a)["forecast_rmse"].median() for a in arms}
        best = min(sorted(medians), key=medians.get)
        refs = [rows_of(judged, best.data(m))["forecast_rmse"].median() for m in CLASSICAL]
        beats = [m for m, ref in zip(("AR", "seasonal-naive"), refs, strict=True) if medians[best] < ref]
        verb = "beats " + " and ".join(beats) if beats else "beats neither"
        parts.append(f"{name}, {medians[best]:.3f} {verb} ({refs[0]:.3f}, {refs[1]:.3f})")
    if not parts:
        return ""
    text = "The best hidden-64 arm's median RMSE: " + "; ".join(parts) + "."
    b = test_budget(judged) or 0
    steps = sorted(a.steps for a in set(judged["arm"]) if a == Arm(64, 50, 601, a.steps) and a.steps >= b)
    if len(steps) >= 2:
        first, last = (rows_of(judged, Arm(64, 50, 601, s)) for s in (steps[0], steps[-1]))
        rmse = [r["forecast_rmse"].median() for r in (first, last)]
        drift = [r["phase_drift"].abs().median() for r in (first, last)]
        text += (
            f" On the 2020 slice, {steps[0]} -> {steps[-1]} steps moves median RMSE {rmse[0]:.3f} -> "
            f"{rmse[1]:.3f} and phase drift {drift[0]:.2f} -> {drift[1]:.2f} steps a period."
        )
    return text


def takeaways(judged: pd.DataFrame, found: list[Effect]) -> list[str]:
    """At most three, each under 61 words: the mechanism, the training budget and the 2020
    change, the baselines."""
    b = test_budget(judged)
    out = []
    steps, compute = _find(found, "one-step -> rollout"), _find(found, f"one-step {ROLLOUT * (b or 0)} ")
    if steps is not None:
        alone = one_step_alone(judged)
        verdict = ""
        if alone is not None:
            at, kept, n = alone
            verdict = (
                f" From {at} steps one-step training keeps the amplitude in ≥{kept}/{n} seeds: alone, it "
                "does not cause the decay."
            )
        out.append(
            f"**One step ahead?** At {b} steps (2017 slice), rollout {ROLLOUT} vs one-step: "
            f"{_reading(steps)}; vs one-step at {ROLLOUT * b} (equal compute): {_reading(compute)}. "
            f"{_power([steps, compute])}{verdict}"
        )
    more = _find(found, "2017 slice: early stopping")
    equal, windows = _find(found, f"2017 -> 2020 slice at {b} "), _find(found, "2017 -> 2020 slice at equal")
    if more is not None:
        tail = ""
        if equal is not None:
            tail = f" 2020 slice at {b} steps: {_reading(equal)}"
            if windows is not None:
                tail += f"; at equal windows seen ({windows.spec.after.steps} steps): {_reading(windows)}"
            tail += "."
        out.append(
            f"**Too little training?** 2017 slice, early stopping (median "
            f"{median_steps(rows_of(judged, more.spec.before)):.0f} steps) -> {b} steps: "
            f"{_reading(more)}.{tail} "
            f"{_power([more, equal, windows])}"
        )
    said = baselines(judged)
    if said:
        out.append(f"**Against the baselines:** {said}")
    return out


def answer(frame: pd.DataFrame) -> str:
    """The README's answer: the table and three takeaways, from a science results frame."""
    judged = judged_arms(frame)
    found = effects(judged)
    rows = arm_rows(judged, answer_arms(judged))
    columns = ["arm", "kept the amplitude", "kept the wave", MEDIAN_ERROR, MEDIAN_DRIFT]
    columns += ["forecast RMSE", "ar RMSE", "seasonal-naive RMSE"]
    lines = [
        table(rows, columns),
        "",
        "Kept the amplitude: the last forecast period's amplitude within a factor 1.1 of the truth's, 1 "
        "(n/N seeds, exact 95% interval); kept the wave: that, with |phase drift| at most 1% of the period "
        "and RMSE at most 0.1; |log amp| is |log amp_last| (0: kept; 0.69: halved or doubled), its median "
        "with a sign-test interval (95%, uncorrected); phase drift in steps a period; a budget in optimizer "
        "steps, epochs and training windows seen; RMSE medians over the same seeds. Effects: median paired "
        "change in |log amp| [95% interval], seeds closer. Thresholds, power, pilot: "
        "`results/REPORT-science.md`.",
        "",
    ]
    lines += [f"{i}. {sentence}" for i, sentence in enumerate(takeaways(judged, found), 1)]
    return "\n".join(lines)


def replace_answer(text: str, new_answer: str) -> str:
    """text with the block between the answer markers replaced by new_answer."""
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        raise ValueError(f"no answer block: the file needs {BEGIN} ... {END}, in that order")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{new_answer}\n{END}{tail}"


def answer_block(text: str) -> str | None:
    """The answer between the markers in text, or None where it has none."""
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
