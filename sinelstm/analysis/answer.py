"""The article's question answered for a newcomer, from the results alone: a table of at
most 12 arms (hidden size x data x window x training) and three takeaways. Nothing is
hard-coded: every verb follows the effects' signs, intervals and corrected tests, and each
sentence speaks of the slices it names only, so the README's answer is rewritten from the
CSV by a command (sinelstm report --answer-into)."""

from __future__ import annotations

import pandas as pd

from sinelstm.analysis.arms import Arm, median_steps, rows_of, with_arms
from sinelstm.analysis.effects import Effect, effects
from sinelstm.analysis.intervals import p_text
from sinelstm.analysis.judged import with_judgement
from sinelstm.analysis.plan import ROLLOUT, test_budget
from sinelstm.analysis.tables import MEDIAN_ERROR, arm_rows, table

BEGIN, END = "<!-- science-answer:begin -->", "<!-- science-answer:end -->"
MAX_ROWS = 12


def judged_arms(frame: pd.DataFrame) -> pd.DataFrame:
    """The ok rows, judged and with their arms."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    return with_arms(with_judgement(ok))


def answer_arms(judged: pd.DataFrame) -> list[Arm]:
    """The table's arms (those the data holds, at most MAX_ROWS): the article's two slices at
    hidden 64 with early stopping and at the equal-steps budget S, the crossed slices at S;
    the remedy and one-step training at its budget R and at 4 R (equal compute); hidden 300
    on the article's slices."""
    s = r = test_budget(judged)
    big = sorted({a.steps for a in judged["arm"] if a.hidden == 300 and a.steps})
    wanted = [Arm(64, 25, 201), Arm(64, 50, 601)]
    if s:
        wanted += [Arm(64, 25, 201, s), Arm(64, 50, 601, s), Arm(64, 25, 601, s)]
    if r:
        wanted += [Arm(64, 25, 201, r), Arm(64, 25, 201, r, rollout=ROLLOUT), Arm(64, 25, 201, ROLLOUT * r)]
    for window, length in ((25, 201), (50, 601)):
        wanted += [Arm(300, window, length)] + ([Arm(300, window, length, big[-1])] if big else [])
    present = set(judged["arm"])
    return [arm for arm in dict.fromkeys(wanted) if arm in present][:MAX_ROWS]


def _find(found: list[Effect], start: str) -> Effect | None:
    return next((e for e in found if e.spec.name.startswith(start)), None)


def _kept(judged: pd.DataFrame, arm: Arm) -> str:
    rows = rows_of(judged, arm)
    return f"{int(rows['kept_amp'].sum())} of {len(rows)}"


def _steps(judged: pd.DataFrame, arm: Arm) -> str:
    """'800 steps', or for the article's early stopping the steps it ran: 'early stopping
    (median 74 steps)'."""
    if arm.steps:
        return f"{arm.steps} steps"
    return f"early stopping (median {median_steps(rows_of(judged, arm)):.0f} steps)"


def _reading(effect: Effect, judged: pd.DataFrame) -> str:
    """'comes closer to keeping the amplitude (-0.35 [...] n=32, 25 of 32 seeds closer, Holm p
    0.003, power 0.83; kept 12 of 32 -> 30 of 32)' or 'makes no clear difference (...)': the
    verb from the corrected test and the seeds' direction, the kept counts of both arms."""
    if effect.floor:
        return f"cannot be read ({effect.floor})"
    tested = "p" if effect.spec.family == "exploratory" else "Holm p"
    kept = f"kept {_kept(judged, effect.spec.before)} -> {_kept(judged, effect.spec.after)}"
    stats = (
        f"{effect.interval.text(2, signed=True)}, {effect.improved} of {effect.n} seeds closer, "
        f"{tested} {p_text(effect.holm_p)}, power {effect.power:.2f} to find 80% of seeds closer; {kept}"
    )
    if effect.significant:
        way = "comes closer to keeping the amplitude" if effect.closer else "moves further from keeping it"
        return f"{way} ({stats})"
    return f"makes no clear difference ({stats})"


def takeaways(judged: pd.DataFrame, found: list[Effect]) -> list[str]:
    s = r = test_budget(judged)
    out = []
    more = _find(found, "2017 slice: early stopping")
    if more is not None:
        out.append(
            f"**Training too little?** On the 2017 slice (hidden 64, window 25, 201 samples), {s} optimizer "
            f"steps without early stopping instead of the article's "
            f"{_steps(judged, more.spec.before)} {_reading(more, judged)}."
        )
    article, equal = _find(found, "2017 -> 2020 slice, as"), _find(found, "2017 -> 2020 slice at")
    if article is not None and equal is not None:
        out.append(
            "**The 2020 change (window 50, 601 samples) at hidden 64:** as the article trained it "
            f"({_steps(judged, article.spec.before)} on 2017's slice, {_steps(judged, article.spec.after)} "
            f"on 2020's), it {_reading(article, judged)}; at {s} steps each it {_reading(equal, judged)}."
        )
    steps, compute = _find(found, "one-step -> rollout"), _find(found, f"one-step {ROLLOUT * (r or 0)} ")
    if steps is not None:
        equal_compute = _reading(compute, judged) if compute is not None else ""
        tail = f"; against one-step training for {ROLLOUT * r} steps (equal compute) it {equal_compute}"
        out.append(
            f"**Training one step ahead?** On the 2017 slice at hidden 64, training on {ROLLOUT}-step "
            f"rollouts of the model's own predictions for {r} steps, against one-step training for as many "
            f"steps, {_reading(steps, judged)}" + (tail if compute is not None else "") + "."
        )
    return out


def answer(frame: pd.DataFrame) -> str:
    """The README's answer: the table and three takeaways, from a science results frame."""
    judged = judged_arms(frame)
    found = effects(judged)
    rows = arm_rows(judged, answer_arms(judged))
    columns = ["arm", "kept the amplitude", MEDIAN_ERROR, "forecast RMSE", "ar RMSE"]
    columns.append("seasonal-naive RMSE")
    lines = [
        table(rows, columns),
        "",
        "Kept the amplitude: the last forecast period's amplitude within a factor 1.1 of the first's "
        "(n/N seeds, exact 95% interval); |log amp| is |log amp_ratio| (0: kept; 0.69: halved or "
        "doubled), its median with a sign-test interval (95%, uncorrected) and n; early stopping's rows "
        "give the median optimizer steps it ran; RMSE medians over the same seeds. Full statistics, "
        "power and the plan they follow: `results/REPORT-science.md`.",
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
