"""Paired effects on the measure: each plan effect's seeds paired, the median difference
with its order-statistic interval, the sign test, Holm's correction within its family,
and the power its n gives against the smallest effect worth finding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from sinelstm.analysis.arms import paired, rows_of
from sinelstm.analysis.intervals import (
    MedianInterval,
    holm,
    median_interval,
    p_text,
    seeds_for_power,
    sign_test_power,
)
from sinelstm.analysis.judged import at_floor, floor_reason
from sinelstm.analysis.plan import ALPHA, MEASURE, SMALLEST_EFFECT, TARGET_POWER, EffectSpec, effect_specs


@dataclass(frozen=True)
class Effect:
    spec: EffectSpec
    interval: MedianInterval  # of the paired differences, after - before
    improved: int  # seeds whose measure fell (closer to keeping the amplitude)
    worsened: int
    floor: str  # why the effect is held back ("" where it is not)
    holm_p: float  # within its family (the raw p for an exploratory effect)
    alpha: float  # the level its family's first Holm step tests at (ALPHA exploratory)
    power: float  # of that test at its n against SMALLEST_EFFECT

    @property
    def n(self) -> int:
        return self.interval.n

    @property
    def significant(self) -> bool:
        """Read as a change: off the floor, its corrected test passed, and its interval
        clear of 0 (the sign test drops tied seeds; the median keeps them)."""
        return not self.floor and self.interval.excludes_zero and self.holm_p < ALPHA

    @property
    def closer(self) -> bool:
        """Its direction, by the seeds (not by a median that ties can hold at 0): more seeds
        came closer to keeping the amplitude than went further."""
        return self.improved > self.worsened

    @property
    def share_improved(self) -> float:
        moved = self.improved + self.worsened
        return self.improved / moved if moved else float("nan")

    def text(self) -> str:
        """'-0.35 [-0.61, -0.12] n=30, 25 of 30 seeds closer, Holm p 0.003, power 0.76'."""
        if self.floor:
            return f"held back: {self.floor}"
        corrected = "p" if self.spec.family == "exploratory" else "Holm p"
        return (
            f"{self.interval.text(2, signed=True)}, {self.improved} of {self.n} seeds closer, "
            f"{corrected} {p_text(self.holm_p)}, power {self.power:.2f}"
        )


class _Paired(NamedTuple):
    """One plan effect's paired seeds, before Holm's correction."""

    spec: EffectSpec
    interval: MedianInterval  # of the differences
    differences: np.ndarray  # after - before, a seed each
    floor: str  # why it is held back ("" where it is not)


def effects(judged: pd.DataFrame, specs: list[EffectSpec] | None = None) -> list[Effect]:
    """Every plan effect the data holds (judged: with_judgement and with_arms), Holm-corrected
    within its family over the effects that are read (not at a floor, n at least 1)."""
    specs = effect_specs(judged) if specs is None else specs
    raw: list[_Paired] = []
    for spec in specs:
        both = paired(judged, spec.before, spec.after, MEASURE)
        if both.empty:
            continue
        differences = (both["after"] - both["before"]).to_numpy()
        floors = [
            f"{arm.label}: {floor_reason(rows_of(judged, arm))}"
            for arm in (spec.before, spec.after)
            if at_floor(rows_of(judged, arm))
        ]
        raw.append(_Paired(spec, median_interval(differences), differences, "; ".join(floors)))
    out = []
    for family in dict.fromkeys(one.spec.family for one in raw):
        members = [one for one in raw if one.spec.family == family]
        # Those read, by their place in members.
        read = [place for place, one in enumerate(members) if not one.floor and one.interval.n > 0]
        corrected = family != "exploratory"
        p_values = [members[place].interval.p_value for place in read]
        adjusted = dict(zip(read, holm(p_values) if corrected else p_values, strict=True))
        alpha = ALPHA / max(len(read), 1) if corrected else ALPHA
        for place, one in enumerate(members):
            out.append(
                Effect(
                    one.spec,
                    one.interval,
                    int(np.sum(one.differences < 0)),
                    int(np.sum(one.differences > 0)),
                    one.floor,
                    adjusted.get(place, 1.0),
                    alpha,
                    sign_test_power(one.interval.n, SMALLEST_EFFECT, alpha),
                )
            )
    return out


def sizing(pilot: list[Effect]) -> list[tuple[Effect, int | None]]:
    """For each headline and remedy effect of a pilot: the seeds for TARGET_POWER at the share
    of seeds the pilot saw improve (or worsen), under its family's first Holm step."""
    sized = []
    for effect in pilot:
        if effect.spec.family == "exploratory" or effect.floor or not effect.n:
            continue
        share = max(effect.share_improved, 1 - effect.share_improved)
        sized.append((effect, seeds_for_power(share, effect.alpha, TARGET_POWER) if share > 0.5 else None))
    return sized
