"""The article's two questions answered in a few sentences, from the results alone: which
change keeps the forecast's amplitude (hidden size by hidden size, floors named), and
whether the networks beat a least-squares AR. Nothing is hard-coded: every verb follows
the signs and intervals, so the README's answer is rewritten from the CSV by a command."""

from __future__ import annotations

import pandas as pd

from sinelstm.report.accuracy import noise_sd, with_judgement
from sinelstm.report.models_compared import ar_by_slice, comparison_hidden, model_gap
from sinelstm.report.science import is_networks, model_order
from sinelstm.report.stratified import HEADLINE, Effect, arm_summary, design_of, stratified_effects

BEGIN, END = "<!-- science-answer:begin -->", "<!-- science-answer:end -->"


def change_words(effect: Effect) -> str:
    """'raises amp_ratio by +0.45 [+0.41, +0.48] n=10 (Holm p 0.010)', the verb from the sign
    and the Holm-corrected test; an effect not clear of zero says so."""
    amp = effect.amp
    held = f"(Holm p {effect.holm_p:.3f})"
    if effect.significant and amp.value > 0:
        return f"raises amp_ratio by {amp.text(signed=True)} {held}"
    if effect.significant and amp.value < 0:
        return f"lowers amp_ratio by {amp.text(signed=True)} {held}"
    if amp.excludes_zero:
        # Clear of 0 alone, but not once the family's tests are corrected.
        return f"moves amp_ratio by {amp.text(signed=True)}, not significant after Holm's correction {held}"
    return f"moves amp_ratio by {amp.text(signed=True)}, not clear of 0 {held}"


def hidden_sentence(hidden: int, effects: list[Effect], summary: pd.DataFrame) -> str:
    """What the window and the data do at one hidden size, floors first."""
    floors = summary[(summary["hidden"] == hidden) & summary["floor"]]
    parts = []
    if len(floors):
        parts.append(
            f"the forecast sits at a floor in {', '.join(floors['arm'])} (half or more of the seeds flat "
            "or never fitted), so no effect touching it is read as keeping or losing the amplitude"
        )
    for e in effects:
        if e.hidden == hidden and e.family == HEADLINE and not e.floor:
            parts.append(f"{e.name} {change_words(e)}")
    if not parts:
        return f"At hidden {hidden} the run has no paired headline cells."
    return f"At hidden {hidden}, " + "; ".join(parts) + "."


def kept_sentence(summary: pd.DataFrame) -> str:
    """How many seeds keep the wave in each headline cell group (amplitude, phase, RMSE)."""
    headline = summary[~summary["arm"].str.contains("period|batch")]
    groups = [
        f"h{record['hidden']} {record['arm']} {record['kept']}/{record['seeds']}"
        for record in headline.to_dict("records")
    ]
    return (
        "Seeds whose forecast keeps the wave (amplitude, phase and forecast RMSE within the "
        f"report's thresholds): {', '.join(groups)}."
    )


def ar_sentence(ok: pd.DataFrame, design) -> str:
    """Each network against ar, paired by seed in every window x length slice."""
    plain = ok[ok["train_rollout"] == 1]
    if design.base is not None:
        plain = plain[
            (plain["period"] == design.base.period) & (plain["batch_size"] == design.base.batch_size)
        ]
    if "ar" not in set(plain["model"]):
        return "The run has no ar cells: the networks are not compared with a least-squares AR."
    hidden = comparison_hidden(plain)
    compared = plain[plain["hidden"].isin([0, hidden])]
    networks = is_networks(model_order(compared))
    slices = sorted(set(zip(compared["window"], compared["length"], strict=True)))
    parts = []
    for network in networks:
        gaps = [
            model_gap(
                compared[(compared["window"] == w) & (compared["length"] == n)], network, "forecast_rmse"
            )
            for w, n in slices
        ]
        better = sum(g.excludes_zero and g.value < 0 for g in gaps)
        worse = sum(g.excludes_zero and g.value > 0 for g in gaps)
        seeds = min((g.n for g in gaps), default=0)
        size = f" h{hidden}" if (compared[compared["model"] == network]["hidden"] > 0).any() else ""
        short = "" if all(g.at_95 for g in gaps) else ", too few for a 95% interval"
        parts.append(
            f"{network}{size} better in {better}, worse in {worse}, not clear in "
            f"{len(gaps) - better - worse} (n={seeds} seeds a slice{short})"
        )
    ar = ar_by_slice(compared)
    noise = sorted({float(v) for v in pd.to_numeric(ok["noise"], errors="coerce").dropna()})
    sd = ", ".join(f"{noise_sd(v):.4f}" for v in noise)
    return (
        f"**Networks or AR?** Against the least-squares AR on the same window, data and seed "
        f"(forecast RMSE, one-step training, {len(slices)} window x length slices, a slice counted "
        f"only where its 95% interval clears 0): {'; '.join(parts) if parts else 'no network in the run'}. "
        f"ar's median forecast RMSE, per window and data length: {ar}; the noise SD is {sd}."
    )


def answer(frame: pd.DataFrame) -> str:
    """The README's answer, from the results frame (hidden n/a read as 0, see with_keys)."""
    ok = with_judgement(frame[frame["status"] == "ok"])
    design = design_of(ok)
    effects = stratified_effects(ok, design)
    summary = arm_summary(ok, design)
    lines = []
    if summary.empty:
        lines.append("**Window or data?** The run has no cells of the article's LSTM (one-step training).")
    else:
        sentences = [hidden_sentence(hidden, effects, summary) for hidden in design.hidden_sizes]
        lines.append("**Window or data?** " + " ".join(sentences) + " " + kept_sentence(summary))
    lines.append(ar_sentence(ok, design))
    return "\n\n".join(lines)


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
